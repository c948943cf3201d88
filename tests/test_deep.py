"""DeepDestructor and DeepDestructorCV, and the scikit-learn workflows they must support."""

import pickle

import joblib
import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from destructors import (
    CompositeDestructor,
    DeepDestructor,
    DeepDestructorCV,
    GaussianDestructor,
    HistogramDensity,
    IdentityDestructor,
    MarginalDestructor,
)


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(3000, noise=0.1, random_state=0)
    return X, y


def _layer():
    return CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())])


def test_fixed_depth_builds_that_many_layers(moons):
    X, _ = moons
    model = DeepDestructor(n_layers=4, random_state=0).fit(X)
    assert model.n_layers_ == 4 and len(model.layers_) == 5
    assert model.validation_scores_ is None and model.train_scores_.shape == (5,)
    # Each layer is a fitted clone with its own seed, working in the Gaussian view.
    assert all(layer.output_distribution == "normal" for layer in model.layers_)
    assert len({id(layer) for layer in model.layers_}) == 5


def test_early_stopping_keeps_the_best_depth(moons):
    X, _ = moons
    model = DeepDestructor(random_state=0, n_iter_no_change=3, max_layers=30).fit(X)
    scores = model.validation_scores_
    assert model.n_layers_ == int(np.argmax(scores))
    assert len(scores) <= model.n_layers_ + 3 + 1
    assert len(model.layers_) == model.n_layers_ + 1


def test_tol_stops_on_small_improvements(moons):
    X, _ = moons
    model = DeepDestructor(random_state=0, tol=1e3).fit(X)
    assert model.n_layers_ == 0


def test_refit_uses_all_rows(moons):
    X, _ = moons
    truncated = DeepDestructor(random_state=0).fit(X)
    refit = DeepDestructor(random_state=0, refit=True).fit(X)
    assert refit.n_layers_ == truncated.n_layers_
    # The refitted initial layer saw every row: its tail mass is 1 / (n + 1).
    assert refit.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / (len(X) + 1))
    n_fit = len(X) - int(np.ceil(0.1 * len(X)))
    assert truncated.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / (n_fit + 1))
    assert refit.train_scores_.shape == truncated.train_scores_.shape


def test_same_seed_same_model_and_global_rng_untouched(moons):
    X, _ = moons
    state = np.random.get_state()[1].copy()
    a = DeepDestructor(n_layers=3, random_state=7).fit(X).score_samples(X)
    b = DeepDestructor(n_layers=3, random_state=7).fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_list_of_templates_is_cycled(moons):
    X, _ = moons
    model = DeepDestructor([MarginalDestructor(), GaussianDestructor()], n_layers=4, random_state=0).fit(X)
    kinds = [type(layer).__name__ for layer in model.layers_]
    assert kinds == ["MarginalDestructor", "MarginalDestructor", "GaussianDestructor", "MarginalDestructor", "GaussianDestructor"]


def test_partial_evaluation(moons):
    X, _ = moons
    model = DeepDestructor(n_layers=3, random_state=0, output_distribution="normal").fit(X)
    first = model.layers_[0]
    np.testing.assert_allclose(model.transform(X, n_layers=0), first.transform(X))
    np.testing.assert_allclose(model.score_samples(X, n_layers=0), first.score_samples(X))
    np.testing.assert_allclose(model.transform(X, n_layers=3), model.transform(X))
    Z1 = model.transform(X, n_layers=1)
    np.testing.assert_allclose(model.inverse_transform(Z1, n_layers=1), X, atol=1e-9)
    with pytest.raises(ValueError, match=r"n_layers must be an integer in \[0, 3\]"):
        model.transform(X, n_layers=4)


def test_per_layer_contributions_sum_to_the_score(moons):
    X, _ = moons
    model = DeepDestructor(n_layers=3, random_state=0).fit(X)
    contributions = model.score_samples_layers(X)
    assert contributions.shape == (len(X), 4)
    np.testing.assert_allclose(contributions.sum(axis=1), model.score_samples(X), rtol=1e-10)
    # The k-layer model's density is the sum of the first k + 1 contributions.
    np.testing.assert_allclose(contributions[:, :2].sum(axis=1), model.score_samples(X, n_layers=1), rtol=1e-10)


def test_verbose_prints_one_line_per_layer(moons, capsys):
    X, _ = moons
    model = DeepDestructor(random_state=0, verbose=1).fit(X)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[DeepDestructor] layer")]
    assert len(lines) == len(model.validation_scores_)
    assert "validation log-likelihood" in lines[1] and lines[1].rstrip().endswith(" s")


def test_too_few_rows_for_a_validation_split():
    with pytest.raises(ValueError, match="needs at least 2 rows to fit and 1 to validate"):
        DeepDestructor(validation_fraction=0.9).fit(np.random.RandomState(0).rand(3, 2))


def test_non_destructor_template_is_rejected(moons):
    with pytest.raises(TypeError, match="layers must be destructors"):
        DeepDestructor(StandardScaler()).fit(moons[0])


# ----------------------------------------------------- scikit-learn workflows
def test_pipeline_and_composite_with_a_scaler(moons):
    X, _ = moons
    pipeline = Pipeline([("scale", StandardScaler()), ("density", DeepDestructor(random_state=0))]).fit(X)
    assert np.isfinite(pipeline.score(X))
    composite = CompositeDestructor([("deep", DeepDestructor(random_state=0))]).fit(X)
    # The composite's score is the density of X itself; the pipeline's is the
    # density of the scaled data, missing the scaler's log-determinant.
    assert np.isfinite(composite.score(X))


def test_grid_search_ranks_by_held_out_log_likelihood(moons):
    X, _ = moons
    search = GridSearchCV(
        DeepDestructor(_layer(), random_state=0),
        {"destructor__marginal__density": [HistogramDensity(bins=2), HistogramDensity(bins=40)], "n_layers": [0, 2]},
        cv=3,
        n_jobs=2,
    ).fit(X)
    assert search.best_params_["destructor__marginal__density"].bins == 40
    assert search.best_params_["n_layers"] == 2
    # The ranking score is the held-out mean log-likelihood of each fold.
    from sklearn.model_selection import KFold

    best = clone(search.best_estimator_)
    held_out = [clone(best).fit(X[tr]).score(X[te]) for tr, te in KFold(3).split(X)]
    assert search.best_score_ == pytest.approx(np.mean(held_out))


def test_gaussianize_features_before_a_classifier(moons):
    X, y = moons
    rng = np.random.RandomState(0)
    X_skew = np.column_stack([np.exp(X[:, 0]), X[:, 1] ** 3 + 0.1 * rng.standard_normal(len(X))])
    model = make_pipeline(DeepDestructor(output_distribution="normal", random_state=0), LogisticRegression())
    model.fit(X_skew, y)
    assert model.score(X_skew, y) > 0.75
    Z = model[0].transform(X_skew)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(2), atol=0.1)
    for j in range(2):
        assert stats.kstest(Z[:, j], "norm").statistic < 0.03


def test_clone_params_pickle_and_joblib_of_a_deep_model(moons, tmp_path):
    X, _ = moons
    model = DeepDestructor(IdentityDestructor(), n_layers=100, random_state=0).fit(X)
    assert len(model.layers_) == 101
    params = model.get_params(deep=True)
    assert "destructor__input_distribution" in params
    copy = clone(model).set_params(n_layers=2)
    assert copy.n_layers == 2 and not hasattr(copy, "layers_")
    expected = model.score_samples(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).score_samples(X), expected)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").score_samples(X), expected)


def test_set_output_pandas(moons):
    pd = pytest.importorskip("pandas")
    X, _ = moons
    frame = pd.DataFrame(X, columns=["x", "y"])
    out = DeepDestructor(n_layers=1, random_state=0).set_output(transform="pandas").fit(frame).transform(frame)
    assert list(out.columns) == ["x", "y"]
    partial = DeepDestructor(n_layers=1, random_state=0).set_output(transform="pandas").fit(frame).transform(frame, n_layers=0)
    assert isinstance(partial, pd.DataFrame)


# ------------------------------------------------------------- cross-validation
def test_cv_chooses_the_best_mean_depth(moons):
    X, _ = moons
    model = DeepDestructorCV(cv=3, max_layers=6, random_state=0).fit(X)
    assert model.cv_scores_.shape[0] == 3
    assert model.n_layers_ == int(np.argmax(model.cv_scores_.mean(axis=0)))
    assert len(model.layers_) == model.n_layers_ + 1
    assert model.train_scores_.shape == (model.n_layers_ + 1,)


def test_cv_parallel_folds_match_serial(moons):
    X, _ = moons
    serial = DeepDestructorCV(cv=3, max_layers=3, random_state=0).fit(X)
    parallel = DeepDestructorCV(cv=3, max_layers=3, n_jobs=2, random_state=0).fit(X)
    np.testing.assert_array_equal(serial.cv_scores_, parallel.cv_scores_)
    np.testing.assert_array_equal(serial.score_samples(X), parallel.score_samples(X))


def test_cv_accepts_a_splitter(moons):
    from sklearn.model_selection import KFold

    X, _ = moons
    model = DeepDestructorCV(cv=KFold(4), max_layers=2, random_state=0).fit(X)
    assert model.cv_scores_.shape[0] == 4
