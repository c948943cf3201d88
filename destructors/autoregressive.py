"""Autoregressive destructors: the Rosenblatt transform of a conditional density.

For a density factored along an order of the features,
``p(x) = prod_k f(x_k | x_<k)``, the Rosenblatt transform maps feature ``k``
to ``u_k = F(x_k | x_<k)``, its conditional CDF given the features before it.
The result is uniform on the unit cube, the map is triangular, and its
log-determinant is ``sum_k log f(x_k | x_<k)``: the destructor is exact and
invertible one feature at a time. The same structure gives conditional
densities ``log p(x_B | x_A)`` and conditional samples of ``x_B`` given
``x_A`` for any set ``A`` of given features that the density can put first.

**The conditional-density protocol.** A density drives
:class:`AutoregressiveDestructor` if it is an estimator with ``fit(X)`` and a
method ``conditional_sweep(order, n_rows)``. ``order`` is a permutation of
the feature indices; the method returns a fresh *sweep* object that walks
the features in that order for ``n_rows`` rows at once.
Writing ``k`` for the next feature of the order and ``x_prev`` for the values
fixed so far, a sweep has three methods, each vectorized over the rows:

``evaluate(x) -> (log_pdf, log_cdf, log_sf)``
    ``log f(x_k | x_prev)``, ``log F(x_k | x_prev)`` and
    ``log (1 - F(x_k | x_prev))`` at the values ``x`` of shape
    ``(n_rows,)``. Both tails are needed so that the Gaussian view
    ``z = Phi^-1(F)`` keeps its precision far out.
``invert(z) -> x``
    The values with ``Phi^-1(F(x | x_prev)) = z``, to a relative tolerance
    of about 1e-10.
``condition(x)``
    Fix feature ``k`` to ``x`` in every row and move on to the next feature
    (never called on the last feature of the order).

A density that supports only some orders raises a ``ValueError`` from
``conditional_sweep`` for the others. :class:`GaussianMixtureDensity`
supports every order.

**Which estimators support conditional densities.** The autoregressive
destructors (:class:`AutoregressiveDestructor` and
:class:`GaussianMixtureDestructor`) have the methods
``conditional_score_samples`` and ``conditional_sample``; other destructors
do not grow them. The functions :func:`conditional_score_samples` and
:func:`conditional_sample` of this module accept any estimator and raise a
``TypeError`` naming the supporting estimators when it has no such methods.
"""

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._normal import norm_logpdf, z_from_log_cdf_sf
from .base import BaseDestructor, resolve_random_state

__all__ = ["AutoregressiveDestructor", "conditional_sample", "conditional_score_samples"]

_SEED_MAX = np.iinfo(np.int32).max


class AutoregressiveDestructor(BaseDestructor):
    """Rosenblatt transform of a density given by its conditional CDFs.

    Feature ``k`` of the order is mapped to its conditional CDF given the
    features before it, ``u_k = F(x_k | x_<k)``; the Gaussian view is
    ``z_k = Phi^-1(u_k)``, computed from the conditional log-CDF and log
    survival function so that rows far in the tails keep their precision.
    The density is that of the fitted ``density`` exactly. The inverse solves
    one feature at a time for all rows at once.

    The density must follow the conditional-density protocol described in
    :mod:`destructors.autoregressive`; :class:`GaussianMixtureDensity` does.
    :class:`GaussianMixtureDestructor` is this destructor with a Gaussian
    mixture, its tuning parameters exposed directly.

    Parameters
    ----------
    density : estimator or None, default=None
        Template of the multivariate density, cloned and fitted on the data,
        with a ``conditional_sweep`` method. ``None`` uses
        ``GaussianMixtureDensity()``, a single full-covariance Gaussian. If
        the template has a ``random_state`` parameter set to ``None``, the
        clone is seeded from ``random_state``. Its parameters are reachable as
        ``density__<param>``.
    order : None, "random" or array-like of int, default=None
        Order in which features are conditioned: ``None`` keeps the column
        order, ``"random"`` draws a permutation from ``random_state``, an
        array gives the permutation. For a Gaussian mixture the density does
        not depend on the order, only the map to the unit cube does.
    random_state : int, RandomState instance or None, default=None
        Seed of a random order and of an unseeded density. ``None`` uses
        fresh operating-system entropy, never NumPy's global generator.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    density_ : estimator
        The fitted density.
    order_ : ndarray of shape (n_features,)
        The order used: ``order_[k]`` is the feature conditioned ``k``-th.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    GaussianMixtureDestructor : The same with a Gaussian mixture density.
    conditional_score_samples : Conditional densities of any supporting estimator.

    Notes
    -----
    With ``z_k`` the Gaussian view of feature ``k``, the log-determinant of
    the Gaussian-view map is
    ``sum_k [log f(x_k | x_<k) - log phi(z_k)]``, so that the log density
    ``sum_k log phi(z_k) + log |det|`` is ``sum_k log f(x_k | x_<k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import AutoregressiveDestructor, GaussianMixtureDensity
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 0.5, (500, 2)), rng.normal(2, 1.0, (500, 2))])
    >>> destructor = AutoregressiveDestructor(
    ...     GaussianMixtureDensity(n_components=2), random_state=0
    ... ).fit(X)
    >>> U = destructor.transform(X)
    >>> bool(np.allclose(destructor.inverse_transform(U), X))
    True
    >>> bool(np.allclose(destructor.score_samples(X), destructor.density_.score_samples(X)))
    True
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "density": [HasMethods(["fit", "conditional_sweep"]), None],
        "order": [None, StrOptions({"random"}), "array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, density=None, *, order=None, random_state=None, output_distribution="uniform"):
        self.density = density
        self.order = order
        self.random_state = random_state
        self.output_distribution = output_distribution

    # ------------------------------------------------------------- fitting
    def _make_density(self, rng):
        """Unfitted density for this fit, seeded from ``rng`` where unseeded."""
        if self.density is None:
            # Imported here: mixture.py builds on this module.
            from .mixture import GaussianMixtureDensity

            density = GaussianMixtureDensity()
        else:
            density = clone(self.density)
        params = density.get_params(deep=False)
        if "random_state" in params and params["random_state"] is None:
            density.set_params(random_state=rng.randint(_SEED_MAX))
        return density

    def _resolve_order(self, n_features, rng):
        name = type(self).__name__
        if self.order is None:
            return np.arange(n_features)
        if isinstance(self.order, str):
            return rng.permutation(n_features)
        order = np.asarray(self.order)
        if (
            order.ndim != 1
            or order.dtype.kind not in "iu"
            or not np.array_equal(np.sort(order), np.arange(n_features))
        ):
            raise ValueError(
                f"{name}: order must be a permutation of range({n_features}) "
                f"(one entry per feature), got {self.order!r}."
            )
        return order.astype(np.intp)

    def _fit(self, X):
        rng = resolve_random_state(self.random_state)
        # The density is seeded first, so that it does not depend on the order.
        density = self._make_density(rng)
        self.order_ = self._resolve_order(X.shape[1], rng)
        try:
            self.density_ = density.fit(X)
        except ValueError as error:
            raise ValueError(
                f"{type(self).__name__}: the density {type(density).__name__} could not be "
                f"fitted to X: {error}"
            ) from error
        # A density that cannot sweep in this order says so now, not at transform.
        self._sweep(self.order_, 1)

    # ----------------------------------------------------- forward, inverse
    def _sweep(self, order, n_rows):
        return self.density_.conditional_sweep(order, n_rows)

    def _forward(self, X):
        n_rows = X.shape[0]
        sweep = self._sweep(self.order_, n_rows)
        Z = np.empty_like(X)
        log_det = np.zeros(n_rows)
        for position, j in enumerate(self.order_):
            x = np.ascontiguousarray(X[:, j])
            log_pdf, log_cdf, log_sf = sweep.evaluate(x)
            z = z_from_log_cdf_sf(log_cdf, log_sf)
            Z[:, j] = z
            log_det += log_pdf - norm_logpdf(z)
            if position < self.order_.size - 1:
                sweep.condition(x)
        return Z, log_det

    def _inverse(self, Z):
        sweep = self._sweep(self.order_, Z.shape[0])
        X = np.empty_like(Z)
        for position, j in enumerate(self.order_):
            x = sweep.invert(np.ascontiguousarray(Z[:, j]))
            X[:, j] = x
            if position < self.order_.size - 1:
                sweep.condition(x)
        return X

    # ------------------------------------------------ conditional densities
    def _given_indices(self, given):
        """Indices of the given features, from indices, names or a mask."""
        name = type(self).__name__
        if self._cells() is not None:
            raise ValueError(
                f"{name}: conditional densities and samples need continuous features, but this model "
                "was fitted with discrete or categorical ones (feature_kinds_); fit it with "
                "discrete_features=None and categorical_features=None to condition on their values."
            )
        n_features = self.n_features_in_
        values = np.asarray(given if given is not None else [])
        if values.ndim != 1:
            raise ValueError(
                f"{name}: given must be a 1-D list of feature indices, feature "
                f"names or a boolean mask, got an array of shape {values.shape}."
            )
        if values.size == 0:
            return np.array([], dtype=np.intp)
        if values.dtype == bool:
            if values.size != n_features:
                raise ValueError(
                    f"{name}: a boolean mask given must have one entry per feature "
                    f"({n_features}), got {values.size}."
                )
            return np.flatnonzero(values)
        if values.dtype.kind in "US" or values.dtype == object:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError(
                    f"{name}: given holds feature names, but the destructor was "
                    "fitted without feature names; pass column indices."
                )
            lookup = {str(feature): i for i, feature in enumerate(names)}
            unknown = [str(v) for v in values if str(v) not in lookup]
            if unknown:
                raise ValueError(f"{name}: unknown feature names in given: {unknown}.")
            indices = np.array([lookup[str(v)] for v in values], dtype=np.intp)
        elif values.dtype.kind in "iu":
            indices = values.astype(np.intp)
            if indices.min() < 0 or indices.max() >= n_features:
                raise ValueError(
                    f"{name}: given indices must lie in [0, {n_features - 1}], got {given!r}."
                )
        else:
            raise ValueError(
                f"{name}: given must hold feature indices, feature names or a "
                f"boolean mask, got dtype {values.dtype}."
            )
        if np.unique(indices).size != indices.size:
            raise ValueError(f"{name}: given lists a feature more than once: {given!r}.")
        return indices

    def _conditional_order(self, given):
        """The given features first, then the others, each in the order of ``order_``."""
        rank = np.empty(self.n_features_in_, dtype=np.intp)
        rank[self.order_] = np.arange(self.n_features_in_)
        is_given = np.zeros(self.n_features_in_, dtype=bool)
        is_given[given] = True
        by_rank = np.argsort(rank)
        return np.concatenate([by_rank[is_given[by_rank]], by_rank[~is_given[by_rank]]])

    def conditional_score_samples(self, X, given):
        """Conditional log density ``log p(x_B | x_A)`` of each row.

        ``A`` is the set of given features and ``B`` the other features. The
        density is exact: the sweep conditions on the given features first,
        then adds the conditional log densities of the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Full rows: the given features hold the conditioning values, the
            other features the points at which the density is evaluated.
        given : array-like of int, of str or of bool
            The given features ``A``: column indices, feature names (when the
            destructor was fitted on named columns), or a boolean mask of
            length ``n_features``. An empty list gives ``score_samples``.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(x_B | x_A)`` of each row, in nats.
        """
        X = self._check_X(X)
        given = self._given_indices(given)
        order = self._conditional_order(given)
        n_given = given.size

        def score(rows):
            sweep = self._sweep(order, rows.shape[0])
            log_p = np.zeros(rows.shape[0])
            for position, j in enumerate(order):
                x = np.ascontiguousarray(rows[:, j])
                if position >= n_given:
                    log_p += sweep.evaluate(x)[0]
                if position < order.size - 1:
                    sweep.condition(x)
            return log_p

        return self._map_rows(score, X)

    def conditional_sample(self, X_given, given, n_samples=1, random_state=None):
        """Sample the other features given the values of the features ``given``.

        Each row of ``X_given`` is repeated ``n_samples`` times and the other
        features are drawn from their conditional density, one feature after
        another, by inverting standard normal draws.

        Parameters
        ----------
        X_given : array-like of shape (n_rows, n_given)
            Values of the given features, columns in the order of ``given``.
        given : array-like of int, of str or of bool
            The given features: column indices, feature names (when the
            destructor was fitted on named columns), or a boolean mask of
            length ``n_features`` (columns of ``X_given`` then follow the
            feature order).
        n_samples : int, default=1
            Number of samples per row of ``X_given``.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws. ``None`` uses fresh operating-system entropy
            and leaves NumPy's global generator untouched.

        Returns
        -------
        X : ndarray of shape (n_rows, n_samples, n_features)
            Complete samples: ``X[i, s]`` holds the given values of row ``i``
            in the given columns and the ``s``-th draw elsewhere.
        """
        check_is_fitted(self)
        name = type(self).__name__
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(
                f"{name}.conditional_sample: n_samples must be a positive integer, got {n_samples!r}."
            )
        given = self._given_indices(given)
        X_given = check_array(
            X_given, dtype=np.float64, ensure_min_features=0, input_name="X_given", estimator=self
        )
        if X_given.shape[1] != given.size:
            raise ValueError(
                f"{name}.conditional_sample: X_given has {X_given.shape[1]} columns "
                f"but given names {given.size} features."
            )
        n_features = self.n_features_in_
        rng = resolve_random_state(random_state)
        rows = np.zeros((X_given.shape[0] * n_samples, n_features))
        rows[:, given] = np.repeat(X_given, n_samples, axis=0)
        free = np.setdiff1d(np.arange(n_features), given)
        rows[:, free] = rng.standard_normal((rows.shape[0], free.size))
        order = self._conditional_order(given)
        n_given = given.size

        def draw(block):
            # Given columns hold conditioning values, the others normal draws.
            sweep = self._sweep(order, block.shape[0])
            out = block.copy()
            for position, j in enumerate(order):
                if position >= n_given:
                    out[:, j] = sweep.invert(np.ascontiguousarray(block[:, j]))
                if position < order.size - 1:
                    sweep.condition(np.ascontiguousarray(out[:, j]))
            return out

        samples = self._map_rows(draw, rows)
        return samples.reshape(X_given.shape[0], n_samples, n_features)


def _supporting_estimator(estimator, method):
    if not callable(getattr(estimator, method, None)):
        raise TypeError(
            f"{type(estimator).__name__} does not support conditional densities. "
            "Estimators that do have the methods conditional_score_samples and "
            "conditional_sample: AutoregressiveDestructor and "
            "GaussianMixtureDestructor (the autoregressive destructors)."
        )
    return estimator


def conditional_score_samples(estimator, X, given):
    """Conditional log density ``log p(x_B | x_A)`` under a fitted estimator.

    Dispatches to ``estimator.conditional_score_samples``; see
    :meth:`AutoregressiveDestructor.conditional_score_samples`.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator supporting conditional densities.
    X : array-like of shape (n_samples, n_features)
        Full rows; the given features hold the conditioning values.
    given : array-like of int, of str or of bool
        The given features ``A``.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(x_B | x_A)`` of each row, with ``B`` the other features.

    Raises
    ------
    TypeError
        If the estimator does not support conditional densities; the message
        names those that do.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import GaussianMixtureDestructor, conditional_score_samples
    >>> X = np.random.default_rng(0).multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 2000)
    >>> model = GaussianMixtureDestructor(random_state=0).fit(X)
    >>> # x1 | x0 = 1 is N(0.9, 0.19): its log density at the mean is -0.09.
    >>> conditional_score_samples(model, [[1.0, 0.9]], given=[0])  # doctest: +NUMBER
    array([-0.09])
    """
    return _supporting_estimator(estimator, "conditional_score_samples").conditional_score_samples(
        X, given
    )


def conditional_sample(estimator, X_given, given, n_samples=1, random_state=None):
    """Sample the other features given some features, under a fitted estimator.

    Dispatches to ``estimator.conditional_sample``; see
    :meth:`AutoregressiveDestructor.conditional_sample`.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator supporting conditional sampling.
    X_given : array-like of shape (n_rows, n_given)
        Values of the given features, columns in the order of ``given``.
    given : array-like of int, of str or of bool
        The given features.
    n_samples : int, default=1
        Number of samples per row of ``X_given``.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_rows, n_samples, n_features)
        Complete samples, the given values in the given columns.

    Raises
    ------
    TypeError
        If the estimator does not support conditional sampling; the message
        names those that do.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import GaussianMixtureDestructor, conditional_sample
    >>> X = np.random.default_rng(0).multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 2000)
    >>> model = GaussianMixtureDestructor(random_state=0).fit(X)
    >>> draws = conditional_sample(model, [[1.0]], given=[0], n_samples=5000, random_state=0)
    >>> draws.shape
    (1, 5000, 2)
    >>> float(draws[0, :, 1].mean())  # doctest: +NUMBER
    0.9
    """
    return _supporting_estimator(estimator, "conditional_sample").conditional_sample(
        X_given, given, n_samples=n_samples, random_state=random_state
    )
