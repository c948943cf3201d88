"""Conditionals of a Gaussian mixture, and a vectorized Gaussian-view root finder.

A Gaussian mixture conditioned on its first ``k`` coordinates is again a
Gaussian mixture in coordinate ``k``: with ``L_c`` the lower Cholesky factor
of the covariance of component ``c`` (in the order of the sweep) and
``e_c = L_c^-1 (x - mean_c)`` the standardized residuals,

    x_k | x_<k, c  ~  N(mean_ck + sum_{j<k} L_c[k, j] e_cj,  L_c[k, k]^2)

(computed in the equivalent regression form
``mean_ck - L_c[k, k] sum_{j<k} L_c^-1[k, j] (x_j - mean_cj)``, so that a
sweep stores the rows' values rather than a residual per component), and
the weight of component ``c`` becomes its posterior given ``x_<k``, updated
one coordinate at a time by the conditional log density. The CDF,
survival function and density of coordinate ``k`` are log-sum-exps over
components of ``log_ndtr`` terms, so both tails keep their precision.

The inverse ``F^-1(Phi(z))`` is solved for all rows at once by a safeguarded
Newton iteration on ``x -> Phi^-1(F(x)) - z``, which is close to linear even
in the far tails, with bisection whenever a Newton step leaves the bracket
or converges too slowly (``rtsafe`` of Numerical Recipes, vectorized).

The EM steps of full-covariance mixtures are batched over components: one
matrix product gives every component's whitened residuals, and the
covariances come from the responsibility-weighted second moments, instead of
a Python loop over components with a fresh ``(n, d)`` temporary each.

These kernels know nothing about estimators.
"""

import warnings

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import log_ndtr, ndtr
from sklearn.exceptions import ConvergenceWarning

from ._normal import norm_logpdf, z_from_log_cdf_sf

__all__ = [
    "GaussianMixtureSweep",
    "full_gaussian_parameters",
    "full_log_gaussian_prob",
    "logsumexp_rows",
    "precision_cholesky",
    "solve_increasing",
]

# Float resolution of a root, relative to its magnitude: a few ulps.
_X_RESOLUTION = 2 * np.finfo(np.float64).eps
# Entries of the (rows x components x features) block of whitened residuals
# formed at once: 8 MiB, so large inputs are processed in row blocks.
_BLOCK_ENTRIES = 2**20
# Second moments from the outer products of rows are used up to this many
# features; beyond, the (n x d^2) products cost more than a loop over components.
_MAX_OUTER_FEATURES = 8
# A component whose squared distance from the data's mean exceeds this
# multiple of its variance would lose more than 6 digits of its covariance to
# cancellation in the second-moment formula; it is recomputed centred.
_CANCELLATION_RATIO = 1e6
_LOG_2PI = np.log(2.0 * np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
# Conditional densities, CDFs and survival functions above this are summed
# in linear space; below it (far beyond every component) in log space.
_LINEAR_FLOOR = 1e-250


def logsumexp_rows(a):
    """``log(sum(exp(a), axis=1))`` of a 2-D array, stable and warning-free.

    A row whose entries are all ``-inf`` gives ``-inf``.
    """
    top = a.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", under="ignore"):
        return np.log(np.exp(a - shift[:, None]).sum(axis=1)) + shift


def full_log_gaussian_prob(X, means, precisions_cholesky):
    """``log N(x; mean_c, Sigma_c)`` of every row and component, full covariances.

    ``precisions_cholesky[c]`` is scikit-learn's ``P_c`` with
    ``Sigma_c^-1 = P_c P_c^T``, so the whitened residual is
    ``(x - mean_c) P_c``. All components' residuals come from one product
    ``X W - b`` with ``W`` the factors side by side (columns grouped by
    feature), computed in blocks of rows to bound memory.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    """
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    # Column j * K + c holds coordinate j of component c's residual.
    weights = np.transpose(precisions_cholesky, (1, 2, 0)).reshape(n_features, n_features * n_components)
    shift = np.einsum("cd,cde->ec", means, precisions_cholesky).reshape(n_features * n_components)
    log_det = np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    log_prob = np.empty((n_samples, n_components))
    step = max(1, _BLOCK_ENTRIES // (n_features * n_components))
    for start in range(0, n_samples, step):
        residual = X[start : start + step] @ weights
        residual -= shift
        np.square(residual, out=residual)
        # Sum the features' squares with slices: a reduction over a short
        # strided axis is several times slower.
        block = log_prob[start : start + step]
        block[:] = residual[:, :n_components]
        for j in range(1, n_features):
            block += residual[:, j * n_components : (j + 1) * n_components]
    log_prob *= -0.5
    log_prob += log_det - 0.5 * n_features * _LOG_2PI
    return log_prob


def full_gaussian_parameters(X, resp, reg_covar):
    """Component masses, means and full covariances from responsibilities (the M step).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities (rows sum to one).
    reg_covar : float
        Added to the diagonal of each covariance.

    Returns
    -------
    nk, means, covariances : ndarrays of shapes (n_components,),
        (n_components, n_features), (n_components, n_features, n_features)

    Notes
    -----
    With few features the covariances are ``E_r[(x - m)(x - m)^T] -
    (mean_c - m)(mean_c - m)^T`` about the data's mean ``m``, all components
    from one product of the responsibilities with the rows' outer products.
    A component far from ``m`` relative to its spread would lose digits to
    that difference; it is recomputed from its centred residuals, as are all
    components when there are many features.
    """
    n_samples, n_features = X.shape
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ X) / nk[:, None]
    diagonal = np.arange(n_features)
    if n_features <= _MAX_OUTER_FEATURES:
        center = X.mean(axis=0)
        centred = X - center
        outer = (centred[:, :, None] * centred[:, None, :]).reshape(n_samples, n_features * n_features)
        offset = means - center
        covariances = (resp.T @ outer).reshape(-1, n_features, n_features) / nk[:, None, None]
        covariances -= offset[:, :, None] * offset[:, None, :]
        variance = np.trace(covariances, axis1=1, axis2=2)
        exact = np.flatnonzero(~(np.einsum("cd,cd->c", offset, offset) <= _CANCELLATION_RATIO * variance))
    else:
        covariances = np.empty((means.shape[0], n_features, n_features))
        exact = np.arange(means.shape[0])
    for c in exact:
        residual = X - means[c]
        covariances[c] = (resp[:, c] * residual.T) @ residual / nk[c]
    covariances[:, diagonal, diagonal] += reg_covar
    return nk, means, covariances


def precision_cholesky(covariances):
    """scikit-learn's ``precisions_cholesky_`` of full covariances: ``P = L^-T`` with ``Sigma = L L^T``.

    Raises ``numpy.linalg.LinAlgError`` when a covariance is not positive definite.
    """
    cholesky = np.linalg.cholesky(covariances)
    eye = np.eye(covariances.shape[-1])
    return np.stack([solve_triangular(factor, eye, lower=True).T for factor in cholesky])


def _log_ndtr_both(t):
    """``log Phi(t)`` and ``log Phi(-t)`` with one ``log_ndtr`` call.

    The smaller tail ``log Phi(-|t|)`` is computed exactly; the larger one,
    at least ``log 0.5``, is ``log1p(-exp(smaller))`` without cancellation.
    A tenth of the cost of a second ``log_ndtr``, which dominated the
    Rosenblatt transform of large mixtures.
    """
    small = log_ndtr(-np.abs(t))
    large = np.log1p(-np.exp(small))
    negative = t < 0
    return np.where(negative, small, large), np.where(negative, large, small)


def solve_increasing(evaluate, target, lo, hi, x0, scale, rtol=1e-10, max_iter=200):
    """Solve ``g(x) = target`` for an increasing ``g``, for all rows at once.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x, rows) -> (g, log_slope)``: the value of ``g`` and the
        log of its derivative at ``x`` for the rows of index ``rows``.
    target : ndarray of shape (n,)
        Right-hand sides.
    lo, hi : ndarray of shape (n,)
        A bracket of each root: ``g(lo) <= target <= g(hi)``.
    x0 : ndarray of shape (n,)
        Starting points (clipped into the bracket).
    scale : ndarray of shape (n,)
        Positive length scale of each row; a row has converged when its
        Newton step is below ``rtol * scale`` plus a few units of float
        resolution of ``x`` (relative to ``scale``, not to ``|x|``, so
        that data far from zero are solved as precisely as data near it).
    rtol : float, default=1e-10
        Tolerance on ``x``, relative to ``scale``.
    max_iter : int, default=200
        Iteration budget; bisection alone would reach the tolerance well
        within it.

    Returns
    -------
    x : ndarray of shape (n,)
        The roots.
    n_iter : int
        Number of iterations of the slowest row.
    """
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    x = np.clip(x0, lo, hi)
    previous_step = hi - lo
    tolerance = rtol * scale + _X_RESOLUTION * np.abs(x)
    # A collapsed bracket is its own answer.
    closed = hi - lo <= tolerance
    x[closed] = lo[closed]
    active = np.flatnonzero(~closed)
    n_iter = 0
    while active.size and n_iter < max_iter:
        n_iter += 1
        xa, la, ha = x[active], lo[active], hi[active]
        g, log_slope = evaluate(xa, active)
        g = g - target[active]
        la = np.where(g < 0, xa, la)
        ha = np.where(g > 0, xa, ha)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            slope = np.exp(log_slope)
            newton_step = g / slope
            slow = np.abs(2.0 * g) > np.abs(previous_step[active] * slope)
        newton = xa - newton_step
        tol = rtol * scale[active] + _X_RESOLUTION * np.abs(xa)
        # A Newton step below the tolerance is the last one: the error left
        # is of the order of its square. It may land on a bracket end.
        converged = (g == 0) | (np.abs(newton_step) <= tol)
        bisect = ~converged & (~((newton > la) & (newton < ha)) | slow)
        new = np.where(bisect, 0.5 * (la + ha), np.where(g == 0, xa, newton))
        new = np.where(converged, np.clip(new, la, ha), new)
        step = np.abs(new - xa)
        done = converged | (ha - la <= tol)
        x[active], lo[active], hi[active] = new, la, ha
        previous_step[active] = step
        active = active[~done]
    if active.size:
        warnings.warn(
            f"Gaussian-view inversion: {active.size} values did not reach the "
            f"relative tolerance {rtol:g} in {max_iter} iterations.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return x, n_iter


class GaussianMixtureSweep:
    """Walk the coordinates of a Gaussian mixture, conditioning on each in turn.

    The sweep holds, for every row, the values fixed so far, the posterior
    log weight of each component given them and the conditional means of
    the next coordinate: memory of order ``n_rows * (n_features +
    n_components)``. It follows the conditional-density protocol of
    :class:`~destructors.AutoregressiveDestructor`: ``evaluate`` and
    ``invert`` act on the next coordinate, ``condition`` fixes it.

    Parameters
    ----------
    log_weights : ndarray of shape (n_components,)
        Log mixture weights.
    means : ndarray of shape (n_components, n_features)
        Component means, columns in sweep order.
    cholesky : ndarray of shape (n_components, n_features, n_features)
        Lower Cholesky factors of the component covariances, rows and
        columns in sweep order.
    n_rows : int
        Number of rows swept at once.
    """

    def __init__(self, log_weights, means, cholesky, n_rows):
        n_components, n_features = means.shape
        self._means = means
        self._n_features = n_features
        # Regression form of the conditional means: with L^-1 the inverse
        # Cholesky factor, mean_k = mean_ck - L[k, k] sum_{j<k} L^-1[k, j]
        # (x_j - mean_cj). The sweep then only keeps the rows' own values,
        # not a residual per component.
        eye = np.eye(n_features)
        inverse = np.stack([solve_triangular(factor, eye, lower=True) for factor in cholesky])
        self._scales_all = np.diagonal(cholesky, axis1=1, axis2=2)
        self._coefficients = -self._scales_all[:, :, None] * inverse
        self._log_weights = np.tile(np.asarray(log_weights, dtype=np.float64), (n_rows, 1))
        with np.errstate(under="ignore"):
            self._weights = np.exp(self._log_weights)
        self._values = np.empty((n_rows, max(n_features - 1, 0)))
        self._k = 0
        self._set_coordinate()

    def _set_coordinate(self):
        """Conditional means and scales of coordinate ``self._k``."""
        k = self._k
        # A loop over the (few) previous coordinates keeps every row's value
        # independent of how many rows are swept together.
        cond_means = np.repeat(self._means[None, :, k], self._log_weights.shape[0], axis=0)
        for j in range(k):
            cond_means += self._coefficients[:, k, j] * (self._values[:, j, None] - self._means[:, j])
        self._cond_means = cond_means
        scales = self._scales_all[:, k]
        self._inv_scales = 1.0 / scales
        self._log_scales = np.log(scales)
        self._scales = scales

    def _check_open(self):
        if self._k >= self._n_features:
            raise ValueError(
                f"GaussianMixtureSweep: all {self._n_features} coordinates are already conditioned on."
            )

    def _standardize(self, x, rows=None):
        self._check_open()
        means = self._cond_means if rows is None else self._cond_means[rows]
        return (x[:, None] - means) * self._inv_scales

    def _log_terms(self, x, rows=None):
        """Conditional log pdf, log CDF and log SF of the next coordinate at ``x``.

        Summed in linear space, with one ``ndtr`` and one ``exp`` per row and
        component: each sum has positive terms, so it is accurate to
        rounding while it stays far above the float range's bottom. Rows
        where one of the three falls below ``_LINEAR_FLOOR`` (tens of
        standard deviations beyond every component) are recomputed in log
        space, where nothing underflows; about 3x faster than log space for
        every row.
        """
        t = self._standardize(x, rows)
        weights = self._weights if rows is None else self._weights[rows]
        with np.errstate(under="ignore", over="ignore"):
            density = np.exp(-0.5 * np.square(t))
            density *= weights
            pdf = density @ self._inv_scales * _INV_SQRT_2PI
            tail = ndtr(-np.abs(t))
            tail *= weights
            # Component c's CDF is its small tail where t < 0, else one minus
            # it; its survival function the other way round. Each sum is
            # formed from its own terms, so a small one keeps its digits.
            negative = t < 0
            large = weights - tail
            cdf = np.where(negative, tail, large).sum(axis=1)
            sf = np.where(negative, large, tail).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_pdf, log_cdf, log_sf = np.log(pdf), np.log(cdf), np.log(sf)
        far = np.flatnonzero(~((pdf > _LINEAR_FLOOR) & (cdf > _LINEAR_FLOOR) & (sf > _LINEAR_FLOOR)))
        if far.size:
            log_w = (self._log_weights if rows is None else self._log_weights[rows])[far]
            t_far = t[far]
            log_pdf[far] = logsumexp_rows(log_w + norm_logpdf(t_far) - self._log_scales)
            log_cdf_terms, log_sf_terms = _log_ndtr_both(t_far)
            log_cdf[far] = logsumexp_rows(log_w + log_cdf_terms)
            log_sf[far] = logsumexp_rows(log_w + log_sf_terms)
        return log_pdf, log_cdf, log_sf

    def evaluate(self, x):
        """Conditional log density, log CDF and log survival function of the next coordinate.

        Parameters
        ----------
        x : ndarray of shape (n_rows,)
            Values of the next coordinate.

        Returns
        -------
        log_pdf, log_cdf, log_sf : ndarrays of shape (n_rows,)
        """
        return self._log_terms(np.asarray(x, dtype=np.float64))

    def _z_and_log_slope(self, x, rows):
        log_pdf, log_cdf, log_sf = self._log_terms(x, rows)
        z = z_from_log_cdf_sf(log_cdf, log_sf)
        return z, log_pdf - norm_logpdf(z)

    def invert(self, z):
        """Values of the next coordinate whose conditional Gaussian view is ``z``.

        Solves ``Phi^-1(F(x | previous coordinates)) = z`` for every row to a
        tolerance of 1e-10 times the smallest component scale. The root lies
        between the smallest and the largest of the component quantiles
        ``m_c + s_c z``: below all of
        them every component CDF is below ``Phi(z)``, above all of them every
        one is above it.

        Parameters
        ----------
        z : ndarray of shape (n_rows,)
            Gaussian-view values.

        Returns
        -------
        x : ndarray of shape (n_rows,)
        """
        z = np.asarray(z, dtype=np.float64)
        self._check_open()
        quantiles = self._cond_means + self._scales * z[:, None]
        present = np.isfinite(self._log_weights)
        lo = np.where(present, quantiles, np.inf).min(axis=1)
        hi = np.where(present, quantiles, -np.inf).max(axis=1)
        with np.errstate(under="ignore"):
            weights = np.exp(self._log_weights)
        start = (weights * quantiles).sum(axis=1)
        scale = np.full(z.shape, self._scales.min())
        x, _ = solve_increasing(self._z_and_log_slope, z, lo, hi, start, scale)
        return x

    def condition(self, x):
        """Fix the next coordinate to ``x`` in every row and move to the following one.

        Parameters
        ----------
        x : ndarray of shape (n_rows,)
            Values of the next coordinate.
        """
        x = np.asarray(x, dtype=np.float64)
        t = self._standardize(x)
        log_density = norm_logpdf(t) - self._log_scales
        # Only differences between components matter: remove each row's
        # largest term first, or a value 1e10 scales out (log densities near
        # -1e21) would round the log weights away and leave them unnormalized.
        top = log_density.max(axis=1, keepdims=True)
        log_w = self._log_weights + (log_density - np.where(np.isfinite(top), top, 0.0))
        self._log_weights = log_w - logsumexp_rows(log_w)[:, None]
        with np.errstate(under="ignore"):
            self._weights = np.exp(self._log_weights)
        if self._k < self._n_features - 1:
            self._values[:, self._k] = x
        self._k += 1
        if self._k < self._n_features:
            self._set_coordinate()
