"""The mixed-table benchmark and its baselines (benchmarks/bench_mixed.py, benchmarks/baselines_mixed.py)."""

import importlib.util
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.utils import Bunch

from benchmarks import bench_mixed
from destructors import MarginalDestructor
from benchmarks.baselines_mixed import DequantizedGaussianMixture, MixedVine, log_box_probability

pd = pytest.importorskip("pandas")


def _table(n, seed=0):
    """Counts, a label that depends on them, and a measurement that depends on both."""
    rng = np.random.RandomState(seed)
    count = rng.poisson(2.0, n)
    level = np.where(count + rng.normal(0, 1, n) > 2, "high", np.where(rng.uniform(size=n) < 0.5, "low", "mid"))
    height = count + (level == "high") + rng.normal(0, 0.5, n)
    return pd.DataFrame({"count": count, "level": pd.Categorical(level), "height": height})


def test_the_benchmark_runs_on_a_tiny_table_and_reports_every_model(monkeypatch):
    X = _table(200)
    data = Bunch(X_train=X.iloc[:150].reset_index(drop=True), X_test=X.iloc[150:].reset_index(drop=True),
                 discrete=["count"], categorical=["level"], continuous=["height"], description="tiny", name="tiny")
    # Fewer points than the benchmark's, to keep the test cheap.
    monkeypatch.setitem(bench_mixed.MODELS, "gaussian_mixture (dequantized)", lambda data: DequantizedGaussianMixture(
        data.discrete, data.categorical, n_points=256, n_select_points=64))
    models = bench_mixed.available_models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry = bench_mixed.bench_data(data, models, reference_points=256, quick=True, verbose=False)
    rows = {r["model"]: r for r in entry["rows"]}
    assert set(rows) == set(models)
    for row in rows.values():
        assert np.isfinite(row["test_log_likelihood"]) and row["n_infinite_rows"] == 0
    assert rows[bench_mixed.DEFAULT]["default_minus_model"] == 0.0
    # The columns depend on each other: the default model beats independence.
    assert rows["marginal (independence)"]["default_minus_model"] > 0
    error = entry["cell_error"]
    assert error["n_rows"] == 50 and error["mean_absolute"] < 0.05 and error["worst_max_absolute"] < 0.5
    assert entry["mixture_integral_error"]["max_absolute"] < 0.01
    text = _printed(bench_mixed._print_tables, {"quick": True, "environment": {
        "destructors": "x", "scikit-learn": "x", "numpy": "x"}, "tables": [entry]})
    assert "### tiny" in text and "| destructors default |" in text and "**Target:" in text


def _printed(function, *args):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args)
    return buffer.getvalue()


def test_the_default_model_must_read_the_declared_kinds():
    X = _table(200)
    model = MarginalDestructor().fit(X)
    declared = Bunch(X_train=X, discrete=["count"], categorical=["level"])
    bench_mixed._check_kinds(model, declared)
    with pytest.raises(RuntimeError, match="'auto' read the kinds"):
        bench_mixed._check_kinds(model, Bunch(X_train=X, discrete=["count", "level"], categorical=[]))


# ------------------------------------------------------ the mixture's integral
def test_box_probabilities_match_scipy():
    rng = np.random.RandomState(0)
    factor = rng.normal(size=(3, 3))
    covariance = factor @ factor.T + 0.3 * np.eye(3)
    mean = rng.normal(size=(4, 3))
    lower = rng.normal(size=(4, 3)) - 0.5
    upper = lower + rng.uniform(0.2, 1.5, size=(4, 3))
    points = stats.qmc.Sobol(3, scramble=True, seed=0).random(4096)
    got = log_box_probability(mean, np.linalg.cholesky(covariance), lower, upper, points)
    expected = [
        np.log(stats.multivariate_normal(m, covariance, abseps=1e-8, releps=1e-8, seed=0).cdf(u, lower_limit=lo))
        for m, lo, u in zip(mean, lower, upper)
    ]
    # Genz's own (randomized) integration is the reference: a few 1e-4 apart.
    np.testing.assert_allclose(got, expected, atol=2e-3)


def test_box_probabilities_keep_their_precision_far_in_a_tail():
    covariance = np.array([[1.0, 0.5], [0.5, 1.0]])
    points = stats.qmc.Sobol(2, scramble=True, seed=0).random(1024)
    lower, upper = np.array([[30.0, -40.0]]), np.array([[31.0, -39.0]])
    got = log_box_probability(np.zeros((1, 2)), np.linalg.cholesky(covariance), lower, upper, points)
    # The first coordinate's slab alone is stats.norm.logsf(30) ~ -454; the
    # second, given it, is far below: finite, not an underflow to -inf.
    assert np.isfinite(got[0]) and got[0] < stats.norm.logsf(30.0) - 100


def test_mixture_cell_probabilities_of_an_all_discrete_table_add_up_to_one():
    rng = np.random.RandomState(0)
    count = rng.poisson(2.0, 300)
    X = pd.DataFrame({"count": count, "other": count + rng.binomial(3, 0.5, 300)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DequantizedGaussianMixture(["count", "other"], [], n_points=64, n_select_points=64).fit(X)
    grid = np.arange(-12, 28)
    cells = pd.DataFrame({"count": np.repeat(grid, grid.size), "other": np.tile(grid, grid.size)})
    # Beyond the grid lie Gaussian tails about 8 standard deviations out.
    np.testing.assert_allclose(np.exp(model.score_samples(cells)).sum(), 1.0, atol=1e-5)


def test_mixture_density_of_a_mixed_table_integrates_to_one():
    """Continuous given discrete: integrate over the continuous column, sum over the cells."""
    rng = np.random.RandomState(0)
    count = rng.poisson(1.5, 300)
    X = pd.DataFrame({"count": count, "height": count + rng.normal(0, 0.7, 300)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # One cell coordinate: its box probability is exact with any number of points.
        model = DequantizedGaussianMixture(["count"], [], n_points=16, n_select_points=16).fit(X)
    grid, heights = np.arange(-6, 14), np.linspace(-8, 16, 961)
    rows = pd.DataFrame({"count": np.repeat(grid, heights.size), "height": np.tile(heights, grid.size)})
    density = np.exp(model.score_samples(rows)).reshape(grid.size, heights.size)
    # Trapezoid rule on a grid 0.025 wide: errors far below 1e-3 for components
    # as wide as these (standard deviations of 0.5 or more).
    np.testing.assert_allclose(np.trapezoid(density, heights, axis=1).sum(), 1.0, atol=1e-3)


def test_a_label_scores_the_probability_of_its_cell():
    X = _table(200)[["count", "level"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DequantizedGaussianMixture(["count"], ["level"], n_points=64, n_select_points=64).fit(X)
    grid = np.arange(-10, 25)
    labels = pd.Categorical(np.tile(["high", "low", "mid"], grid.size))
    cells = pd.DataFrame({"count": np.repeat(grid, 3), "level": labels})
    total = np.exp(model.score_samples(cells)).sum()
    # The boxes of the labels are three of the dummy lattice's cells: the
    # mixture also puts mass where no label is (two dummies in [1, 2)).
    assert 0.5 < total < 1.0
    with pytest.raises(ValueError, match="labels not seen in fit"):
        model.score_samples(pd.DataFrame({"count": [1], "level": ["other"]}))


# ------------------------------------------------------------------ the vine
def test_the_vine_scores_probabilities_of_discrete_values():
    if importlib.util.find_spec("pyvinecopulib") is None:
        pytest.skip("pyvinecopulib is an optional benchmark package")
    rng = np.random.RandomState(0)
    count = rng.poisson(2.0, 300)
    X = pd.DataFrame({"count": 2 * count, "other": count + rng.binomial(3, 0.5, 300)})
    supports = {"count": (0, 24), "other": (0, 15)}
    vine = MixedVine(["count", "other"], [], supports=supports).fit(X)
    grid_count, grid_other = np.arange(0, 25, 2), np.arange(0, 16)
    cells = pd.DataFrame({"count": np.repeat(grid_count, grid_other.size),
                          "other": np.tile(grid_other, grid_count.size)})
    # Counting measure on the values (the grid of spacing 2 included): masses add up to one.
    np.testing.assert_allclose(np.exp(vine.score_samples(cells)).sum(), 1.0, atol=1e-3)
