"""Deep destructors: layers stacked until the data is uniform.

Each layer is a clone of a template destructor, fitted to the output of the
layers before it; the depth is chosen by held-out log-likelihood, either on an
internal validation split (:class:`DeepDestructor`) or by K-fold
cross-validation (:class:`DeepDestructorCV`).
"""

import time
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn import config_context, get_config
from sklearn.model_selection import KFold, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._normal import norm_logpdf
from .base import BaseDestructor, make_layer, resolve_random_state, validate_nested_params
from .composite import CompositeDestructor, LayerStack
from .gaussian import GaussianDestructor
from .marginal import MarginalDestructor, gaussian_view_marginal
from .mixed import accepts_mixed_data
from .mixture import GaussianMixtureDestructor
from .rotation import RotationDestructor
from .tree import TreeDensity, TreeDestructor

__all__ = [
    "DeepDestructor",
    "DeepDestructorCV",
    "deep_copula",
    "deep_rbig",
    "deep_trees",
    "default_init_candidates",
    "default_layer_candidates",
]

_SEED_MAX = np.iinfo(np.int32).max
# Initial candidates race on a subsample only when the training part has at
# least this many times ``race_samples`` rows: below, the race costs about
# as much as the stacks it could spare.
_RACE_SPEEDUP = 4
# With fewer rows per feature than this, a table is small: the default
# model's later layers are Gaussian only (see default_layer_candidates).
_SMALL_TABLE_ROWS_PER_FEATURE = 50


def default_init_candidates():
    """First-layer candidates of the default deep model.

    Marginal histograms (then the layers capture the dependence), and a
    Gaussian mixture whose size is chosen on held-out rows, averaged over five
    EM fits (one component is the full Gaussian).
    """
    return [MarginalDestructor(), GaussianMixtureDestructor("auto", n_average=3)]


def default_layer_candidates(n_samples=None, n_features=1):
    """Later-layer candidates of the default deep model, the best kept at each layer.

    A full-covariance Gaussian (the copula step), an RBIG step (a random
    rotation then marginal histograms with normal tails, shrunk towards the
    normal, see :class:`~destructors.HistogramDensity`) and a density tree;
    on a small table only the Gaussian.

    Parameters
    ----------
    n_samples : int or None, default=None
        Rows the model is fitted on; ``None`` gives the full list.
    n_features : int, default=1
        Features the layers see.

    Returns
    -------
    templates : list of destructors
        The Gaussian alone when there are fewer than 50 rows per feature
        (a small table), else the Gaussian, the RBIG step and the tree.

    Notes
    -----
    On small tables the tree and the RBIG step cost most of the fit and
    gain little: a tree on a few hundred rows in 30 or 64 dimensions splits
    each path on a handful of the features. On the benchmark's digits,
    breast cancer and wine (20, 13 and 10 rows per feature) they took 80 to
    90% of the default fit, and leaving them out changed the held-out
    log-likelihood by -0.27, -0.22 and 0 nats with seed 0 (0.7, 0.1 and 0
    standard errors); see the user guide's section on fitting time.

    Examples
    --------
    >>> from destructors.deep import default_layer_candidates
    >>> [type(t).__name__ for t in default_layer_candidates(n_samples=400, n_features=30)]
    ['GaussianDestructor']
    >>> len(default_layer_candidates(n_samples=20000, n_features=2))
    3
    """
    if n_samples is not None and n_samples < _SMALL_TABLE_ROWS_PER_FEATURE * n_features:
        return [GaussianDestructor()]
    return [
        GaussianDestructor(),
        _rbig_step("random", None),
        TreeDestructor(),
    ]


def _rbig_step(rotation, density):
    """A rotation, then marginal layers; histograms shrunk towards the normal unless ``density`` is given.

    Shrinkage makes a step that finds its input already Gaussian nearly the
    identity instead of a map fitted to sampling noise: held-out likelihood
    chooses the depth of these stacks, and it rose on 8 of 9 benchmark data
    sets; stacks of 200 such steps on 400 rows stay invertible, where the
    unshrunk steps' noise multiplied into a nearly singular map.
    """
    return CompositeDestructor(
        [("rotation", RotationDestructor(rotation)), ("marginal", gaussian_view_marginal(density, shrinkage="auto"))]
    )


def _log_likelihood(Z, log_det):
    """Per-row log-likelihood of a stack's output; ``Z`` is None when ``log_det`` already is it."""
    if Z is None:
        return log_det
    return norm_logpdf(Z).sum(axis=1) + log_det


def _mean_log_likelihood(Z, log_det):
    return float(np.mean(_log_likelihood(Z, log_det)))


def _clearly_behind(gap, tol):
    """Whether per-row held-out gaps (leader minus candidate) exceed ``tol`` plus two standard errors."""
    if gap.size < 2:
        return gap.mean() > tol
    return gap.mean() > tol + 2.0 * gap.std(ddof=1) / np.sqrt(gap.size)


def _significant(gain, tol):
    """Whether per-row held-out gains show progress beyond ``tol`` and their noise.

    The mean gain must exceed ``tol`` plus one standard error of the mean, so
    that on a few held-out rows a layer is not kept for a lucky draw.
    """
    if gain.size < 2:
        return gain.mean() > tol
    return gain.mean() > tol + gain.std(ddof=1) / np.sqrt(gain.size)


class _Growth:
    """A grown stack: its layers, the template chosen for each, score curves, training output.

    ``best_after[k]`` is the best depth once layer ``k`` is in, and
    ``best_rows[k]`` the per-row held-out log-likelihood of each depth that
    became the best: enough to cut the stack back to any length afterwards
    exactly as if it had stopped there.
    """

    def __init__(self, init_index, branch):
        self.init_index, self.branch = init_index, branch
        self.layers, self.choices = [], []
        self.train_scores, self.validation_scores = [], None
        self.best_n_layers = 0
        self.best_after, self.best_rows = [0], {}
        self.Z = self.log_det = None
        self.seconds = 0.0

    @property
    def best_validation(self):
        return self.validation_scores[self.best_n_layers]

    def cut(self, n_layers):
        """Keep the initial layer and the next ``n_layers`` layers, as if growth had stopped there."""
        if n_layers + 1 >= len(self.layers):
            return
        del self.layers[n_layers + 1:], self.choices[n_layers:]
        self.train_scores = self.train_scores[: n_layers + 1]
        self.validation_scores = self.validation_scores[: n_layers + 1]
        self.best_after = self.best_after[: n_layers + 1]
        self.best_n_layers = self.best_after[-1]
        self.Z = self.log_det = None


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]


def _replay_layer(template, fitted, seed, n_jobs=None):
    """A layer cloned from ``template``; with ``fitted``, reusing what fitting it resolved.

    ``fitted`` is the same template fitted on the training part; its
    data-driven choices (such as an ``"auto"`` size) are reused rather than
    searched again. A Gaussian mixture layer whose ``n_jobs`` is left at
    None runs its averaged fits with the stack's ``n_jobs``.
    """
    layer = make_layer(template, seed)
    if n_jobs is not None and isinstance(layer, GaussianMixtureDestructor) and layer.n_jobs is None:
        layer.set_params(n_jobs=n_jobs)
    if fitted is not None:
        layer.set_params(**fitted._resolved_params())
        layer._warm_start_from(fitted)
    return layer


class _Leader(namedtuple("_Leader", ["score", "pace"])):
    """The best stack grown so far: its best held-out score and the largest gain one of its layers made."""

    @classmethod
    def of(cls, growths):
        grown = [g for g in growths if isinstance(g, _Growth)]
        if not grown:
            return None
        best = max(grown, key=lambda g: g.best_validation)
        gains = np.diff(best.validation_scores)
        return cls(best.best_validation, float(gains.max()) if gains.size else 0.0)


def _trails_hopelessly(scores, leader, patience):
    """Whether a branch's held-out curve cannot reach the ``leader``'s score soon.

    True when its best score trails the leader's by more than ``patience``
    layers at its best recent pace (largest gain over the last ``patience``
    layers): the stack is behind and its gains are too small to catch up.
    A branch with only its initial layer has no pace yet and is given the
    leader's largest gain from one layer, a generous stand-in; if the
    leader never gained, nothing is known and the branch goes on.
    """
    if leader is None:
        return False
    if len(scores) < 2:
        pace = leader.pace
        if not pace > 0:
            return False
    else:
        pace = max(float(np.max(np.diff(scores)[-patience:])), 0.0)
    return leader.score - max(scores) > patience * pace


def _hopeless_length(scores, leader, patience):
    """Layers a branch grown without a leader would have kept had it known ``leader``: the first stop, or None."""
    for k in range(len(scores)):
        if _trails_hopelessly(scores[: k + 1], leader, patience):
            return k
    return None


class _BaseDeep(LayerStack):
    """Shared machinery of deep destructors: growing a stack layer by layer."""

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "destructor": [HasMethods(["fit", "transform"]), list, None],
        "init_destructor": [HasMethods(["fit", "transform"]), list, None],
        "layer_choice": [StrOptions({"best", "cycle"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 0, None, closed="left")],
        "max_fit_samples": [Interval(Integral, 2, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def _check_templates(self, templates, parameter):
        if not templates:
            raise ValueError(f"{type(self).__name__}: {parameter} must not be an empty list.")
        for template in templates:
            if not isinstance(template, BaseDestructor):
                raise TypeError(
                    f"{type(self).__name__}: layers must be destructors (BaseDestructor), "
                    f"got {type(template).__name__} in {parameter}."
                )
        return templates

    def _layer_templates(self):
        if self.destructor is None:
            # The rows and features of the table being fitted (set by _fit_forward).
            return default_layer_candidates(*getattr(self, "_fit_shape", (None, 1)))
        return self._check_templates(_as_list(self.destructor), "destructor")

    def _init_templates(self):
        if self.init_destructor is None:
            return default_init_candidates()
        return self._check_templates(_as_list(self.init_destructor), "init_destructor")

    def _unit_input(self):
        return self._init_templates()[0]._unit_input()

    def _choosing(self, templates):
        return self.layer_choice == "best" and len(templates) > 1

    def _parallel(self):
        # Threads: the layers' heavy work is in NumPy, which releases the
        # GIL, and the data are shared rather than copied to processes.
        return Parallel(n_jobs=self.n_jobs, prefer="threads")

    def _parallel_jobs(self):
        return self.n_jobs not in (None, 1)

    def _layer_jobs(self):
        return self.n_jobs if self._parallel_jobs() else None

    def _say(self, message):
        if self.verbose:
            print(f"[{type(self).__name__}] {message}", flush=True)

    def _report(self, branch, k, choice, train, validation, previous, seconds):
        if not self.verbose:
            return
        if validation is None:
            line = f"train log-likelihood {train: .4f}"
        else:
            change = "" if k == 0 else f" ({validation - previous:+.4f})"
            line = f"validation log-likelihood {validation: .4f}{change}"
        self._say(f"{branch} layer {k:3d} {choice:<30} {line}  {seconds:.2f} s")

    def _report_stack(self, growth, what="stack"):
        """One summary line per grown stack (no per-layer wording, see the verbose protocol)."""
        if growth.validation_scores is None:
            score = f"train {growth.train_scores[-1]:.4f}"
        else:
            score = f"best {growth.best_n_layers}, validation {growth.best_validation:.4f}"
        self._say(f"{growth.branch} {what}: {len(growth.layers) - 1} layers, {score}, {growth.seconds:.2f} s")

    def _grow_candidates(self, grow, indices, stop_early, what="stack"):
        """Grow the stack of each initial candidate in ``indices`` with ``grow(i, leader)``.

        A candidate that raises a ValueError on this data (for example a
        Gaussian mixture whose covariance stays singular) is skipped with a
        warning, so that one unsuitable candidate does not stop the fit; if
        every candidate fails, the first error is raised. Returns a list
        aligned with ``indices`` (None where a candidate failed).

        Grown one after the other, each stack is given the best held-out
        score of those before it (``leader``) so that, with ``stop_early``,
        a stack far behind stops early. Grown in parallel (``n_jobs``), the
        stacks cannot know each other's scores: each is grown without a
        leader, then cut where it would have stopped had it known the
        leader, so the result is the same; only the work past the cut is
        wasted.
        """
        inits = self._init_templates()

        def attempt(i, leader):
            try:
                return grow(i, leader)
            except ValueError as error:
                if len(inits) == 1:
                    raise
                return error

        parallel = self._parallel_jobs() and len(indices) > 1
        if parallel:
            results = self._parallel()(delayed(attempt)(i, None) for i in indices)
        else:
            results = []
            for i in indices:
                results.append(attempt(i, _Leader.of(results) if stop_early else None))
                if isinstance(results[-1], _Growth):
                    self._report_stack(results[-1], what)
        for n_done, (i, result) in enumerate(zip(indices, results)):
            if not isinstance(result, _Growth):
                warnings.warn(
                    f"{type(self).__name__}: the initial candidate {type(inits[i]).__name__} "
                    f"could not be fitted and is skipped: {result}",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            if parallel:
                leader = _Leader.of(results[:n_done]) if stop_early else None
                stop = _hopeless_length(result.validation_scores, leader, self.n_iter_no_change)
                if stop is not None:
                    result.cut(stop)
                    self._say(f"{result.branch} stopped: {leader.score - max(result.validation_scores):.4f} nats "
                              "behind the best stack, gaining too slowly to catch up")
                self._report_stack(result, what)
        if not any(isinstance(r, _Growth) for r in results):
            raise results[0]
        return [r if isinstance(r, _Growth) else None for r in results]

    def _stops_behind(self, branch, scores, leader):
        """Whether the stack ``branch`` trails ``leader`` too far to catch up (saying so when verbose)."""
        if not _trails_hopelessly(scores, leader, self.n_iter_no_change):
            return False
        self._say(f"{branch} stopped: {leader.score - max(scores):.4f} nats behind the best stack, "
                  "gaining too slowly to catch up")
        return True

    def _fit_layer_on(self, layer, X, rows, output=True):
        """Fit ``layer`` on the rows ``rows`` of ``X`` (all when None); return its output on all of them.

        Rows outside the subsample's range pass through the layer's tails,
        which every density here has: nothing is clipped. Without
        ``output`` (the last layer of a stack nobody transforms with), the
        output is ``(None, log_p)``, the layer's term of the rows'
        log-likelihood, which some layers compute more cheaply.
        """
        if not output:
            if rows is None:
                return None, layer._fit_layer_log_density(X)
            layer._fit_layer_log_density(X[rows])
            return None, layer._map_rows(layer._layer_log_density, X)
        if rows is None:
            return layer._fit_layer(X)
        layer._fit_layer(X[rows])
        return layer._map_rows(layer._forward, X)

    def _subsample(self, rng, n_rows):
        """Rows a layer is fitted on: a fresh subsample of ``max_fit_samples`` rows, or all (None)."""
        if self.max_fit_samples is None or n_rows <= self.max_fit_samples:
            return None
        return rng.choice(n_rows, self.max_fit_samples, replace=False)

    def _next_layer(self, templates, k, Z, Z_val, rng, choice, start=None, output=True, trailing=None):
        """Fit the next layer: the replayed (from ``start``), cycled or best-on-validation template.

        Returns the template's index, the fitted layer, its output on ``Z``
        and on ``Z_val`` (None without held-out rows); without ``output``,
        a replayed layer's output on ``Z`` is ``(None, log_p)`` (see
        :meth:`_fit_layer_on`). Every template's seed
        and subsample are drawn before any is fitted, so fitting them in
        parallel gives the same layers; one after the other, only the best
        output so far is kept.

        ``trailing`` counts, per template, the layers in a row in which it
        was clearly behind the best template on held-out rows; it is
        updated here, and a template with ``n_iter_no_change`` of them rests
        (is not fitted; its seed is still drawn).
        """
        if choice is None and not (self._choosing(templates) and Z_val is not None):
            choice = (k - 1) % len(templates)
        if choice is not None:
            layer = _replay_layer(templates[choice], start, rng.randint(_SEED_MAX), self._layer_jobs())
            fitted = self._fit_layer_on(layer, Z, self._subsample(rng, Z.shape[0]), output)
            return choice, layer, fitted, None if Z_val is None else layer._map_rows(layer._forward, Z_val)
        draws = [(rng.randint(_SEED_MAX), self._subsample(rng, Z.shape[0])) for _ in templates]
        active = [i for i in range(len(templates)) if trailing is None or trailing[i] < self.n_iter_no_change]
        layers = {i: _replay_layer(templates[i], None, draws[i][0], self._layer_jobs()) for i in active}

        def fit_and_score(index):
            layer = layers[index]
            output = self._fit_layer_on(layer, Z, draws[index][1])
            validation = layer._map_rows(layer._forward, Z_val)
            rows = _log_likelihood(*validation)
            score = float(rows.mean())
            return (-np.inf if np.isnan(score) else score), -index, output, validation, rows

        if self._parallel_jobs():
            results = self._parallel()(delayed(fit_and_score)(i) for i in active)
            best = max(results, key=lambda r: r[:2])
        else:
            # One after the other, only the best output so far is kept.
            results, best = [], None
            for index in active:
                result = fit_and_score(index)
                best = result if best is None or result[:2] > best[:2] else best
                results.append(result[:2] + (None, None, result[4]))
        if trailing is not None:
            for result in results:
                index = -result[1]
                trailing[index] = trailing[index] + 1 if _clearly_behind(best[4] - result[4], self.tol) else 0
        return -best[1], layers[-best[1]], best[2], best[3]

    def _grow(self, X, X_val, rng, init_index, max_new_layers, stop_early, replay=None, starts=None,
              leader=None, label=None, output=True):
        """Fit initial layer ``init_index`` and up to ``max_new_layers`` more on ``X``.

        ``rng`` is a RandomState or a seed. With ``X_val``, track the
        held-out log-likelihood after each layer, choose each layer's
        template on it (``layer_choice="best"``) and, if ``stop_early``,
        stop once it has not improved by more than ``tol`` for
        ``n_iter_no_change`` layers in a row, or once it trails the
        ``leader`` (another stack's best score and largest gain from one
        layer) too far to catch up. ``replay``
        gives the templates to use, as chosen by an earlier growth, and
        ``starts`` that growth's fitted layers, whose resolved values (such
        as a mixture's size) the refitted layers reuse. ``label`` names the
        stack in verbose output (default: the initial layer's class).
        Without held-out rows and with ``output=False``, the stack's output
        on ``X`` is not needed: the last layer is only scored (see
        :meth:`_fit_layer_on`) and ``growth.Z`` stays None.
        """
        rng = check_random_state(rng)
        # Layers in a row each template was clearly behind, while choosing on held-out rows.
        trailing = [0] * len(self._layer_templates()) if X_val is not None and replay is None else None
        # Whether layer k's output on X is needed: all but the last's when nobody reads the stack's output.
        needed = lambda k: output or X_val is not None or k < max_new_layers  # noqa: E731
        inits, templates = self._init_templates(), self._layer_templates()
        starts = starts or [None] * (max_new_layers + 1)
        branch = label or type(inits[init_index]).__name__
        growth = _Growth(init_index, branch)
        began = start = time.perf_counter()
        init = _replay_layer(inits[init_index], starts[0], rng.randint(_SEED_MAX), self._layer_jobs())
        Z, log_det = self._fit_layer_on(init, X, self._subsample(rng, X.shape[0]), needed(0))
        growth.layers.append(init)
        growth.train_scores.append(_mean_log_likelihood(Z, log_det))
        if X_val is not None:
            Z_val, log_det_val = init._map_rows(init._forward, X_val)
            best_rows = _log_likelihood(Z_val, log_det_val)
            growth.validation_scores = [float(best_rows.mean())]
            growth.best_rows[0] = best_rows
            stalled = 0
        validation = growth.validation_scores[0] if X_val is not None else None
        self._report(branch, 0, type(init).__name__, growth.train_scores[0], validation, None, time.perf_counter() - start)
        behind = stop_early and X_val is not None and self._stops_behind(branch, growth.validation_scores, leader)
        last = 0 if behind else max_new_layers

        for k in range(1, last + 1):
            start = time.perf_counter()
            choice = None if replay is None else replay[k - 1]
            choice, layer, (Z, layer_log_det), validation = self._next_layer(
                templates, k, Z, Z_val if X_val is not None else None, rng, choice, starts[k], needed(k), trailing
            )
            log_det = log_det + layer_log_det
            growth.layers.append(layer)
            growth.choices.append(choice)
            growth.train_scores.append(_mean_log_likelihood(Z, log_det))
            name = type(templates[choice]).__name__
            if X_val is None:
                self._report(branch, k, name, growth.train_scores[-1], None, None, time.perf_counter() - start)
                continue
            Z_val, layer_log_det_val = validation
            log_det_val = log_det_val + layer_log_det_val
            rows = _log_likelihood(Z_val, log_det_val)
            scores = growth.validation_scores
            scores.append(float(rows.mean()))
            self._report(branch, k, name, growth.train_scores[-1], scores[-1], scores[-2], time.perf_counter() - start)
            if _significant(rows - best_rows, self.tol):
                growth.best_n_layers, best_rows, stalled = k, rows, 0
                growth.best_rows[k] = rows
            else:
                stalled += 1
            growth.best_after.append(growth.best_n_layers)
            if stop_early and stalled >= self.n_iter_no_change:
                break
            if stop_early and self._stops_behind(branch, scores, leader):
                break
        if X_val is None:
            growth.best_n_layers = len(growth.layers) - 1
        growth.train_scores = np.asarray(growth.train_scores)
        if growth.validation_scores is not None:
            growth.validation_scores = np.asarray(growth.validation_scores)
        if X_val is None and Z is not None:
            # Only a stack grown without held-out rows hands its output on.
            growth.Z, growth.log_det = Z, log_det
        growth.seconds = time.perf_counter() - began
        return growth

    def _fit_forward(self, X, output=True):
        # Layers transform rows in chunks sized from working_memory; while
        # fitting, a chunk's temporaries are kept to about the size of the
        # data (at least 16 MiB), so peak memory stays a small multiple of
        # the training array however many components a mixture has.
        budget = min(get_config()["working_memory"], max(16.0, X.nbytes / 2**20))
        # The default layer templates depend on the table's size.
        self._fit_shape = X.shape
        # The templates are validated once; their clones, which differ only
        # in seeds and distributions the stack sets, are fitted without
        # validating again (a few hundred clones on a small table).
        for template in self._init_templates() + self._layer_templates():
            validate_nested_params(template)
        with config_context(working_memory=budget, skip_parameter_validation=True):
            return self._fit_stack(X, output)

    def _fit(self, X):
        # Only the model is wanted: the last layer of the final stack is
        # scored without computing its output on the training rows.
        self._fit_forward(X, output=False)

    def _store(self, growth, n_layers):
        self.layers_ = growth.layers[: n_layers + 1]
        self.n_layers_ = n_layers
        self.train_scores_ = growth.train_scores[: n_layers + 1]

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
        return self._transform(X, n_layers=self._n_stack(n_layers))

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
        return self._inverse_transform(X, n_layers=self._n_stack(n_layers))

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
        return self._log_mass_density(self._check_X(X), n_layers=stop)


@accepts_mixed_data
class DeepDestructor(_BaseDeep):
    """Stack destructor layers until held-out likelihood stops improving.

    The initial layer (``init_destructor``) maps the raw data into the unit
    cube; each further layer is a clone of a template destructor fitted to
    the output of the layers before it, with its own seed drawn from
    ``random_state``. Layers exchange Gaussian views and ``score_samples`` is
    one pass over the stack.

    Choices are made on held-out rows (a fraction ``validation_fraction``):

    - with several initial candidates, each grows its own stack and the
      stack with the best held-out log-likelihood is kept. When the
      training part has at least four times ``race_samples`` rows, the
      candidates first *race*: each grows its stack on ``race_samples``
      random training rows, scored on as many held-out rows, and a
      candidate whose best score trails the leader's by more than ``tol``
      plus two standard errors of the paired per-row differences is
      dropped; only the others grow on all rows (successive halving with
      one round). Stacks grown one after the other also stop a stack whose
      best score trails the best of those before it by more than
      ``n_iter_no_change`` layers at its best recent gain per layer, since
      it cannot catch up soon; a stack with only its initial layer is
      given the leading stack's largest gain from one layer instead (on
      digits the mixture's initial layer is 35 nats behind, more than twice
      the 12.5 nats of the marginal stack's best layer, and its stack
      stops there);
    - with several layer templates and ``layer_choice="best"``, every
      template is fitted at each layer and the best on held-out rows kept
      (``"cycle"`` takes the templates in turn instead, for example a
      rotation then a marginal layer); a template clearly behind the best
      (by more than ``tol`` plus two standard errors of the paired per-row
      differences) at ``n_iter_no_change`` layers in a row is not fitted
      again in that stack;
    - with ``n_layers="auto"``, layers are added while the held-out mean
      log-likelihood improves by more than ``tol``, stopping after
      ``n_iter_no_change`` layers without improvement (or at ``max_layers``),
      and the best depth is kept.

    The chosen stack is then refitted on all rows (``refit=True``, replaying
    the chosen templates; a Gaussian mixture layer continues EM from its
    fits on the training part) or kept as fitted on the other rows. The
    user guide's section on fitting time gives the measured effect of each
    of these shortcuts.

    The defaults make a model that adapts to the data: a first layer chosen
    between marginal histograms and a Gaussian mixture of validated size
    (averaged over three EM fits), then at each layer the best of a
    full-covariance Gaussian (the copula step), an RBIG step (a random
    rotation then marginal histograms, shrunk towards the normal) and a
    density tree. On a small table, with fewer than 50 rows per feature,
    the later layers are Gaussian only: on the benchmark's digits, breast
    cancer and wine the tree and the RBIG step took 80 to 90% of the fit
    and moved the held-out log-likelihood by less than a standard error
    (see :func:`default_layer_candidates`; pass
    ``destructor=default_layer_candidates()`` to keep them).

    Parameters
    ----------
    destructor : destructor, list of destructors or None, default=None
        Template of each layer after the first, or a list of templates
        (chosen per layer or cycled, see ``layer_choice``). ``None`` uses
        :func:`default_layer_candidates` for the rows and features fitted
        (the Gaussian alone below 50 rows per feature). Grid search reaches
        ``destructor__<param>`` when it is a single template.
    init_destructor : destructor, list of destructors or None, default=None
        The initial layer, from the data space into the cube, or a list of
        candidates each growing its own stack. ``None`` uses
        :func:`default_init_candidates`.
    layer_choice : {"best", "cycle"}, default="best"
        With several layer templates: fit them all at each layer and keep
        the best on held-out rows, or use them in turn.
    n_layers : int or "auto", default="auto"
        Number of layers after the initial one, or ``"auto"`` for early
        stopping on held-out likelihood.
    validation_fraction : float, default=0.1
        Fraction of rows held out to make the choices above.
    tol : float, default=1e-3
        Minimum improvement of the held-out mean log-likelihood (nats) that
        counts as progress; the improvement, paired row by row with the best
        stack so far, must also exceed one standard error, so that few
        held-out rows do not let noise deepen the stack.
    n_iter_no_change : int, default=2
        Layers without progress before stopping; also the number of layers
        a stack behind another may need to catch up, at its recent pace,
        before it is stopped, and the number of layers in a row a layer
        template may be clearly behind the best before it rests for the
        rest of the stack.
    max_layers : int, default=100
        Upper bound on the depth with ``n_layers="auto"``.
    max_fit_samples : int or None, default=20_000
        Fit each layer on its own random subsample of at most this many rows
        (then apply it to all rows in chunks), so that beyond it the fit's
        time grows linearly with the rows and its memory stays a small
        multiple of the data (as scikit-learn's QuantileTransformer
        subsamples): a Gaussian mixture's EM holds several arrays of rows x
        components. Rows outside a subsample's range go through the layers'
        tails; they are never clipped. ``None`` fits on every row.
    race_samples : int or None, default=2000
        Rows on which the initial candidates race before the survivors grow
        on all training rows (see above); the race runs only when the
        training part has at least four times as many rows. ``None`` grows
        every candidate on all rows.
    refit : bool, default=True
        Refit the chosen stack on all rows (replaying its templates and the
        values its layers resolved, such as a mixture's size), instead of
        keeping it as fitted without the held-out rows.
    n_jobs : int or None, default=None
        Number of jobs (joblib, threads by default: the layers' work is in
        NumPy, which releases the GIL) growing the candidates' stacks, and
        fitting the layer templates and a mixture's averaged EM fits at
        once. Every seed is drawn before the work is handed out, and stacks
        grown in parallel are cut where one grown alone would have stopped,
        so the fitted model is the same for every ``n_jobs``.
    verbose : int, default=0
        Print progress to standard output, each line starting with
        ``[DeepDestructor]`` and ending with the seconds it took:

        - one line per layer, ``[DeepDestructor] <stack> layer <k>
          <template> validation log-likelihood <score> (<change>) <t> s``
          (``train log-likelihood`` while refitting), where ``<stack>``
          names the initial candidate (followed by ``refit`` when the
          chosen stack is refitted on all rows);
        - one summary line per stack when it is done, ``[DeepDestructor]
          <stack> stack: <n> layers, best <k>, validation <score>, <t> s``
          (``race stack on <m> rows`` for a stack of the race, ``stack on
          <n> rows`` with its training score for the refit), and a line for
          each candidate leaving the race or stopped behind another.
          Summary lines never contain "layer" followed by a number.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and each layer.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.
    [mixed data parameters]

    Attributes
    ----------
    layers_ : list of destructors
        The fitted initial layer followed by ``n_layers_`` layers.
    n_layers_ : int
        Number of layers after the initial one.
    train_scores_ : ndarray of shape (`n_layers_` + 1,)
        Training mean log-likelihood of the final stack after each layer
        (index 0: the initial layer alone).
    validation_scores_ : ndarray of shape (n_grown + 1,) or None
        Held-out mean log-likelihood after each layer grown for the chosen
        stack, including layers dropped by early stopping; ``None`` when no
        choice needed held-out rows.
    init_scores_ : ndarray of shape (n_init_candidates,) or None
        Best held-out mean log-likelihood of the stack grown from each
        initial candidate (until it stopped), ``-inf`` for a candidate that
        could not be fitted, ``nan`` for one that left the race.
    race_scores_ : ndarray of shape (n_init_candidates,) or None
        Best held-out mean log-likelihood of each candidate's stack in the
        race (on ``race_samples`` rows; ``nan`` where it could not be
        fitted), or ``None`` when there was no race.
    [mixed data attributes]
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    DeepDestructorCV : chooses the depth by K-fold cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from destructors import DeepDestructor, MarginalDestructor, TreeDestructor
    >>> X, _ = make_moons(1000, noise=0.05, random_state=0)
    >>> model = DeepDestructor(random_state=0).fit(X[:800])
    >>> type(model.layers_[0]).__name__, bool(model.score(X[800:]) > -0.6)
    ('GaussianMixtureDestructor', True)
    >>> model.sample(3, random_state=0).shape
    (3, 2)

    A deep stack of trees after a marginal layer, depth chosen on held-out rows:

    >>> trees = DeepDestructor(TreeDestructor(), init_destructor=MarginalDestructor(),
    ...                        random_state=0).fit(X[:800])
    >>> bool(trees.score(X[800:]) > trees.score_samples(X[800:], n_layers=0).mean())
    True
    """

    _parameter_constraints: dict = {
        **_BaseDeep._parameter_constraints,
        "n_layers": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "race_samples": [Interval(Integral, 2, None, closed="left"), None],
        "refit": ["boolean"],
    }

    def __init__(
        self,
        destructor=None,
        *,
        init_destructor=None,
        layer_choice="best",
        n_layers="auto",
        validation_fraction=0.1,
        tol=1e-3,
        n_iter_no_change=2,
        max_layers=100,
        max_fit_samples=20_000,
        race_samples=2000,
        refit=True,
        n_jobs=None,
        verbose=0,
        random_state=None,
        output_distribution="uniform",
        discrete_features="auto",
        categorical_features="auto",
    ):
        self.destructor = destructor
        self.init_destructor = init_destructor
        self.layer_choice = layer_choice
        self.n_layers = n_layers
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_layers = max_layers
        self.max_fit_samples = max_fit_samples
        self.race_samples = race_samples
        self.refit = refit
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.output_distribution = output_distribution
        self.discrete_features = discrete_features
        self.categorical_features = categorical_features

    def _split(self, X, rng):
        n_validation = int(np.ceil(self.validation_fraction * X.shape[0]))
        if n_validation < 1 or X.shape[0] - n_validation < 2:
            raise ValueError(
                f"DeepDestructor holds out validation_fraction={self.validation_fraction} "
                f"of the rows to choose its depth and layers, and needs at least 2 rows to "
                f"fit and 1 to validate; got {X.shape[0]} rows. Pass an integer n_layers, "
                "a single init_destructor and a single destructor template."
            )
        return train_test_split(X, test_size=n_validation, random_state=rng)

    def _racing(self, n_candidates, n_fit):
        return (self.race_samples is not None and n_candidates > 1
                and n_fit >= _RACE_SPEEDUP * self.race_samples)

    def _race(self, X_fit, X_val, rng, depth):
        """Grow every initial candidate's stack on ``race_samples`` rows; return those still in the race.

        The stacks are grown as usual (early stopping included) on a random
        subsample of the training rows and scored on at most as many
        held-out rows, the same for all. A candidate leaves the race when the
        per-row held-out log-likelihood of its best stack trails the
        leader's by more than ``tol`` plus two standard errors of the paired
        differences: with far fewer rows, only clear losers are dropped.
        """
        rows = rng.choice(X_fit.shape[0], self.race_samples, replace=False)
        n_val = min(X_val.shape[0], self.race_samples)
        val_rows = rng.choice(X_val.shape[0], n_val, replace=False)
        n_candidates = len(self._init_templates())
        seeds = [rng.randint(_SEED_MAX) for _ in range(n_candidates)]
        X_race, X_race_val = X_fit[rows], X_val[val_rows]
        growths = self._grow_candidates(
            lambda i, leader: self._grow(X_race, X_race_val, seeds[i], i, depth, stop_early=True, leader=leader),
            list(range(n_candidates)), stop_early=True, what=f"race stack on {self.race_samples} rows",
        )
        grown = [g for g in growths if g is not None]
        self.race_scores_ = np.array([np.nan if g is None else g.best_validation for g in growths])
        leader = max(grown, key=lambda g: g.best_validation)
        leader_rows = leader.best_rows[leader.best_n_layers]
        survivors = []
        for growth in grown:
            gap = leader_rows - growth.best_rows[growth.best_n_layers]
            margin = self.tol + 2.0 * gap.std(ddof=1) / np.sqrt(gap.size) if gap.size > 1 else self.tol
            if growth is leader or gap.mean() <= margin:
                survivors.append(growth.init_index)
            else:
                self._say(f"{growth.branch} leaves the race: {gap.mean():.4f} nats behind "
                          f"{leader.branch} (margin {margin:.4f})")
        return survivors

    def _choose(self, X, rng, auto):
        """Hold rows out, race and grow the candidates' stacks; return the best one's growth.

        A method of its own, so that the training and held-out copies of the
        rows are freed before the chosen stack is refitted on all of them.
        """
        inits = self._init_templates()
        X_fit, X_val = self._split(X, rng)
        depth = self.max_layers if auto else self.n_layers
        candidates = list(range(len(inits)))
        if auto and self._racing(len(inits), X_fit.shape[0]):
            candidates = self._race(X_fit, X_val, rng, depth)
        seeds = [rng.randint(_SEED_MAX) for _ in inits]
        grown = self._grow_candidates(
            lambda i, leader: self._grow(X_fit, X_val, seeds[i], i, depth, stop_early=auto, leader=leader),
            candidates, stop_early=auto,
        )
        self.init_scores_ = np.full(len(inits), -np.inf)
        self.init_scores_[np.setdiff1d(np.arange(len(inits)), candidates)] = np.nan
        for growth in grown:
            if growth is None:
                continue
            if not auto:
                growth.best_n_layers = self.n_layers
            self.init_scores_[growth.init_index] = growth.best_validation
        best = max((g for g in grown if g is not None), key=lambda g: g.best_validation)
        self.validation_scores_ = best.validation_scores
        return best

    def _fit_stack(self, X, output=True):
        rng = resolve_random_state(self.random_state)
        inits, templates = self._init_templates(), self._layer_templates()
        auto = self.n_layers == "auto"
        self.validation_scores_ = self.init_scores_ = self.race_scores_ = None
        if not (auto or len(inits) > 1 or self._choosing(templates)):
            growth = self._grow(X, None, rng, 0, self.n_layers, stop_early=False, output=output)
            self._report_stack(growth)
            self._store(growth, self.n_layers)
            return growth.Z, growth.log_det

        best = self._choose(X, rng, auto)
        n_layers = best.best_n_layers
        if not self.refit:
            self._store(best, n_layers)
            return self._map_rows(self._forward, X) if output else None
        growth = self._grow(
            X, None, rng.randint(_SEED_MAX), best.init_index, n_layers, stop_early=False,
            replay=best.choices[:n_layers], starts=best.layers[: n_layers + 1],
            label=f"{best.branch} refit", output=output,
        )
        self._report_stack(growth, f"stack on {X.shape[0]} rows")
        self._store(growth, n_layers)
        return growth.Z, growth.log_det


def _fold_growths(model, X, train, test, seed):
    """Grow every initial candidate's stack on a fold, validated on the rest (None where it failed)."""
    rng = np.random.RandomState(seed)
    return model._grow_candidates(
        lambda i, leader: model._grow(X[train], X[test], rng, i, model.max_layers, stop_early=True, leader=leader),
        list(range(len(model._init_templates()))), stop_early=True, what="fold stack",
    )


def _majority(votes):
    values, counts = np.unique(np.asarray(votes), return_counts=True)
    return int(values[np.argmax(counts)])


@accepts_mixed_data
class DeepDestructorCV(_BaseDeep):
    """Deep destructor whose depth is chosen by K-fold cross-validation.

    For each fold, a stack is grown on the other folds from each initial
    candidate while the held-out fold's mean log-likelihood is recorded after
    every layer (stopping early, stopping a stack too far behind another
    in the same fold, and choosing layer templates, as
    :class:`DeepDestructor` does). The initial candidate and depth with the
    best mean over the folds are then refitted on all rows, each layer using
    the template most folds chose for it.

    Parameters
    ----------
    destructor : destructor, list of destructors or None, default=None
        Template of each layer after the first, or a list of templates (see
        :class:`DeepDestructor`).
    init_destructor : destructor, list of destructors or None, default=None
        The initial layer or its candidates (see :class:`DeepDestructor`).
    layer_choice : {"best", "cycle"}, default="best"
        With several layer templates: the best on the held-out fold at each
        layer, or in turn.
    cv : int or cross-validation splitter, default=5
        Number of folds (shuffled with ``random_state``) or a splitter such
        as :class:`~sklearn.model_selection.KFold`.
    tol : float, default=1e-3
        Minimum held-out improvement (nats) that counts as progress in a fold.
    n_iter_no_change : int, default=5
        Layers without progress before a fold stops growing (and the layers
        a stack behind another may need to catch up, and those a template
        may be clearly behind before it rests, see :class:`DeepDestructor`).
    max_layers : int, default=100
        Deepest stack tried.
    max_fit_samples : int or None, default=None
        Fit each layer on a random subsample of at most this many rows (see
        :class:`DeepDestructor`).
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib).
    verbose : int, default=0
        Print one line per layer while growing.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the layers.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.
    [mixed data parameters]

    Attributes
    ----------
    cv_scores_ : ndarray of shape (n_folds, n_tried + 1)
        Held-out mean log-likelihood of each fold after each layer, for the
        chosen initial candidate; a fold that stopped early keeps its last
        value.
    init_scores_ : ndarray of shape (n_init_candidates,)
        Best mean cross-validated log-likelihood of each initial candidate;
        ``-inf`` for one that could not be fitted on a fold, or refitted on
        all rows (the next best is then refitted, with a warning).
    n_layers_ : int
        Chosen number of layers after the initial one.
    layers_ : list of destructors
        The stack refitted on all rows.
    train_scores_ : ndarray of shape (`n_layers_` + 1,)
        Training mean log-likelihood of the refitted stack after each layer.
    [mixed data attributes]
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import DeepDestructorCV, MarginalDestructor, TreeDestructor
    >>> X = np.random.default_rng(0).gamma(2.0, size=(600, 2))
    >>> model = DeepDestructorCV(TreeDestructor(), init_destructor=MarginalDestructor(),
    ...                          cv=3, max_layers=5, random_state=0).fit(X)
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
        layer_choice="best",
        cv=5,
        tol=1e-3,
        n_iter_no_change=5,
        max_layers=100,
        max_fit_samples=None,
        n_jobs=None,
        verbose=0,
        random_state=None,
        output_distribution="uniform",
        discrete_features="auto",
        categorical_features="auto",
    ):
        self.destructor = destructor
        self.init_destructor = init_destructor
        self.layer_choice = layer_choice
        self.cv = cv
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.max_layers = max_layers
        self.max_fit_samples = max_fit_samples
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.output_distribution = output_distribution
        self.discrete_features = discrete_features
        self.categorical_features = categorical_features

    def _parallel_jobs(self):
        # n_jobs runs the folds in parallel; within a fold, stacks grow in turn.
        return False

    def _fit_stack(self, X, output=True):
        rng = resolve_random_state(self.random_state)
        self._layer_templates()
        splitter = self.cv
        if isinstance(splitter, Integral):
            splitter = KFold(n_splits=splitter, shuffle=True, random_state=rng.randint(_SEED_MAX))
        try:
            folds = list(splitter.split(X))
        except ValueError as error:
            raise ValueError(
                f"DeepDestructorCV: cv={self.cv!r} cannot split {X.shape[0]} rows: {error}"
            ) from error
        if min(len(train) for train, _ in folds) < 2:
            raise ValueError(
                f"DeepDestructorCV: every fold of cv={self.cv!r} needs at least 2 training rows "
                f"to fit a layer; got {X.shape[0]} rows. Use fewer folds or more rows."
            )
        per_fold = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_growths)(self, X, train, test, rng.randint(_SEED_MAX)) for train, test in folds
        )
        candidates = {}
        self.init_scores_ = np.full(len(per_fold[0]), -np.inf)
        for i in range(len(per_fold[0])):
            growths = [fold[i] for fold in per_fold]
            if any(growth is None for growth in growths):
                continue
            length = max(len(g.validation_scores) for g in growths)
            curves = np.array([np.pad(g.validation_scores, (0, length - len(g.validation_scores)), mode="edge")
                               for g in growths])
            depth = int(np.argmax(curves.mean(axis=0)))
            self.init_scores_[i] = curves.mean(axis=0)[depth]
            candidates[i] = (depth, curves, growths)
        # Refit the best candidate on all rows; one that fitted every fold may
        # still fail there (a mixture component collapsing on the full data):
        # the next best is refitted instead, with a warning.
        order = sorted(candidates, key=lambda i: -self.init_scores_[i])
        for init_index in order:
            depth, curves, growths = candidates[init_index]
            replay = [_majority([g.choices[k] for g in growths if len(g.choices) > k]) for k in range(depth)]
            try:
                growth = self._grow(X, None, rng, init_index, depth, stop_early=False, replay=replay,
                                    output=output)
            except ValueError as error:
                if init_index == order[-1]:
                    raise
                warnings.warn(
                    f"DeepDestructorCV: the initial candidate {type(self._init_templates()[init_index]).__name__} "
                    f"could not be refitted on all rows and is skipped: {error}",
                    UserWarning,
                    stacklevel=4,
                )
                self.init_scores_[init_index] = -np.inf
                continue
            self.cv_scores_ = curves
            self._store(growth, depth)
            return growth.Z, growth.log_det


# ------------------------------------------------------------------ presets
def deep_rbig(rotation="random", density=None, **params):
    """RBIG-style deep destructor: marginal layers alternated with rotations.

    The first layer is a :class:`MarginalDestructor`; each further layer
    rotates the Gaussian view, then Gaussianizes each feature again. Unlike
    :class:`RBIGDestructor`, which stops on total correlation, the depth is
    chosen on held-out likelihood.

    Parameters
    ----------
    rotation : {"random", "pca", "ica", "sliced"}, default="random"
        Rotation of each layer (see :class:`RotationDestructor`).
    density : univariate density or None, default=None
        Density of the marginal layers (``None``: histograms, with normal
        tails in the layers after the first, whose input is Gaussianized).
    **params
        Further parameters of :class:`DeepDestructor`.

    Returns
    -------
    model : DeepDestructor
        The unfitted preset.

    Examples
    --------
    >>> from destructors import deep_rbig
    >>> deep_rbig("pca", max_layers=20).destructor
    CompositeDestructor(steps=[('rotation', RotationDestructor()),
                               ('marginal',
                                MarginalDestructor(density=HistogramDensity(shrinkage='auto',
                                                                            tails='normal')))])
    """
    return DeepDestructor(_rbig_step(rotation, density), init_destructor=MarginalDestructor(density), **params)


def deep_copula(density=None, **params):
    """Deep Gaussian-copula destructor: marginal layers alternated with whitening.

    Each layer is a Gaussian copula (marginal Gaussianization, then a
    Gaussian with the correlation matrix left, which removes the linear
    dependence), so one layer is the classic Gaussian copula and further
    layers take the non-linear dependence out step by step. The Gaussian
    fits only the correlation (``GaussianDestructor(covariance="correlation")``):
    the marginal layer owns the scale, and fitted variances would stretch
    rows beyond the data a little at every layer.

    Parameters
    ----------
    density : univariate density or None, default=None
        Density of the marginal layers (``None``: histograms, with normal
        tails in the layers after the first, whose input is Gaussianized).
    **params
        Further parameters of :class:`DeepDestructor`.

    Returns
    -------
    model : DeepDestructor
        The unfitted preset.

    Examples
    --------
    >>> from destructors import deep_copula
    >>> deep_copula(n_layers=3).n_layers
    3
    """
    layer = CompositeDestructor(
        [("marginal", gaussian_view_marginal(density)), ("gaussian", GaussianDestructor(covariance="correlation"))]
    )
    return DeepDestructor(layer, init_destructor=MarginalDestructor(density), **params)


def deep_trees(splitter="best", max_leaf_nodes=None, **params):
    """Deep tree destructor: marginal layer, then density-tree layers.

    Trees capture sharp, axis-aligned structure (hard edges, discrete-like
    data) that smooth layers blur. ``splitter="random"`` gives the cheap
    random trees of deep stacks; give them ``max_leaf_nodes``.

    Parameters
    ----------
    splitter : {"best", "random"}, default="best"
        How each tree is grown (see :class:`TreeDensity`).
    max_leaf_nodes : int or None, default=None
        Largest number of leaves of each tree.
    **params
        Further parameters of :class:`DeepDestructor`.

    Returns
    -------
    model : DeepDestructor
        The unfitted preset.

    Examples
    --------
    >>> from destructors import deep_trees
    >>> deep_trees("random", max_leaf_nodes=32).destructor.tree_density.splitter
    'random'
    """
    tree = TreeDestructor(TreeDensity(splitter, max_leaf_nodes=max_leaf_nodes))
    return DeepDestructor(tree, init_destructor=MarginalDestructor(), **params)
