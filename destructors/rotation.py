"""Linear maps of the Gaussian view: orthogonal rotations (the rotation step of RBIG) and ICA unmixings."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._normal import norm_logpdf
from ._rotation_kernels import (
    haar_rotation,
    ica_rotation,
    ica_unmixing,
    pca_rotation,
    rotate,
    sliced_rotation,
)
from .base import CanonicalDestructor, resolve_random_state, scratch_random_state

__all__ = ["RotationDestructor", "UnmixingDestructor"]

# A direction whose training outputs spread less than _FLAT_SPREAD times the
# largest row norm carries only rounding noise; outputs within _SNAP times the
# row norm of its training value are set to that value.
_FLAT_SPREAD = 1e-12
_SNAP = 1e-10


class RotationDestructor(CanonicalDestructor):
    """Rotate the Gaussian view of the unit cube: ``u -> Phi(R Phi^-1(u))``.

    ``R`` is an orthogonal matrix fitted to the data. Rotations preserve the
    standard normal, so the map sends the uniform distribution on the cube to
    itself and its log-determinant is exactly zero in both views; it changes
    the dependence between coordinates, not their density. Alternated with
    marginal Gaussianization it gives RBIG (:class:`RBIGDestructor`).

    Parameters
    ----------
    rotation : {"pca", "random", "ica", "sliced"}, default="pca"
        How ``R`` is chosen from the Gaussian view ``x`` of the training data:

        - ``"pca"``: eigenvectors of the covariance of ``x``, by decreasing
          eigenvalue, so that the rotated coordinates are uncorrelated;
        - ``"random"``: drawn from the Haar (uniform) distribution on
          orthogonal matrices, ignoring the data;
        - ``"ica"``: the PCA rotation followed by the orthogonal FastICA
          unmixing (:class:`~sklearn.decomposition.FastICA`) of the
          PCA-whitened data;
        - ``"sliced"``: the ``n_directions`` orthonormal directions along
          which the data look least Gaussian, in the max-sliced 2-Wasserstein
          distance to the standard normal (Dai & Seljak 2021), completed to a
          basis.
    n_directions : int or None, default=None
        Number of directions optimized by ``rotation="sliced"``; ``None``
        optimizes all ``n_features``. Ignored by the other rotations.
    max_iter : int, default=100
        Iterations of the FastICA and sliced-direction searches.
    random_state : int, RandomState instance or None, default=None
        Seed of the random rotation and of the starting points of the ICA
        and sliced searches.
    input_distribution : {"uniform", "normal"}, default="uniform"
        Domain of the input: the unit cube, or its Gaussian view.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    rotation_ : ndarray of shape (n_features, n_features)
        The orthogonal matrix ``R``; the Gaussian view of the output is
        ``X @ rotation_.T``.
    n_iter_ : int
        Iterations run by the ICA or sliced search (at most ``max_iter``);
        1 for the closed-form ``"pca"`` and ``"random"`` rotations.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    RBIGDestructor : Alternates rotations and marginal Gaussianizations.

    Notes
    -----
    In the Gaussian view the map is linear, ``z' = R z``, with
    ``|det R| = 1``. In the uniform view, ``u' = Phi(R Phi^-1(u))`` has
    Jacobian ``diag(phi(z')) R diag(1 / phi(z))``, whose log-determinant is
    ``(|z|^2 - |R z|^2) / 2 = 0`` because ``R`` preserves norms. The map is
    applied as one matrix product; the search for ``R`` is vectorized over
    samples.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import RotationDestructor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=1000)
    >>> rotation = RotationDestructor(input_distribution="normal",
    ...                               output_distribution="normal").fit(X)
    >>> np.allclose(rotation.rotation_ @ rotation.rotation_.T, np.eye(2))
    True
    >>> Z = rotation.transform(X)
    >>> bool(abs(np.corrcoef(Z.T)[0, 1]) < 1e-10)
    True
    >>> from scipy.stats import norm
    >>> np.allclose(rotation.score_samples(X), norm.logpdf(X).sum(axis=1))
    True
    """

    _parameter_constraints: dict = {
        **CanonicalDestructor._parameter_constraints,
        "rotation": [StrOptions({"pca", "random", "ica", "sliced"})],
        "n_directions": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        rotation="pca",
        *,
        n_directions=None,
        max_iter=100,
        random_state=None,
        input_distribution="uniform",
        output_distribution="uniform",
    ):
        self.rotation = rotation
        self.n_directions = n_directions
        self.max_iter = max_iter
        self.random_state = random_state
        self.input_distribution = input_distribution
        self.output_distribution = output_distribution

    def _fit(self, X):
        self._fit_rotation(X)

    def _fit_forward(self, X):
        # Fitting rotates the training rows already: snap those rather than
        # rotate them again (rows rotate alike in any batch, see ``rotate``).
        Y = self._fit_rotation(X)
        return self._snapped(X, Y), np.zeros(X.shape[0])

    def _fit_rotation(self, X):
        """Fit ``rotation_`` and the flat directions; return the rotated rows ``X @ rotation_.T``."""
        n_features = X.shape[1]
        if self.n_directions is not None and self.n_directions > n_features:
            raise ValueError(
                f"RotationDestructor: n_directions={self.n_directions} exceeds "
                f"the number of features, {n_features}."
            )
        n_iter = 1
        if self.rotation == "pca":
            R = pca_rotation(X)
        elif self.rotation == "random":
            # Drawn at once, so a per-thread generator spares building one.
            R = haar_rotation(n_features, scratch_random_state(self.random_state))
        elif self.rotation == "ica":
            R, n_iter = ica_rotation(X, self.max_iter, resolve_random_state(self.random_state))
        else:
            n_directions = n_features if self.n_directions is None else self.n_directions
            R, n_iter = sliced_rotation(X, n_directions, self.max_iter, resolve_random_state(self.random_state))
        self.rotation_ = R
        self.n_iter_ = n_iter
        # Directions along which the training rows do not spread beyond
        # rounding (duplicated, collinear or constant features): their output
        # is snapped to the training value, so that the rounding noise of the
        # product, which depends on the batch, is not magnified by the layers
        # fitted after this one into batch-dependent densities.
        Y = rotate(X, R)
        level = float(np.sqrt(np.einsum("ij,ij->i", X, X)).max())
        flat = Y.max(axis=0) - Y.min(axis=0) <= _FLAT_SPREAD * level
        self._flat_value_ = np.full(flat.size, np.nan)
        if flat.any():
            # Medians of the flat directions only: they are rare, and a median sorts.
            self._flat_value_[flat] = np.median(Y[:, flat], axis=0)
        self._flat_level_ = level
        return Y

    def _forward(self, X):
        return self._snapped(X, rotate(X, self.rotation_)), np.zeros(X.shape[0])

    def _snapped(self, X, Y):
        """Rotated rows ``Y`` of ``X`` with the flat directions snapped to their training values."""
        value = getattr(self, "_flat_value_", None)
        if value is not None and not np.isnan(value).all():
            columns = np.flatnonzero(~np.isnan(value))
            norms = np.sqrt(np.einsum("ij,ij->i", X, X))
            tolerance = _SNAP * np.maximum(norms, self._flat_level_)
            block = Y[:, columns]
            near = np.abs(block - value[columns]) <= tolerance[:, None]
            Y[:, columns] = np.where(near, value[columns], block)
        return Y

    def _inverse(self, Z):
        return rotate(Z, self.rotation_.T)

    def _log_density(self, X):
        # Exact: |R x| = |x|, so the density is that of the standard normal in
        # the Gaussian view and uniform on the cube, whatever the rounding of
        # the product (which would otherwise depend on the batch size).
        if self._unit_input():
            return np.zeros(X.shape[0])
        return norm_logpdf(X).sum(axis=1)


class UnmixingDestructor(CanonicalDestructor):
    """Linear ICA unmixing of the Gaussian view: ``x -> W (x - m)``, ``W`` any invertible matrix.

    ``W`` makes the coordinates of the output as independent as it can
    find: the maximum-likelihood linear ICA model. Unlike a rotation it need
    not preserve the standard normal, so it changes densities by the
    constant ``log |det W|``. Before RBIG's marginal Gaussianizations
    (``RBIGDestructor(unmixing=...)``) it removes in one step the dependence
    of linearly mixed independent sources, which rotations and marginal
    maps of the Gaussian view remove only slowly when the sources have hard
    edges (bounded support): there, a residual mixing of ``e`` raises the
    marginal entropies to first order in ``e``.

    Parameters
    ----------
    max_iter : int, default=200
        Iterations of the FastICA search that starts the unmixing.
    random_state : int, RandomState instance or None, default=None
        Seed of FastICA's starting point.
    input_distribution : {"uniform", "normal"}, default="uniform"
        Domain of the input: the unit cube, or its Gaussian view.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    unmixing_ : ndarray of shape (n_features, n_features)
        The matrix ``W``; the Gaussian view of the output is
        ``(X - mean_) @ unmixing_.T``.
    mixing_ : ndarray of shape (n_features, n_features)
        Its inverse.
    mean_ : ndarray of shape (n_features,)
        The mean ``m`` of the training input (Gaussian view).
    log_det_ : float
        ``log |det W|``, the log-determinant of the map for every row.
    n_iter_ : int
        Iterations run by FastICA.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    RotationDestructor : Orthogonal maps of the Gaussian view, among them
        ``rotation="ica"``, FastICA's orthogonal unmixing after whitening.
    RBIGDestructor : Takes an unmixing before its first marginal layer.

    Notes
    -----
    FastICA (Hyvarinen 1999) on the PCA-whitened data gives a first ``W``;
    shears ``y_i += t y_j``, whose determinant is 1, then lower the sum of
    the output columns' histogram entropies, which is minus the
    log-likelihood of the ICA model up to ``log |det W|``. The histogram
    entropy of a column moves with its range to first order, so the shears
    unmix hard-edged sources far beyond FastICA's smooth contrast, which is
    limited by the sampling error of the whitening (on 10,000 rows of five
    uniform sources mixed linearly, the largest residual mixing fell from
    1.2-1.7% after FastICA to 0.2-0.3%). The search costs a few sorts and
    bincounts of the training rows per pair of features and sweep.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import UnmixingDestructor
    >>> rng = np.random.default_rng(0)
    >>> A = np.array([[1.0, 0.5], [0.3, 1.0]])
    >>> X = rng.uniform(-1, 1, size=(5000, 2)) @ A.T
    >>> unmixing = UnmixingDestructor(random_state=0, input_distribution="normal",
    ...                               output_distribution="normal").fit(X)
    >>> P = unmixing.unmixing_ @ A  # a scaled permutation when unmixed
    >>> P = np.abs(P) / np.abs(P).max(axis=1, keepdims=True)
    >>> bool(np.sort(P, axis=1)[:, 0].max() < 0.02)
    True
    >>> Y = unmixing.transform(X)
    >>> np.allclose(unmixing.inverse_transform(Y), X)
    True
    """

    _parameter_constraints: dict = {
        **CanonicalDestructor._parameter_constraints,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, max_iter=200, random_state=None, input_distribution="uniform",
                 output_distribution="uniform"):
        self.max_iter = max_iter
        self.random_state = random_state
        self.input_distribution = input_distribution
        self.output_distribution = output_distribution

    def _fit(self, X):
        W, mean, n_iter = ica_unmixing(X, self.max_iter, resolve_random_state(self.random_state))
        self.unmixing_ = W
        self.mixing_ = np.linalg.inv(W)
        self.mean_ = mean
        self.log_det_ = float(np.linalg.slogdet(W)[1])
        self.n_iter_ = n_iter

    def _forward(self, X):
        return rotate(X - self.mean_, self.unmixing_), np.full(X.shape[0], self.log_det_)

    def _inverse(self, Z):
        return rotate(Z, self.mixing_) + self.mean_
