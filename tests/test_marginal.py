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
