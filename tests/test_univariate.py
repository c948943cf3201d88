"""Univariate densities: CDFs, quantiles, tails and validation."""

import pickle
from functools import partial

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import trapezoid  # np.trapezoid needs NumPy 2
from scipy.special import ndtri_exp
from sklearn.base import clone

from destructors import GaussianDensity, HistogramDensity, SplineDensity
from destructors._cells import james_stein_intensities, james_stein_intensity as _james_stein_intensity
from destructors._normal import z_from_log_cdf_sf
from destructors._piecewise import (
    BinLocator,
    PiecewiseCDF,
    StackedPiecewiseCDF,
    _rq_rise,
    _straight_rise,
    equal_width_knots,
    histogram_cdfs,
    ragged_sums,
    stacked_histogram_cdfs,
)

from _estimators import DENSITY_CLASSES


def _samples(kind, n=2000, seed=0):
    rng = np.random.RandomState(seed)
    if kind == "normal":
        return rng.standard_normal(n)
    if kind == "skewed":
        return rng.lognormal(size=n)
    if kind == "bimodal":
        return np.where(rng.uniform(size=n) < 0.3, rng.normal(-3, 0.3, n), rng.normal(1, 1, n))
    if kind == "ties":
        return rng.poisson(2.0, size=n).astype(float)
    raise ValueError(kind)


# The densities with normal tails (for Gaussianized input) run the same checks.
NORMAL_TAILED = [partial(HistogramDensity, tails="normal"), partial(SplineDensity, tails="normal")]


def _name(factory):
    if isinstance(factory, partial):
        return f"{factory.func.__name__}(tails='normal')"
    return factory.__name__


@pytest.fixture(params=DENSITY_CLASSES + NORMAL_TAILED, ids=_name)
def density_class(request):
    return request.param


@pytest.mark.parametrize("kind", ["normal", "skewed", "bimodal", "ties"])
def test_pdf_integrates_to_cdf_increments(density_class, kind):
    x = _samples(kind)
    density = density_class().fit(x)
    lo, hi = x.min() - 3 * np.ptp(x), x.max() + 3 * np.ptp(x)
    grid = np.linspace(lo, hi, 400001)
    mass = trapezoid(density.pdf(grid), grid)
    expected = density.cdf([hi])[0] - density.cdf([lo])[0]
    assert mass == pytest.approx(expected, abs=2e-4)
    assert expected > 0.99


@pytest.mark.parametrize("kind", ["normal", "skewed", "bimodal"])
def test_cdf_derivative_is_pdf(density_class, kind):
    x = _samples(kind)
    density = density_class().fit(x)
    points = np.random.RandomState(1).uniform(x.min() - 1, x.max() + 1, size=500)
    h = 1e-6 * np.maximum(np.abs(points), 1)
    derivative = (density.cdf(points + h) - density.cdf(points - h)) / (2 * h)
    agree = np.isclose(derivative, density.pdf(points), rtol=1e-4, atol=1e-9)
    # A histogram's density jumps at bin edges; nothing else may disagree.
    assert agree.mean() > 0.98


def test_cdf_and_sf_are_complementary_and_monotone(density_class):
    x = _samples("bimodal")
    density = density_class().fit(x)
    points = np.linspace(x.min() - 5, x.max() + 5, 5001)
    cdf, sf = density.cdf(points), density.sf(points)
    np.testing.assert_allclose(cdf + sf, 1.0, atol=1e-12)
    assert np.all(np.diff(cdf) >= 0)
    assert np.all(np.diff(density.logsf(points)) <= 0)


def test_quantiles_invert_the_cdf(density_class):
    x = _samples("skewed")
    density = density_class().fit(x)
    q = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 1001), [1e-300, 1e-30, 1 - 1e-15]])
    np.testing.assert_allclose(density.cdf(density.ppf(q)), q, rtol=1e-9, atol=1e-15)


def test_gaussian_view_round_trip_far_out(density_class):
    x = _samples("normal")
    density = density_class().fit(x)
    far = np.array([-1e6, -1e3, -20.0 * x.std(), -5.0, 0.1, 5.0, 20.0 * x.std(), 1e3, 1e6])
    points = np.concatenate([far, x[:200]])
    z, log_dz = density._to_normal(points)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(log_dz))
    np.testing.assert_allclose(density._from_normal(z), points, rtol=1e-8)


def test_far_points_have_finite_log_density(density_class):
    x = _samples("normal")
    density = density_class().fit(x)
    far = np.array([-1e8, -10 * np.ptp(x), 10 * np.ptp(x), 1e8])
    for method in (density.logpdf, density.logcdf, density.logsf):
        assert np.all(np.isfinite(method(far)))
    # Heavy or not, the tail keeps decreasing.
    assert density.logpdf([1e8])[0] < density.logpdf([10 * np.ptp(x)])[0]


def test_sample_follows_the_density(density_class):
    density = density_class().fit(_samples("bimodal"))
    draws = density.sample(4000, random_state=0)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(draws, density.sample(4000, random_state=0))
    assert stats.kstest(draws, density.cdf).statistic < 0.03


def test_constant_feature(density_class):
    density = density_class().fit(np.full(30, 2.5))
    points = np.array([2.5, 2.5 + 1e-9, 0.0, 1e3])
    assert np.all(np.isfinite(density.logpdf(points)))
    z, _ = density._to_normal(points)
    np.testing.assert_allclose(density._from_normal(z), points, rtol=1e-9, atol=1e-12)


def test_column_vector_is_accepted(density_class):
    x = _samples("normal", n=100)
    a = density_class().fit(x).logpdf(x)
    b = density_class().fit(x[:, None]).logpdf(x[:, None])
    # Exact: a column vector is flattened, then the same operations run.
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "values, message",
    [
        (np.ones((10, 2)), "univariate"),
        (np.array([1.0, np.nan, 2.0]), "NaN"),
        (np.array([1.0, np.inf]), "infinity"),
        (np.array([1.0]), "1 sample"),
        (np.array([]), "0 sample"),
    ],
)
def test_bad_values_raise(density_class, values, message):
    with pytest.raises(ValueError, match=message):
        density_class().fit(values)


def test_bad_probabilities_raise(density_class):
    density = density_class().fit(_samples("normal", n=50))
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        density.ppf([0.5, 1.5])


def test_not_fitted(density_class):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        density_class().logpdf([0.0])


def test_clone_keeps_parameters(density_class):
    density = density_class()
    assert clone(density).get_params() == density.get_params()


# ---------------------------------------------------------------- Gaussian
def test_gaussian_matches_scipy():
    x = _samples("normal") * 3 + 1
    density = GaussianDensity().fit(x)
    ref = stats.norm(x.mean(), x.std())
    points = np.array([-40.0, -3.0, 0.0, 2.0, 50.0])
    np.testing.assert_allclose(density.logpdf(points), ref.logpdf(points))
    np.testing.assert_allclose(density.logcdf(points), ref.logcdf(points))
    np.testing.assert_allclose(density.logsf(points), ref.logsf(points))
    np.testing.assert_allclose(density.ppf([0.1, 0.9]), ref.ppf([0.1, 0.9]))


# ---------------------------------------------------------------- normal tails
@pytest.mark.parametrize("factory", NORMAL_TAILED, ids=_name)
def test_normal_tails_continue_the_standard_normal_beyond_the_tail_quantiles(factory):
    x = np.random.RandomState(0).uniform(size=999)
    density = factory().fit(x)
    n = x.size
    z_left, z_right = stats.norm.isf(1 / (n + 1)), stats.norm.isf(1 / (n + 1))
    lo, hi = density.cdf_.knots[0], density.cdf_.knots[-1]
    # Each tail keeps the mass 1/(n+1) of a new point beyond the extremes.
    assert density.cdf([lo])[0] == pytest.approx(1 / (n + 1))
    assert density.sf([hi])[0] == pytest.approx(1 / (n + 1))
    t = np.array([1e-3, 0.5, 3.0, 4.0, 40.0, 1e6])
    # Gaussian-view offset: a shift for 4 units beyond the edge, then logarithmic.
    log_slope = -np.log1p(np.maximum(t - 4.0, 0.0) / 4.0)
    offset = np.minimum(t, 4.0) - 4.0 * log_slope
    np.testing.assert_allclose(density.logsf(hi + t), stats.norm.logsf(z_right + offset), rtol=1e-12)
    np.testing.assert_allclose(density.logcdf(lo - t), stats.norm.logcdf(-z_left - offset), rtol=1e-12)
    np.testing.assert_allclose(
        density.logpdf(hi + t), stats.norm.logpdf(z_right + offset) + log_slope, rtol=1e-12
    )
    # The Gaussian view is closed-form and exactly invertible.
    points = np.concatenate([lo - t, hi + t])
    z, log_dz = density._to_normal(points)
    np.testing.assert_allclose(z, np.concatenate([-z_left - offset, z_right + offset]), rtol=1e-12)
    np.testing.assert_allclose(log_dz, np.concatenate([log_slope, log_slope]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(density._from_normal(z), points, rtol=1e-13, atol=1e-15)
    # Far beyond, the tail stays finite and invertible.
    z_far, _ = density._to_normal(np.array([-1e300, 1e300]))
    assert np.all(np.abs(z_far) < 3000)
    np.testing.assert_allclose(density._from_normal(z_far), [-1e300, 1e300], rtol=1e-12)


@pytest.mark.parametrize("factory", NORMAL_TAILED, ids=_name)
def test_normal_tails_keep_the_extremes_off_the_density_jump(factory):
    # The tails do not continue the outer bins' density; the outer knots sit
    # just beyond the extremes, so that rounding the extremes by a few ulps
    # (as a batch-dependent product in an earlier layer may) moves their
    # log density by a few ulps too, not by the jump.
    x = np.random.RandomState(0).standard_normal(500)
    density = factory().fit(x)
    for extreme in (x.min(), x.max()):
        nudged = extreme + np.array([-4.0, 0.0, 4.0]) * np.spacing(extreme)
        log_pdf = density.logpdf(nudged)
        np.testing.assert_allclose(log_pdf, log_pdf[1], rtol=1e-9)
    jump = density.logpdf([density.cdf_.knots[-1] * (1 + 1e-15)])[0] - density.logpdf([x.max()])[0]
    assert abs(jump) > 1e-3  # the jump the gap keeps the extremes away from


def test_densities_pickled_before_the_tails_parameter_have_cauchy_tails():
    x = _samples("skewed", n=300)
    density = SplineDensity().fit(x)
    state = density.__getstate__()
    del state["tails"]
    del state["cdf_"].__dict__["tails"]
    old = pickle.loads(pickle.dumps(density))
    old.__dict__.pop("tails")
    old.__setstate__(state)
    assert old.tails == "cauchy" and old.cdf_.tails == "cauchy"
    assert repr(old) == "SplineDensity()" and clone(old).get_params() == density.get_params()
    far = np.array([-1e6, x.min() - 1.0, 1.0, x.max() + 1.0, 1e6])
    # Exact: the same fitted arrays and code, in one process.
    np.testing.assert_array_equal(old.logpdf(far), density.logpdf(far))


# ---------------------------------------------------------------- histogram
def test_histogram_tables_equal_row_by_row():
    # Histograms of many columns are fitted on padded tables, one row per
    # column; every row must give the numbers of the one-column kernels bit
    # for bit (NumPy sums pairwise, so sums of padded rows would not).
    rng = np.random.RandomState(0)
    n_bins = np.array([1, 2, 7, 8, 9, 17, 130, 9, 1])
    lo = rng.standard_normal(n_bins.size) * 10.0 ** rng.randint(-5, 9, n_bins.size)
    hi = lo + rng.exponential(size=n_bins.size) * np.abs(lo)
    knots = equal_width_knots(lo, hi, n_bins)
    counts = rng.randint(0, 50, (n_bins.size, knots.shape[1] - 1))
    counts[np.arange(counts.shape[1]) >= n_bins[:, None]] = 0
    masses = np.where(counts > 0, counts + 0.37, 0.0)
    masses[np.arange(counts.shape[1]) >= n_bins[:, None]] = 0.0
    masses[:, 0] += 0.1
    tail_masses = rng.uniform(0.001, 0.01, (n_bins.size, 2))
    target = rng.dirichlet(np.ones(counts.shape[1]), n_bins.size)
    cdfs = histogram_cdfs(knots, n_bins, masses, tail_masses, tails="normal")
    sums = ragged_sums(masses, n_bins)
    intensities = james_stein_intensities(counts, target, n_bins)
    for j, n in enumerate(n_bins):
        np.testing.assert_array_equal(knots[j, : n + 1], np.linspace(lo[j], hi[j], n + 1))
        assert sums[j] == masses[j, :n].sum()
        alone = _james_stein_intensity(counts[j, :n], target[j, :n])
        assert intensities[j] == alone and type(intensities[j]) is type(alone)
        expected = PiecewiseCDF(knots[j, : n + 1], masses[j, :n], tail_masses[j], tails="normal")
        assert list(vars(cdfs[j])) == list(vars(expected))
        for name, value in vars(expected).items():
            assert type(getattr(cdfs[j], name)) is type(value), name
            np.testing.assert_array_equal(getattr(cdfs[j], name), value, err_msg=name)


@pytest.mark.parametrize("n_rows", [40, 3000])  # both ways of guessing: whole rows, and long columns
@pytest.mark.parametrize("spacing", ["equal", "jittered", "uneven"])
def test_bin_locator_finds_the_bins_of_a_search_column_by_column(spacing, n_rows):
    rng = np.random.RandomState(0)
    n_bins = np.array([1, 2, 9, 40])
    lo = rng.standard_normal(n_bins.size) * 10.0 ** rng.randint(-6, 7, n_bins.size)
    hi = lo + rng.exponential(size=n_bins.size) * 10.0 ** rng.randint(-9, 4, n_bins.size)
    knots = equal_width_knots(lo, hi, n_bins)
    for j, n in enumerate(n_bins):
        step = (hi[j] - lo[j]) / n
        if spacing == "jittered":  # within a quarter bin: guessed, then corrected
            knots[j, 1:n] += rng.uniform(-0.24, 0.24, n - 1) * step
        elif spacing == "uneven":  # searched
            knots[j, : n + 1] = lo[j] + (hi[j] - lo[j]) * np.linspace(0.0, 1.0, n + 1) ** 3
    # Every knot, the floats on either side of it, values within and beyond
    # the knots, and the values a search puts first or last.
    X = np.empty((n_rows, n_bins.size))
    for j, n in enumerate(n_bins):
        row = knots[j, : n + 1]
        span = row[-1] - row[0]
        pool = np.concatenate([row, np.nextafter(row, -np.inf), np.nextafter(row, np.inf),
                               rng.uniform(row[0] - span, row[-1] + span, 50),
                               [np.inf, -np.inf, np.nan, 1e308, -1e308, 0.0, -0.0]])
        X[:, j] = rng.choice(pool, n_rows)
    locate = BinLocator(knots, n_bins)
    assert locate.spaced == (spacing != "uneven")
    for j, n in enumerate(n_bins):
        found = np.searchsorted(knots[j, : n + 1], X[:, j], side="right") - 1
        expected = np.clip(found, 0, n - 1) + j * knots.shape[1]
        np.testing.assert_array_equal(locate(X)[:, j], expected)


def test_straight_rise_is_the_rational_quadratic_rise_of_straight_bins():
    edges = [0.0, -0.0, 1.0, 0.5, 1e-300, 1.0 - 2.0**-53, np.nan]
    xi = np.concatenate([edges, np.random.RandomState(0).uniform(size=1000)])
    ones = np.ones_like(xi)
    for straight, curved in zip(_straight_rise(xi), _rq_rise(xi, ones, ones)):
        np.testing.assert_array_equal(straight, curved)


def test_gaussian_view_takes_the_smaller_tail():
    # Each value as one scalar call gives it: the lower tail where it is the
    # smaller one, the upper tail elsewhere, NaN where either is NaN.
    rng = np.random.RandomState(0)
    special = [0.0, -0.0, -np.inf, np.nan, -1e-300, -800.0, -np.log(2.0)]
    log_cdf = np.concatenate([np.log(rng.uniform(size=500)), np.repeat(special, len(special))])
    log_sf = np.concatenate([np.log1p(-np.exp(log_cdf[:500])), np.tile(special, len(special))])
    z = z_from_log_cdf_sf(log_cdf, log_sf)
    for value, lower, upper in zip(z, log_cdf, log_sf):
        expected = ndtri_exp(lower) if lower <= upper else -ndtri_exp(upper)
        np.testing.assert_array_equal(value, expected)
    assert z.dtype == np.float64
    table = z_from_log_cdf_sf(log_cdf[:500].reshape(50, 10), log_sf[:500].reshape(50, 10))
    np.testing.assert_array_equal(table, z[:500].reshape(50, 10))


def test_stacked_histogram_cdfs_are_the_stack_of_their_cdfs():
    rng = np.random.RandomState(0)
    n_bins = np.array([1, 3, 12, 8])
    lo = rng.standard_normal(n_bins.size)
    knots = equal_width_knots(lo, lo + rng.exponential(size=n_bins.size), n_bins)
    in_bins = np.arange(knots.shape[1] - 1) < n_bins[:, None]
    masses = np.where(in_bins, rng.uniform(0.1, 1.0, in_bins.shape), 0.0)
    tail_masses = rng.uniform(0.001, 0.01, (n_bins.size, 2))
    locate = BinLocator(knots, n_bins)
    stacked = stacked_histogram_cdfs(knots, n_bins, masses, tail_masses, tails="normal", locate=locate)
    rebuilt = StackedPiecewiseCDF(stacked.cdfs)
    for name, value in vars(rebuilt).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(stacked, name), value, err_msg=name)
    for fresh, cdf in zip(histogram_cdfs(knots, n_bins, masses, tail_masses, tails="normal"), stacked.cdfs):
        for name, value in vars(fresh).items():
            np.testing.assert_array_equal(getattr(cdf, name), value, err_msg=name)
    X = np.column_stack([rng.uniform(row[0] - 1.0, row[n] + 1.0, 200) for row, n in zip(knots, n_bins)])
    Z, log_det = stacked.to_normal(X)
    # A pickle keeps the CDFs and rebuilds the tables. Exact: the same numbers, in one process.
    for got, expected in zip(pickle.loads(pickle.dumps(stacked)).to_normal(X), (Z, log_det)):
        np.testing.assert_array_equal(got, expected)
    assert set(stacked.__getstate__()) == {"cdfs"}


def test_james_stein_intensity_closed_forms():
    target = np.array([0.5, 0.5])
    # Frequencies (0.9, 0.1): sampling variance 1 - 0.82 over distance 9 * 0.32.
    assert _james_stein_intensity([9, 1], target) == pytest.approx(0.18 / 2.88)
    # All counts in one bin: no sampling variance, no shrinkage.
    assert _james_stein_intensity([10, 0], target) == 0.0
    # Frequencies nearer the target than their noise: the cap n / (n + 1).
    assert _james_stein_intensity([6, 4], target) == pytest.approx(10 / 11)


def test_histogram_shrinkage_mixes_in_the_standard_normal_masses():
    x = _samples("skewed", n=500) / 3.0
    plain = HistogramDensity(tails="normal").fit(x)
    shrunk = HistogramDensity(tails="normal", shrinkage=0.25).fit(x)
    assert shrunk.shrinkage_ == 0.25 and plain.shrinkage_ == 0.0
    edges = shrunk.bin_edges_
    np.testing.assert_allclose(shrunk.cdf(edges), 0.75 * plain.cdf(edges) + 0.25 * stats.norm.cdf(edges), rtol=1e-12)
    np.testing.assert_allclose(shrunk.ppf(shrunk.cdf(x)), x, rtol=1e-10, atol=1e-12)


def test_auto_shrinkage_is_near_one_on_normal_data_and_small_on_other_shapes():
    rng = np.random.RandomState(0)
    auto = partial(HistogramDensity, tails="normal", shrinkage="auto")
    assert auto().fit(rng.standard_normal(5000)).shrinkage_ > 0.9
    assert auto().fit(rng.uniform(-3, 3, size=5000)).shrinkage_ < 0.01
    assert auto().fit(np.concatenate([rng.normal(-2, 0.3, 2500), rng.normal(2, 0.3, 2500)])).shrinkage_ < 0.01
    # A normal shape at another scale is not the target either.
    assert auto().fit(0.5 * rng.standard_normal(5000)).shrinkage_ < 0.1


def test_fitted_normal_target_is_the_normal_of_the_binned_values():
    rng = np.random.RandomState(0)
    x = 3.0 + 0.5 * rng.standard_normal(5000)
    fitted = partial(HistogramDensity, tails="normal", shrinkage="auto", shrinkage_target="fitted_normal")
    # Normal at another scale: the fitted target is the data's normal.
    density = fitted().fit(x)
    assert density.shrinkage_ > 0.9
    counts = np.histogram(x, bins=density.bin_edges_)[0]
    middles = 0.5 * (density.bin_edges_[:-1] + density.bin_edges_[1:])
    mean = np.sum(counts * middles) / x.size
    scale = np.sqrt(np.sum(counts * (middles - mean) ** 2) / x.size)
    edges = density.bin_edges_
    # The CDF at the edges mixes the histogram's and that normal's, as a fixed weight does.
    plain = HistogramDensity(tails="normal").fit(x)
    expected = (1 - density.shrinkage_) * plain.cdf(edges) + density.shrinkage_ * stats.norm.cdf(edges, mean, scale)
    np.testing.assert_allclose(density.cdf(edges), expected, rtol=1e-10, atol=1e-14)
    # Held out, it is nearly the fitted normal, where the plain histogram pays
    # its bins' noise, about (n_bins - 1) / (2 n) nats (Miller-Madow).
    x_test = 3.0 + 0.5 * rng.standard_normal(20000)
    normal = stats.norm(mean, scale).logpdf(x_test).mean()
    noise = (plain.n_bins_ - 1) / (2 * x.size)
    assert abs(density.logpdf(x_test).mean() - normal) < 0.4 * noise  # measured 0.27
    assert plain.logpdf(x_test).mean() < normal - 0.7 * noise  # measured 1.0
    # Other shapes still keep their histogram (a uniform is nearer to the
    # normal of its own variance than to the standard one: 0.024 here).
    assert fitted().fit(rng.uniform(-3, 3, size=5000)).shrinkage_ < 0.05
    assert fitted().fit(np.concatenate([rng.normal(-2, 0.3, 2500), rng.normal(2, 0.3, 2500)])).shrinkage_ < 0.01


def _normal_of_the_bins(x, edges):
    """The normal with the mean and deviation of ``x`` binned at ``edges`` (the fitted target)."""
    counts = np.histogram(x, bins=edges)[0]
    middles = 0.5 * (edges[:-1] + edges[1:])
    mean = np.sum(counts * middles) / x.size
    return stats.norm(mean, np.sqrt(np.sum(counts * (middles - mean) ** 2) / x.size))


def test_a_fully_shrunk_smooth_histogram_is_the_normal_and_keeps_the_bin_masses():
    rng = np.random.RandomState(0)
    x = 3.0 + 0.5 * rng.standard_normal(5000)
    fitted = partial(HistogramDensity, tails="normal", shrinkage="auto", shrinkage_target="fitted_normal")
    straight, smooth = fitted().fit(x), fitted(smooth=True).fit(x)
    assert smooth.shrinkage_ == straight.shrinkage_ > 0.99
    edges = straight.bin_edges_
    # Same masses: the CDF at the edges is the same (measured equal).
    np.testing.assert_allclose(smooth.cdf(edges), straight.cdf(edges), rtol=1e-12, atol=1e-15)
    # KL divergence from the target normal over the bins, by quadrature: a
    # binned normal loses h^2 / 24 for bins h deviations wide (measured
    # within 1%); the smooth bins follow the normal itself (measured 6e-5 of
    # that).
    target = _normal_of_the_bins(x, edges)
    grid = np.linspace(edges[0], edges[-1], 20001)

    def kl(density):
        return trapezoid(target.pdf(grid) * (target.logpdf(grid) - density.logpdf(grid)), grid)

    binning_loss = ((edges[1] - edges[0]) / target.std()) ** 2 / 24
    assert kl(straight) == pytest.approx(binning_loss, rel=0.05)
    assert abs(kl(smooth)) < 1e-3 * binning_loss
    # The density is the derivative of the CDF (central differences; measured 3e-7).
    u, step = np.linspace(edges[0] + 1e-3, edges[-1] - 1e-3, 2001), 1e-6
    slope = (smooth.cdf(u + step) - smooth.cdf(u - step)) / (2 * step)
    np.testing.assert_allclose(slope, smooth.pdf(u), rtol=1e-5)
    np.testing.assert_allclose(smooth.ppf(smooth.cdf(u)), u, rtol=0, atol=1e-9)


def test_a_smooth_histogram_without_shrinkage_is_continuous_with_the_bin_masses():
    x = _samples("skewed", n=2000)
    straight, smooth = HistogramDensity().fit(x), HistogramDensity(smooth=True).fit(x)
    edges = straight.bin_edges_
    np.testing.assert_allclose(smooth.cdf(edges), straight.cdf(edges), rtol=1e-12, atol=1e-15)
    inner = edges[1:-1]
    gap = 1e-9 * (edges[-1] - edges[0])
    # Straight bins jump at the edges; smooth ones meet at the geometric mean of the two bins.
    np.testing.assert_allclose(smooth.pdf(inner - gap), smooth.pdf(inner + gap), rtol=1e-6)
    np.testing.assert_allclose(smooth.pdf(inner), np.sqrt(straight.pdf(inner - gap) * straight.pdf(inner + gap)), rtol=1e-6)


@pytest.mark.parametrize("smooth", [False, True])
def test_a_constant_column_gives_rows_at_the_ends_of_the_float_range_finite_log_densities(smooth):
    # Its half-Cauchy tails are 1e-10 wide: the distance over the scale
    # overflows, so the tails work in logs (-2 log distance, as for any tail).
    density = HistogramDensity(smooth=smooth).fit(np.full(50, 7.0))
    far = np.array([-1e300, -1e10, 1e10, 1e300])
    log_pdf = density.logpdf(far)
    assert np.isfinite(log_pdf).all() and np.isfinite(density.logcdf(far)).all()
    assert np.isfinite(density.logsf(far)).all()
    assert log_pdf[0] - log_pdf[1] == pytest.approx(-2 * np.log(1e290), rel=1e-9)


@pytest.mark.parametrize("values", ["constant", "two values"])
def test_fitted_normal_target_of_a_column_without_spread_is_finite(values):
    x = np.full(50, 7.0) if values == "constant" else np.repeat([1.0, 2.0], 25)
    density = HistogramDensity(shrinkage="auto", shrinkage_target="fitted_normal").fit(x)
    assert np.isfinite(density.shrinkage_)
    assert np.isfinite(density.logpdf(np.array([-1e6, 1.0, 7.0, 1e6]))).all()


@pytest.mark.parametrize(
    "parameter, before",
    [("shrinkage_target", "standard_normal"), ("smooth", False)],
    ids=["shrinkage towards N(0, 1)", "straight bins"],
)
def test_histograms_pickled_before_a_parameter_get_what_they_did_then(parameter, before):
    density = HistogramDensity(shrinkage="auto").fit(_samples("skewed", n=300))
    state = density.__getstate__()
    del state[parameter]
    old = HistogramDensity.__new__(HistogramDensity)
    old.__setstate__(state)
    assert getattr(old, parameter) == before
    assert old.get_params() == density.get_params()


@pytest.mark.parametrize("data", ["normal", "far"])
def test_fully_shrunk_histograms_keep_every_bin_positive(data):
    # With shrinkage near one, bins where the normal has no mass (far from
    # zero) keep the weight of the counts: the cap n / (n + 1).
    rng = np.random.RandomState(0)
    x = rng.standard_normal(300) if data == "normal" else 50.0 + rng.standard_normal(300)
    density = HistogramDensity(tails="normal", shrinkage="auto", alpha=0.0).fit(x)
    assert 0.0 <= density.shrinkage_ <= 300 / 301
    assert np.all(density.cdf_.masses > 0)
    assert np.isfinite(density.logpdf(np.linspace(x.min() - 100, x.max() + 100, 1001))).all()


@pytest.mark.parametrize("shrinkage", [1.0, -0.1, "james-stein"])
def test_histogram_shrinkage_is_validated(shrinkage):
    with pytest.raises(ValueError, match="shrinkage"):
        HistogramDensity(shrinkage=shrinkage).fit(np.arange(10.0))


def test_histograms_pickled_before_the_shrinkage_parameter_are_not_shrunk():
    x = _samples("skewed", n=300)
    density = HistogramDensity().fit(x)
    state = density.__getstate__()
    del state["shrinkage"], state["shrinkage_"]
    old = HistogramDensity.__new__(HistogramDensity)
    old.__setstate__(state)
    assert old.shrinkage is None and old.shrinkage_ == 0.0 and repr(old) == "HistogramDensity()"
    # Exact: the same fitted arrays and code, in one process.
    np.testing.assert_array_equal(old.logpdf(x), density.logpdf(x))
    unfitted = HistogramDensity().__getstate__()
    del unfitted["shrinkage"]
    fresh = HistogramDensity.__new__(HistogramDensity)
    fresh.__setstate__(unfitted)
    assert not hasattr(fresh, "shrinkage_")


def test_histogram_bin_masses_and_tails():
    x = np.random.RandomState(0).uniform(size=999)
    density = HistogramDensity(bins=4, alpha=1.0).fit(x)
    counts = np.histogram(x, bins=density.bin_edges_)[0]
    n = x.size
    bulk = 1 - 2 / (n + 1)
    width = np.diff(density.bin_edges_)[0]
    centers = density.bin_edges_[:-1] + width / 2
    np.testing.assert_allclose(density.pdf(centers), (counts + 1) / (counts + 1).sum() * bulk / width)
    # A new point falls below the minimum of n points with probability 1/(n+1).
    assert density.cdf([x.min()])[0] == pytest.approx(1 / (n + 1))
    assert density.sf([x.max()])[0] == pytest.approx(1 / (n + 1))
    # The tail density is continuous with the outer bins.
    assert density.pdf([x.min() - 1e-12])[0] == pytest.approx(density.pdf([x.min() + 1e-12])[0], rel=1e-6)


@pytest.mark.parametrize("rule", ["auto", "sqrt", "sturges", "fd"])
def test_histogram_rules_are_capped_by_outliers(rule):
    x = np.concatenate([np.random.RandomState(0).standard_normal(1000), [1e9]])
    density = HistogramDensity(bins=rule).fit(x)
    assert 1 <= density.n_bins_ <= x.size // 2
    assert np.isfinite(density.logpdf([0.0, 1e9, 1e12])).all()


def test_histogram_rules_follow_numpy_on_plain_data():
    x = np.random.RandomState(0).standard_normal(5000)
    for rule in ("auto", "sqrt", "sturges", "fd"):
        assert HistogramDensity(bins=rule).fit(x).n_bins_ == len(np.histogram_bin_edges(x, rule)) - 1


def test_histogram_without_pseudo_counts_keeps_positive_density():
    x = np.concatenate([np.zeros(50), np.ones(50)])
    density = HistogramDensity(bins=10, alpha=0.0).fit(x)
    assert np.all(np.isfinite(density.logpdf(np.linspace(-1, 2, 301))))


# ---------------------------------------------------------------- spline
def test_spline_interpolates_the_empirical_cdf_at_knots():
    x = np.random.RandomState(0).standard_normal(2500)
    density = SplineDensity(n_knots=11).fit(x)
    n = x.size
    ecdf = np.searchsorted(np.sort(x), density.knots_, side="right") / n
    inner = slice(1, -1)
    model = (density.cdf(density.knots_) - 1 / (n + 1)) / (1 - 2 / (n + 1))
    np.testing.assert_allclose(model[inner], ecdf[inner], atol=1 / n)


def test_spline_density_is_continuous_at_knots():
    x = np.random.RandomState(0).gamma(2.0, size=3000)
    density = SplineDensity().fit(x)
    knots = density.knots_[1:-1]
    left = density.pdf(knots - 1e-9 * np.abs(knots))
    right = density.pdf(knots + 1e-9 * np.abs(knots))
    np.testing.assert_allclose(left, right, rtol=1e-5)


def test_spline_merges_tied_knots():
    x = np.random.RandomState(0).poisson(1.0, size=1000).astype(float)
    density = SplineDensity(n_knots=50).fit(x)
    assert density.n_knots_ <= np.unique(x).size
    assert np.all(np.diff(density.knots_) > 0)
    assert np.all(np.isfinite(density.logpdf(np.unique(x))))


def test_spline_beats_histogram_on_u_shaped_density():
    rng = np.random.RandomState(0)
    dist = stats.beta(0.5, 0.5)
    x, x_test = dist.rvs(3000, random_state=rng), dist.rvs(20000, random_state=rng)
    spline = SplineDensity().fit(x).logpdf(x_test).mean()
    histogram = HistogramDensity().fit(x).logpdf(x_test).mean()
    assert spline > histogram


def test_gaussian_density_of_tiny_values():
    x = np.random.RandomState(0).standard_normal(100) * 1e-160
    density = GaussianDensity().fit(x)
    assert density.scale_ == pytest.approx(np.std(x * 1e160) * 1e-160)


def test_tail_quantiles_stay_finite(density_class):
    density = density_class().fit(_samples("normal"))
    x = density._from_normal(np.array([-1e3, -38.0, 38.0, 1e3]))
    assert np.all(np.isfinite(x)) and np.all(np.diff(x) >= 0)
