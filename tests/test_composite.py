"""CompositeDestructor and IdentityDestructor."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from destructors import (
    CompositeDestructor,
    GaussianDestructor,
    HistogramDensity,
    IdentityDestructor,
    MarginalDestructor,
)


@pytest.fixture
def X():
    rng = np.random.RandomState(0)
    base = rng.standard_normal((1200, 2))
    return np.column_stack([np.exp(base[:, 0]), base[:, 0] + 0.5 * base[:, 1]])


def _copula():
    return CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())])


def test_log_dets_of_the_steps_add_up(X):
    model = _copula().fit(X)
    marginal, gaussian = model.layers_
    Z1, log_det1 = marginal._forward(X)
    Z2, log_det2 = gaussian._forward(Z1)
    expected = -0.5 * (Z2**2).sum(1) - np.log(2 * np.pi) + log_det1 + log_det2
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-12)
    np.testing.assert_allclose(model.transform(X), model._to_output(Z2))


def test_fitted_layers_use_the_gaussian_view(X):
    model = _copula().fit(X)
    assert [layer.output_distribution for layer in model.layers_] == ["normal", "normal"]
    # The templates are untouched.
    assert model.steps[0][1].output_distribution == "uniform"
    assert not hasattr(model.steps[0][1], "densities_")
    # Each fitted layer works on its own exactly as inside the stack.
    Z1 = model.layers_[0].transform(X)
    np.testing.assert_allclose(model.layers_[1].inverse_transform(model.layers_[1].transform(Z1)), Z1, atol=1e-10)


def test_copula_beats_independent_marginals_on_correlated_data(X):
    train, test = X[:800], X[800:]
    assert _copula().fit(train).score(test) > MarginalDestructor().fit(train).score(test) + 0.1


def test_scaler_pipeline_versus_composite(X):
    # scikit-learn's Pipeline scores the last step on scaled data, without the
    # scaler's log-determinant; the composite scores the original data.
    pipeline = Pipeline([("scale", StandardScaler()), ("density", GaussianDestructor())]).fit(X)
    composite = GaussianDestructor().fit(X)
    gap = composite.score_samples(X) - pipeline.score_samples(X)
    np.testing.assert_allclose(gap, -np.log(X.std(0)).sum(), rtol=1e-9)


def test_grid_search_reaches_nested_parameters(X):
    search = GridSearchCV(_copula(), {"marginal__density": [HistogramDensity(bins=3), HistogramDensity(bins=40)]}, cv=3)
    search.fit(X)
    assert search.best_params_["marginal__density"].bins == 40
    params = _copula().get_params()
    assert "marginal__density" in params and "gaussian__reg_covar" in params


def test_set_params_reaches_steps(X):
    model = _copula().set_params(gaussian__reg_covar=0.5)
    assert model.steps[1][1].reg_covar == 0.5
    assert clone(model).get_params()["gaussian__reg_covar"] == 0.5


def test_canonical_first_step_sets_the_domain():
    U = np.random.RandomState(0).uniform(size=(100, 2))
    model = CompositeDestructor([("a", IdentityDestructor()), ("b", IdentityDestructor())]).fit(U)
    np.testing.assert_allclose(model.transform(U), U, atol=1e-12)
    np.testing.assert_allclose(model.score_samples(U), 0.0, atol=1e-9)
    with pytest.raises(ValueError, match="unit cube"):
        model.transform(U + 2)


@pytest.mark.parametrize(
    "steps, error, message",
    [
        ([], ValueError, "at least one step"),
        ([("a", StandardScaler())], TypeError, "step 'a' must be a destructor"),
        ([("a", IdentityDestructor()), ("a", IdentityDestructor())], ValueError, "Names provided are not unique"),
    ],
)
def test_invalid_steps(steps, error, message):
    with pytest.raises(error, match=message):
        CompositeDestructor(steps).fit(np.random.RandomState(0).uniform(size=(10, 2)))


def test_identity_destructor_normal_input_is_standard_normal():
    from scipy import stats

    Z = np.random.RandomState(0).standard_normal((50, 3))
    identity = IdentityDestructor(input_distribution="normal").fit(Z)
    np.testing.assert_allclose(identity.score_samples(Z), stats.norm.logpdf(Z).sum(1))
    np.testing.assert_allclose(identity.transform(Z), stats.norm.cdf(Z))
