"""Known densities: samples and exact log densities agree."""

import numpy as np
import pytest
from scipy import stats

from destructors import MarginalDestructor
from destructors.datasets import (
    BENCHMARKS,
    MIXED_BENCHMARKS,
    Banana,
    Checkerboard,
    CorrelatedGaussian,
    GaussianRing,
    TwoMoons,
    load_benchmark,
    load_mixed_benchmark,
)

TWO_D = [Banana(), GaussianRing(), Checkerboard(), TwoMoons(n_grid=300)]
BOXES = {"Banana": ((-6, 6), (-4, 36)), "GaussianRing": ((-3, 3), (-3, 3)), "Checkerboard": ((-2.5, 2.5), (-2.5, 2.5)), "TwoMoons": ((-2, 3), (-1.5, 2))}


@pytest.mark.parametrize("density", TWO_D, ids=repr)
def test_log_density_integrates_to_one(density):
    (a, b), (c, d) = BOXES[type(density).__name__]
    n = 600
    x, y = a + (b - a) * (np.arange(n) + 0.5) / n, c + (d - c) * (np.arange(n) + 0.5) / n
    points = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1).reshape(-1, 2)
    cell = (b - a) * (d - c) / n**2
    assert np.exp(density.log_density(points)).sum() * cell == pytest.approx(1.0, abs=5e-3)


@pytest.mark.parametrize("density", TWO_D + [CorrelatedGaussian()], ids=repr)
def test_samples_follow_the_density(density):
    # Independent samples agree on the mean log density, and moving them
    # away from where the density puts its mass lowers it.
    X = density.sample(20000, random_state=0)
    log_p = density.log_density(X)
    assert np.all(np.isfinite(log_p))
    other = density.sample(20000, random_state=1)
    np.testing.assert_allclose(np.mean(log_p), np.mean(density.log_density(other)), atol=0.05)
    shifted = X + 0.5
    assert np.mean(density.log_density(shifted)) < np.mean(log_p) - 0.1


def test_banana_and_gaussian_entropies():
    X = Banana().sample(200000, random_state=0)
    expected = -(stats.norm.entropy() + stats.norm(scale=0.5).entropy())
    assert Banana().log_density(X).mean() == pytest.approx(expected, abs=0.01)
    gaussian = CorrelatedGaussian()
    X = gaussian.sample(200000, random_state=0)
    assert gaussian.log_density(X).mean() == pytest.approx(-gaussian._distribution().entropy(), abs=0.02)


def test_checkerboard_samples_only_dark_squares():
    X = Checkerboard().sample(5000, random_state=0)
    cells = np.floor(X + 2.0).astype(int)
    assert np.all(cells.sum(axis=1) % 2 == 0)
    assert np.all(np.abs(X) <= 2)
    assert Checkerboard().log_density(np.array([[0.5, -0.5]]))[0] == -np.inf


def test_two_moons_density_is_the_generator_mixture():
    moons = TwoMoons(n_grid=500, noise=0.1)
    from sklearn.datasets import make_moons

    grid = make_moons(500, noise=0.0, shuffle=False)[0]
    point = np.array([[0.3, 0.7]])
    expected = np.log(np.mean(stats.multivariate_normal.pdf(point - grid, mean=[0, 0], cov=0.01)))
    assert moons.log_density(point)[0] == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(set(BENCHMARKS) - {"randhie"}))
def test_load_benchmark_is_deterministic(name):
    first, second = load_benchmark(name, n_train=400), load_benchmark(name, n_train=400)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(first.X_train, second.X_train)
    np.testing.assert_array_equal(first.X_test, second.X_test)
    assert first.X_train.shape[1] == first.X_test.shape[1]
    if first.log_density is not None:
        assert first.X_train.shape[0] == 400 and first.X_test.shape[0] == 100
        assert np.all(np.isfinite(first.log_density(first.X_test)))


def test_digits_split_matches_the_reference_protocol():
    data = load_benchmark("digits")
    assert data.X_train.shape == (1257, 64) and data.X_test.shape == (540, 64)
    assert 0 <= data.X_train.min() and data.X_train.max() < 1


def test_unknown_benchmark():
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        load_benchmark("nope")


def test_randhie_is_an_optional_real_table():
    pytest.importorskip("statsmodels")
    data = load_benchmark("randhie")
    assert data.X_train.shape == (14133, 10) and data.X_test.shape == (6057, 10)
    # Discrete columns were dequantized: no ties left in them.
    assert all(np.unique(data.X_train[:, j]).size > 0.9 * len(data.X_train) for j in range(10))
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MIXED_BENCHMARKS))
def test_mixed_tables_split_with_the_kinds_auto_reads(name):
    import importlib.util

    pd = pytest.importorskip("pandas")
    if importlib.util.find_spec(MIXED_BENCHMARKS[name][1]) is None:
        pytest.skip(f"the {name} table ships with {MIXED_BENCHMARKS[name][1]}, an optional benchmark package")
    data, again = load_mixed_benchmark(name), load_mixed_benchmark(name)
    # Exact: the same table and seed, in one process.
    pd.testing.assert_frame_equal(data.X_test, again.X_test)
    n = len(data.X_train) + len(data.X_test)
    assert abs(len(data.X_test) - 0.3 * n) <= 1 and not data.X_train.isna().any().any()
    declared = {**dict.fromkeys(data.discrete, "discrete"), **dict.fromkeys(data.categorical, "categorical"),
                **dict.fromkeys(data.continuous, "continuous")}
    model = MarginalDestructor().fit(data.X_train)
    assert list(model.feature_kinds_) == [declared[c] for c in data.X_train.columns]
    # Every held-out value is on its column's training grid, every label seen in fit.
    assert np.all(np.isfinite(model.score_samples(data.X_test)))


def test_unknown_mixed_benchmark():
    with pytest.raises(ValueError, match="unknown mixed benchmark 'nope'"):
        load_mixed_benchmark("nope")


def test_student_t_and_gaussian_mixture_densities():
    from destructors.datasets import GaussianMixture, StudentT

    # Sample log densities agree on independent draws, and the Student-t
    # entropy matches scipy's closed form.
    t = StudentT()
    X = t.sample(100000, random_state=0)
    assert -t.log_density(X).mean() == pytest.approx(t._distribution().entropy(), abs=0.05)
    mixture = GaussianMixture()
    X, other = mixture.sample(20000, random_state=0), mixture.sample(20000, random_state=1)
    np.testing.assert_allclose(mixture.log_density(X).mean(), mixture.log_density(other).mean(), atol=0.06)
    # The density of a point far from every component is far below that of the data.
    assert mixture.log_density(np.full((1, 10), 30.0))[0] < mixture.log_density(X).min()
