"""Orthogonal matrices for rotations in the Gaussian view, and linear ICA unmixings.

Every rotation function returns an orthogonal matrix ``R`` of shape
``(d, d)`` whose rows are the new axes, so that a rotation is the single
product ``Z = X @ R.T``; the iterative searches also return their iteration
count. :func:`ica_unmixing` returns a general invertible matrix instead.
The kernels know nothing about estimators; they work on a float64 array
``X`` of shape ``(n_samples, n_features)``.
"""

import warnings

import numpy as np
from scipy.linalg import eigh, qr, svd
from scipy.special import ndtri

__all__ = [
    "haar_rotation",
    "histogram_entropies",
    "ica_rotation",
    "ica_unmixing",
    "nearest_orthogonal",
    "pca_rotation",
    "rotate",
    "sliced_rotation",
    "sliced_wasserstein2",
]


# Rows per product in :func:`rotate`: a multiple of every BLAS micro-kernel's
# row unrolling, and large enough that padding a single row costs microseconds.
_ROW_BLOCK = 256


def rotate(X, R):
    """``X @ R.T``, computed so that each output row depends only on its input row.

    BLAS picks its kernel and its summation order from the shape of the
    product (a single row goes through a matrix-vector routine), so a plain
    ``X @ R.T`` can round a row differently alone and in a batch, by a few
    units in the last place. Layers fitted after a rotation can magnify that
    (on nearly singular data, by the inverse of a tiny spread) into
    batch-dependent densities. Here every row goes through a product of the
    same shape, ``_ROW_BLOCK`` rows at a time, the last block padded with
    zeros; that costs at most one extra block.
    """
    n_samples, n_features = X.shape
    Y = np.empty((n_samples, R.shape[0]))
    full = n_samples - n_samples % _ROW_BLOCK
    if full:
        blocks = X[:full].reshape(-1, _ROW_BLOCK, n_features)
        Y[:full] = np.matmul(blocks, R.T).reshape(full, -1)
    if full < n_samples:
        padded = np.zeros((_ROW_BLOCK, n_features))
        padded[: n_samples - full] = X[full:]
        Y[full:] = (padded @ R.T)[: n_samples - full]
    return Y


def _fix_row_signs(R):
    """Flip rows so that the largest entry in absolute value of each is positive."""
    pivots = np.abs(R).argmax(axis=1)
    signs = np.sign(R[np.arange(R.shape[0]), pivots])
    signs[signs == 0] = 1.0
    return R * signs[:, None]


def nearest_orthogonal(A):
    """The orthogonal matrix closest to ``A`` in Frobenius norm (polar factor)."""
    U, _, Vt = svd(A, check_finite=False)
    return U @ Vt


def _orthonormal_columns(A):
    """Orthonormal basis of the columns of ``A`` by QR, continuous in ``A``."""
    Q, R = qr(A, mode="economic", check_finite=False)
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return Q * signs


def haar_rotation(n_features, rng):
    """Orthogonal matrix drawn from the Haar (uniform) distribution.

    The Q factor of a Gaussian matrix, with the signs of its columns fixed by
    the diagonal of R (Mezzadri 2007); without the fix the distribution is
    not uniform.
    """
    return _orthonormal_columns(rng.standard_normal((n_features, n_features))).T


def pca_rotation(X):
    """Eigenvectors of the covariance of ``X`` as rows, by decreasing eigenvalue."""
    centered = X - X.mean(axis=0)
    return pca_rotation_from_covariance(centered.T @ centered / X.shape[0])


def pca_rotation_from_covariance(covariance):
    """Eigenvectors of a covariance matrix as rows, by decreasing eigenvalue, signs fixed."""
    _, vectors = eigh(covariance, check_finite=False)
    return _fix_row_signs(vectors[:, ::-1].T)


def ica_rotation(X, max_iter, rng):
    """PCA rotation followed by the orthogonal FastICA unmixing of the whitened data.

    FastICA with symmetric decorrelation estimates an orthogonal unmixing
    ``W`` of the PCA-whitened data; ``W V^T`` (``V`` the eigenvectors of the
    covariance) is a product of orthogonal matrices. The whitening scales
    only serve to estimate ``W`` and are not part of the rotation.
    """
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    n_features = X.shape[1]
    pca = pca_rotation(X)
    if n_features == 1:
        return pca, 1
    scores = (X - X.mean(axis=0)) @ pca.T
    scale = scores.std(axis=0)
    # Directions without spread (at most n_samples - 1 have any) are left
    # unmixed: FastICA would return fewer components than features.
    keep = scale > 1e-12 * max(1.0, scale.max())
    if keep.sum() < 2:
        return pca, 1
    scores = scores[:, keep] / scale[keep]
    ica = FastICA(
        whiten=False, max_iter=max_iter, tol=1e-4,
        random_state=rng.randint(np.iinfo(np.int32).max),
    )
    with warnings.catch_warnings():
        # Any orthogonal W gives a valid rotation; an unconverged one is
        # only a less useful one, so the warning carries no risk here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(scores)
    unmixing = np.eye(n_features)
    unmixing[np.ix_(keep, keep)] = nearest_orthogonal(ica.components_)
    return _fix_row_signs(nearest_orthogonal(unmixing @ pca)), max(1, int(ica.n_iter_))


def _normal_scores(n_samples):
    """Expected-rank normal quantiles ``Phi^-1((i + 1/2) / n)``."""
    return ndtri((np.arange(n_samples) + 0.5) / n_samples)


def sliced_wasserstein2(P, scores):
    """Squared 2-Wasserstein distance between each column of ``P`` and N(0, 1).

    ``scores`` are the sorted normal quantiles for ``len(P)`` points; the
    optimal coupling in one dimension matches order statistics.
    """
    return np.mean(np.square(np.sort(P, axis=0) - scores[:, None]), axis=0)


def sliced_rotation(X, n_directions, max_iter, rng):
    """Orthogonal matrix whose first rows are the least Gaussian directions.

    Maximizes the sum over ``K = n_directions`` orthonormal directions ``w_k``
    of the squared 2-Wasserstein distance between the projections ``X w_k``
    and the standard normal, the max-K-sliced Wasserstein distance of
    Dai & Seljak (2021), by Riemannian gradient ascent on the Stiefel
    manifold with a QR retraction and a backtracking step, started from the
    better of the leading principal axes and a Haar-random frame. With
    ``P = X W`` and ``Q`` the normal quantiles put in the rank order of each
    column of ``P``, the Euclidean gradient is ``2 X^T (P - Q) / n``; every
    step is a matmul and a column-wise argsort. The remaining ``d - K`` rows
    complete the basis. Directions are sorted by decreasing distance.
    """
    n_samples, n_features = X.shape
    scores = _normal_scores(n_samples)
    XT = np.ascontiguousarray(X.T)

    def objective_and_gradient(W):
        # Rows of P are the projections on each direction, for contiguous sorts.
        P = W.T @ XT
        order = np.argsort(P, axis=1)
        matched = np.empty_like(P)
        np.put_along_axis(matched, order, scores[None, :], axis=1)
        residual = P - matched
        values = np.mean(np.square(residual), axis=1)
        return values.sum(), values, 2.0 * (XT @ residual.T) / n_samples

    # Start from the better of the leading principal axes and a random frame.
    starts = [pca_rotation(X)[:n_directions].T, haar_rotation(n_features, rng)[:, :n_directions]]
    evaluated = [objective_and_gradient(W) for W in starts]
    best = int(np.argmax([e[0] for e in evaluated]))
    W = starts[best]
    value, values, gradient = evaluated[best]
    step = 1.0
    n_iter = 0
    for iteration in range(1, max_iter + 1):
        n_iter = iteration
        # Project onto the tangent space of the Stiefel manifold at W.
        sym = W.T @ gradient
        riemannian = gradient - W @ (0.5 * (sym + sym.T))
        if np.linalg.norm(riemannian) <= 1e-6 * max(1.0, value):
            break
        while step > 1e-8:
            candidate = _orthonormal_columns(W + step * riemannian)
            new_value, new_values, new_gradient = objective_and_gradient(candidate)
            if new_value > value:
                break
            step *= 0.5
        else:
            break
        gain = new_value - value
        W, value, values, gradient = candidate, new_value, new_values, new_gradient
        step *= 1.5
        if gain <= 1e-9 * max(1.0, value):
            break

    W = W[:, np.argsort(values)[::-1]]
    if n_directions < n_features:
        filler = rng.standard_normal((n_features, n_features - n_directions))
        filler -= W @ (W.T @ filler)
        W = np.hstack([W, _orthonormal_columns(filler)])
    return nearest_orthogonal(_fix_row_signs(W.T)), n_iter


# Shear refinement of :func:`ica_unmixing`: sweeps over the features; the
# first sweep tries _SHEAR_STEPS shears up to _SHEAR_WIDTH per pair of
# features, each later one _FINE_STEPS shears within two of the previous
# sweep's grid steps (a grid four times finer).
_SHEAR_SWEEPS = 4
_SHEAR_STEPS = 41
_SHEAR_WIDTH = 0.1
_FINE_STEPS = 9


def histogram_entropies(P, n_bins):
    """Plug-in entropy of each column of ``P`` from ``n_bins`` equal bins over its range.

    One ``bincount`` for all columns. The range, hence the entropy, moves to
    first order with the spread of a hard edge, which is what makes it a
    sharp criterion for unmixing sources with bounded support.
    """
    n_samples, n_columns = P.shape
    low = P.min(axis=0)
    width = (P.max(axis=0) - low) / n_bins
    width = np.where(width > 0, width, 1.0)
    index = np.minimum(((P - low) / width).astype(np.intp), n_bins - 1)
    index += n_bins * np.arange(n_columns)
    counts = np.bincount(index.ravel(), minlength=n_bins * n_columns).reshape(n_columns, n_bins)
    p = counts / n_samples
    plogp = p * np.log(np.where(counts > 0, p, 1.0))
    return np.log(width) - plogp.sum(axis=1)


def _refine_by_shears(Y, W):
    """Lower the sum of the columns' histogram entropies of ``Y = X W^T`` by shears; update both in place.

    A shear ``y_i += t y_j`` has determinant 1, so it changes the joint
    entropy not at all and the sum of marginal entropies by the change of
    column ``i`` alone: minimizing that sum is maximum-likelihood ICA.
    Sweeps try a grid of ``t`` for every pair and apply, for each ``i``, the
    best ``t`` of every ``j`` at once.
    """
    n_samples, n_features = Y.shape
    n_bins = max(10, int(np.sqrt(n_samples)))
    grid = np.linspace(-_SHEAR_WIDTH, _SHEAR_WIDTH, _SHEAR_STEPS)
    for _ in range(_SHEAR_SWEEPS):
        for i in range(n_features):
            others = np.delete(np.arange(n_features), i)
            best = np.empty(others.size)
            for k, j in enumerate(others):
                candidates = Y[:, i, None] + Y[:, j, None] * grid
                best[k] = grid[np.argmin(histogram_entropies(candidates, n_bins))]
            Y[:, i] += Y[:, others] @ best
            W[i] += best @ W[others]
        step = grid[1] - grid[0]
        grid = np.linspace(-2.0 * step, 2.0 * step, _FINE_STEPS)


def ica_unmixing(X, max_iter, rng):
    """Invertible ``W`` and mean ``m`` such that the columns of ``(X - m) W^T`` are as independent as found.

    FastICA (logcosh contrast) on the PCA-whitened data gives a first
    unmixing; shears then refine it by minimizing the sum of the columns'
    histogram entropies (:func:`_refine_by_shears`). FastICA's contrast is
    smooth, so it leaves hard-edged (bounded) sources mixed by about the
    sampling error of the whitening, one or two percent at 10,000 rows,
    which costs a few hundredths of a nat per feature of marginal entropy;
    the histogram entropy's range term removes most of it. Directions
    without spread are kept as they are. Returns ``(W, m, n_iter)``, the
    iterations of FastICA.
    """
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    n_samples, n_features = X.shape
    mean = X.mean(axis=0)
    pca = pca_rotation(X)
    scores = (X - mean) @ pca.T
    scale = scores.std(axis=0)
    keep = scale > 1e-12 * max(1.0, scale.max())
    unmixing = np.eye(n_features)
    unmixing[keep, keep] = 1.0 / scale[keep]
    n_iter = 1
    if keep.sum() >= 2:
        whitened = scores[:, keep] / scale[keep]
        ica = FastICA(whiten=False, max_iter=max_iter, tol=1e-4, random_state=rng.randint(np.iinfo(np.int32).max))
        with warnings.catch_warnings():
            # An unconverged orthogonal start is refined by the shears below.
            warnings.simplefilter("ignore", ConvergenceWarning)
            ica.fit(whitened)
        n_iter = max(1, int(ica.n_iter_))
        start = nearest_orthogonal(ica.components_)
        sources = whitened @ start.T
        shear = np.eye(start.shape[0])
        _refine_by_shears(sources, shear)
        unmixing[np.ix_(keep, keep)] = shear @ start @ np.diag(1.0 / scale[keep])
    return unmixing @ pca, mean, n_iter
