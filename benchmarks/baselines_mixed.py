"""The tools users would pick instead on mixed tables, scored on the mixed measure.

A row of a table with discrete, categorical and continuous columns is scored
as ``log P(its discrete and categorical values) + log p(its continuous values
| those)``: counting measure on the discrete and categorical columns, Lebesgue
measure on the continuous ones, in nats. That is what the library's mixed
estimators return (see :mod:`destructors.mixed`); the baselines here are
built to return the same quantity, so that their numbers compare.

Both take the column kinds as declared lists of names (the loaders in
:func:`destructors.datasets.load_mixed_benchmark` give them), and read a
discrete column on the grid its training values span, as the library does:
origin the smallest value, spacing the greatest common divisor of the gaps,
so a value ``x`` has the integer code ``(x - origin) / spacing``.
"""

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, logsumexp, ndtri_exp
from scipy.stats import qmc
from sklearn.base import BaseEstimator
from sklearn.mixture import GaussianMixture


class _Coding:
    """How the columns of a training frame are read: kinds, grids of discrete columns, labels.

    ``codes(X, j)`` gives the integer codes of a discrete column, and refuses
    values off the training grid (the library's estimators refuse them too).
    """

    def __init__(self, X, discrete, categorical):
        unknown = (set(discrete) | set(categorical)) - set(X.columns)
        if unknown:
            raise ValueError(f"no such columns: {sorted(unknown)}")
        self.columns = list(X.columns)
        self.kinds = ["discrete" if c in discrete else "categorical" if c in categorical else "continuous"
                      for c in self.columns]
        self.grids, self.labels = {}, {}
        for name, kind in zip(self.columns, self.kinds):
            if kind == "discrete":
                seen = np.unique(X[name].to_numpy(dtype=np.float64))
                gaps = np.diff(seen).astype(np.int64)
                self.grids[name] = (seen[0], float(max(int(np.gcd.reduce(gaps)) if gaps.size else 1, 1)))
            elif kind == "categorical":
                self.labels[name] = np.unique(np.asarray(X[name], dtype=object))

    def codes(self, X, name):
        origin, spacing = self.grids[name]
        t = (X[name].to_numpy(dtype=np.float64) - origin) / spacing
        if np.any(t != np.round(t)):
            raise ValueError(f"column {name!r} has values off the training grid {origin:g} + {spacing:g} k")
        return t.astype(np.int64)

    def label_codes(self, X, name):
        labels = self.labels[name]
        values = np.asarray(X[name], dtype=object)
        codes = np.clip(np.searchsorted(labels, values), 0, labels.size - 1)
        if np.any(labels[codes] != values):
            raise ValueError(f"column {name!r} has labels not seen in fit")
        return codes


# ----------------------------------------------------------------- the vine
class MixedVine(BaseEstimator):
    """pyvinecopulib's ``VineDensity`` with its defaults, given each column's kind.

    ``VineDensity`` reads the kind of a DataFrame column from its dtype: a
    numeric column is continuous, an ordered categorical of numbers discrete
    (a ``Kde1d`` margin with ``var_type="d"``, whose ``pdf`` is a probability
    mass), an unordered categorical is expanded to ``{0, 1}`` dummies
    (dropping the first label), each a discrete margin. Its ``score_samples``
    is then the log of the probability mass of the discrete values times the
    density of the continuous ones (the copula density of discrete margins is
    the rectangle probability over ``[F(x-), F(x)]``): the mixed measure, in
    the columns' own units. This wrapper only declares the kinds: a discrete
    column is given as the ordered categorical of its integer codes on the
    training grid, a categorical column as an unordered categorical of the
    training labels. A label's probability is that of its dummy pattern; the
    vine also gives mass to patterns no label has (two dummies at 1), which
    is its own loss.

    ``supports`` maps a discrete column to the ``(min, max)`` of its values
    that the vine is told (the range of the codes it declares; a ``Kde1d``
    with a bounded support puts no mass beyond it). The benchmark passes the
    range of the whole table, training and test rows: knowledge the library's
    models do not get (they give every integer some mass), so the vine is
    favoured by it. Without it the training range is used, and a held-out
    value beyond it is an error.

    With ``multipliers``, the one setting tuned: each discrete and
    continuous column's ``Kde1d`` bandwidth multiplier (default 1), chosen
    among the candidates by the held-out log-likelihood of that margin alone
    on the last 20% of the training rows (margins are fitted one column at a
    time, so this costs little); the vine is then fitted on all training
    rows. Smaller multipliers let a discrete margin keep the height of a
    value seen very often, which the default bandwidth smooths into its
    neighbours. Dummies keep the default.

    Parameters
    ----------
    discrete, categorical : list of str
        Names of the discrete and categorical columns; the others are
        continuous.
    supports : dict or None, default=None
        ``{name: (min, max)}`` for discrete columns, in their own values.
    multipliers : tuple of float or None, default=None
        Candidate bandwidth multipliers of the margins; None: the default.
    random_state : int, default=0
        Seed of the vine.
    """

    def __init__(self, discrete=(), categorical=(), supports=None, multipliers=None, random_state=0):
        self.discrete = discrete
        self.categorical = categorical
        self.supports = supports
        self.multipliers = multipliers
        self.random_state = random_state

    def fit(self, X, y=None):
        from pyvinecopulib.core import FitControlsKde1d
        from pyvinecopulib.sklearn import VineDensity

        self.coding_ = _Coding(X, self.discrete, self.categorical)
        self.code_ranges_ = {}
        for name in self.coding_.grids:
            origin, spacing = self.coding_.grids[name]
            low, high = (self.supports or {}).get(name, (X[name].min(), X[name].max()))
            self.code_ranges_[name] = (int(np.floor((low - origin) / spacing)),
                                       int(np.ceil((high - origin) / spacing)))
        frame = self._frame(X)
        self.multipliers_ = {} if self.multipliers is None else self._tuned_multipliers(frame)
        controls = {name: FitControlsKde1d(multiplier=m) for name, m in self.multipliers_.items()}
        self.vine_ = VineDensity(margin_controls=controls or None, random_state=self.random_state).fit(frame)
        return self

    def _tuned_multipliers(self, frame):
        """The best candidate multiplier of each non-categorical margin on the validation rows."""
        from pyvinecopulib.core import FitControlsKde1d
        from pyvinecopulib.sklearn import VineDensity

        n_val = max(1, len(frame) // 5)
        chosen = {}
        for name, kind in zip(self.coding_.columns, self.coding_.kinds):
            if kind == "categorical":
                continue
            column = frame[[name]]
            scores = []
            for multiplier in self.multipliers:
                margin = VineDensity(margin_controls=FitControlsKde1d(multiplier=multiplier))
                with np.errstate(divide="ignore"):
                    scores.append(margin.fit(column.iloc[:-n_val]).score(column.iloc[-n_val:]))
            chosen[name] = float(self.multipliers[int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))])
        return chosen

    def _frame(self, X):
        columns = {}
        for name, kind in zip(self.coding_.columns, self.coding_.kinds):
            if kind == "discrete":
                low, high = self.code_ranges_[name]
                columns[name] = pd.Categorical(self.coding_.codes(X, name), categories=np.arange(low, high + 1),
                                               ordered=True)
            elif kind == "categorical":
                labels = self.coding_.labels[name]
                columns[name] = pd.Categorical(labels[self.coding_.label_codes(X, name)], categories=labels)
            else:
                columns[name] = X[name].to_numpy(dtype=np.float64)
        return pd.DataFrame(columns)

    def score_samples(self, X):
        return self.vine_.score_samples(self._frame(X))

    def describe(self):
        tuned = ""
        if self.multipliers_:
            tuned = ", margin bandwidth multipliers " + ", ".join(f"{n} {m:g}" for n, m in self.multipliers_.items())
        return f"TLL pair copulas, Kde1d margins{tuned}; {self.vine_.n_model_features_} variables"


# ------------------------------------------------- the dequantized mixture
def _truncated_normal_step(lo, hi, w):
    """Log mass of ``[lo, hi]`` under N(0, 1), and the point at relative position ``w`` of it.

    Computed on the side where the mass is a difference of small numbers
    (``log_ndtr`` of both ends, mirrored when the interval lies above 0), so
    that boxes far in a component's tail keep their precision.
    """
    flip = lo > 0
    a, b = np.where(flip, -hi, lo), np.where(flip, -lo, hi)
    w = np.where(flip, 1.0 - w, w)
    log_a, log_b = log_ndtr(a), log_ndtr(b)
    with np.errstate(divide="ignore"):
        log_mass = log_b + np.log1p(-np.exp(log_a - log_b))
        z = ndtri_exp(np.logaddexp(log_a, np.log(w) + log_mass))
    return log_mass, np.where(flip, -z, z)


def log_box_probability(mean, chol, lower, upper, points):
    """``log P(lower <= Y < upper)`` for ``Y ~ N(mean[i], L L^T)``, each row ``i`` its own box.

    The Genz-Keane-Hajivassiliou sequence: coordinate by coordinate, the
    probability of the box's slab given the coordinates before it, and a
    point drawn inside that slab at the quasi-random position ``points[:, j]``;
    the estimate is the mean over the points of the product of the slab
    probabilities (in log space). With scrambled quasi-random points the mean
    is an unbiased estimate of the probability, and its error falls faster
    than with random points (the benchmark measures it).

    Parameters
    ----------
    mean : ndarray of shape (n, m)
    chol : ndarray of shape (m, m)
        Lower Cholesky factor of the covariance.
    lower, upper : ndarray of shape (n, m)
    points : ndarray of shape (N, m)
        Points of ``(0, 1)^m``.
    """
    n, m = mean.shape
    log_terms = np.zeros((n, len(points)))
    z = np.empty((n, len(points), m))
    for j in range(m):
        shift = mean[:, j, None] + z[:, :, :j] @ chol[j, :j]
        log_mass, z[:, :, j] = _truncated_normal_step(
            (lower[:, j, None] - shift) / chol[j, j], (upper[:, j, None] - shift) / chol[j, j], points[:, j]
        )
        log_terms += log_mass
    return logsumexp(log_terms, axis=1) - np.log(len(points))


def _stack(columns, n_rows):
    return np.column_stack(columns) if columns else np.empty((n_rows, 0))


class DequantizedGaussianMixture(BaseEstimator):
    """scikit-learn's ``GaussianMixture`` on dequantized, one-hot-encoded rows, integrated over each row's cell.

    Construction:

    1. Encoding. A discrete column becomes its integer code ``t`` on the
       training grid; a categorical column with ``L`` labels becomes ``L``
       dummies; continuous columns stay as they are.
    2. Dequantization. Uniform noise on ``[0, 1)`` is added to every code
       and every dummy (seeded): the cell of a code ``t`` is ``[t, t + 1)``
       (the value's cell ``[x, x + spacing)``), the cell of a label is the box
       where its dummy lies in ``[1, 2)`` and the others in ``[0, 1)``. The
       columns are then standardized on the training rows.
    3. Fit. ``GaussianMixture`` with full covariances and ``reg_covar=1e-6``,
       its number of components chosen among 1, 2, 4, ..., 128 (at most one
       per 20 rows), as the runner's tuned baseline does, by the held-out
       score below on the last 20% of the training rows with
       ``n_select_points`` points, then refitted on all training rows.
    4. Score: the mixture integrated over the row's cell, times its density
       at the continuous values. For each component, the continuous
       coordinates have a Gaussian density and the cell coordinates given
       them a Gaussian whose box probability is computed by
       :func:`log_box_probability` with ``n_points`` scrambled Sobol points
       (the same for every row); the components' terms are summed with their
       weights. Every term is first estimated on the first 64 points; only
       the terms within 25 nats of the row's largest are then computed on
       all the points (the others weigh less than ``e^-25`` of the total).
       Standardizing changes the density of the continuous columns by the
       product of their scales, which is divided out; box probabilities do
       not change. Identical rows are scored once.

    Parameters
    ----------
    discrete, categorical : list of str
        Names of the discrete and categorical columns; the others are
        continuous.
    n_points, n_select_points : int, default=4096, 256
        Quasi-random points per box probability, when scoring and when
        choosing the number of components.
    random_state : int, default=0
        Seed of the noise, the mixtures and the points.
    """

    def __init__(self, discrete=(), categorical=(), n_points=4096, n_select_points=256, random_state=0):
        self.discrete = discrete
        self.categorical = categorical
        self.n_points = n_points
        self.n_select_points = n_select_points
        self.random_state = random_state

    # Rows of the (rows, points, box coordinates) work array per chunk.
    _CHUNK_ELEMENTS = 2**23

    def _encode(self, X):
        """Continuous columns, and the lower corners of the cells: ``(C, T)``."""
        coding = self.coding_
        continuous, corners = [], []
        for name, kind in zip(coding.columns, coding.kinds):
            if kind == "continuous":
                continuous.append(X[name].to_numpy(dtype=np.float64))
            elif kind == "discrete":
                corners.append(coding.codes(X, name).astype(np.float64))
            else:
                codes = coding.label_codes(X, name)
                corners += [(codes == k).astype(np.float64) for k in range(coding.labels[name].size)]
        return _stack(continuous, len(X)), _stack(corners, len(X))

    def fit(self, X, y=None):
        rng = np.random.RandomState(self.random_state)
        self.coding_ = _Coding(X, self.discrete, self.categorical)
        C, T = self._encode(X)
        Y = np.hstack([C, T + rng.uniform(size=T.shape)])
        self.n_continuous_ = C.shape[1]
        self.mean_, self.scale_ = Y.mean(axis=0), Y.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0  # a constant continuous column
        Y = (Y - self.mean_) / self.scale_
        n_val = max(1, len(Y) // 5)
        sizes = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= max(1, len(Y) // 20)]
        select_points = self._points(self.n_select_points)
        scores = []
        for k in sizes:
            mixture = self._mixture(k).fit(Y[:-n_val])
            scores.append(np.mean(self._score_encoded(mixture, C[-n_val:], T[-n_val:], select_points)))
        self.validation_scores_ = np.array(scores)
        self.n_components_ = sizes[int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))]
        self.mixture_ = self._mixture(self.n_components_).fit(Y)
        return self

    def _mixture(self, k):
        return GaussianMixture(k, covariance_type="full", reg_covar=1e-6, random_state=self.random_state)

    def _points(self, n_points, seed=None):
        m = self.scale_.size - self.n_continuous_
        sobol = qmc.Sobol(max(m, 1), scramble=True, seed=self.random_state if seed is None else seed)
        return np.clip(sobol.random(n_points), 1e-12, 1.0 - 1e-12)[:, :m]

    def score_samples(self, X, n_points=None, seed=None):
        """Log of each row's cell probability times the density of its continuous values (nats).

        ``n_points`` and ``seed`` override the number of quasi-random points
        and their scramble (to measure the integral's error).
        """
        C, T = self._encode(X)
        points = self._points(self.n_points if n_points is None else n_points, seed)
        return self._score_encoded(self.mixture_, C, T, points)

    # Components whose first estimate for a row is this many nats below the
    # row's largest are not refined: e^-25 of the row's probability each.
    _NEGLIGIBLE = 25.0
    _FIRST_POINTS = 64

    def _score_encoded(self, mixture, C, T, points):
        """Scores of encoded rows: every component's term at few points, then the terms that matter at all."""
        rows, inverse = np.unique(np.hstack([C, T]), axis=0, return_inverse=True)
        c = self.n_continuous_
        Zc = (rows[:, :c] - self.mean_[:c]) / self.scale_[:c]
        lower = (rows[:, c:] - self.mean_[c:]) / self.scale_[c:]
        upper = lower + 1.0 / self.scale_[c:]
        first = points[: self._FIRST_POINTS]
        terms = np.column_stack([
            np.log(mixture.weights_[k]) + self._component_log_mass(
                mixture.means_[k], mixture.covariances_[k], Zc, lower, upper, first)
            for k in range(mixture.n_components)
        ])
        if len(points) > len(first) and lower.shape[1]:
            matter = terms > terms.max(axis=1, keepdims=True) - self._NEGLIGIBLE
            for k in range(mixture.n_components):
                rows_k = np.flatnonzero(matter[:, k])
                terms[rows_k, k] = np.log(mixture.weights_[k]) + self._component_log_mass(
                    mixture.means_[k], mixture.covariances_[k], Zc[rows_k], lower[rows_k], upper[rows_k], points)
        log_jacobian = np.log(self.scale_[:c]).sum()
        return (logsumexp(terms, axis=1) - log_jacobian)[inverse.ravel()]

    def _component_log_mass(self, mean, covariance, Zc, lower, upper, points):
        """One component's log density at the continuous values plus its log probability of the cell."""
        c = self.n_continuous_
        out = np.zeros(len(Zc))
        mean_box = np.broadcast_to(mean[c:], lower.shape)
        box_cov = covariance[c:, c:]
        if c:
            chol_c = np.linalg.cholesky(covariance[:c, :c])
            white = np.linalg.solve(chol_c, (Zc - mean[:c]).T).T
            out += -0.5 * (white**2).sum(axis=1) - np.log(np.diag(chol_c)).sum() - 0.5 * c * np.log(2 * np.pi)
            # The cell coordinates given the continuous ones: a Gaussian regression.
            gain = np.linalg.solve(covariance[:c, :c], covariance[:c, c:]).T
            mean_box = mean[c:] + (Zc - mean[:c]) @ gain.T
            box_cov = box_cov - gain @ covariance[:c, c:]
        if lower.shape[1] == 0 or len(Zc) == 0:
            return out
        chol = np.linalg.cholesky(box_cov)
        chunk = max(1, self._CHUNK_ELEMENTS // (len(points) * lower.shape[1]))
        for start in range(0, len(Zc), chunk):
            part = slice(start, start + chunk)
            out[part] += log_box_probability(mean_box[part], chol, lower[part], upper[part], points)
        return out

    def describe(self):
        return f"GaussianMixture({self.n_components_}, full), dequantized, {self.n_points} QMC points a cell"
