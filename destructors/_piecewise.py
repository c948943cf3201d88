"""A monotone piecewise CDF on knots, with half-Cauchy or normal tails on both sides.

Between knots ``x_0 < ... < x_K`` the CDF rises by the bin mass ``m_k`` along
a rational-quadratic curve (Gregory & Delbourgo 1982; the bins of Neural
Spline Flows, Durkan et al. 2019). In normalized bin coordinates
``xi = (x - x_k) / w_k`` the rise is::

    h(xi) = xi (xi + a (1 - xi)) / (1 + (a + b - 2) xi (1 - xi))

with ``a``, ``b`` the slopes at the two ends relative to the bin's mean
slope; ``a = b = 1`` gives a straight line (a histogram). ``h`` and ``1 - h``
both have closed forms without cancellation, and the inverse is the stable
root of a quadratic, so CDF, survival function and quantiles are exact to
rounding in both directions.

Below ``x_0`` and above ``x_K`` lie tails of masses ``p_left`` and
``p_right``, shaped as half-Cauchy densities whose scale makes the density
continuous at the outer knots. Heavy tails keep the log density of far-away
points moderate (it decays like ``-2 log |x|``), so one outlier cannot
dominate a held-out likelihood, and every real number has positive density.

For data already on the standard normal scale (the Gaussian view inside a
stack of destructors) ``tails="normal"`` instead continues each tail as the
standard normal's own tail beyond the edge's quantile: in the Gaussian view
the map is the shift ``z = z_edge + t`` at distance ``t`` beyond the outer
knot, with slope one, for ``_SHIFT_SPAN`` units, and grows only
logarithmically beyond (``_tail_offset``). A half-Cauchy tail is heavier than
the Gaussian it follows, so its map contracts the tail (``dz/dx`` falls like
``1 / (t sqrt(log t))``) from the edge on, and in a deep stack of such layers
the contractions multiply until the inverse loses all precision; the shift
never contracts. The logarithm beyond it keeps a stack whose other layers
expand rows beyond their data (whitening with fitted variances does,
slightly) from pushing a row to astronomically low densities: with a pure
shift, 200 such copula layers gave a held-out row a log density of -2e15.

All functions are vectorized over points; this module knows nothing about
estimators.
"""

import functools

import numpy as np
from scipy.special import log_ndtr, ndtri, ndtri_exp

from ._normal import norm_logpdf
from ._normal import z_from_log_cdf_sf as _z_from_log_cdf_sf

_LOG_2_OVER_PI = np.log(2.0 / np.pi)
# Beyond this ratio r, log(1 + r^2) = 2 log r and arctan(1 / r) = 1 / r to rounding.
_HUGE_RATIO = 1e150
# Largest tail distance: a quarter of the float range, so knot +- distance stays finite.
_FAR = np.finfo(np.float64).max / 4
# Normal tails: Gaussian-view units beyond the edge over which the tail map
# is a pure shift; beyond them it grows logarithmically.
_SHIFT_SPAN = 4.0
# Bins a value may move from its guessed bin before BinLocator searches instead.
_MAX_CORRECTIONS = 2
# Rows per column from which per-column values are applied column by column.
_LONG_COLUMN = 500


def _tail_offset(t):
    """Gaussian-view offset beyond the edge at distance ``t >= 0``, and its log slope.

    ``h(t) = t`` up to ``_SHIFT_SPAN``, then ``S + S log(1 + (t - S) / S)``:
    continuous with slope one at ``S``, and finite (below 3,000) for every
    finite ``t``.
    """
    beyond = np.maximum(t - _SHIFT_SPAN, 0.0) / _SHIFT_SPAN
    log1p_beyond = np.log1p(beyond)
    return np.minimum(t, _SHIFT_SPAN) + _SHIFT_SPAN * log1p_beyond, -log1p_beyond


def _tail_distance_of_offset(h):
    """Inverse of :func:`_tail_offset`: the distance ``t`` at offset ``h >= 0`` (at most ``_FAR``)."""
    beyond = np.maximum(h - _SHIFT_SPAN, 0.0) / _SHIFT_SPAN
    with np.errstate(over="ignore"):
        t = np.minimum(h, _SHIFT_SPAN) + _SHIFT_SPAN * np.expm1(beyond)
    return np.minimum(t, _FAR)


def _rq_rise(xi, a, b):
    """``h(xi)``, ``1 - h(xi)`` and ``h'(xi)`` of rational-quadratic pieces."""
    one_minus = 1.0 - xi
    cross = xi * one_minus
    denom = 1.0 + (a + b - 2.0) * cross
    rise = xi * (xi + a * one_minus) / denom
    rest = one_minus * (one_minus + b * xi) / denom
    slope = (b * xi * xi + 2.0 * cross + a * one_minus * one_minus) / (denom * denom)
    return rise, rest, slope


def _straight_rise(xi):
    """:func:`_rq_rise` of straight pieces (``a = b = 1``), the same numbers in fewer passes.

    With ``a = b = 1`` the products by ``a`` and ``b`` are exact, ``a + b -
    2`` is zero and ``denom`` exactly one, so those steps change nothing.
    """
    one_minus = 1.0 - xi
    total = xi + one_minus
    rise = xi * total
    rest = one_minus * total
    slope = xi * xi + 2.0 * (xi * one_minus) + one_minus * one_minus
    return rise, rest, slope


def _rq_inverse(y, a, b):
    """Solve ``h(xi) = y`` for ``xi`` in [0, 1] with the cancellation-free root."""
    c = a + b - 2.0
    qa = 1.0 - a + y * c
    qb = a - y * c
    disc = np.maximum(qb * qb + 4.0 * qa * y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = 2.0 * y / (qb + np.sqrt(disc))
    return np.clip(np.nan_to_num(xi, nan=0.0), 0.0, 1.0)


def _log1p_square(r, log_r):
    """``log(1 + r**2)`` without overflow for huge ``r``, given ``r`` and ``log r``.

    ``log r`` comes separately so that a ratio that overflowed to ``inf``
    still gives a finite value.
    """
    big = ~(r <= _HUGE_RATIO)
    out = np.empty_like(r)
    out[~big] = np.log1p(r[~big] * r[~big])
    out[big] = 2.0 * log_r[big]
    return out


class PiecewiseCDF:
    """CDF of a density with rational-quadratic bins and half-Cauchy or normal tails.

    Parameters
    ----------
    knots : ndarray of shape (K + 1,)
        Strictly increasing knot positions.
    masses : ndarray of shape (K,)
        Positive probability mass of each bin.
    tail_masses : tuple of two floats
        Positive masses below the first and above the last knot. Bin and
        tail masses are renormalized to sum to one.
    knot_densities : ndarray of shape (K + 1,) or None
        Positive density at each knot, giving smooth rational-quadratic bins;
        ``None`` gives straight bins (a piecewise-constant density).
    tails : {"cauchy", "normal"}, default="cauchy"
        Shape of the tails: half-Cauchy, continuous with the outer bins, or
        the standard normal's tails beyond the quantiles of the tail masses
        (see the module docstring).
    """

    # Models pickled before normal tails existed have half-Cauchy tails.
    tails = "cauchy"

    def __init__(self, knots, masses, tail_masses, knot_densities=None, tails="cauchy"):
        knots = np.asarray(knots, dtype=np.float64)
        masses = np.asarray(masses, dtype=np.float64)
        if knots.ndim != 1 or knots.size < 2 or masses.shape != (knots.size - 1,):
            raise ValueError("need K + 1 >= 2 knots and K bin masses")
        if not np.all(np.diff(knots) > 0):
            raise ValueError("knots must be strictly increasing")
        total = masses.sum() + sum(tail_masses)
        self.knots = knots
        self.widths = np.diff(knots)
        self.masses = masses / total
        self.p_left = tail_masses[0] / total
        self.p_right = tail_masses[1] / total
        # Mass below each knot, and above each knot, summed from its own end.
        self.cdf_knots = self.p_left + np.concatenate(([0.0], np.cumsum(self.masses)))
        self.sf_knots = self.p_right + np.concatenate(
            (np.cumsum(self.masses[::-1])[::-1], [0.0])
        )
        mean_slope = self.masses / self.widths
        if knot_densities is None:
            self.a = np.ones_like(self.masses)
            self.b = np.ones_like(self.masses)
            edge_left, edge_right = mean_slope[0], mean_slope[-1]
        else:
            d = np.asarray(knot_densities, dtype=np.float64) / total
            self.a = d[:-1] / mean_slope
            self.b = d[1:] / mean_slope
            edge_left, edge_right = d[0], d[-1]
        # Half-Cauchy density at its origin is 2 / (pi s): match the bin density.
        self.scale_left = 2.0 * self.p_left / (np.pi * edge_left)
        self.scale_right = 2.0 * self.p_right / (np.pi * edge_right)
        self.tails = tails
        # Normal tails: Gaussian-view values of the outer knots (-z_left, z_right).
        self.z_left = -ndtri(self.p_left)
        self.z_right = -ndtri(self.p_right)

    # ----------------------------------------------------------- normal tails
    def tail_to_normal(self, x):
        """Gaussian view beyond the outer knots with normal tails: ``(mask, z, log dz/dx)``."""
        left = x < self.knots[0]
        right = x > self.knots[-1]
        offset_left, log_slope_left = _tail_offset(self.knots[0] - x[left])
        offset_right, log_slope_right = _tail_offset(x[right] - self.knots[-1])
        z = np.empty_like(x)
        log_slope = np.empty_like(x)
        z[left] = -(self.z_left + offset_left)
        z[right] = self.z_right + offset_right
        log_slope[left] = log_slope_left
        log_slope[right] = log_slope_right
        mask = left | right
        return mask, z[mask], log_slope[mask]

    def tail_from_normal(self, z):
        """Inverse of :meth:`tail_to_normal`: ``(mask, x)`` for ``z`` beyond the outer knots' values."""
        left = z < -self.z_left
        right = z > self.z_right
        x = np.empty_like(z)
        x[left] = self.knots[0] - _tail_distance_of_offset(-z[left] - self.z_left)
        x[right] = self.knots[-1] + _tail_distance_of_offset(z[right] - self.z_right)
        mask = left | right
        return mask, x[mask]

    # ---------------------------------------------------------------- forward
    def evaluate(self, x):
        """Return ``(log_pdf, log_cdf, log_sf)`` at points ``x``."""
        x = np.asarray(x, dtype=np.float64)
        log_pdf = np.empty_like(x)
        log_cdf = np.empty_like(x)
        log_sf = np.empty_like(x)
        left = x < self.knots[0]
        right = x > self.knots[-1]
        bulk = ~(left | right)

        with np.errstate(divide="ignore"):
            k = np.clip(np.searchsorted(self.knots, x[bulk], side="right") - 1, 0, self.widths.size - 1)
            xi = np.clip((x[bulk] - self.knots[k]) / self.widths[k], 0.0, 1.0)
            rise, rest, slope = _rq_rise(xi, self.a[k], self.b[k])
            log_pdf[bulk] = np.log(self.masses[k] * slope / self.widths[k])
            log_cdf[bulk] = np.log(self.cdf_knots[k] + self.masses[k] * rise)
            log_sf[bulk] = np.log(self.sf_knots[k + 1] + self.masses[k] * rest)

        if self.tails == "normal":
            tail, z, log_slope = self.tail_to_normal(x)
            log_pdf[tail] = norm_logpdf(z) + log_slope
            log_cdf[tail] = log_ndtr(z)
            log_sf[tail] = log_ndtr(-z)
            return log_pdf, log_cdf, log_sf
        for mask, dist, mass, scale, near, far in (
            (left, self.knots[0] - x[left], self.p_left, self.scale_left, log_cdf, log_sf),
            (right, x[right] - self.knots[-1], self.p_right, self.scale_right, log_sf, log_cdf),
        ):
            # A far row over a narrow tail (a constant column's) overflows
            # the ratio: beyond _HUGE_RATIO both terms come from its log.
            with np.errstate(over="ignore"):
                ratio = dist / scale
            log_ratio = np.log(dist) - np.log(scale)
            log_pdf[mask] = np.log(mass) + _LOG_2_OVER_PI - np.log(scale) - _log1p_square(ratio, log_ratio)
            with np.errstate(divide="ignore"):
                log_arctan = np.where(ratio <= _HUGE_RATIO, np.log(np.arctan2(1.0, ratio)), -log_ratio)
            near_log = np.log(mass) + _LOG_2_OVER_PI + log_arctan
            near[mask] = near_log
            far[mask] = np.log1p(-np.exp(near_log))
        return log_pdf, log_cdf, log_sf

    # ---------------------------------------------------------------- inverse
    def ppf_log(self, log_q):
        """Quantile at lower-tail probabilities given as ``log q``."""
        return self._quantile(np.asarray(log_q, dtype=np.float64), from_left=True)

    def isf_log(self, log_s):
        """Quantile at upper-tail probabilities given as ``log s``."""
        return self._quantile(np.asarray(log_s, dtype=np.float64), from_left=False)

    def _quantile(self, log_p, from_left):
        """Quantile at a tail probability ``p`` measured from the left or the right.

        ``p`` beyond the bulk on the far side is turned into the near-side
        probability of the opposite tail; there ``1 - p`` is at most that
        tail's mass, so nothing is lost to cancellation that was not already
        lost in ``p``.
        """
        near, far = (self.p_left, self.p_right) if from_left else (self.p_right, self.p_left)
        x = np.empty_like(log_p)
        near_tail = log_p < np.log(near)
        p = np.exp(log_p)
        far_tail = ~near_tail & (p > 1.0 - far)
        bulk = ~(near_tail | far_tail)
        left, right = (near_tail, far_tail) if from_left else (far_tail, near_tail)
        log_left = np.where(from_left, log_p, np.log1p(-p))[left]
        log_right = np.where(from_left, np.log1p(-p), log_p)[right]
        if self.tails == "normal":
            x[left] = self.knots[0] - self._normal_tail_distance(log_left, self.z_left)
            x[right] = self.knots[-1] + self._normal_tail_distance(log_right, self.z_right)
        else:
            x[left] = self.knots[0] - self._tail_distance(log_left, self.p_left, self.scale_left)
            x[right] = self.knots[-1] + self._tail_distance(log_right, self.p_right, self.scale_right)
        x[bulk] = self._bulk_from_left(p[bulk]) if from_left else self._bulk_from_right(p[bulk])
        return x

    @staticmethod
    def _tail_distance(log_p, mass, scale):
        # Inverse of p = mass * (2 / pi) * arctan(scale / t); a tail
        # probability too small for the float range maps to the largest
        # finite distance rather than to infinity.
        fraction = np.minimum(np.exp(log_p - np.log(mass)), 1.0)
        with np.errstate(divide="ignore", over="ignore"):
            distance = scale / np.tan(0.5 * np.pi * fraction)
        return np.minimum(distance, _FAR)

    @staticmethod
    def _normal_tail_distance(log_p, edge_z):
        # Inverse of p = Phi(-(edge_z + h(t))).
        return _tail_distance_of_offset(np.maximum(-ndtri_exp(log_p) - edge_z, 0.0))

    def _bulk_from_left(self, q):
        k = np.clip(np.searchsorted(self.cdf_knots, q, side="right") - 1, 0, self.widths.size - 1)
        y = np.clip((q - self.cdf_knots[k]) / self.masses[k], 0.0, 1.0)
        return self.knots[k] + self.widths[k] * _rq_inverse(y, self.a[k], self.b[k])

    def _bulk_from_right(self, s):
        # sf_knots decreases; search the reversed copy, then solve the mirrored bin.
        n_bins = self.widths.size
        j = np.searchsorted(self.sf_knots[::-1], s, side="right") - 1
        k = np.clip(n_bins - 1 - j, 0, n_bins - 1)
        y = np.clip((s - self.sf_knots[k + 1]) / self.masses[k], 0.0, 1.0)
        return self.knots[k + 1] - self.widths[k] * _rq_inverse(y, self.b[k], self.a[k])


def equal_width_knots(lo, hi, n_bins):
    """Knots of ``n_bins[j]`` equal bins over ``[lo[j], hi[j]]``, one row per column.

    Row ``j`` starts with ``np.linspace(lo[j], hi[j], n_bins[j] + 1)``, the
    same numbers (``i * step + lo``, the last knot exactly ``hi``), and is
    padded with ``hi[j]`` to the longest row.
    """
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    n_bins = np.asarray(n_bins, dtype=np.intp)
    step = np.subtract(hi, lo) / n_bins
    knots = np.arange(int(n_bins.max()) + 1, dtype=np.float64) * step[:, None]
    knots += lo[:, None]
    beyond = np.arange(knots.shape[1]) >= n_bins[:, None]
    knots[beyond] = np.broadcast_to(hi[:, None], knots.shape)[beyond]
    for j in np.flatnonzero(step == 0):
        # Denormal steps: linspace divides before multiplying (numpy gh-5437).
        knots[j, : n_bins[j] + 1] = np.linspace(lo[j], hi[j], n_bins[j] + 1)
    return knots


class BinLocator:
    """The bin of every value of every column, as a search of its column's knots finds it.

    Calling the locator on ``X`` gives, for column ``j``, the index
    ``clip(searchsorted(knots[j, :n_bins[j] + 1], X[:, j], side="right") - 1,
    0, n_bins[j] - 1)`` plus ``j * knots.shape[1]``: flat indices into tables
    of the knots' padded shape. Where the knots are close to equally spaced
    (histograms), each index is first guessed from the value's distance to
    the first knot in mean bin widths, then moved a bin at a time by exact
    comparisons with its bin's two knots until none moves: the indices of a
    search, in a few passes over the whole array rather than one call per
    column, which on many small columns costs several times the search.
    Other knots (splines), and values the guess misses by more than a few
    bins, are searched column by column.

    Parameters
    ----------
    knots : ndarray of shape (n_columns, n_knots)
        Knots of each row, increasing over its first ``n_bins[j] + 1``
        entries; the rest is padding.
    n_bins : ndarray of int of shape (n_columns,)
        Number of bins of each row, at least one.
    """

    def __init__(self, knots, n_bins):
        n_bins = np.asarray(n_bins, dtype=np.intp)
        n_columns, n_knots = knots.shape
        rows, positions = np.arange(n_columns), np.arange(n_knots)
        self.knots, self.n_bins = knots, n_bins
        self.offsets = rows * n_knots
        self.first = knots[:, 0].copy()
        step = (knots[rows, n_bins] - self.first) / n_bins
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            self.scale = 1.0 / step
            # Knots within a quarter bin of equal spacing: the guess misses
            # by at most one bin, up to rounding.
            near = np.abs(knots - (self.first[:, None] + positions * step[:, None])) <= 0.25 * step[:, None]
        self.spaced = bool(np.all(near | (positions > n_bins[:, None])))
        self.top = (n_bins - 1).astype(np.float64)
        # Values below the first knot belong to the first bin and values
        # above the last to the last: guards that no value passes (-inf
        # below, NaN above, which even +inf is not at or above) stand in for
        # the clipping.
        lower = knots.copy()
        lower[:, 0] = -np.inf
        upper = np.full_like(knots, np.nan)
        upper[:, :-1] = knots[:, 1:]
        upper[rows, n_bins - 1] = np.nan
        self.lower, self.upper = lower.ravel(), upper.ravel()

    def __call__(self, X):
        """Flat bin indices of the values of ``X``, of shape (n_samples, n_columns)."""
        if not self.spaced:
            return self._search(X)
        k = self._guess(X)
        wrong = np.take(self.lower, k) > X
        wrong |= np.take(self.upper, k) <= X
        if not wrong.any():
            return k
        # Few guesses miss, by rounding: move those alone.
        where = np.nonzero(wrong)
        moved, values = k[where], X[where]
        for _ in range(_MAX_CORRECTIONS + 1):
            up = np.take(self.upper, moved) <= values
            down = np.take(self.lower, moved) > values
            if not (up.any() or down.any()):
                k[where] = moved
                return k
            moved += up
            moved -= down
        return self._search(X)

    def _guess(self, X):
        k = np.empty(X.shape, dtype=np.intp)
        if _few_long_columns(X):
            for j in range(X.shape[1]):
                k[:, j] = self._positions(X[:, j], self.first[j], self.scale[j], self.top[j])
                k[:, j] += self.offsets[j]
        else:
            k[...] = self._positions(X, self.first, self.scale, self.top)
            k += self.offsets
        return k

    @staticmethod
    def _positions(X, first, scale, top):
        # Distances to the first knot in mean bin widths, within [0, top]
        # (truncated, the guessed bins). A NaN (a NaN value, or infinity
        # times a zero width) goes to the last bin, where the search puts NaN.
        with np.errstate(over="ignore", invalid="ignore"):
            positions = X - first
            positions *= scale
        np.fmin(positions, top, out=positions)
        np.fmax(positions, 0.0, out=positions)
        return positions

    def _search(self, X):
        k = np.empty(X.shape, dtype=np.intp)
        for j, n in enumerate(self.n_bins.tolist()):
            k[:, j] = np.searchsorted(self.knots[j, : n + 1], X[:, j], side="right")
        k -= 1
        np.clip(k, 0, self.n_bins - 1, out=k)
        k += self.offsets
        return k


def _few_long_columns(X):
    """Whether to apply a row of per-column values to ``X`` column by column.

    NumPy broadcasts a row over an ``(n, d)`` array one row at a time, so
    its inner loops run over ``d`` elements; for a few long columns (two
    columns of 20,000 rows) that costs several times a loop over the
    columns, whose inner loops run over ``n``.
    """
    return X.shape[0] >= _LONG_COLUMN * X.shape[1]


def ragged_sums(table, lengths):
    """Sum of the first ``lengths[j]`` entries of each row, rounded as ``table[j, :lengths[j]].sum()``.

    NumPy sums pairwise, so the rounding depends on the length summed: rows
    of the same length are summed together (a contiguous 2-D sum along its
    last axis sums each row pairwise), never a padded row or ``reduceat``
    (which sums in order).
    """
    sums = np.empty(table.shape[0])
    for rows, length in _rows_by_length(np.asarray(lengths, dtype=np.intp).tobytes()):
        sums[rows] = np.add.reduce(table[rows, :length], axis=1)
    return sums


@functools.lru_cache(maxsize=16)
def _rows_by_length(lengths):
    """``(rows, length)`` for each distinct length of a table's rows (given as the bytes of an intp array).

    A fit sums several tables of the same lengths: grouping the rows once
    halves the cost of each sum on a few dozen columns.
    """
    lengths = np.frombuffer(lengths, dtype=np.intp)
    groups = tuple((np.flatnonzero(lengths == length), length) for length in np.unique(lengths).tolist())
    for rows, _ in groups:
        rows.flags.writeable = False  # shared by every caller
    return groups


def _split_rows(table, lengths):
    """The first ``lengths[j]`` entries of each row, as views."""
    return [row[:length] for row, length in zip(table, lengths.tolist())]


def histogram_cdfs(knots, n_bins, masses, tail_masses, tails="cauchy"):
    """``PiecewiseCDF`` with straight bins for every row of padded tables, built together.

    Row ``j`` gives what ``PiecewiseCDF(knots[j, :n + 1], masses[j, :n],
    tail_masses[j], tails=tails)`` gives with ``n = n_bins[j]`` (the same
    formulas element by element, and sums rounded as per row): on a layer of
    many small columns the per-column construction costs several times its
    arithmetic.

    Parameters
    ----------
    knots : ndarray of shape (n_columns, n_knots)
        Knots of each row, increasing over its first ``n_bins[j] + 1`` entries.
    n_bins : ndarray of int of shape (n_columns,)
        Number of bins of each row.
    masses : ndarray of shape (n_columns, n_knots - 1)
        Positive bin masses over the first ``n_bins[j]`` entries, zero beyond.
    tail_masses : ndarray of shape (n_columns, 2)
        Masses below the first and above the last knot.
    tails : {"cauchy", "normal"}, default="cauchy"
        Shape of the tails of every CDF.

    Returns
    -------
    cdfs : list of PiecewiseCDF
    """
    return stacked_histogram_cdfs(knots, n_bins, masses, tail_masses, tails).cdfs


def stacked_histogram_cdfs(knots, n_bins, masses, tail_masses, tails="cauchy", locate=None, knot_densities=None):
    """:func:`histogram_cdfs`, with their :class:`StackedPiecewiseCDF` built from the same tables.

    Parameters
    ----------
    knots, n_bins, masses, tail_masses, tails
        As for :func:`histogram_cdfs`.
    locate : BinLocator or None, default=None
        The locator of ``knots`` and ``n_bins``, when the caller has built it.
    knot_densities : ndarray of shape (n_columns, n_knots) or None, default=None
        Positive density at each knot, on the scale of ``masses`` (before
        they are normalized with the tails): rational-quadratic bins with
        these slopes at their ends, as ``PiecewiseCDF(..., knot_densities)``
        gives. ``None``: straight bins.

    Returns
    -------
    stacked : StackedPiecewiseCDF
        Its ``cdfs`` are the CDFs :func:`histogram_cdfs` returns (with
        ``knot_densities``, the smooth ones).
    """
    n_bins = np.asarray(n_bins, dtype=np.intp)
    # The CDFs' knots are views of this copy, never of the caller's table.
    knots = np.array(knots, dtype=np.float64)
    rows = np.arange(n_bins.size)
    in_bins = np.arange(masses.shape[1]) < n_bins[:, None]
    widths = np.diff(knots, axis=1)
    if not np.all(widths[in_bins] > 0):
        raise ValueError("knots must be strictly increasing")
    widths[~in_bins] = 1.0
    total = ragged_sums(masses, n_bins) + (tail_masses[:, 0] + tail_masses[:, 1])
    masses = masses / total[:, None]
    p_left, p_right = tail_masses[:, 0] / total, tail_masses[:, 1] / total
    # Cumulative sums run in order along each row; the zero padding beyond
    # a row's bins leaves the sums from its right end unchanged.
    zeros = np.zeros((rows.size, 1))
    cdf_knots = p_left[:, None] + np.concatenate((zeros, np.cumsum(masses, axis=1)), axis=1)
    sf_knots = p_right[:, None] + np.concatenate((np.cumsum(masses[:, ::-1], axis=1)[:, ::-1], zeros), axis=1)
    mean_slope = masses / widths
    if knot_densities is None:
        a = b = np.ones(widths.shape)
        edge_left, edge_right = mean_slope[:, 0], mean_slope[rows, n_bins - 1]
    else:
        d = knot_densities / total[:, None]
        safe_slope = np.where(in_bins, mean_slope, 1.0)
        a = np.where(in_bins, d[:, :-1] / safe_slope, 1.0)
        b = np.where(in_bins, d[:, 1:] / safe_slope, 1.0)
        edge_left, edge_right = d[:, 0], d[rows, n_bins]
    scale_left = 2.0 * p_left / (np.pi * edge_left)
    scale_right = 2.0 * p_right / (np.pi * edge_right)
    z_left, z_right = -ndtri(p_left), -ndtri(p_right)
    columns = zip(
        _split_rows(knots, n_bins + 1), _split_rows(widths, n_bins), _split_rows(masses, n_bins),
        _split_rows(cdf_knots, n_bins + 1), _split_rows(sf_knots, n_bins + 1),
        _split_rows(a, n_bins), _split_rows(b, n_bins),
    )
    cdfs = []
    for j, (knots_j, widths_j, masses_j, cdf_j, sf_j, a_j, b_j) in enumerate(columns):
        cdf = PiecewiseCDF.__new__(PiecewiseCDF)
        # The attributes of __init__, in its order.
        cdf.__dict__.update(
            knots=knots_j, widths=widths_j, masses=masses_j, p_left=p_left[j], p_right=p_right[j],
            cdf_knots=cdf_j, sf_knots=sf_j, a=a_j, b=b_j, scale_left=scale_left[j],
            scale_right=scale_right[j], tails=tails, z_left=z_left[j], z_right=z_right[j],
        )
        cdfs.append(cdf)
    return StackedPiecewiseCDF.of_tables(
        cdfs, n_bins, knots, widths, masses, a, b, cdf_knots, sf_knots, locate,
    )


def _padded(table, mask):
    """``table`` cut or padded to the shape of ``mask``, and one where ``mask`` is False."""
    out = np.ones(mask.shape)
    width = min(table.shape[1], mask.shape[1])
    np.copyto(out[:, :width], table[:, :width], where=mask[:, :width])
    return out


class StackedPiecewiseCDF:
    """The Gaussian views of several :class:`PiecewiseCDF`, one per column, in one pass.

    ``to_normal(X)`` gives for every column ``j`` what
    ``z_j = Phi^-1(F_j(x_j))`` and ``log dz_j/dx_j`` give column by column
    (the same formulas, element by element, so the same numbers), with the
    bins' arrays of all columns padded side by side: the bins of all
    columns found together (:class:`BinLocator`), then every other step on
    the whole ``(n, d)`` array. A layer of many narrow columns spends most
    of a column-by-column pass in call overhead.

    Parameters
    ----------
    cdfs : list of PiecewiseCDF
        One CDF per column.
    """

    def __init__(self, cdfs):
        n_bins = np.array([c.widths.size for c in cdfs])
        filled = np.arange(n_bins.max() + 1) < n_bins[:, None]
        knotted = np.arange(n_bins.max() + 1) <= n_bins[:, None]

        def padded(arrays, mask):
            table = np.ones(mask.shape)
            table[mask] = np.concatenate(arrays)
            return table

        tables = [padded([getattr(c, name) for c in cdfs], filled) for name in ("widths", "masses", "a", "b")]
        tables += [padded([getattr(c, name) for c in cdfs], knotted) for name in ("cdf_knots", "sf_knots")]
        self._set_tables(cdfs, n_bins, padded([c.knots for c in cdfs], knotted), *tables)

    @classmethod
    def of_tables(cls, cdfs, n_bins, knots, widths, masses, a, b, cdf_knots, sf_knots, locate=None):
        """The stack of ``cdfs`` from the tables their arrays start the rows of.

        Row ``j`` of each table starts with the array of ``cdfs[j]``: its
        ``n_bins[j]`` bins, or ``n_bins[j] + 1`` knots. The rest is set to
        what the constructor pads with (it is never read), so both give the
        same tables; ``locate`` is the :class:`BinLocator` of ``knots``,
        when the caller has built it.
        """
        n_bins = np.asarray(n_bins, dtype=np.intp)
        filled = np.arange(n_bins.max() + 1) < n_bins[:, None]
        knotted = np.arange(n_bins.max() + 1) <= n_bins[:, None]
        stacked = cls.__new__(cls)
        stacked._set_tables(
            cdfs, n_bins, _padded(knots, knotted), *(_padded(t, filled) for t in (widths, masses, a, b)),
            *(_padded(t, knotted) for t in (cdf_knots, sf_knots)),
            locate=locate if locate is not None and locate.knots.shape == knotted.shape else None,
        )
        return stacked

    def _set_tables(self, cdfs, n_bins, knots, widths, masses, a, b, cdf_knots, sf_knots, locate=None):
        self.n_bins = n_bins
        self.offsets = np.arange(n_bins.size) * knots.shape[1]
        self.widths, self.masses = widths.ravel(), masses.ravel()
        self.a, self.b = a.ravel(), b.ravel()
        # Straight bins (histograms) take the rational-quadratic rise's short form.
        self.straight = bool(np.all(self.a == 1.0) and np.all(self.b == 1.0))
        self.cdf_knots, self.sf_knots = cdf_knots.ravel(), sf_knots.ravel()
        self.knot_values = knots.ravel()
        self.locate = BinLocator(knots, n_bins) if locate is None else locate
        self.first = knots[:, 0].copy()
        self.last = knots[np.arange(n_bins.size), n_bins]
        self.normal = np.array([c.tails == "normal" for c in cdfs])
        self.cdfs = list(cdfs)

    def to_normal(self, X):
        """Gaussian views ``Z`` of the columns of ``X`` and ``log |det dZ/dX|`` of each row."""
        k = self.locate(X)
        # Rows far beyond the knots may overflow xi before the clip; the tails redo them.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            widths, masses = np.take(self.widths, k), np.take(self.masses, k)
            xi = np.clip((X - np.take(self.knot_values, k)) / widths, 0.0, 1.0)
            if self.straight:
                rise, rest, slope = _straight_rise(xi)
            else:
                rise, rest, slope = _rq_rise(xi, np.take(self.a, k), np.take(self.b, k))
            log_pdf = np.log(masses * slope / widths)
            log_cdf = np.log(np.take(self.cdf_knots, k) + masses * rise)
            k += 1
            log_sf = np.log(np.take(self.sf_knots, k) + masses * rest)
        beyond = np.empty(X.shape, dtype=bool)
        if _few_long_columns(X):
            for j in range(X.shape[1]):
                beyond[:, j] = (X[:, j] < self.first[j]) | (X[:, j] > self.last[j])
        else:
            np.logical_or(X < self.first, X > self.last, out=beyond)
        tailed = np.flatnonzero(beyond.any(axis=0))
        for j in tailed[~self.normal[tailed]]:
            # Few values lie beyond the knots: the tails go column by column.
            tail = beyond[:, j]
            log_pdf[tail, j], log_cdf[tail, j], log_sf[tail, j] = self.cdfs[j].evaluate(X[tail, j])
        Z = _z_from_log_cdf_sf(log_cdf, log_sf)
        log_dz = log_pdf - norm_logpdf(Z)
        for j in tailed[self.normal[tailed]]:
            # Normal tails are closed-form in the Gaussian view; the CDF's own
            # mask (the same rows as ``beyond``) places its values.
            mask, z_tail, log_dz_tail = self.cdfs[j].tail_to_normal(X[:, j])
            Z[mask, j], log_dz[mask, j] = z_tail, log_dz_tail
        # Sum the columns in order, as a column-by-column pass does.
        log_det = log_dz[:, 0].copy()
        for j in range(1, log_dz.shape[1]):
            log_det += log_dz[:, j]
        return Z, log_det

    # The tables derive from the CDFs: a pickle holds the CDFs alone, and
    # loading rebuilds the tables, also for models pickled with other tables.
    def __getstate__(self):
        return {"cdfs": self.cdfs}

    def __setstate__(self, state):
        self.__init__(state["cdfs"])
