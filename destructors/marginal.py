"""The marginal destructor: one univariate CDF per feature."""

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.parallel import Parallel, delayed

from .base import BaseDestructor
from ._piecewise import PiecewiseCDF, StackedPiecewiseCDF
from .mixed import accepts_mixed_data
from .univariate import BaseUnivariateDensity, GaussianDensity, HistogramDensity, _TailedDensity

__all__ = ["MarginalDestructor"]


def _fit_density(density, values):
    return density.fit(values)


def _fit_validated(density, values):
    """Fit a library density to a column that the destructor has already validated."""
    density._fit(values)
    return density


def _standard_normal():
    """The standard normal density, whose map to the Gaussian view is the identity."""
    density = GaussianDensity()
    density.mean_, density.scale_ = 0.0, 1.0
    return density


@accepts_mixed_data
class MarginalDestructor(BaseDestructor):
    """Destroy each feature with its own univariate CDF: ``u_j = F_j(x_j)``.

    A clone of the univariate ``density`` template is fitted to every
    feature. The log-determinant of the Jacobian is ``sum_j log f_j(x_j)``, so
    the fitted joint density is the product of the marginals. It is the usual
    first layer of a deep destructor, mapping ``R^d`` into the unit cube, and
    the marginal Gaussianization step of RBIG.

    Parameters
    ----------
    density : univariate density or None, default=None
        Template fitted to each feature, for example
        ``SplineDensity()``. ``None`` uses :class:`HistogramDensity`, the
        classic choice of RBIG.
        Its parameters are reachable as ``density__<param>``.
    n_jobs : int or None, default=None
        Number of jobs fitting the features in parallel (joblib).
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.
    [mixed data parameters]

    Attributes
    ----------
    densities_ : list of univariate densities
        The fitted density of each feature; for discrete and categorical
        features the standard normal, since the cell layer (``cells_``)
        already maps them, exactly: their cell probabilities are the cell
        layer's masses.
    [mixed data attributes]
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import MarginalDestructor, HistogramDensity
    >>> X = np.random.default_rng(0).exponential(size=(500, 2))
    >>> destructor = MarginalDestructor(HistogramDensity(bins=20)).fit(X)
    >>> U = destructor.transform(X)
    >>> bool(U.min() >= 0 and U.max() <= 1)
    True
    >>> np.allclose(destructor.inverse_transform(U), X)
    True
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "density": [HasMethods(["fit", "logpdf", "cdf"]), None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, density=None, *, n_jobs=None, output_distribution="uniform",
        discrete_features="auto", categorical_features="auto",
    ):
        self.density = density
        self.n_jobs = n_jobs
        self.output_distribution = output_distribution
        self.discrete_features = discrete_features
        self.categorical_features = categorical_features

    def _cells_integrate_exactly(self):
        return True

    def _fit(self, X):
        template = HistogramDensity() if self.density is None else self.density
        fit = _fit_density
        if isinstance(template, BaseUnivariateDensity):
            # The columns of a validated X are finite float64: validate the
            # parameters once rather than each column (on digits' 64 features
            # the per-column checks cost as much as the fits).
            template._validate_params()
            fit = _fit_validated
        # Columns the cell layer has mapped keep the identity.
        cells = self._cells()
        mapped = set() if cells is None else set(cells.indices.tolist())
        fitted = [j for j in range(X.shape[1]) if j not in mapped]
        columns = (np.ascontiguousarray(X[:, j]) for j in fitted)
        stacked = None
        if type(template) is HistogramDensity and self.n_jobs in (None, 1):
            densities, stacked = clone(template)._fit_columns(X[:, fitted]) if fitted else ([], None)
        elif self.n_jobs in (None, 1):
            densities = [fit(clone(template), x) for x in columns]
        else:
            densities = Parallel(n_jobs=self.n_jobs)(delayed(fit)(clone(template), x) for x in columns)
        self.densities_ = [_standard_normal() for _ in range(X.shape[1])]
        for j, density in zip(fitted, densities):
            self.densities_[j] = density
        # Histograms and splines share one piecewise CDF class: transform all
        # columns at once (the same numbers as column by column).
        cdfs = [getattr(density, "cdf_", None) for density in self.densities_]
        stackable = all(isinstance(d, _TailedDensity) and isinstance(c, PiecewiseCDF)
                        for d, c in zip(self.densities_, cdfs))
        if not stackable:
            self._stacked_ = None
        elif stacked is not None and len(fitted) == X.shape[1]:
            # Histograms fitted together come stacked from their own tables.
            self._stacked_ = stacked
        else:
            self._stacked_ = StackedPiecewiseCDF(cdfs)

    def _forward(self, X):
        stacked = getattr(self, "_stacked_", None)
        if stacked is not None:
            return stacked.to_normal(X)
        Z = np.empty_like(X)
        log_det = np.zeros(X.shape[0])
        for j, density in enumerate(self.densities_):
            Z[:, j], log_dz = density._to_normal(X[:, j])
            log_det += log_dz
        return Z, log_det

    def _inverse(self, Z):
        X = np.empty_like(Z)
        for j, density in enumerate(self.densities_):
            X[:, j] = density._from_normal(Z[:, j])
        return X


def gaussian_view_marginal(density=None, *, shrinkage=None, shrinkage_target="standard_normal"):
    """A marginal layer for input that earlier layers have Gaussianized.

    ``density`` as given, or (``None``) histograms whose tails continue the
    standard normal's (``HistogramDensity(tails="normal")``): beyond its data
    such a layer shifts rather than contracts the Gaussian view, so deep
    stacks stay invertible there, and held-out rows beyond the data keep the
    density of the Gaussian they already follow. ``shrinkage`` and
    ``shrinkage_target`` are passed to those histograms (see
    :class:`HistogramDensity`).
    """
    if density is not None:
        return MarginalDestructor(density)
    return MarginalDestructor(
        HistogramDensity(tails="normal", shrinkage=shrinkage, shrinkage_target=shrinkage_target)
    )
