"""GaussianDestructor: whitening plus the normal CDF."""

import numpy as np
import pytest
from scipy import stats

from destructors import GaussianDestructor


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    cov = np.array([[2.0, 0.8, 0.1], [0.8, 1.0, -0.3], [0.1, -0.3, 0.5]])
    return rng.multivariate_normal([1.0, -2.0, 0.0], cov, size=3000)


def test_density_is_the_fitted_multivariate_normal(X):
    model = GaussianDestructor(reg_covar=0.0).fit(X)
    np.testing.assert_allclose(model.covariance_, np.cov(X.T, bias=True), rtol=1e-9)
    reference = stats.multivariate_normal(X.mean(0), np.cov(X.T, bias=True))
    np.testing.assert_allclose(model.score_samples(X[:50]), reference.logpdf(X[:50]), rtol=1e-9)


def test_output_is_white(X):
    Z = GaussianDestructor(output_distribution="normal").fit_transform(X)
    np.testing.assert_allclose(np.cov(Z.T, bias=True), np.eye(3), atol=1e-5)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_scale_invariance(X, scale):
    base = GaussianDestructor(output_distribution="normal").fit(X)
    scaled = GaussianDestructor(output_distribution="normal").fit(X * scale)
    np.testing.assert_allclose(scaled.transform(X * scale), base.transform(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(scaled.score_samples(X * scale), base.score_samples(X) - 3 * np.log(scale), rtol=1e-9)


def test_singular_covariances_stay_finite():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(50)
    cases = {
        "duplicate": np.column_stack([x, x]),
        "collinear": np.column_stack([x, 2 * x + 1, rng.standard_normal(50)]),
        "constant": np.column_stack([x, np.full(50, 4.0)]),
        "d > n": rng.standard_normal((5, 20)),
    }
    for name, data in cases.items():
        model = GaussianDestructor(output_distribution="normal").fit(data)
        assert np.all(np.isfinite(model.score_samples(data))), name
        np.testing.assert_allclose(model.inverse_transform(model.transform(data)), data, atol=1e-7, err_msg=name)


def test_regularization_shrinks_correlation():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(200)
    X = np.column_stack([x, x + 1e-3 * rng.standard_normal(200)])
    weak = GaussianDestructor(reg_covar=1e-6).fit(X)
    strong = GaussianDestructor(reg_covar=1.0).fit(X)
    corr = lambda m: m.covariance_[0, 1] / np.sqrt(m.covariance_[0, 0] * m.covariance_[1, 1])
    assert corr(strong) < corr(weak) < 1.0


def test_correlation_covariance_fits_unit_variances_and_the_sample_correlation(X):
    model = GaussianDestructor(reg_covar=0.0, covariance="correlation").fit(X)
    correlation = np.corrcoef(X.T)
    np.testing.assert_allclose(model.covariance_, correlation, rtol=1e-9, atol=1e-12)
    reference = stats.multivariate_normal(X.mean(0), correlation)
    np.testing.assert_allclose(model.score_samples(X[:50]), reference.logpdf(X[:50]), rtol=1e-9)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X[:50])), X[:50], rtol=1e-10)


def test_correlation_covariance_does_not_stretch_a_squeezed_feature():
    # A feature of variance 0.9 (a marginal layer's output is slightly
    # squeezed): the sample covariance stretches it back, the correlation not.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((4000, 2)) * np.sqrt([0.9, 1.0])
    far = np.array([[8.0, 0.0]])
    sample = GaussianDestructor(output_distribution="normal").fit(X)
    correlation = GaussianDestructor(covariance="correlation", output_distribution="normal").fit(X)
    assert sample.transform(far)[0, 0] > 8.3
    assert abs(correlation.transform(far)[0, 0] - 8.0) < 0.1


def test_gaussian_pickled_before_the_covariance_parameter_fits_the_sample_covariance(X):
    model = GaussianDestructor().fit(X)
    state = model.__getstate__()
    del state["covariance"]
    old = GaussianDestructor.__new__(GaussianDestructor)
    old.__setstate__(state)
    assert old.covariance == "sample" and repr(old) == "GaussianDestructor()"
    # Exact: the same fitted arrays and code, in one process.
    np.testing.assert_array_equal(old.score_samples(X[:20]), model.score_samples(X[:20]))
