"""MarginalDestructor: a product of univariate densities."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from destructors import GaussianDensity, HistogramDensity, MarginalDestructor, SplineDensity


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    return np.column_stack([rng.standard_normal(800), rng.exponential(size=800), rng.uniform(size=800)])


@pytest.mark.parametrize("density", [HistogramDensity(), SplineDensity(), GaussianDensity()], ids=repr)
def test_density_is_product_of_marginals(X, density):
    model = MarginalDestructor(density).fit(X)
    assert len(model.densities_) == 3
    expected = sum(model.densities_[j].logpdf(X[:, j]) for j in range(3))
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-12)
    np.testing.assert_allclose(model.transform(X), np.column_stack([d.cdf(X[:, j]) for j, d in enumerate(model.densities_)]))


def test_template_is_cloned_not_fitted(X):
    template = HistogramDensity(bins=7)
    model = MarginalDestructor(template).fit(X)
    assert not hasattr(template, "cdf_")
    assert all(d is not template and d.n_bins_ == 7 for d in model.densities_)


def test_gaussian_density_marginal_matches_closed_form(X):
    from scipy import stats

    model = MarginalDestructor(GaussianDensity()).fit(X)
    expected = stats.norm(X.mean(0), X.std(0)).logpdf(X).sum(axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected)


def test_parallel_fit_matches_serial(X):
    serial = MarginalDestructor(SplineDensity()).fit(X)
    parallel = MarginalDestructor(SplineDensity(), n_jobs=2).fit(X)
    # Exact although the columns are fitted in worker processes: a univariate
    # fit is elementwise arithmetic, sorting and FFTs, with no BLAS product
    # whose rounding could depend on the process's thread count.
    np.testing.assert_array_equal(serial.score_samples(X), parallel.score_samples(X))


def test_grid_search_reaches_density_parameters(X):
    search = GridSearchCV(MarginalDestructor(HistogramDensity()), {"density__bins": [2, 30]}, cv=3).fit(X)
    assert search.best_params_ == {"density__bins": 30}
    assert np.isfinite(search.best_score_)


def test_invalid_density_parameter_is_reported(X):
    with pytest.raises(ValueError, match="'bins' parameter of HistogramDensity"):
        MarginalDestructor(HistogramDensity(bins=0)).fit(X)


def test_rejects_a_non_density(X):
    with pytest.raises(ValueError, match="'density' parameter of MarginalDestructor"):
        MarginalDestructor(density="histogram").fit(X)


@pytest.mark.parametrize(
    "density",
    [None, HistogramDensity(tails="normal", shrinkage="auto"), HistogramDensity(bins=7, alpha=0.0),
     HistogramDensity(bins="sqrt"), HistogramDensity(bins="fd", alpha=0.37, shrinkage=0.3), SplineDensity(), SplineDensity(tails="normal")],
    ids=repr,
)
@pytest.mark.filterwarnings("ignore:.*holds only 5 distinct values:UserWarning")
def test_all_columns_at_once_equal_column_by_column(density):
    # Histograms are fitted, and histograms and splines transformed, for all
    # columns together; the numbers must be those of each column alone, bit
    # for bit: constant, tied and offset columns, rows beyond the data (the
    # integer column is read as continuous here: this is the continuous path).
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.standard_normal(400), rng.exponential(size=400), np.full(400, 3.0),
                         rng.randint(0, 5, 400).astype(float), 1e8 + rng.standard_normal(400)])
    rows = np.vstack([X[:40], 40 * X[:5] - 7, -60 * X[:5], X[:3] + 1e-9])
    model = MarginalDestructor(density, output_distribution="normal", discrete_features=None).fit(X)
    template = HistogramDensity() if density is None else density
    for j, fitted in enumerate(model.densities_):
        alone = type(template)(**template.get_params()).fit(X[:, j])
        np.testing.assert_array_equal(fitted.cdf_.knots, alone.cdf_.knots)
        np.testing.assert_array_equal(fitted.cdf_.masses, alone.cdf_.masses)
    Z, log_det = model._forward(rows)
    expected_log_det = np.zeros(len(rows))
    for j, fitted in enumerate(model.densities_):
        z, log_dz = fitted._to_normal(rows[:, j])
        np.testing.assert_array_equal(Z[:, j], z)
        expected_log_det += log_dz
    np.testing.assert_array_equal(log_det, expected_log_det)
