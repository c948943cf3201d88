"""Probability masses of grid cells, and uniform points inside them, in the Gaussian view.

A discrete column takes values on a grid; its value ``t`` (in units of the
grid spacing, counted from the grid's origin) stands for the cell ``[t, t + 1)``
of the dequantized line. A column's distribution gives each cell a mass; its
CDF at the cell's ends gives, for each value, ``log F(t)`` (below the cell),
``log S(t + 1)`` (above it) and ``log P(t)`` (the cell), all in log space so
that far tails keep their precision.

A point drawn at relative position ``v`` in ``[0, 1)`` inside the cell has
``u = F(t) + v P(t)``; its Gaussian view is ``Phi^-1(u)``. Computed from both
tails, ``log u = logaddexp(log F(t), log P + log v)`` and
``log (1 - u) = logaddexp(log S(t + 1), log P + log (1 - v))``, it is exact in
either tail. The way back, from a Gaussian view to the cell holding it, is the
quantile function.

Two kinds of columns:

- :class:`LatticeCells`, integers on an unbounded grid: a
  :class:`~destructors._piecewise.PiecewiseCDF` on the dequantized line whose
  knots are cell edges, so every integer, seen or not, has positive mass;
- :class:`FiniteCells`, a finite set of values (category codes, booleans):
  masses of the cells ``0 .. L - 1`` and nothing beyond.

These kernels know nothing about estimators.
"""

import numpy as np
from scipy.special import log_ndtr

from ._normal import z_from_log_cdf_sf
from ._piecewise import PiecewiseCDF, ragged_sums

# Cell values beyond this many cells from the origin are clipped when a
# Gaussian view far in a tail is mapped back: every grid value stays an
# integer exactly representable as a float.
_MAX_CELL = 2.0**52
# Cells farther than this beyond the outer knots get their mass from the
# density at their middle: the difference of tail masses there keeps only
# about eps * distance of relative precision, the midpoint rule 1 / distance^2.
_FAR_CELLS = 1e6


def james_stein_intensity(counts, target):
    """James-Stein shrinkage intensity of bin frequencies towards target probabilities.

    Hausser & Strimmer (2009, JMLR 10, eq. 5): ``(1 - sum p^2) / ((n - 1)
    sum (t - p)^2)`` for frequencies ``p`` of ``n`` counts, the ratio of the
    frequencies' estimated sampling variance to their squared distance from
    the target. Capped at ``n / (n + 1)``, so the counts always keep the
    weight of one observation and no bin's mass can vanish.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    cap = n / (n + 1.0)
    freq = counts / n
    noise = 1.0 - np.sum(freq * freq)
    distance = (n - 1.0) * np.sum((target - freq) ** 2)
    return float(min(noise / distance, cap)) if distance > noise else cap


def james_stein_intensities(counts, target, lengths):
    """:func:`james_stein_intensity` of every row of padded tables, over its first ``lengths[j]`` entries.

    The same numbers (and types: a float, or the cap as a NumPy float) as
    row by row, for all rows in one pass.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = ragged_sums(counts, lengths)
    cap = n / (n + 1.0)
    freq = counts / n[:, None]
    noise = 1.0 - ragged_sums(freq * freq, lengths)
    distance = (n - 1.0) * ragged_sums((target - freq) ** 2, lengths)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(noise / distance, cap)
    return [float(r) if d > e else c for r, d, e, c in zip(ratio, distance, noise, cap)]


def log_diff_exp(log_a, log_b):
    """``log(exp(log_a) - exp(log_b))`` for ``log_a >= log_b``, without cancellation."""
    with np.errstate(divide="ignore"):
        return log_a + np.log(-np.expm1(np.minimum(log_b - log_a, 0.0)))


def gaussian_view_in_cells(log_below, log_above, log_mass, v):
    """Gaussian view of the points at relative positions ``v`` in (0, 1) inside cells.

    ``log_below`` is ``log F(t)``, ``log_above`` is ``log S(t + 1)`` and
    ``log_mass`` is ``log P(t)``; all arrays broadcast together.
    """
    with np.errstate(divide="ignore"):
        log_cdf = np.logaddexp(log_below, log_mass + np.log(v))
        log_sf = np.logaddexp(log_above, log_mass + np.log1p(-v))
    return z_from_log_cdf_sf(log_cdf, log_sf)


class LatticeCells:
    """Cells ``[t, t + 1)`` of an unbounded integer grid, masses from a piecewise CDF.

    Parameters
    ----------
    cdf : PiecewiseCDF
        Distribution of the dequantized value ``t + v`` on the real line; its
        knots should be cell edges (integers), so that the density is constant
        inside every cell of the bulk.
    """

    def __init__(self, cdf):
        self.cdf = cdf

    @classmethod
    def from_bins(cls, edges, masses, tail_mass):
        """Bins between integer ``edges`` with the given masses; half-Cauchy tails of ``tail_mass`` each side."""
        return cls(PiecewiseCDF(edges, masses, (tail_mass, tail_mass)))

    def log_bounds(self, t):
        """``(log F(t), log S(t + 1), log P(t))`` for cell values ``t``."""
        _, log_below, log_sf_low = self.cdf.evaluate(t)
        _, log_cdf_high, log_above = self.cdf.evaluate(t + 1.0)
        # The mass from the side where it is the difference of small numbers.
        lower_half = log_cdf_high <= log_sf_low
        log_mass = np.where(
            lower_half, log_diff_exp(log_cdf_high, log_below), log_diff_exp(log_sf_low, log_above)
        )
        # Far out in a tail the two tail masses agree to rounding, so their
        # difference loses all digits (or is zero): there the density is
        # constant across the cell to 1 / distance^2, and the cell's mass is
        # its density at the middle.
        middle = t + 0.5
        far = (middle - self.cdf.knots[-1] > _FAR_CELLS) | (self.cdf.knots[0] - middle > _FAR_CELLS)
        if far.any():
            log_mass[far] = self.cdf.evaluate(middle[far])[0]
        return log_below, log_above, log_mass

    def cell_of(self, z):
        """The cell value ``t`` whose cell holds the Gaussian view ``z``."""
        lower = z <= 0
        x = np.empty_like(z)
        x[lower] = self.cdf.ppf_log(log_ndtr(z[lower]))
        x[~lower] = self.cdf.isf_log(log_ndtr(-z[~lower]))
        return np.clip(np.floor(x), -_MAX_CELL, _MAX_CELL)


class FiniteCells:
    """Cells ``0 .. L - 1`` with given masses and nothing beyond them.

    Parameters
    ----------
    masses : ndarray of shape (L,)
        Positive masses of the cells; they are normalized to sum to one.
    """

    def __init__(self, masses):
        masses = np.asarray(masses, dtype=np.float64)
        masses = masses / masses.sum()
        with np.errstate(divide="ignore"):
            self.log_masses = np.log(masses)
            # Mass below each cell and above it, each summed from its own end.
            self.log_below = np.log(np.concatenate(([0.0], np.cumsum(masses)[:-1])))
            self.log_above = np.log(np.concatenate((np.cumsum(masses[::-1])[::-1][1:], [0.0])))

    @property
    def n_cells(self):
        return self.log_masses.size

    def log_bounds(self, t):
        """``(log F(t), log S(t + 1), log P(t))`` for cell values ``t`` (integers in ``0 .. L - 1``)."""
        index = t.astype(np.intp)
        return self.log_below[index], self.log_above[index], self.log_masses[index]

    def cell_of(self, z):
        """The cell value ``t`` whose cell holds the Gaussian view ``z``."""
        lower = z <= 0
        t = np.empty_like(z)
        # Lower half: the last cell whose mass below is at most u.
        t[lower] = np.searchsorted(self.log_below, log_ndtr(z[lower]), side="right") - 1
        # Upper half: the first cell whose mass above is below 1 - u.
        t[~lower] = np.searchsorted(-self.log_above, -log_ndtr(-z[~lower]), side="left")
        return np.clip(t, 0, self.n_cells - 1)
