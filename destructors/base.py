"""The destructor contract: public methods in one base class, small hooks below.

A destructor is an invertible map ``T`` whose output is uniform on the unit
cube when its input follows the fitted density ``p``; by the change of
variables ``log p(x) = log |det J_T(x)|``.

Internally every layer works in the *Gaussian view*: its private forward hook
returns ``z = Phi^-1(T(x))`` together with ``log |det dz/dx|``, so that tails
keep their precision and a stack of layers scores in a single pass::

    log p(x) = sum_j log phi(z_j) + log |det dz/dx|

Subclasses implement three hooks on validated float64 arrays:

``_fit(X)``
    Fit the layer; set fitted attributes (ending in ``_``).
``_forward(X) -> (Z, log_det)``
    Gaussian-view output and ``log |det dZ/dX|`` for each row.
``_inverse(Z) -> X``
    The inverse map.

Canonical destructors (those defined on the unit cube) take an
``input_distribution`` parameter. With ``"uniform"`` their public input lies in
``[0, 1]^d``; with ``"normal"`` it is the Gaussian view ``Phi^-1(u)``, which is
also what their hooks always receive.

Destructors of raw data that set ``_accepts_mixed_data`` take the parameters
``discrete_features`` and ``categorical_features`` (see
:mod:`destructors.mixed`): the public methods encode the columns, replace
discrete and categorical values by points of their cells (a fitted
:class:`~destructors.mixed.CellLayer`) before the hooks run, integrate the
density over the cells in ``score_samples``, and decode the hooks' inverse
back to integers and labels.
"""

import threading
import warnings
from abc import ABCMeta, abstractmethod
from functools import cache
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    DensityMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn import get_config
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import mixed
from ._normal import norm_logpdf, uniform_from_z, z_from_uniform
from ._version import __version__

__all__ = ["BaseDestructor", "CanonicalDestructor", "InconsistentVersionWarning"]


@cache
def _param_names(cls):
    return tuple(BaseEstimator._get_param_names.__func__(cls))


class CachedParamNames:
    """Mixin that reads an estimator class's parameter names once.

    scikit-learn finds them with ``inspect.signature`` on every
    ``get_params``, ``set_params`` and ``clone``; a deep stack clones a few
    hundred layers, and on a table of 100 rows the signatures took longer
    than fitting the layers. A class's ``__init__`` does not change, so the
    names are cached per class.
    """

    @classmethod
    def _get_param_names(cls):
        return list(_param_names(cls))


def validate_params_unless_skipped(estimator):
    """Validate ``estimator``'s parameters unless scikit-learn's ``skip_parameter_validation`` is set.

    Stacks validate their templates once, then fit the templates' clones
    with validation skipped: a clone differs from its template only in
    values the stack sets itself (seeds, distributions).
    """
    if not get_config()["skip_parameter_validation"]:
        estimator._validate_params()


def validate_nested_params(estimator):
    """Validate the parameters of ``estimator`` and of every estimator among its parameters."""
    estimator._validate_params()
    for value in estimator.get_params(deep=True).values():
        if isinstance(value, BaseEstimator) and hasattr(value, "_parameter_constraints"):
            value._validate_params()


class InconsistentVersionWarning(UserWarning):
    """A fitted model is loaded under a version of destructors other than the one that saved it."""

# Number of float64 temporaries of shape (n_rows, n_features) a layer typically
# holds while processing one chunk of rows; sets the chunk size from
# working_memory unless a class says otherwise (see _bytes_per_row).
_TEMPORARIES_PER_ROW = 16


def resolve_random_state(random_state):
    """Turn ``random_state`` into a ``RandomState`` without touching global state.

    ``None`` draws fresh entropy from the operating system instead of using
    (and advancing) NumPy's global generator.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(4))
    return check_random_state(random_state)


def check_n_samples(estimator, n_samples):
    """Raise a ValueError naming ``estimator`` unless ``n_samples`` is a positive integer."""
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(
            f"{type(estimator).__name__}.sample: n_samples must be a positive integer, got {n_samples!r}."
        )


def make_layer(template, random_state=None):
    """Clone ``template`` as a layer of a stack that exchanges Gaussian views.

    The clone takes and returns Gaussian-view values, so that the fitted layer
    can be used on its own exactly as it is used inside the stack. Every
    ``random_state`` parameter of the clone (including nested ones) is set
    from ``random_state`` when one is given.
    """
    layer = clone(template)
    params = layer.get_params(deep=True)
    updates = {}
    if "input_distribution" in params:
        updates["input_distribution"] = "normal"
    if "output_distribution" in params:
        updates["output_distribution"] = "normal"
    keys = sorted(key for key in params if key == "random_state" or key.endswith("__random_state"))
    if random_state is not None and keys:
        seeds = derive_seeds(random_state, len(keys))
        updates.update(zip(keys, seeds))
    layer.set_params(**updates)
    return layer


_scratch = threading.local()


def scratch_random_state(random_state):
    """``resolve_random_state(random_state)``, from a per-thread generator when ``random_state`` is an integer.

    An integer seeds a per-thread scratch generator instead of a new
    ``RandomState``, whose construction (150 us, it first seeds itself
    from the operating system) is what made seeding cost more than fitting
    small layers; the legacy seeding gives the same stream. The generator
    is shared: draw from it at once, and never keep it. ``None`` draws from
    fresh entropy, never from NumPy's global generator.
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        rng = getattr(_scratch, "rng", None)
        if rng is None:
            rng = _scratch.rng = np.random.RandomState(0)
        rng.seed(int(random_state))
        return rng
    return resolve_random_state(random_state)


def derive_seeds(random_state, n_seeds):
    """``n_seeds`` seeds drawn from ``random_state``, as ``resolve_random_state(random_state).randint`` would."""
    rng = scratch_random_state(random_state)
    return [rng.randint(np.iinfo(np.int32).max) for _ in range(n_seeds)]


class BaseDestructor(
    CachedParamNames, OneToOneFeatureMixin, TransformerMixin, DensityMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of all destructors.

    It owns the public methods (``fit``, ``transform``, ``inverse_transform``,
    ``score_samples``, ``score``, ``sample``) and their input validation;
    subclasses fill the private hooks described in the module docstring.
    Public methods process rows in chunks sized from scikit-learn's
    ``working_memory`` setting, so memory stays bounded for large inputs.
    """

    _parameter_constraints: dict = {
        "output_distribution": [StrOptions({"uniform", "normal"})],
    }

    # Whether the public methods handle discrete and categorical columns
    # (the class then has ``discrete_features`` and ``categorical_features``).
    _accepts_mixed_data = False

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit(self, X):
        """Fit the layer on validated input in its layer space."""

    @abstractmethod
    def _forward(self, X):
        """Return the Gaussian-view output and ``log |det dZ/dX|`` per row."""

    @abstractmethod
    def _inverse(self, Z):
        """Return the input that maps to the Gaussian-view output ``Z``."""

    def _fit_forward(self, X):
        """Fit, then return the forward pass of the training data (in chunks of rows).

        Composites override this to reuse the values computed while fitting.
        """
        self._fit(X)
        return self._map_rows(self._forward, X)

    def _cells_integrate_exactly(self):
        """Whether the density after the cell layer is constant inside every cell.

        Then one point per cell gives its probability exactly; subclasses
        that know it (a marginal layer leaving those columns alone) say so.
        """
        return False

    def _resolved_params(self):
        """Parameters whose data-driven values (such as ``"auto"``) fitting resolved.

        A stack that refits a layer on more rows sets these on the clone, so
        the refit reuses the choice instead of searching again.
        """
        return {}

    def _warm_start_from(self, fitted):
        """Start the next fit from ``fitted``, this layer's template fitted on part of the same rows.

        A stack that refits a layer on all rows calls this on the clone
        after setting :meth:`_resolved_params`; a layer whose fit is an
        iterative optimization (EM) may start from ``fitted``'s solution.
        The start serves the next fit only. The default does nothing.
        """

    def _fit_layer(self, X):
        """Fit as a layer of a stack: no input validation, returns ``(Z, log_det)``."""
        validate_params_unless_skipped(self)
        self.n_features_in_ = X.shape[1]
        return self._fit_forward(X)

    def _layer_log_density(self, X):
        """Per-row ``norm_logpdf(Z).sum(axis=1) + log_det`` of the forward pass: the layer's term in a stack's log-likelihood.

        The last layer of a stack whose output is not needed (a deep model
        refitted by ``fit``) is scored with this. Layers whose density is
        cheaper than their forward pass override it and compute it directly.
        """
        Z, log_det = self._forward(X)
        return norm_logpdf(Z).sum(axis=1) + log_det

    def _fit_layer_log_density(self, X):
        """Fit as the last layer of a stack whose output is not needed; return :meth:`_layer_log_density` of ``X``.

        A layer that overrides :meth:`_layer_log_density` is fitted without
        its forward pass over ``X``; any other reuses what fitting computed.
        """
        if type(self)._layer_log_density is BaseDestructor._layer_log_density:
            Z, log_det = self._fit_layer(X)
            return norm_logpdf(Z).sum(axis=1) + log_det
        validate_params_unless_skipped(self)
        self.n_features_in_ = X.shape[1]
        self._fit(X)
        return self._map_rows(self._layer_log_density, X)

    # --------------------------------------------------------- input domains
    def _unit_input(self):
        """Whether public inputs lie in the unit cube (canonical, uniform input)."""
        return getattr(self, "input_distribution", None) == "uniform"

    def _check_fit_X(self, X):
        """Validate training rows and return them in layer space (cells dequantized)."""
        if not self._accepts_mixed_data:
            mixed.refuse_labels(self, X)
            X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
            return self._to_layer_space(X)
        X = mixed.fit_columns(self, X, resolve_random_state(getattr(self, "random_state", 0)))
        if self.cells_ is None:
            return X
        if getattr(self, "verbose", 0):
            print(f"[{type(self).__name__}] columns: {'; '.join(mixed.describe_features(self))}", flush=True)
        return self.cells_.dequantize(X)

    def _check_X(self, X):
        """Validate rows for a fitted model; return them in layer space, cells still encoded."""
        check_is_fitted(self)
        if self._accepts_mixed_data and getattr(self, "feature_kinds_", None) is not None:
            return mixed.encode_columns(self, X)
        mixed.refuse_labels(self, X)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._to_layer_space(X)

    def _cells(self):
        return getattr(self, "cells_", None) if self._accepts_mixed_data else None

    def _dequantized(self, X):
        """Rows from :meth:`_check_X` with discrete and categorical values moved into their cells."""
        cells = self._cells()
        return X if cells is None else cells.dequantize(X)

    def _decoded(self, X):
        """Layer-space rows back in the kinds (and container) of the training input."""
        return X if not self._accepts_mixed_data else mixed.decode_columns(self, X)

    def _to_layer_space(self, X):
        if not self._unit_input():
            return X
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(
                f"{type(self).__name__} with input_distribution='uniform' takes "
                "points of the unit cube [0, 1]^d, but X has values in "
                f"[{X.min():.6g}, {X.max():.6g}]. Map the data into the cube "
                "first (for example with a MarginalDestructor), or pass "
                "input_distribution='normal' for Gaussian-view input."
            )
        return z_from_uniform(X)

    def _from_layer_space(self, X):
        return uniform_from_z(X) if self._unit_input() else X

    def _to_output(self, Z):
        return uniform_from_z(Z) if self.output_distribution == "uniform" else Z

    def _check_output_X(self, X):
        """Validate the argument of ``inverse_transform`` and return its Gaussian view."""
        check_is_fitted(self)
        # Output columns are not the input's: their names are not checked.
        X = check_array(X, dtype=np.float64, input_name="X", estimator=self)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if self.output_distribution == "normal":
            return X
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(
                f"{type(self).__name__} with output_distribution='uniform' inverts "
                "points of the unit cube [0, 1]^d, but X has values in "
                f"[{X.min():.6g}, {X.max():.6g}]."
            )
        return z_from_uniform(X)

    # ------------------------------------------------------- row processing
    def _bytes_per_row(self, n_features):
        """Memory one row takes while a public method processes it.

        Sizes the chunks of rows so that temporaries stay within scikit-learn's
        ``working_memory``; classes holding more per row override it.
        """
        return 8 * _TEMPORARIES_PER_ROW * max(n_features, 1)

    def _map_rows(self, func, X, copies=1):
        """Apply a row-independent ``func`` to ``X`` chunk by chunk.

        ``func`` returns an array, or a tuple of arrays (such as ``_forward``'s
        ``(Z, log_det)``), with one row per row of its input. The outputs are
        filled in place chunk by chunk, so the chunks are never held twice.
        ``copies``: how many layer-space rows ``func`` makes of each row.
        """
        n_rows, n_features = X.shape
        row_bytes = copies * self._bytes_per_row(n_features)
        chunk = max(1, int(get_config()["working_memory"] * 2**20 // row_bytes))
        if chunk >= n_rows:
            return func(X)
        outputs = None
        for batch in gen_batches(n_rows, chunk):
            part = func(X[batch])
            parts = part if isinstance(part, tuple) else (part,)
            if outputs is None:
                outputs = tuple(np.empty((n_rows,) + p.shape[1:], dtype=p.dtype) for p in parts)
            for output, p in zip(outputs, parts):
                output[batch] = p
        return outputs if isinstance(part, tuple) else outputs[0]

    def _log_mass_density(self, X, **forward_kwargs):
        """Log density of layer-space rows, or with cells their log cell probability times density."""
        cells = self._cells()
        log_density = lambda rows: self._log_density(rows, **forward_kwargs)  # noqa: E731
        if cells is None:
            return self._map_rows(log_density, X)
        exact = self._cells_integrate_exactly()
        return self._map_rows(
            lambda rows: cells.log_probability(rows, log_density, exact=exact), X,
            copies=1 if exact else mixed.MIN_CELL_POINTS,
        )

    def _log_density(self, X, **forward_kwargs):
        """Log density of layer-space rows, in one forward pass."""
        Z, log_det = self._forward(X, **forward_kwargs)
        log_p = norm_logpdf(Z).sum(axis=1) + log_det
        if self._unit_input():
            # Density of u = Phi(x) rather than of the Gaussian view x.
            log_p -= norm_logpdf(X).sum(axis=1)
        return log_p

    # --------------------------------------------------------- public API
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the destructor to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted destructor.
        """
        self._fit(self._check_fit_X(X))
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its transform, in one pass over the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        U : ndarray of shape (n_samples, n_features)
            Uniform (or standard normal) features of the training data.
        """
        Z, _ = self._fit_forward(self._check_fit_X(X))
        return self._to_output(Z)

    def transform(self, X):
        """Map ``X`` to the uniform distribution on the unit cube (or to N(0, I)).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        U : ndarray of shape (n_samples, n_features)
            Destroyed data: uniform on ``[0, 1]^d`` if
            ``output_distribution="uniform"``, standard normal if ``"normal"``.
        """
        return self._transform(X)

    def _transform(self, X, **forward_kwargs):
        X = self._dequantized(self._check_X(X))
        Z = self._map_rows(lambda rows: self._forward(rows, **forward_kwargs)[0], X)
        return self._to_output(Z)

    def inverse_transform(self, X):
        """Map destroyed data back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points of ``[0, 1]^d`` (``output_distribution="uniform"``) or of
            ``R^d`` (``"normal"``).

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            Points whose transform is ``X``. Points on a face of the cube
            (a coordinate exactly 0 or 1) are first moved to the nearest
            interior point whose normal quantile is finite (about -37.5 or
            8.2 standard deviations), so their preimage is finite. Discrete
            and categorical columns come back as the values and labels of
            their cells, in a DataFrame if the model was fitted on one.
        """
        return self._inverse_transform(X)

    def _inverse_transform(self, X, **inverse_kwargs):
        Z = self._check_output_X(X)
        return self._decoded(self._from_layer_space(self._map_rows(lambda rows: self._inverse(rows, **inverse_kwargs), Z)))

    def score_samples(self, X):
        """Log density of each row of ``X``, in nats.

        It is ``log |det J_T(x)|`` for the uniform view of the destructor,
        whatever ``output_distribution`` is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to evaluate the density.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Log density of each row; with discrete or categorical columns,
            the log-probability of the row's cell times the density of its
            continuous values (see :mod:`destructors.mixed`).
        """
        return self._log_mass_density(self._check_X(X))

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` (the mean of :meth:`score_samples`).

        As for :class:`~sklearn.mixture.GaussianMixture`, this is a mean, not a
        sum, so that scores of data sets of different sizes compare.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean log density of the rows of ``X``, in nats.
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None):
        """Draw samples by inverting standard normal draws.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws. ``None`` uses fresh operating-system entropy
            and leaves NumPy's global generator untouched.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            Samples from the fitted density; discrete and categorical columns
            hold values and labels of the kinds seen in fit, in a DataFrame
            if the model was fitted on one.
        """
        check_is_fitted(self)
        check_n_samples(self, n_samples)
        rng = resolve_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.n_features_in_))
        return self._decoded(self._from_layer_space(self._map_rows(self._inverse, Z)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        state = super().__getstate__()
        state["_destructors_version"] = __version__
        return state

    def __setstate__(self, state):
        if self._accepts_mixed_data:
            # Models pickled before mixed data treated every column as continuous.
            state.setdefault("discrete_features", "auto")
            state.setdefault("categorical_features", "auto")
        saved = state.pop("_destructors_version", "unknown")
        if saved != __version__:
            warnings.warn(
                f"Loading a {type(self).__name__} saved with destructors {saved} under "
                f"destructors {__version__}: numerical results may differ and loading may "
                "break. Refit the model with this version to be safe.",
                InconsistentVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)


class CanonicalDestructor(BaseDestructor):
    """Base class of destructors defined on the unit cube.

    Their public input is a point of ``[0, 1]^d`` when
    ``input_distribution="uniform"`` and its Gaussian view ``Phi^-1(u)`` when
    ``"normal"``; the density returned by ``score_samples`` is the density of
    that input.
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "input_distribution": [StrOptions({"uniform", "normal"})],
    }

