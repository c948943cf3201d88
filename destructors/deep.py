"""Deep destructors: layers stacked until the data is uniform.

Each layer is a clone of a template destructor, fitted to the output of the
layers before it; the depth is chosen by held-out log-likelihood, either on an
internal validation split (:class:`DeepDestructor`) or by K-fold
cross-validation (:class:`DeepDestructorCV`).
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import KFold, train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._normal import norm_logpdf
from .base import BaseDestructor, make_layer, resolve_random_state
from .composite import CompositeDestructor, LayerStack
from .gaussian import GaussianDestructor
from .marginal import MarginalDestructor

__all__ = ["DeepDestructor", "DeepDestructorCV"]

_SEED_MAX = np.iinfo(np.int32).max


def _default_layer():
    return CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())])


def _mean_log_likelihood(Z, log_det):
    return float(np.mean(norm_logpdf(Z).sum(axis=1) + log_det))


class _Growth:
    """What growing a stack produced: layers, score curves and final training output."""

    def __init__(self, layers, train_scores, validation_scores, best_n_layers, Z, log_det):
        self.layers = layers
        self.train_scores = np.asarray(train_scores)
        self.validation_scores = None if validation_scores is None else np.asarray(validation_scores)
        self.best_n_layers = best_n_layers
        self.Z = Z
        self.log_det = log_det


class _BaseDeep(LayerStack):
    """Shared machinery of deep destructors: growing a stack layer by layer."""

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "destructor": [HasMethods(["fit", "transform"]), list, None],
        "init_destructor": [HasMethods(["fit", "transform"]), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def _layer_templates(self):
        templates = self.destructor if isinstance(self.destructor, list) else [self.destructor]
        templates = [_default_layer() if t is None else t for t in templates]
        if not templates:
            raise ValueError(f"{type(self).__name__}: destructor must not be an empty list.")
        for template in templates + [self._init_template()]:
            if not isinstance(template, BaseDestructor):
                raise TypeError(
                    f"{type(self).__name__}: layers must be destructors (BaseDestructor), "
                    f"got {type(template).__name__}."
                )
        return templates

    def _init_template(self):
        return MarginalDestructor() if self.init_destructor is None else self.init_destructor

    def _unit_input(self):
        return self._init_template()._unit_input()

    def _report(self, k, train, validation, previous, seconds):
        if not self.verbose:
            return
        name = type(self).__name__
        if validation is None:
            line = f"train log-likelihood {train: .4f}"
        else:
            change = "" if k == 0 else f" ({validation - previous:+.4f})"
            line = f"validation log-likelihood {validation: .4f}{change}"
        print(f"[{name}] layer {k:3d}  {line}  {seconds:.2f} s", flush=True)

    def _grow(self, X, X_val, rng, max_new_layers, stop_early):
        """Fit an initial layer and up to ``max_new_layers`` more on ``X``.

        With ``X_val``, track the held-out log-likelihood after each layer and,
        if ``stop_early``, stop once it has not improved by more than ``tol``
        for ``n_iter_no_change`` layers in a row.
        """
        templates = self._layer_templates()
        start = time.perf_counter()
        init = make_layer(self._init_template(), rng.randint(_SEED_MAX))
        Z, log_det = init._fit_layer(X)
        layers = [init]
        train_scores = [_mean_log_likelihood(Z, log_det)]
        validation_scores = best_n = None
        if X_val is not None:
            Z_val, log_det_val = init._forward(X_val)
            validation_scores = [_mean_log_likelihood(Z_val, log_det_val)]
            best, best_n, stalled = validation_scores[0], 0, 0
        first_validation = validation_scores[0] if validation_scores else None
        self._report(0, train_scores[0], first_validation, np.nan, time.perf_counter() - start)

        for k in range(1, max_new_layers + 1):
            start = time.perf_counter()
            layer = make_layer(templates[(k - 1) % len(templates)], rng.randint(_SEED_MAX))
            Z, layer_log_det = layer._fit_layer(Z)
            log_det = log_det + layer_log_det
            layers.append(layer)
            train_scores.append(_mean_log_likelihood(Z, log_det))
            if X_val is None:
                self._report(k, train_scores[-1], None, None, time.perf_counter() - start)
                continue
            Z_val, layer_log_det_val = layer._forward(Z_val)
            log_det_val = log_det_val + layer_log_det_val
            validation_scores.append(_mean_log_likelihood(Z_val, log_det_val))
            self._report(k, train_scores[-1], validation_scores[-1], validation_scores[-2], time.perf_counter() - start)
            if validation_scores[-1] > best + self.tol:
                best, best_n, stalled = validation_scores[-1], k, 0
            else:
                stalled += 1
            if stop_early and stalled >= self.n_iter_no_change:
                break
        return _Growth(layers, train_scores, validation_scores, best_n, Z, log_det)

    def _store(self, growth, n_layers):
        self.layers_ = growth.layers[: n_layers + 1]
        self.n_layers_ = n_layers
        self.train_scores_ = growth.train_scores

    # ------------------------------------------------ partial evaluation
    def _n_stack(self, n_layers):
        """Number of entries of ``layers_`` used when keeping ``n_layers`` layers."""
        check_is_fitted(self)
        if n_layers is None:
            return None
        if not isinstance(n_layers, Integral) or not 0 <= n_layers <= self.n_layers_:
            raise ValueError(
                f"{type(self).__name__}: n_layers must be an integer in [0, {self.n_layers_}] "
                f"(the fitted depth), got {n_layers!r}."
            )
        return n_layers + 1

    def transform(self, X, n_layers=None):
        """Destroy ``X`` with the whole stack, or with its first layers only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        n_layers : int, default=None
            Apply the initial layer and the next ``n_layers`` layers only
            (0 applies the initial layer alone), to see the data part way
            through the destruction. ``None`` applies all layers.

        Returns
        -------
        U : ndarray of shape (n_samples, n_features)
            Uniform (or standard normal) features.
        """
        stop = self._n_stack(n_layers)
        X = self._check_X(X)
        return self._to_output(self._map_rows(lambda rows: self._forward(rows, stop)[0], X))

    def inverse_transform(self, X, n_layers=None):
        """Map destroyed data back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Output of :meth:`transform` with the same ``n_layers``.
        n_layers : int, default=None
            Invert the initial layer and the next ``n_layers`` layers only.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Points whose transform is ``X``.
        """
        stop = self._n_stack(n_layers)
        Z = self._check_output_X(X)
        return self._from_layer_space(self._map_rows(lambda rows: self._inverse(rows, stop), Z))

    def score_samples(self, X, n_layers=None):
        """Log density of each row of ``X``, in nats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to evaluate the density.
        n_layers : int, default=None
            Score with the model truncated after the initial layer and the next
            ``n_layers`` layers (itself a valid density). ``None`` uses all.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Log density of each row.
        """
        stop = self._n_stack(n_layers)
        X = self._check_X(X)
        return self._map_rows(lambda rows: self._log_density(rows, n_layers=stop), X)


class DeepDestructor(_BaseDeep):
    """Stack destructor layers until held-out likelihood stops improving.

    The initial layer (``init_destructor``) maps the raw data into the unit
    cube; each further layer is a clone of ``destructor`` (or of the templates
    of a list, taken in turn) fitted to the output of the layers before it,
    with its own seed drawn from ``random_state``. Layers exchange Gaussian
    views and ``score_samples`` is one pass over the stack.

    With ``n_layers="auto"``, a fraction ``validation_fraction`` of the rows is
    held out; layers are added while the held-out mean log-likelihood improves
    by more than ``tol``, stopping after ``n_iter_no_change`` layers without
    improvement (or at ``max_layers``). The stack is then truncated to the
    best depth (``refit=False``) or refitted on all rows with that depth
    (``refit=True``).

    Parameters
    ----------
    destructor : destructor, list of destructors or None, default=None
        Template of each layer after the first, or a list of templates used
        in turn (for example a rotation, then a marginal layer). ``None`` uses
        a marginal layer followed by a full-covariance Gaussian. Grid search
        reaches ``destructor__<param>`` when it is a single template.
    init_destructor : destructor or None, default=None
        The initial layer, from the data space into the cube. ``None`` uses
        ``MarginalDestructor()``.
    n_layers : int or "auto", default="auto"
        Number of layers after the initial one, or ``"auto"`` for early
        stopping on held-out likelihood.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    tol : float, default=1e-3
        Minimum improvement of the held-out mean log-likelihood (nats) that
        counts as progress.
    n_iter_no_change : int, default=5
        Layers without progress before stopping.
    max_layers : int, default=100
        Upper bound on the depth with ``n_layers="auto"``.
    refit : bool, default=False
        With ``n_layers="auto"``, refit the chosen depth on all rows instead
        of keeping the stack fitted on the training part.
    verbose : int, default=0
        Print one line per layer: its held-out (or training) log-likelihood,
        the improvement and the seconds it took.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and each layer.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    layers_ : list of destructors
        The fitted initial layer followed by ``n_layers_`` layers.
    n_layers_ : int
        Number of layers after the initial one.
    train_scores_ : ndarray of shape (n_fitted + 1,)
        Training mean log-likelihood after each fitted layer (index 0: the
        initial layer alone), including layers dropped by early stopping.
    validation_scores_ : ndarray of shape (n_fitted + 1,) or None
        Held-out mean log-likelihood after each fitted layer, with
        ``n_layers="auto"``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    DeepDestructorCV : chooses the depth by K-fold cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from destructors import DeepDestructor
    >>> X, _ = make_moons(2000, noise=0.05, random_state=0)
    >>> model = DeepDestructor(random_state=0).fit(X[:1500])
    >>> model.n_layers_ >= 1
    True
    >>> bool(model.score(X[1500:]) > model.score_samples(X[1500:], n_layers=0).mean())
    True
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseDeep._parameter_constraints,
        "n_layers": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "refit": ["boolean"],
    }

    def __init__(
        self,
        destructor=None,
        *,
        init_destructor=None,
        n_layers="auto",
        validation_fraction=0.1,
        tol=1e-3,
        n_iter_no_change=5,
        max_layers=100,
        refit=False,
        verbose=0,
        random_state=None,
        output_distribution="uniform",
    ):
        self.destructor = destructor
        self.init_destructor = init_destructor
        self.n_layers = n_layers
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_layers = max_layers
        self.refit = refit
        self.verbose = verbose
        self.random_state = random_state
        self.output_distribution = output_distribution

    def _split(self, X, rng):
        n_validation = int(np.ceil(self.validation_fraction * X.shape[0]))
        if n_validation < 1 or X.shape[0] - n_validation < 2:
            raise ValueError(
                f"DeepDestructor with n_layers='auto' holds out validation_fraction="
                f"{self.validation_fraction} of the rows and needs at least 2 rows to fit "
                f"and 1 to validate; got {X.shape[0]} rows. Pass an integer n_layers."
            )
        return train_test_split(X, test_size=n_validation, random_state=rng)

    def _fit_forward(self, X):
        rng = resolve_random_state(self.random_state)
        if self.n_layers != "auto":
            growth = self._grow(X, None, rng, self.n_layers, stop_early=False)
            self.validation_scores_ = None
            self._store(growth, self.n_layers)
            return growth.Z, growth.log_det
        X_fit, X_val = self._split(X, rng)
        growth = self._grow(X_fit, X_val, rng, self.max_layers, stop_early=True)
        self.validation_scores_ = growth.validation_scores
        if self.refit:
            growth_all = self._grow(X, None, rng, growth.best_n_layers, stop_early=False)
            self._store(growth_all, growth.best_n_layers)
            self.train_scores_ = growth.train_scores
            return growth_all.Z, growth_all.log_det
        self._store(growth, growth.best_n_layers)
        return self._forward(X)

    def _fit(self, X):
        self._fit_forward(X)


def _fold_curve(model, X, train, test, seed):
    rng = np.random.RandomState(seed)
    growth = model._grow(X[train], X[test], rng, model.max_layers, stop_early=True)
    return growth.validation_scores


class DeepDestructorCV(_BaseDeep):
    """Deep destructor whose depth is chosen by K-fold cross-validation.

    For each fold, layers are grown on the other folds while the held-out
    fold's mean log-likelihood is recorded after every layer (stopping early
    as :class:`DeepDestructor` does). The depth with the best mean over the
    folds is then refitted on all rows.

    Parameters
    ----------
    destructor : destructor, list of destructors or None, default=None
        Template of each layer after the first (see :class:`DeepDestructor`).
    init_destructor : destructor or None, default=None
        The initial layer; ``None`` uses ``MarginalDestructor()``.
    cv : int or cross-validation splitter, default=5
        Number of folds (shuffled with ``random_state``) or a splitter such
        as :class:`~sklearn.model_selection.KFold`.
    tol : float, default=1e-3
        Minimum held-out improvement (nats) that counts as progress in a fold.
    n_iter_no_change : int, default=5
        Layers without progress before a fold stops growing.
    max_layers : int, default=100
        Deepest stack tried.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib).
    verbose : int, default=0
        Print one line per layer while growing.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the layers.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    cv_scores_ : ndarray of shape (n_folds, n_tried + 1)
        Held-out mean log-likelihood of each fold after each layer; a fold
        that stopped early keeps its last value.
    n_layers_ : int
        Chosen number of layers after the initial one.
    layers_ : list of destructors
        The stack refitted on all rows.
    train_scores_ : ndarray of shape (n_layers_ + 1,)
        Training mean log-likelihood of the refitted stack after each layer.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import DeepDestructorCV
    >>> X = np.random.default_rng(0).gamma(2.0, size=(600, 2))
    >>> model = DeepDestructorCV(cv=3, max_layers=5, random_state=0).fit(X)
    >>> model.cv_scores_.shape[0], bool(model.n_layers_ == model.cv_scores_.mean(axis=0).argmax())
    (3, True)
    """

    _parameter_constraints: dict = {
        **_BaseDeep._parameter_constraints,
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        destructor=None,
        *,
        init_destructor=None,
        cv=5,
        tol=1e-3,
        n_iter_no_change=5,
        max_layers=100,
        n_jobs=None,
        verbose=0,
        random_state=None,
        output_distribution="uniform",
    ):
        self.destructor = destructor
        self.init_destructor = init_destructor
        self.cv = cv
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_layers = max_layers
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.output_distribution = output_distribution

    def _fit_forward(self, X):
        rng = resolve_random_state(self.random_state)
        splitter = self.cv
        if isinstance(splitter, Integral):
            splitter = KFold(n_splits=splitter, shuffle=True, random_state=rng.randint(_SEED_MAX))
        folds = list(splitter.split(X))
        curves = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_curve)(self, X, train, test, rng.randint(_SEED_MAX)) for train, test in folds
        )
        length = max(len(c) for c in curves)
        self.cv_scores_ = np.array([np.pad(c, (0, length - len(c)), mode="edge") for c in curves])
        best = int(np.argmax(self.cv_scores_.mean(axis=0)))
        growth = self._grow(X, None, rng, best, stop_early=False)
        self._store(growth, best)
        return growth.Z, growth.log_det

    def _fit(self, X):
        self._fit_forward(X)
