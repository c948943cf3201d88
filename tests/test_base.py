"""The destructor contract of BaseDestructor: public methods, views, validation."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn import config_context
from sklearn.base import clone

from destructors import (
    CompositeDestructor,
    GaussianDestructor,
    HistogramDensity,
    IdentityDestructor,
    MarginalDestructor,
    SplineDensity,
)
from destructors.base import make_layer, resolve_random_state, scratch_random_state

REAL_DESTRUCTORS = [
    MarginalDestructor(),
    MarginalDestructor(SplineDensity()),
    GaussianDestructor(),
    CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]),
]
IDS = ["marginal-histogram", "marginal-spline", "gaussian", "composite"]


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((1500, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 2.0, 0.5], [0.0, 0.0, 0.2]])
    X[:, 0] = np.exp(X[:, 0])
    return X[:1000], X[1000:]


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_normal_and_uniform_views_agree(destructor, data):
    X_train, X_test = data
    uniform = clone(destructor).set_params(output_distribution="uniform").fit(X_train)
    normal = clone(destructor).set_params(output_distribution="normal").fit(X_train)
    U, Z = uniform.transform(X_test), normal.transform(X_test)
    assert U.min() >= 0 and U.max() <= 1
    np.testing.assert_allclose(stats.norm.cdf(Z), U, rtol=1e-10, atol=1e-14)
    # score_samples is the density of X whatever the output view.
    np.testing.assert_allclose(uniform.score_samples(X_test), normal.score_samples(X_test))


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_round_trip_20_sigma_out_along_each_axis(destructor, data):
    X_train, X_test = data
    model = clone(destructor).set_params(output_distribution="normal").fit(X_train)
    center, std = X_train.mean(axis=0), X_train.std(axis=0)
    far = np.vstack([center + sign * 20 * std * np.eye(3)[j] for j in range(3) for sign in (-1, 1)])
    rows = np.vstack([X_test, far])
    back = model.inverse_transform(model.transform(rows))
    np.testing.assert_allclose(back, rows, rtol=1e-8, atol=1e-8 * np.abs(rows).max())
    assert np.all(np.isfinite(model.score_samples(rows)))


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_finite_scores_ten_ranges_out(destructor, data):
    X_train, _ = data
    model = clone(destructor).fit(X_train)
    span = np.ptp(X_train, axis=0)
    far = np.vstack([X_train.min(axis=0) - 10 * span, X_train.max(axis=0) + 10 * span])
    assert np.all(np.isfinite(model.score_samples(far)))


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_fit_transform_score_and_sample(destructor, data):
    X_train, X_test = data
    model = clone(destructor)
    U = model.fit_transform(X_train)
    np.testing.assert_allclose(U, model.transform(X_train), rtol=1e-12)
    assert model.score(X_test) == pytest.approx(model.score_samples(X_test).mean())
    assert isinstance(model.score(X_test), float)
    samples = model.sample(7, random_state=3)
    assert samples.shape == (7, 3)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(samples, model.sample(7, random_state=3))


def test_sample_without_seed_leaves_global_rng_alone(data):
    model = GaussianDestructor().fit(data[0])
    state = np.random.get_state()[1].copy()
    first, second = model.sample(5), model.sample(5)
    # Exact: the global generator's state, integers.
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert not np.array_equal(first, second)


def test_resolve_random_state():
    rng = np.random.RandomState(1)
    assert resolve_random_state(rng) is rng
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(resolve_random_state(5).rand(3), np.random.RandomState(5).rand(3))
    state = np.random.get_state()[1].copy()
    resolve_random_state(None).rand(10)
    # Exact: the global generator's state, integers.
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_scratch_random_state_draws_as_a_new_one():
    # Exact: the same seed and operations, in one process.
    first = scratch_random_state(5).standard_normal(4)
    np.testing.assert_array_equal(first, np.random.RandomState(5).standard_normal(4))
    np.testing.assert_array_equal(scratch_random_state(np.int64(5)).standard_normal(4), first)
    rng = np.random.RandomState(1)
    assert scratch_random_state(rng) is rng
    state = np.random.get_state()[1].copy()
    scratch_random_state(None).rand(10)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_sample_rejects_bad_n_samples(bad, data):
    model = GaussianDestructor().fit(data[0])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        model.sample(bad)


def test_chunked_processing_matches_whole(data):
    X_train, X_test = data
    model = CompositeDestructor(
        [("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]
    ).fit(X_train)
    whole = (model.transform(X_test), model.score_samples(X_test), model.inverse_transform(model.transform(X_test)))
    # 1e-4 MiB of working memory forces chunks of a single row.
    with config_context(working_memory=1e-4):
        chunked = (model.transform(X_test), model.score_samples(X_test), model.inverse_transform(model.transform(X_test)))
        assert model.sample(4, random_state=0).shape == (4, 3)
    # Single rows go through BLAS matrix-vector kernels, which may round the
    # whitening's 3-term sums otherwise than a matrix product: equal to a few
    # ulps of the largest value (values near zero need the absolute part).
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13 * np.abs(a).max())


def test_unit_cube_input_is_checked():
    U = np.random.RandomState(0).uniform(size=(50, 2))
    identity = IdentityDestructor().fit(U)
    with pytest.raises(ValueError, match=r"IdentityDestructor with input_distribution='uniform' takes points of the unit cube"):
        identity.transform(U + 1.0)
    with pytest.raises(ValueError, match="unit cube"):
        IdentityDestructor().fit(U - 0.5)


def test_uniform_inverse_input_is_checked(data):
    model = GaussianDestructor().fit(data[0])
    with pytest.raises(ValueError, match=r"output_distribution='uniform' inverts points of the unit cube"):
        model.inverse_transform(np.full((2, 3), 1.5))
    # Faces of the cube map to finite points beyond the data, never to NaN.
    back = model.inverse_transform(np.array([[0.0, 0.5, 1.0], [0.0, 0.0, 0.0]]))
    assert np.all(np.isfinite(back))
    low = data[0].min(axis=0)
    assert back[0, 0] < low[0] and back[1, 0] < low[0]


def test_unit_input_faces_give_finite_scores():
    U = np.random.RandomState(0).uniform(size=(50, 2))
    identity = IdentityDestructor().fit(U)
    faces = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(identity.score_samples(faces), 0.0, atol=1e-12)


# ------------------------------------------------------------------ bad input
BAD_INPUTS = {
    "nan": (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), ValueError, "NaN"),
    "inf": (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), ValueError, "infinity"),
    "1-D": (np.arange(5.0), ValueError, "Expected 2D array"),
    "empty": (np.empty((0, 2)), ValueError, "0 sample"),
    "single sample": (np.array([[1.0, 2.0]]), ValueError, "1 sample"),
    "complex": (np.array([[1 + 1j, 2.0], [3.0, 4.0], [5.0, 6.0]]), ValueError, "Complex data not supported"),
    "sparse": (sp.csr_matrix(np.eye(3)), TypeError, "Sparse data was passed"),
    "object": (np.array([["a", 1.0], ["b", 2.0], ["c", 3.0]], dtype=object), ValueError, "could not convert"),
    "no features": (np.empty((5, 0)), ValueError, "0 feature"),
}


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_clear_error(destructor, case):
    X, error, message = BAD_INPUTS[case]
    if case == "object" and destructor._accepts_mixed_data:
        # A column of text is a categorical feature for these.
        assert list(clone(destructor).fit(X).feature_kinds_) == ["categorical", "discrete"]
        return
    with pytest.raises(error, match=message):
        clone(destructor).fit(X)


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_wrong_number_of_features(destructor, data):
    model = clone(destructor).fit(data[0])
    for method in (model.transform, model.score_samples, model.inverse_transform):
        with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
            method(np.zeros((4, 2)) + 0.5)


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_nan_at_transform_time(destructor, data):
    model = clone(destructor).fit(data[0])
    X = data[1][:3].copy()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.score_samples(X)


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_integer_float32_and_pandas_input(destructor):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X_int = rng.randint(0, 20, size=(300, 2))
    X_float = X_int.astype(np.float64)
    reference = clone(destructor).fit(X_float)
    for X in (X_int, X_float.astype(np.float32), pd.DataFrame(X_float, columns=["a", "b"])):
        model = clone(destructor).fit(X)
        scores = model.score_samples(X)
        assert scores.dtype == np.float64 and np.all(np.isfinite(scores))
        np.testing.assert_allclose(scores, reference.score_samples(X_float), rtol=1e-6)
    model = clone(destructor).set_output(transform="pandas").fit(pd.DataFrame(X_float, columns=["a", "b"]))
    out = model.transform(pd.DataFrame(X_float, columns=["a", "b"]))
    assert list(out.columns) == ["a", "b"]


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_constant_and_duplicated_columns(destructor):
    rng = np.random.RandomState(0)
    x = rng.standard_normal(400)
    X = np.column_stack([x, x, np.full(400, 3.0), rng.standard_normal(400)])
    model = clone(destructor).set_params(output_distribution="normal").fit(X)
    scores = model.score_samples(X)
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)), X, rtol=1e-7, atol=1e-7)
    assert np.all(np.isfinite(model.sample(20, random_state=0)))


@pytest.mark.parametrize("destructor", REAL_DESTRUCTORS, ids=IDS)
def test_heavily_duplicated_values(destructor):
    X = np.random.RandomState(0).poisson(0.3, size=(500, 2)).astype(float)
    model = clone(destructor).set_params(output_distribution="normal").fit(X)
    assert np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)), X, atol=1e-8)


def test_make_layer_sets_gaussian_view_and_seeds():
    template = CompositeDestructor([("identity", IdentityDestructor()), ("marginal", MarginalDestructor())])
    layer = make_layer(template, random_state=0)
    params = layer.get_params()
    assert params["output_distribution"] == "normal"
    assert template.get_params()["output_distribution"] == "uniform"
    assert layer.steps[0][1] is not template.steps[0][1]
    identity = make_layer(IdentityDestructor())
    assert identity.get_params()["input_distribution"] == "normal"


def test_make_layer_draws_every_nested_random_state():
    from sklearn.dummy import DummyClassifier  # any estimator with random_state

    class Holder(IdentityDestructor):
        def __init__(self, inner=None, random_state=None, *, input_distribution="uniform", output_distribution="uniform"):
            self.inner = inner
            self.random_state = random_state
            super().__init__(input_distribution=input_distribution, output_distribution=output_distribution)

    layer = make_layer(Holder(inner=DummyClassifier()), random_state=0)
    first = layer.get_params()
    assert isinstance(first["random_state"], int) and isinstance(first["inner__random_state"], int)
    again = make_layer(Holder(inner=DummyClassifier()), random_state=0).get_params()
    assert (first["random_state"], first["inner__random_state"]) == (again["random_state"], again["inner__random_state"])

    # The seeds are those check_random_state(0) draws, in the sorted order of the keys.
    rng = np.random.RandomState(0)
    assert [first["inner__random_state"], first["random_state"]] == [rng.randint(np.iinfo(np.int32).max) for _ in range(2)]
    # A RandomState instance is drawn from, as before.
    shared = np.random.RandomState(0)
    assert make_layer(Holder(inner=DummyClassifier()), random_state=shared).get_params()["inner__random_state"] == \
        first["inner__random_state"]
    rng = np.random.RandomState(0)
    rng.randint(np.iinfo(np.int32).max, size=2)
    assert shared.get_state()[2] == rng.get_state()[2]
    np.testing.assert_array_equal(shared.get_state()[1], rng.get_state()[1])


def test_parameter_names_are_read_once_per_class_and_follow_subclasses():
    class Wider(IdentityDestructor):
        def __init__(self, width=1, *, input_distribution="uniform", output_distribution="uniform"):
            self.width = width
            super().__init__(input_distribution=input_distribution, output_distribution=output_distribution)

    assert IdentityDestructor._get_param_names() == ["input_distribution", "output_distribution"]
    assert Wider._get_param_names() == ["input_distribution", "output_distribution", "width"]
    assert clone(Wider(width=3)).width == 3
    # Callers may change the list they get without changing the next one.
    Wider._get_param_names().append("mangled")
    assert "mangled" not in Wider().get_params()


def test_histogram_is_the_default_marginal_density(data):
    model = MarginalDestructor().fit(data[0])
    assert all(isinstance(d, HistogramDensity) for d in model.densities_)
