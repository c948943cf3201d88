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

import numpy as np
from scipy.special import log_ndtr, ndtri, ndtri_exp

from ._normal import norm_logpdf
from ._normal import z_from_log_cdf_sf as _z_from_log_cdf_sf

_LOG_2_OVER_PI = np.log(2.0 / np.pi)
# Largest tail distance: a quarter of the float range, so knot +- distance stays finite.
_FAR = np.finfo(np.float64).max / 4
# Normal tails: Gaussian-view units beyond the edge over which the tail map
# is a pure shift; beyond them it grows logarithmically.
_SHIFT_SPAN = 4.0


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


def _rq_inverse(y, a, b):
    """Solve ``h(xi) = y`` for ``xi`` in [0, 1] with the cancellation-free root."""
    c = a + b - 2.0
    qa = 1.0 - a + y * c
    qb = a - y * c
    disc = np.maximum(qb * qb + 4.0 * qa * y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = 2.0 * y / (qb + np.sqrt(disc))
    return np.clip(np.nan_to_num(xi, nan=0.0), 0.0, 1.0)


def _log1p_square(r):
    """``log(1 + r**2)`` without overflow for huge ``r``."""
    big = r > 1e150
    out = np.empty_like(r)
    out[~big] = np.log1p(r[~big] * r[~big])
    out[big] = 2.0 * np.log(r[big])
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
            ratio = dist / scale
            log_pdf[mask] = np.log(mass) + _LOG_2_OVER_PI - np.log(scale) - _log1p_square(ratio)
            with np.errstate(divide="ignore"):
                near_log = np.log(mass) + _LOG_2_OVER_PI + np.log(np.arctan2(1.0, ratio))
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


def ragged_sums(table, lengths):
    """Sum of the first ``lengths[j]`` entries of each row, rounded as ``table[j, :lengths[j]].sum()``.

    NumPy sums pairwise, so the rounding depends on the length summed: rows
    of the same length are summed together (a contiguous 2-D sum along its
    last axis sums each row pairwise), never a padded row or ``reduceat``
    (which sums in order).
    """
    sums = np.empty(table.shape[0])
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        sums[rows] = np.ascontiguousarray(table[rows, :length]).sum(axis=1)
    return sums


def _split_rows(table, lengths):
    """The first ``lengths[j]`` entries of each row as 1-D arrays, views of one compact copy."""
    flat = table[np.arange(table.shape[1]) < np.asarray(lengths)[:, None]]
    ends = np.cumsum(lengths).tolist()
    return [flat[end - length:end] for end, length in zip(ends, lengths)]


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
    n_bins = np.asarray(n_bins, dtype=np.intp)
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
    scale_left = 2.0 * p_left / (np.pi * mean_slope[:, 0])
    scale_right = 2.0 * p_right / (np.pi * mean_slope[rows, n_bins - 1])
    z_left, z_right = -ndtri(p_left), -ndtri(p_right)
    columns = zip(
        _split_rows(knots, n_bins + 1), _split_rows(widths, n_bins), _split_rows(masses, n_bins),
        _split_rows(cdf_knots, n_bins + 1), _split_rows(sf_knots, n_bins + 1),
        _split_rows(np.ones(masses.shape), n_bins), _split_rows(np.ones(masses.shape), n_bins),
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
    return cdfs


class StackedPiecewiseCDF:
    """The Gaussian views of several :class:`PiecewiseCDF`, one per column, in one pass.

    ``to_normal(X)`` gives for every column ``j`` what
    ``z_j = Phi^-1(F_j(x_j))`` and ``log dz_j/dx_j`` give column by column
    (the same formulas, element by element, so the same numbers), with the
    bins' arrays of all columns padded side by side: one ``searchsorted``
    per column, then every other step on the whole ``(n, d)`` array. A layer
    of many narrow columns spends most of a column-by-column pass in call
    overhead.

    Parameters
    ----------
    cdfs : list of PiecewiseCDF
        One CDF per column.
    """

    def __init__(self, cdfs):
        self.knots = [c.knots for c in cdfs]
        self.n_bins = np.array([c.widths.size for c in cdfs])
        stride = int(self.n_bins.max()) + 1
        self.offsets = np.arange(len(cdfs)) * stride

        def padded(arrays):
            table = np.ones((len(cdfs), stride))
            for row, values in zip(table, arrays):
                row[: values.size] = values
            return table.ravel()

        self.widths = padded([c.widths for c in cdfs])
        self.masses = padded([c.masses for c in cdfs])
        self.a = padded([c.a for c in cdfs])
        self.b = padded([c.b for c in cdfs])
        self.cdf_knots = padded([c.cdf_knots for c in cdfs])
        self.sf_knots = padded([c.sf_knots for c in cdfs])
        self.knot_values = padded([c.knots for c in cdfs])
        self.first = np.array([c.knots[0] for c in cdfs])
        self.last = np.array([c.knots[-1] for c in cdfs])
        self.normal = np.array([c.tails == "normal" for c in cdfs])
        self.cdfs = list(cdfs)

    def to_normal(self, X):
        """Gaussian views ``Z`` of the columns of ``X`` and ``log |det dZ/dX|`` of each row."""
        n_rows, n_columns = X.shape
        k = np.empty(X.shape, dtype=np.intp)
        for j, knots in enumerate(self.knots):
            k[:, j] = np.searchsorted(knots, X[:, j], side="right")
        k -= 1
        np.clip(k, 0, self.n_bins - 1, out=k)
        k += self.offsets
        with np.errstate(divide="ignore", invalid="ignore"):
            widths, masses = self.widths[k], self.masses[k]
            xi = np.clip((X - self.knot_values[k]) / widths, 0.0, 1.0)
            rise, rest, slope = _rq_rise(xi, self.a[k], self.b[k])
            log_pdf = np.log(masses * slope / widths)
            log_cdf = np.log(self.cdf_knots[k] + masses * rise)
            log_sf = np.log(self.sf_knots[k + 1] + masses * rest)
        beyond = (X < self.first) | (X > self.last)
        tailed = np.flatnonzero(beyond.any(axis=0))
        for j in tailed[~self.normal[tailed]]:
            # Few values lie beyond the knots: the tails go column by column.
            tail = beyond[:, j]
            log_pdf[tail, j], log_cdf[tail, j], log_sf[tail, j] = self.cdfs[j].evaluate(X[tail, j])
        Z = _z_from_log_cdf_sf(log_cdf, log_sf)
        log_dz = log_pdf - norm_logpdf(Z)
        for j in tailed[self.normal[tailed]]:
            # Normal tails are closed-form in the Gaussian view.
            mask, Z[beyond[:, j], j], log_dz[beyond[:, j], j] = self.cdfs[j].tail_to_normal(X[:, j])
        # Sum the columns in order, as a column-by-column pass does.
        log_det = log_dz[:, 0].copy()
        for j in range(1, n_columns):
            log_det += log_dz[:, j]
        return Z, log_det
