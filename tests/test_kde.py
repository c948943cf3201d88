"""The Gaussian kernel density estimate: accuracy against brute force, tails, inverse."""

import pickle

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity

from benchmarks.bench_kde import brute_force
from destructors import KDEDensity, MarginalDestructor
from destructors._normal import LOG_SQRT_2PI
from destructors.univariate import spread_floor
from destructors.validation import check_destructor

# Measured worst error is 3e-11 (log space); the documented bound is 1e-10.
TOLERANCE = 1e-10


def _data(kind, n, seed=0):
    rng = np.random.RandomState(seed)
    if kind == "normal":
        return rng.standard_normal(n)
    if kind == "bimodal":
        return np.where(rng.uniform(size=n) < 0.3, rng.normal(-3, 0.3, n), rng.normal(1, 1, n))
    if kind == "exponential":
        return rng.exponential(size=n)
    if kind == "cauchy":
        return rng.standard_cauchy(n)
    if kind == "ties":
        return rng.poisson(2.0, size=n).astype(float)
    if kind == "discrete":  # well-separated values: many gaps, each its own tails
        return 10.0 * rng.randint(0, 20, size=n)
    if kind == "near_ties":  # distinct values 1e-12 apart at the lower edge
        return np.concatenate([rng.standard_normal(n - 20), -4.0 + 1e-12 * np.arange(20)])
    if kind == "constant":
        return np.full(n, 2.5)
    raise ValueError(kind)


def _test_points(x, h, rng):
    """Points in the bulk, near the edges (0 to 14 bandwidths out) and far out."""
    lo, hi = x.min(), x.max()
    span = max(hi - lo, h)
    return np.concatenate(
        [
            rng.choice(x, 600) + rng.normal(0.0, h, 600),
            rng.uniform(lo - h, hi + h, 400),
            lo - rng.uniform(0.0, 14.0, 200) * h,
            hi + rng.uniform(0.0, 14.0, 200) * h,
            [lo - 50 * h, hi + 50 * h, lo - 10 * span, hi + 10 * span, lo - 1e4 * span, hi + 1e4 * span],
        ]
    )


def _assert_close_to_brute_force(density, x, points):
    h = density.bandwidth_
    expected = brute_force(np.sort(x), h, points)
    got = [density.logpdf(points), density.logcdf(points), density.logsf(points)]
    for name, a, b in zip(["logpdf", "logcdf", "logsf"], got, expected):
        assert np.all(np.isfinite(a)), name
        # Absolute error of the log (relative error of the value), relative
        # error of the log where it is huge (far tails).
        error = np.abs(a - b) / np.maximum(1.0, np.abs(b))
        worst = int(np.argmax(error))
        assert error[worst] <= TOLERANCE, (
            f"{name} off by {error[worst]:.3g} at x={points[worst]!r} (h={h:.4g}): "
            f"{a[worst]!r} vs {b[worst]!r}"
        )


@pytest.mark.parametrize(
    "kind", ["normal", "bimodal", "exponential", "cauchy", "ties", "discrete", "near_ties", "constant"]
)
@pytest.mark.parametrize("bandwidth", ["scott", "silverman", 0.02, 3.0])
def test_matches_brute_force(kind, bandwidth):
    x = _data(kind, 2000)
    density = KDEDensity(bandwidth=bandwidth).fit(x)
    _assert_close_to_brute_force(density, x, _test_points(x, density.bandwidth_, np.random.RandomState(1)))


@pytest.mark.parametrize("kind", ["normal", "bimodal", "exponential", "cauchy"])
def test_matches_brute_force_on_larger_data(kind):
    # 20000 points: the tabulated grid carries most points, FFT blocks included.
    x = _data(kind, 20000, seed=2)
    density = KDEDensity().fit(x)
    assert density.kde_.n_nodes > 0
    rng = np.random.RandomState(3)
    _assert_close_to_brute_force(density, x, rng.permutation(_test_points(x, density.bandwidth_, rng))[:800])


def test_small_bandwidth_on_wide_data_stays_accurate():
    # Far more bandwidths than the node budget: the densest buckets get the
    # grid, the rest is summed directly; both must agree with brute force.
    x = _data("normal", 40000, seed=4)
    density = KDEDensity(bandwidth=1e-4).fit(x)
    assert 0 < density.kde_.n_nodes <= 2 * max(1 << 16, x.size)
    rng = np.random.RandomState(5)
    points = np.concatenate([rng.choice(x, 200) + rng.normal(0, 1e-4, 200), rng.uniform(-4, 4, 200)])
    expected = brute_force(np.sort(x), density.bandwidth_, points)
    for a, b in zip([density.logpdf(points), density.logcdf(points), density.logsf(points)], expected):
        assert np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))) <= TOLERANCE


def test_far_tail_log_density_is_exact_gaussian_tail():
    # Far beyond the data only the extreme points matter:
    # log f(x) -> log(1/n) + log phi((x - x_max)/h) - log h, to rounding.
    x = _data("normal", 1000)
    density = KDEDensity(bandwidth=0.3).fit(x)
    points = x.max() + np.array([1e2, 1e4, 1e6])
    expected = -np.log(x.size) - 0.5 * ((points - x.max()) / 0.3) ** 2 - LOG_SQRT_2PI - np.log(0.3)
    np.testing.assert_allclose(density.logpdf(points), expected, rtol=1e-12)
    assert np.all(np.isfinite(density.logpdf([-1e300, 1e300])))
    assert np.all(np.isfinite(density.logcdf([-1e300, 1e300])))
    assert np.all(np.isfinite(density.logsf([-1e300, 1e300])))


def test_agrees_with_scikit_learn_kernel_density():
    x = _data("bimodal", 3000)
    density = KDEDensity(bandwidth="silverman").fit(x)
    reference = KernelDensity(bandwidth=density.bandwidth_).fit(x[:, None])
    points = np.linspace(x.min() - 3, x.max() + 3, 2001)
    np.testing.assert_allclose(density.logpdf(points), reference.score_samples(points[:, None]), rtol=1e-11)


@pytest.mark.parametrize(
    "kind", ["normal", "bimodal", "exponential", "cauchy", "ties", "discrete", "constant"]
)
def test_round_trip_through_the_gaussian_view(kind):
    x = _data(kind, 3000)
    density = KDEDensity().fit(x)
    h = density.bandwidth_
    sd, span = max(x.std(), h), max(np.ptp(x), h)
    rng = np.random.RandomState(6)
    # Points within 6 bandwidths of the data or beyond its extremes; inside a
    # wide gap the CDF is flat to double precision (see the next test).
    near = (rng.choice(x, 600) + rng.uniform(-6.0, 6.0, 600) * h)
    points = np.concatenate(
        [
            x[:300],
            near,
            [x.min() - 20 * sd, x.max() + 20 * sd],
            [x.min() - 10 * span, x.max() + 10 * span, x.min() - 1e8, x.max() + 1e8],
        ]
    )
    z, log_dz = density._to_normal(points)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(log_dz))
    back = density._from_normal(z)
    scale = np.maximum(np.abs(points), h)
    assert np.max(np.abs(back - points) / scale) <= 1e-8


def test_points_inside_a_wide_gap_map_into_the_same_gap():
    # Between clusters 1000 bandwidths apart the CDF is the mass on the left
    # up to e^-(500^2 / 2): in float64 it is flat there, so the transform of
    # such a point keeps only that mass, and the inverse returns a point of
    # the same gap with the same CDF, and a finite log density.
    rng = np.random.RandomState(0)
    x = np.concatenate([rng.normal(0.0, 1.0, 500), rng.normal(1e3, 1.0, 500)])
    density = KDEDensity(bandwidth=1.0).fit(x)
    points = np.array([200.0, 500.0, 800.0])
    z, log_dz = density._to_normal(points)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(log_dz))
    back = density._from_normal(z)
    assert np.all((back > x[x < 500].max() + 6) & (back < x[x > 500].min() - 6))
    np.testing.assert_allclose(density.cdf(back), density.cdf(points), rtol=1e-15)
    np.testing.assert_allclose(density.cdf(points), 0.5, rtol=1e-15)


def test_quantiles_far_in_the_tails():
    density = KDEDensity().fit(_data("exponential", 2000))
    log_q = np.array([-1e5, -700.0, -50.0, -1e-3])
    x = density._ppf_log(log_q)
    np.testing.assert_allclose(density.logcdf(x), log_q, rtol=1e-12)
    x = density._isf_log(log_q)
    np.testing.assert_allclose(density.logsf(x), log_q, rtol=1e-12)
    assert np.all(np.diff(density.ppf([0.0, 0.5, 1.0])) > 0)
    assert density.ppf([0.0])[0] == -np.inf and density.ppf([1.0])[0] == np.inf


def test_log_density_finite_ten_ranges_out():
    for kind in ("normal", "discrete", "cauchy"):
        x = _data(kind, 500)
        density = KDEDensity().fit(x)
        far = np.array([x.min() - 10 * np.ptp(x), x.max() + 10 * np.ptp(x)])
        for values in (density.logpdf(far), density.logcdf(far), density.logsf(far)):
            assert np.all(np.isfinite(values))


def test_cdf_is_monotone_across_the_evaluation_paths():
    # Grid, direct sums and tail clusters meet 6 bandwidths from the data.
    x = _data("exponential", 5000)
    density = KDEDensity().fit(x)
    h = density.bandwidth_
    points = np.sort(np.concatenate([np.linspace(x.min() - 20 * h, x.max() + 20 * h, 20001),
                                     x.max() + 6 * h + np.linspace(-1e-9, 1e-9, 101)]))
    log_cdf, log_sf = density.logcdf(points), density.logsf(points)
    assert np.all(np.diff(log_cdf) >= -1e-13 * np.abs(log_cdf[1:]))
    assert np.all(np.diff(log_sf) <= 1e-13 * np.abs(log_sf[1:]))


def test_bandwidth_rules():
    x = _data("bimodal", 4000)
    n, sigma = x.size, x.std()
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    assert KDEDensity().fit(x).bandwidth_ == pytest.approx((4 / 3) ** 0.2 * sigma * n**-0.2)
    silverman = KDEDensity(bandwidth="silverman").fit(x).bandwidth_
    assert silverman == pytest.approx(0.9 * min(sigma, iqr / 1.349) * n**-0.2)
    assert KDEDensity(bandwidth=0.7).fit(x).bandwidth_ == 0.7


def test_degenerate_spread_gets_a_floor():
    # More than half the values tied: IQR = 0, Silverman falls back to sigma.
    x = np.concatenate([np.zeros(800), np.arange(1.0, 201.0)])
    n = x.size
    assert KDEDensity(bandwidth="silverman").fit(x).bandwidth_ == pytest.approx(0.9 * x.std() * n**-0.2)
    # A constant feature has no spread: the bandwidth is the library's floor.
    constant = np.full(50, 1e3)
    for rule in ("scott", "silverman"):
        density = KDEDensity(bandwidth=rule).fit(constant)
        assert density.bandwidth_ == pytest.approx(float(spread_floor(constant)))
        assert np.all(np.isfinite(density.logpdf([1e3, 0.0, -1e9])))
    # A bandwidth below the resolution of the positions is raised to it.
    assert KDEDensity(bandwidth=1e-300).fit(constant).bandwidth_ == pytest.approx(1e-7)


@pytest.mark.parametrize("bandwidth", [0.0, -1.0, "auto", None])
def test_invalid_bandwidth_raises(bandwidth):
    with pytest.raises(ValueError, match="bandwidth"):
        KDEDensity(bandwidth=bandwidth).fit(np.arange(10.0))


def test_results_do_not_depend_on_the_batch():
    x = _data("cauchy", 3000)
    density = KDEDensity().fit(x)
    rng = np.random.RandomState(7)
    points = np.concatenate([rng.choice(x, 500), rng.uniform(-1e4, 1e4, 500)])
    whole = density.logpdf(points)
    parts = np.concatenate([density.logpdf(points[i : i + 37]) for i in range(0, points.size, 37)])
    np.testing.assert_allclose(parts, whole, rtol=1e-13)
    shuffled = rng.permutation(points.size)
    np.testing.assert_allclose(density.logcdf(points[shuffled]), density.logcdf(points)[shuffled], rtol=1e-13)


def test_pickle_round_trip():
    density = KDEDensity().fit(_data("normal", 500))
    clone = pickle.loads(pickle.dumps(density))
    points = np.linspace(-6, 6, 50)
    # Exact: a loaded model runs the same operations, in one process.
    np.testing.assert_array_equal(clone.logpdf(points), density.logpdf(points))


def test_marginal_destructor_passes_the_property_suite():
    check_destructor(MarginalDestructor(KDEDensity()))
