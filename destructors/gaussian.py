"""The full-covariance Gaussian destructor."""

from numbers import Real

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseDestructor
from .mixed import accepts_mixed_data
from .univariate import spread_floor

__all__ = ["GaussianDestructor"]


def whiten(X, mean, factor):
    """Rows ``X`` of ``N(mean, factor factor^T)`` mapped to N(0, I), with ``log |det|`` per row.

    ``factor`` is the lower Cholesky factor of the covariance; the map is
    ``z = factor^-1 (x - mean)``, the Rosenblatt map of the Gaussian in the
    order of the features.
    """
    Z = solve_triangular(factor, (X - mean).T, lower=True).T
    return Z, np.full(X.shape[0], -np.log(np.diag(factor)).sum())


def unwhiten(Z, mean, factor):
    """The inverse of :func:`whiten`: ``x = factor z + mean``."""
    return Z @ factor.T + mean


@accepts_mixed_data
class GaussianDestructor(BaseDestructor):
    """Whiten with a full-covariance Gaussian, then apply the normal CDF.

    With ``L`` the Cholesky factor of the fitted covariance, the Gaussian view
    of the output is ``z = L^-1 (x - mean)``; the density is the multivariate
    normal ``N(mean, L L^T)``. A baseline and a useful first layer.

    The covariance is estimated on standardized features and regularized
    there, so the fit is invariant to the scale of each feature: constant,
    duplicated or collinear columns and ``n < d`` still give a positive
    definite covariance.

    With ``covariance="correlation"`` the variances are fixed at one and
    only the correlation is fitted: the Gaussian factor of a Gaussian copula,
    whose marginal layer has already put every feature on the standard
    normal scale. In a deep stack this matters: a marginal layer squeezes
    its data slightly (the extremes of ``n`` Gaussian points lie beyond the
    normal quantiles of ``1 / (n + 1)``), a fitted variance below one would
    stretch it back, and rows beyond the data, which the marginal layer only
    shifts, would be stretched by the same factor layer after layer.

    Parameters
    ----------
    reg_covar : float, default=1e-6
        Added to the diagonal of the correlation matrix.
    covariance : {"sample", "correlation"}, default="sample"
        ``"sample"``: the sample covariance (regularized as above).
        ``"correlation"``: the sample correlation matrix, with unit
        variances (for input on the standard normal scale).
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.
    [mixed data parameters]

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training data.
    covariance_ : ndarray of shape (n_features, n_features)
        Regularized covariance.
    cholesky_ : ndarray of shape (n_features, n_features)
        Lower Cholesky factor of ``covariance_``.
    [mixed data attributes]
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import GaussianDestructor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=2000)
    >>> destructor = GaussianDestructor(output_distribution="normal").fit(X)
    >>> Z = destructor.transform(X)
    >>> np.round(np.cov(Z.T), 2)
    array([[1., 0.],
           [0., 1.]])
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "covariance": [StrOptions({"sample", "correlation"})],
    }

    def __init__(
        self, reg_covar=1e-6, *, covariance="sample", output_distribution="uniform",
        discrete_features="auto", categorical_features="auto",
    ):
        self.reg_covar = reg_covar
        self.covariance = covariance
        self.output_distribution = output_distribution
        self.discrete_features = discrete_features
        self.categorical_features = categorical_features

    def __setstate__(self, state):
        # Models pickled before the ``covariance`` parameter fitted the sample covariance.
        state.setdefault("covariance", "sample")
        super().__setstate__(state)

    def _fit(self, X):
        mean = X.mean(axis=0)
        centered = X - mean
        self._fit_moments(mean, centered.T @ centered, X.shape[0], spread_floor(X, axis=0))

    def _fit_moments(self, mean, scatter, n_samples, floor):
        """Fit from the mean, the centred cross-products and per-feature spread floors.

        The sufficient statistics of a Gaussian: the distributed fit of
        :mod:`destructors.dask` sums them over blocks of rows.
        """
        n_features = mean.shape[0]
        scale = np.sqrt(np.maximum(np.diag(scatter), 0.0) / n_samples)
        scale = np.where(scale > floor, scale, floor)
        correlation = scatter / np.outer(scale, scale) / n_samples
        correlation.flat[:: n_features + 1] += self.reg_covar
        if self.reg_covar == 0:
            # Keep a singular sample covariance factorizable.
            correlation.flat[:: n_features + 1] += 1e-12
        self.mean_ = mean
        self.cholesky_ = cholesky(correlation, lower=True)
        if self.covariance == "sample":
            self.cholesky_ *= scale[:, None]
        self.covariance_ = self.cholesky_ @ self.cholesky_.T

    def _forward(self, X):
        return whiten(X, self.mean_, self.cholesky_)

    def _inverse(self, Z):
        return unwhiten(Z, self.mean_, self.cholesky_)
