"""Gaussian mixtures as conditional densities and as destructors.

:class:`GaussianMixtureDensity` is scikit-learn's
:class:`~sklearn.mixture.GaussianMixture` (same parameters, same EM fit) with
the conditional-density protocol of :mod:`destructors.autoregressive`: the
conditional of one coordinate given the previous ones is again a Gaussian
mixture, with component weights updated by the previous coordinates.
:class:`GaussianMixtureDestructor` is its Rosenblatt transform, an exact and
invertible destructor whose density is the mixture's; a full Gaussian is the
one-component case.
"""

from functools import cache
from numbers import Integral

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

from ._mixture_kernels import (
    GaussianMixtureSweep,
    full_gaussian_parameters,
    full_log_gaussian_prob,
    logsumexp_rows,
    precision_cholesky,
)
from .autoregressive import AutoregressiveDestructor
from .base import CachedParamNames, resolve_random_state
from .gaussian import unwhiten, whiten
from .mixed import accepts_mixed_data

__all__ = ["GaussianMixtureDensity", "GaussianMixtureDestructor"]

_SEED_MAX = np.iinfo(np.int32).max


@cache
def _threadpools():
    """The thread pools of the loaded BLAS and OpenMP libraries, found once.

    ``threadpool_limits`` searches the process's libraries on every call
    (2 ms here, as long as a whole mixture fit on 100 rows); by the first
    fit, NumPy's BLAS and scikit-learn's OpenMP runtime are loaded.
    """
    return ThreadpoolController()


# Largest mixture tried by n_components="auto", and the fewest training rows
# per component and per free parameter of a component's mean and covariance.
_MAX_AUTO_COMPONENTS = 128
_ROWS_PER_PARAMETER = 2


def _average_mixtures(mixtures):
    """The equal-weight mixture of fitted mixtures: itself a full-covariance mixture."""
    first = mixtures[0]
    if len(mixtures) == 1:
        return first
    n_features = first.means_.shape[1]
    covariances = np.concatenate([
        _full_covariances(m.covariances_, m.covariance_type, m.n_components, n_features) for m in mixtures
    ])
    average = first
    average.weights_ = np.concatenate([m.weights_ for m in mixtures]) / len(mixtures)
    average.means_ = np.concatenate([m.means_ for m in mixtures])
    average.covariances_ = covariances
    # scikit-learn's convention: precision = P @ P.T with P = inv(L).T.
    average.precisions_cholesky_ = precision_cholesky(covariances)
    average.precisions_ = average.precisions_cholesky_ @ np.transpose(average.precisions_cholesky_, (0, 2, 1))
    average.covariance_type = "full"
    average.n_components = average.weights_.size
    average.converged_ = all(m.converged_ for m in mixtures)
    return average


def _split_components(mixture):
    """A start for EM with twice the components: each split in two along its longest axis.

    The halves of a Gaussian cut through its mean along the eigenvector
    ``v`` of its largest variance ``s^2`` have means ``+-sqrt(2/pi) s v``
    and variance ``(1 - 2/pi) s^2`` along ``v``; weights halve. EM from
    this start converges in fewer iterations than from a fresh k-means.
    """
    variances, axes = np.linalg.eigh(mixture.covariances_)
    axis, variance = axes[:, :, -1], variances[:, -1]
    offset = np.sqrt(2.0 / np.pi * variance)[:, None] * axis
    covariances = mixture.covariances_ - (2.0 / np.pi * variance)[:, None, None] * axis[:, :, None] * axis[:, None, :]
    weights = np.concatenate([mixture.weights_, mixture.weights_]) / 2.0
    means = np.concatenate([mixture.means_ - offset, mixture.means_ + offset])
    return weights, means, np.linalg.inv(np.concatenate([covariances, covariances]))


def _full_covariances(covariances, covariance_type, n_components, n_features):
    """Component covariances as an array of full matrices."""
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return covariances[:, :, None] * np.eye(n_features)
    return covariances[:, None, None] * np.eye(n_features)


class GaussianMixtureDensity(CachedParamNames, GaussianMixture):
    """Gaussian mixture with conditional CDFs: a density for autoregressive destructors.

    A :class:`~sklearn.mixture.GaussianMixture` (same parameters, same fit)
    that also provides ``conditional_sweep``, the conditional-density
    protocol of :class:`AutoregressiveDestructor`. It supports every order
    of the features.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Shape of the component covariances.
    tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, \
precisions_init, random_state, warm_start, verbose, verbose_interval
        As in :class:`~sklearn.mixture.GaussianMixture`.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_cholesky_ : ndarray
        As in :class:`~sklearn.mixture.GaussianMixture`.

    See Also
    --------
    GaussianMixtureDestructor : The destructor built on this density.

    Notes
    -----
    With ``L_c`` the lower Cholesky factor of the covariance of component
    ``c`` in the order of the sweep and ``e_c = L_c^-1 (x - mean_c)``,
    coordinate ``k`` given the previous ones follows the mixture with
    components ``N(mean_ck + L_c[k, :k] e_c[:k], L_c[k, k]^2)`` and weights
    proportional to ``weight_c N(x_<k; mean_c, Sigma_c)``.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import GaussianMixtureDensity
    >>> X = np.random.default_rng(0).multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 1000)
    >>> density = GaussianMixtureDensity(random_state=0).fit(X)
    >>> sweep = density.conditional_sweep([0, 1], n_rows=1)
    >>> sweep.condition(np.array([1.0]))       # x_0 = 1
    >>> log_pdf, log_cdf, log_sf = sweep.evaluate(np.array([0.8]))
    >>> float(np.exp(log_cdf[0]))  # P(x_1 <= 0.8 | x_0 = 1), the conditional median
    0.5...
    """

    # EM hooks of scikit-learn's BaseMixture, batched over components for
    # full covariances (the same E and M steps; 2.5x faster EM on two moons
    # with 64 components, 2.2x on an 8-D mixture). Other covariance types
    # keep scikit-learn's.
    _PRECISION_ERROR = (
        "Fitting the mixture model failed because some components have ill-defined "
        "empirical covariance (for instance caused by singleton or collapsed samples). "
        "Try to decrease the number of components, increase reg_covar, or scale the input data."
    )

    def _estimate_log_prob(self, X, xp=None):
        if self.covariance_type != "full":
            # scikit-learn < 1.7 has no ``xp`` argument.
            return super()._estimate_log_prob(X) if xp is None else super()._estimate_log_prob(X, xp=xp)
        return full_log_gaussian_prob(X, self.means_, self.precisions_cholesky_)

    def _estimate_log_prob_resp(self, X, xp=None):
        log_resp = self._estimate_weighted_log_prob(X)
        log_prob_norm = logsumexp_rows(log_resp)
        with np.errstate(under="ignore", invalid="ignore"):
            log_resp -= log_prob_norm[:, None]
        return log_prob_norm, log_resp

    def _m_step(self, X, log_resp, xp=None):
        if self.covariance_type != "full":
            return super()._m_step(X, log_resp) if xp is None else super()._m_step(X, log_resp, xp=xp)
        nk, self.means_, self.covariances_ = full_gaussian_parameters(X, np.exp(log_resp), self.reg_covar)
        self.weights_ = nk / nk.sum()
        try:
            self.precisions_cholesky_ = precision_cholesky(self.covariances_)
        except np.linalg.LinAlgError as error:
            raise ValueError(self._PRECISION_ERROR) from error

    def _fit_one_component(self, X):
        """Fit a single component in closed form, as EM would; return self.

        With one component every responsibility is exactly 1, so EM's first
        M step (the rows' mean and covariance, plus ``reg_covar``) is already
        its fixed point, and scikit-learn's fit ends there after a k-means
        start and two E steps: the same parameters bit for bit, at a fraction
        of the cost (a one-component ``GaussianMixtureDestructor("auto")`` on
        the 111 training rows of wine: 1.25 instead of 2.5 ms).
        ``X`` must already be validated.
        """
        self.n_features_in_ = X.shape[1]
        # scikit-learn's start, the same M step computed its own way: a
        # covariance that is singular in its rounding raises here, as in
        # scikit-learn's fit, rather than passing ours by a last bit.
        self._initialize(X, np.ones((X.shape[0], 1)))
        self._m_step(X, np.zeros((X.shape[0], 1)))
        self._set_parameters(self._get_parameters())
        self.lower_bound_ = float(np.mean(logsumexp_rows(self._estimate_weighted_log_prob(X))))
        self.lower_bounds_ = [self.lower_bound_]
        self.n_iter_, self.converged_ = 1, True
        return self

    def conditional_sweep(self, order, n_rows):
        """Start a sweep over the features in ``order`` for ``n_rows`` rows.

        Parameters
        ----------
        order : array-like of int of shape (n_features,)
            A permutation of the feature indices.
        n_rows : int
            Number of rows swept at once.

        Returns
        -------
        sweep : GaussianMixtureSweep
            An object with ``evaluate(x)``, ``invert(z)`` and ``condition(x)``
            acting on the next feature of the order for all rows; see
            :mod:`destructors.autoregressive`.
        """
        check_is_fitted(self)
        n_components, n_features = self.means_.shape
        order = np.asarray(order)
        if order.dtype.kind not in "iu" or not np.array_equal(np.sort(order), np.arange(n_features)):
            raise ValueError(
                f"{type(self).__name__}.conditional_sweep: order must be a "
                f"permutation of range({n_features}), got {order!r}."
            )
        covariances = _full_covariances(
            self.covariances_, self.covariance_type, n_components, n_features
        )
        cholesky = np.linalg.cholesky(covariances[:, order][:, :, order])
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights_)
        return GaussianMixtureSweep(log_weights, self.means_[:, order], cholesky, n_rows)


@accepts_mixed_data
class GaussianMixtureDestructor(AutoregressiveDestructor):
    """Rosenblatt transform of a Gaussian mixture fitted by EM.

    The mixture is fitted by :class:`~sklearn.mixture.GaussianMixture`, whose
    tuning parameters are parameters of this destructor (so grid search
    reaches them). Feature ``k`` of the order is mapped to its conditional
    CDF given the features before it, a mixture of normal CDFs whose weights
    are the components' posteriors given those features, computed in log
    space for all rows at once. ``score_samples`` is the mixture's log
    density exactly; the inverse solves each feature for all rows at once
    by a safeguarded Newton iteration in the Gaussian view. With one
    component it is the full-covariance Gaussian.

    Parameters
    ----------
    n_components : int or "auto", default=1
        Number of mixture components. ``"auto"`` fits 1, 2, 4, ... components
        on all rows (while every component keeps at least two rows per
        parameter, up to 128) and keeps the size with the lowest Akaike
        information criterion, stopping at the first size that does not
        lower it. On the benchmark data AIC picked the size with the best
        held-out likelihood, where BIC picked too few components; it needs
        no held-out rows, and the chosen fit is reused. With full
        covariances, EM for each size starts from the previous size's
        components, each split in two along its longest axis, instead of a
        fresh k-means: on two moons (18,000 rows, three averaged fits) the
        fit took 1.29 s instead of 1.94 s, and the held-out log-likelihood
        over four seeds was -0.2999 instead of -0.3007 (banana: 0.82 s
        instead of 1.07 s, -2.1462 instead of -2.1474; same sizes chosen).
    n_average : int, default=1
        Number of EM fits, from different initializations, whose densities
        are averaged. Their equal-weight mixture is itself a (full
        covariance) Gaussian mixture with ``n_average`` times as many
        components; averaging lowers the variance of the fit, which helps
        held-out likelihood when components are many.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Shape of the component covariances.
    tol : float, default=1e-3
        Convergence threshold of EM (on the lower bound gain).
    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of covariances.
    max_iter : int, default=100
        Number of EM iterations.
    n_init : int, default=1
        Number of initializations; the best fit is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, \
default="kmeans"
        Initialization of the responsibilities.
    order : None, "random" or array-like of int, default=None
        Order in which features are conditioned: ``None`` keeps the column
        order, ``"random"`` draws a permutation from ``random_state``. The
        density does not depend on it, only the map to the unit cube does.
    warm_start : bool, default=True
        When a stack refits this layer on all rows after fitting it on a
        training part (``DeepDestructor(refit=True)``), each averaged EM fit
        continues from the matching fit on the training part (full
        covariances) instead of starting from a fresh k-means. On two moons
        (20,000 rows, five seeds, three averaged fits) the refit took a
        third of the time and the held-out log-likelihood was -0.29962,
        against -0.30055 from fresh starts; on banana (four seeds) -2.1487
        against -2.1491. A standalone fit is not affected.
    n_jobs : int or None, default=None
        Number of averaged EM fits run at once (joblib, threads: EM spends
        its time in NumPy, which releases the GIL). The seeds are drawn
        first, so the fit does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seed of the EM initialization and of a random order. ``None`` uses
        fresh operating-system entropy, never NumPy's global generator.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.
    [mixed data parameters]

    Attributes
    ----------
    density_ : GaussianMixtureDensity
        The fitted mixture (a :class:`~sklearn.mixture.GaussianMixture`).
    order_ : ndarray of shape (n_features,)
        The order used: ``order_[k]`` is the feature conditioned ``k``-th.
    n_components_ : int
        Number of components of each EM fit (chosen with ``"auto"``).
    aic_ : dict or None
        Akaike information criterion of each size tried by ``"auto"``.
    converged_ : bool
        Whether EM converged (in every averaged fit).
    n_iter_ : int
        Number of EM iterations of the first fit.
    [mixed data attributes]
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    AutoregressiveDestructor : The Rosenblatt transform of any conditional density.
    GaussianDestructor : The one-component case with a scale-invariant regularization.

    Notes
    -----
    The Gaussian view of feature ``k`` is
    ``z_k = Phi^-1(F(x_k | x_<k))``, computed from
    ``log F = logsumexp_c(log w_c + log Phi(t_c))`` and
    ``log (1 - F) = logsumexp_c(log w_c + log Phi(-t_c))`` with ``t_c`` the
    standardized value under component ``c``: a row twenty standard
    deviations out keeps full precision and round-trips. The inverse is
    bracketed by the component quantiles ``m_c + s_c z_k``.

    Inside a near-empty gap between components, where the conditional
    density is many orders of magnitude below the density of the CDF's
    level, the conditional CDF is nearly flat: ``transform`` still maps such
    a row to a precise point, but ``inverse_transform`` can only recover it
    to about ``1e-16 |z| / (dz/dx)``, the information ``z`` holds in
    float64. Rows from the fitted density (and far rows in the tails) round
    trip to about 1e-10; ``transform(inverse_transform(Z))`` is accurate
    everywhere.

    The conditional methods :meth:`conditional_score_samples` and
    :meth:`conditional_sample` give ``log p(x_B | x_A)`` and samples of
    ``x_B`` given ``x_A`` for any set of given features ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from destructors import GaussianMixtureDestructor
    >>> X, _ = make_moons(2000, noise=0.05, random_state=0)
    >>> destructor = GaussianMixtureDestructor(n_components=20, random_state=0).fit(X)
    >>> bool(np.allclose(destructor.score_samples(X), destructor.density_.score_samples(X)))
    True
    >>> Z = destructor.transform(X)
    >>> bool(np.allclose(destructor.inverse_transform(Z), X))
    True
    >>> # At x0 = -0.5 only the upper moon remains: x1 is near sin(2 pi / 3) = 0.87.
    >>> draws = destructor.conditional_sample([[-0.5]], given=[0], n_samples=1000, random_state=0)
    >>> float(np.median(draws[0, :, 1]))  # doctest: +NUMBER
    0.87
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in AutoregressiveDestructor._parameter_constraints.items()
            if key != "density"
        },
        **{
            key: GaussianMixture._parameter_constraints[key]
            for key in ("covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params")
        },
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_average": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_components=1,
        *,
        n_average=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        order=None,
        warm_start=True,
        n_jobs=None,
        random_state=None,
        output_distribution="uniform",
        discrete_features="auto",
        categorical_features="auto",
    ):
        self.n_components = n_components
        self.n_average = n_average
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.order = order
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.output_distribution = output_distribution
        self.discrete_features = discrete_features
        self.categorical_features = categorical_features

    def _make_density(self, seed, n_components=None, start=None):
        density = GaussianMixtureDensity(
            n_components=self.n_components if n_components is None else n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            random_state=seed,
        )
        if start is not None:
            # EM from a given solution: the cheap "random_from_data" stands in
            # for the k-means whose responsibilities the start overrides.
            weights, means, precisions = start
            density.set_params(weights_init=weights, means_init=means, precisions_init=precisions,
                               init_params="random_from_data", n_init=1)
        return density

    def _warm_start_from(self, fitted):
        # A stack refitting this layer on all rows: each averaged EM fit
        # continues from the matching fit of ``fitted`` (the same template
        # fitted on the training part), a few iterations instead of a
        # k-means start and a full run.
        size = fitted.n_components_
        if not self.warm_start or self.covariance_type != "full" or self.n_components != size:
            return
        density = fitted.density_
        if density.weights_.size != size * (1 if size == 1 else self.n_average):
            return
        self._starts = [
            (density.weights_[group] / density.weights_[group].sum(), density.means_[group],
             density.precisions_[group])
            for group in (slice(i * size, (i + 1) * size) for i in range(density.weights_.size // size))
        ]

    def _bytes_per_row(self, n_features):
        # A conditional sweep holds about a dozen (rows x components) arrays.
        return 8 * (12 * self.density_.n_components + 16 * n_features)

    def _resolved_params(self):
        return {"n_components": self.n_components_} if self.n_components == "auto" else {}

    def _largest_auto_size(self, n_rows, n_features):
        per_component = {"full": n_features * (n_features + 3) / 2, "diag": 2 * n_features,
                         "spherical": n_features + 1, "tied": n_features}[self.covariance_type]
        return int(min(_MAX_AUTO_COMPONENTS, max(1, n_rows / (_ROWS_PER_PARAMETER * per_component))))

    def _fit_one(self, X, seed, n_components, start=None):
        """One EM fit; a singular covariance becomes an error that names the remedy."""
        try:
            if n_components == 1:
                return self._make_density(seed, 1)._fit_one_component(X)
            return self._make_density(seed, n_components, start).fit(X)
        except (ValueError, np.linalg.LinAlgError) as error:
            raise ValueError(
                f"GaussianMixtureDestructor: the mixture with {n_components} component(s) "
                f"could not be fitted to X. reg_covar={self.reg_covar:g} is absolute, in the "
                "units of X squared, and the largest feature variance of X is "
                f"{float(X.var(axis=0).max()):.3g}: increase reg_covar or standardize X "
                "(collinear or constant features at a large scale leave a singular "
                f"covariance). scikit-learn reported: {error}"
            ) from error

    def _select_n_components(self, X, rng):
        """Double the number of components while the AIC decreases; return the best fit.

        The AIC is close to unimodal in the number of components, and the
        next size up costs as much as all smaller ones together, so the
        search stops at the first size that does not improve.
        """
        largest = self._largest_auto_size(X.shape[0], X.shape[1])
        fits, self.aic_, size = {}, {}, 1
        while size <= largest:
            # Each size starts from the previous one's components split in two.
            start = _split_components(fits[size // 2]) if size > 1 and self.covariance_type == "full" else None
            try:
                fits[size] = self._fit_one(X, rng.randint(_SEED_MAX), size, start)
            except ValueError:
                if not fits:
                    raise
                break
            self.aic_[size] = float(fits[size].aic(X))
            if self.aic_[size] > min(self.aic_.values()):
                break
            size *= 2
        best = min(self.aic_, key=self.aic_.get)
        return best, fits[best]

    def _log_density(self, X):
        # The Rosenblatt map's log-determinant plus the normal log density of
        # its output is the mixture's log density: computed directly, without
        # the sweep's conditioning step per feature. Scoring the cells of 200
        # rows of the RAND table (64 components, 10 features; 64 to 1,024
        # points a row) took 0.50 s instead of 6.2 s, scores equal to 2e-14.
        return logsumexp_rows(self.density_._estimate_weighted_log_prob(X))

    def _layer_log_density(self, X):
        # One logsumexp per row instead of the Rosenblatt sweep (0.04 s
        # instead of 0.23 s on the 20,000 rows of two moons with 3 x 32
        # components): a refitted stack's last layer is scored this way.
        return self._log_density(X)

    def _fit(self, X):
        # EM works on many tiny (d x d) matrices, where BLAS threads only add
        # synchronization (13x slower per call here), and its k-means
        # initialization's OpenMP threads busy-wait when the cores are busy
        # (7x slower on a loaded 2-core machine). One thread for both.
        with _threadpools().limit(limits=1):
            self._fit_mixtures(X)

    def _fit_mixtures(self, X):
        n_components = self.n_components
        if isinstance(n_components, Integral) and n_components > X.shape[0]:
            raise ValueError(
                f"GaussianMixtureDestructor: n_components={n_components} "
                f"needs at least as many training rows, got {X.shape[0]}."
            )
        rng = resolve_random_state(self.random_state)
        starts = self.__dict__.pop("_starts", None)
        self.aic_, fits = None, []
        if n_components == "auto":
            n_components, first = self._select_n_components(X, rng)
            fits.append(first)
        # One component's EM fit does not depend on its start: average nothing.
        n_fits = 1 if n_components == 1 else self.n_average
        seeds = [rng.randint(_SEED_MAX) for _ in range(n_fits - len(fits))]
        starts = starts if starts is not None and len(starts) == len(seeds) else [None] * len(seeds)
        fits += Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(self._fit_one)(X, seed, n_components, start) for seed, start in zip(seeds, starts)
        )
        self.n_components_ = n_components
        self.n_iter_ = int(fits[0].n_iter_)
        self.density_ = _average_mixtures(fits)
        self.converged_ = bool(self.density_.converged_)
        self.order_ = self._resolve_order(X.shape[1], rng)
        # A density that cannot sweep in this order says so now, not at transform.
        self._sweep(self.order_, 1)
        self._gaussian_ = self._one_gaussian()

    def _one_gaussian(self):
        """Mean and lower Cholesky factor, in the sweep's order, of a one-component mixture; else None.

        The Rosenblatt map of a single Gaussian is whitening by that factor,
        computed at once instead of conditioning feature by feature: on the
        1,131 rows of digits 0.5 instead of 18 ms, more accurate far out
        (no round trip through the normal CDF), equal to rounding elsewhere.
        """
        density = self.density_
        if density.weights_.size != 1:
            return None
        order = self.order_
        covariance = _full_covariances(density.covariances_, density.covariance_type, 1, order.size)[0]
        return density.means_[0, order], np.linalg.cholesky(covariance[np.ix_(order, order)])

    def _forward(self, X):
        # Models pickled before this shortcut have no ``_gaussian_``.
        if getattr(self, "_gaussian_", None) is None:
            return super()._forward(X)
        Z = np.empty_like(X)
        Z[:, self.order_], log_det = whiten(X[:, self.order_], *self._gaussian_)
        return Z, log_det

    def _inverse(self, Z):
        if getattr(self, "_gaussian_", None) is None:
            return super()._inverse(Z)
        X = np.empty_like(Z)
        X[:, self.order_] = unwhiten(Z[:, self.order_], *self._gaussian_)
        return X
