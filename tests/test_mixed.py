"""Mixed data: discrete and categorical columns beside continuous ones (destructors.mixed)."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from destructors import (
    DeepDestructor,
    DeepDestructorCV,
    GaussianDestructor,
    GaussianMixtureDestructor,
    HistogramDensity,
    MarginalDestructor,
    RBIGDestructor,
    RotationDestructor,
)
from destructors.mixed import MAX_CATEGORIES

pd = pytest.importorskip("pandas")

MIXED_MODELS = [
    MarginalDestructor(),
    GaussianDestructor(),
    GaussianMixtureDestructor(3, random_state=0),
    DeepDestructor(max_layers=3, random_state=0),
    DeepDestructorCV(cv=2, max_layers=2, random_state=0),
]
IDS = [type(m).__name__ for m in MIXED_MODELS]


def _people(n, seed=0):
    """Independent columns of every kind: ages, log-normal incomes, heights, cities, flags."""
    rng = np.random.RandomState(seed)
    return pd.DataFrame({
        "age": rng.randint(18, 90, n),
        "income": np.exp(rng.normal(10.0, 0.5, n)),
        "height": rng.normal(170.0, 10.0, n),
        "city": pd.Categorical(rng.choice(["oslo", "paris", "rome"], n, p=[0.2, 0.5, 0.3])),
        "member": rng.uniform(size=n) < 0.3,
    })


def _fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(model).fit(X)


# ------------------------------------------------------------- column kinds
def test_auto_reads_kinds_from_dtypes_and_values():
    n = 40
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({
        "int": rng.randint(0, 5, n),
        "nullable": pd.array(rng.randint(0, 5, n), dtype="Int64"),
        "bool": rng.uniform(size=n) < 0.5,
        "category": pd.Categorical(rng.choice(["a", "b"], n)),
        "object": np.array(rng.choice(["x", "y", "z"], n), dtype=object),
        "string": pd.array(rng.choice(["u", "v"], n), dtype="string"),
        "whole floats": rng.randint(0, 9, n).astype(float),
        "floats": rng.normal(size=n),
    })
    model = MarginalDestructor().fit(frame)
    assert list(model.feature_kinds_) == ["discrete"] * 3 + ["categorical"] * 3 + ["discrete", "continuous"]
    assert list(model.categories_[4]) == ["x", "y", "z"] and model.categories_[0] is None


def test_arrays_integers_and_text_columns():
    rng = np.random.RandomState(0)
    ints = rng.randint(0, 4, (50, 2))
    assert list(MarginalDestructor().fit(ints).feature_kinds_) == ["discrete", "discrete"]
    table = np.empty((50, 3), dtype=object)
    table[:, 0] = rng.choice(["red", "blue"], 50)
    table[:, 1] = rng.normal(size=50)
    table[:, 2] = rng.randint(0, 3, 50)
    model = MarginalDestructor().fit(table)
    assert list(model.feature_kinds_) == ["categorical", "continuous", "discrete"]
    samples = model.sample(20, random_state=0)
    assert samples.dtype == object and set(samples[:, 0]) <= {"red", "blue"}
    assert all(isinstance(v, (int, np.integer)) for v in samples[:, 2])
    # Integer input comes back as integers.
    assert MarginalDestructor().fit(ints).sample(5, random_state=0).dtype == ints.dtype


def test_declared_kinds_by_mask_index_or_name_and_none():
    X = _people(200)
    by_name = MarginalDestructor(discrete_features=["age"], categorical_features=["city", "member"]).fit(X)
    assert list(by_name.feature_kinds_) == ["discrete", "continuous", "continuous", "categorical", "categorical"]
    by_index = MarginalDestructor(discrete_features=[0], categorical_features=[3, 4]).fit(X)
    mask = np.array([True, False, False, False, False])
    by_mask = MarginalDestructor(discrete_features=mask, categorical_features=~mask & (np.arange(5) >= 3)).fit(X)
    assert list(by_index.feature_kinds_) == list(by_mask.feature_kinds_) == list(by_name.feature_kinds_)
    continuous = MarginalDestructor(discrete_features=None).fit(X.drop(columns=["city"]))
    assert list(continuous.feature_kinds_) == ["continuous"] * 4


@pytest.mark.parametrize(
    "params, X, error, message",
    [
        ({"discrete_features": ["height"]}, None, ValueError, r"column 'height' is declared discrete but holds"),
        ({"discrete_features": [0], "categorical_features": [0]}, None, ValueError, "both discrete and categorical"),
        ({"categorical_features": None}, None, ValueError, r"column 'city' holds labels such as"),
        ({"discrete_features": ["nope"]}, None, ValueError, r"no column named 'nope'"),
        ({"discrete_features": [7]}, None, ValueError, r"7 is not a column index or name"),
        ({"discrete_features": [True, False]}, None, ValueError, "a boolean mask needs 5 entries"),
        ({}, "nan", ValueError, r"column 'height' has missing values \(NaN\) in 1 of"),
        ({}, "none label", ValueError, r"column 'city' has missing values \(NaN\)"),
        ({}, "inf", ValueError, r"column 'height' has infinite values"),
        ({}, "mixed labels", TypeError, r"column 'city' mixes labels of different types"),
        ({}, "many labels", ValueError, rf"more than the {MAX_CATEGORIES} a categorical column may have"),
    ],
)
def test_bad_columns_are_named(params, X, error, message):
    frame = _people(2 * MAX_CATEGORIES + 10)
    if X == "nan":
        frame.loc[3, "height"] = np.nan
    elif X == "none label":
        frame["city"] = frame["city"].astype(object)
        frame.loc[5, "city"] = None
    elif X == "inf":
        frame.loc[3, "height"] = np.inf
    elif X == "mixed labels":
        frame["city"] = frame["city"].astype(object)
        frame.loc[5, "city"] = 3
    elif X == "many labels":
        frame["city"] = [f"id{i}" for i in range(len(frame))]
    with pytest.raises(error, match=message):
        MarginalDestructor(**params).fit(frame)


def test_a_continuous_column_of_few_values_warns():
    X = _people(300)
    X["coded"] = np.random.RandomState(2).choice([0.0, 2.3, 3.9], len(X))
    with pytest.warns(UserWarning, match=r"column 'coded' is continuous but holds only 3 distinct values"):
        MarginalDestructor().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        MarginalDestructor(categorical_features=["coded", "city"]).fit(X)


def test_unseen_labels_and_values_off_the_grid_are_errors_naming_the_column():
    X = _people(300)
    X["tens"] = 10 * np.random.RandomState(1).randint(0, 5, len(X))
    model = MarginalDestructor().fit(X)
    bad = X.iloc[:3].copy()
    bad["city"] = bad["city"].cat.add_categories(["lima"])
    bad.loc[bad.index[1], "city"] = "lima"
    with pytest.raises(ValueError, match=r"column 'city' has the label 'lima', not seen in fit"):
        model.score_samples(bad)
    off = X.iloc[:3].copy()
    off.loc[off.index[0], "tens"] = 15
    with pytest.raises(ValueError, match=r"column 'tens' has the value 15.*not on its grid \(values 0 \+ 10 k"):
        model.transform(off)
    half = X.iloc[:3].copy()
    half["age"] = half["age"] + 0.5
    with pytest.raises(ValueError, match=r"column 'age' has the value .*not on its grid"):
        model.score_samples(half)


# --------------------------------------------------------------- the measure
@pytest.mark.parametrize("model", MIXED_MODELS, ids=IDS)
def test_cell_probabilities_of_an_all_discrete_table_add_up_to_one(model):
    rng = np.random.RandomState(0)
    count = rng.poisson(2.0, 400)
    level = np.where(count + rng.normal(0, 1, 400) > 2, "high", np.where(rng.uniform(size=400) < 0.5, "low", "mid"))
    fitted = _fit(model, pd.DataFrame({"count": count, "level": level}))
    # Every cell within 1,000 of the data; beyond lies less than the
    # half-Cauchy tails' 2e-3 of mass, far less with the layers' normal tails.
    grid = np.arange(-1000, 1000)
    cells = pd.DataFrame({"count": np.repeat(grid, 3), "level": np.tile(["high", "low", "mid"], grid.size)})
    total = np.exp(fitted.score_samples(cells)).sum()
    if isinstance(fitted, MarginalDestructor):
        # The cell layer's masses alone: exact, but for the tails beyond the grid.
        assert 1.0 - 1e-3 < total <= 1.0 + 1e-12
    else:
        # Estimated with 64 Sobol points a cell: within a percent.
        np.testing.assert_allclose(total, 1.0, atol=1e-2)


def test_a_marginal_model_gives_the_cell_layer_masses_exactly():
    X = pd.DataFrame({"k": np.random.RandomState(0).poisson(3.0, 500)})
    model = MarginalDestructor().fit(X)
    layer = model.cells_.columns[0]
    rows = pd.DataFrame({"k": np.arange(-5, 30)})
    _, _, log_mass = layer.cells.log_bounds(layer.cell_values(rows["k"].to_numpy(dtype=float)))
    np.testing.assert_allclose(model.score_samples(rows), log_mass, rtol=1e-12)


def test_counts_far_beyond_the_data_get_finite_decreasing_log_probabilities():
    # Far out a cell's mass is the difference of two tail masses equal to
    # rounding; the density at the cell's middle takes over beyond 1e6 cells.
    X = pd.DataFrame({"k": np.random.RandomState(0).poisson(3.0, 500)})
    model = MarginalDestructor().fit(X)
    far = 10.0 ** np.arange(3, 16)
    scores = model.score_samples(pd.DataFrame({"k": np.concatenate([far, -far])}))
    assert np.isfinite(scores).all()
    right, left = scores[: far.size], scores[far.size :]
    assert np.all(np.diff(right) < 0) and np.all(np.diff(left) < 0)
    # Half-Cauchy tails: log P falls by 2 log 10 per decade (measured within
    # 2e-4 nats from 1e5 cells on), also across the switch at 1e6.
    np.testing.assert_allclose(np.diff(right[2:]), -2 * np.log(10), atol=1e-3)
    np.testing.assert_allclose(np.diff(left[2:]), -2 * np.log(10), atol=1e-3)
    layer = model.cells_.columns[0]
    t = layer.cell_values(np.array([1e6 - 10.0, 1e6 + 10.0]) + layer.cells.cdf.knots[-1])
    lower, upper = layer.cells.log_bounds(t)[2]
    # Both sides of the switch, 20 cells apart: the density falls by 2 * 20 / 1e6 there.
    assert lower - upper == pytest.approx(4e-5, rel=0.01)


def test_independent_columns_gain_nothing_over_their_marginals():
    """Trees used to put spikes on the integer lattice: 3.6 nats over 40 layers on such data."""
    X = _people(3000).drop(columns=["city", "member"])
    X_train, X_test = X.iloc[:2400], X.iloc[2400:]
    marginal = MarginalDestructor().fit(X_train).score(X_test)
    deep = DeepDestructor(random_state=0).fit(X_train)
    # Held-out noise of a mean over 600 rows is about 0.05 nats.
    assert deep.score(X_test) < marginal + 0.05
    # The truth: a uniform age on 72 values, a log-normal and a normal.
    truth = (-np.log(72) + stats.lognorm(0.5, scale=np.exp(10.0)).logpdf(X_test["income"])
             + stats.norm(170.0, 10.0).logpdf(X_test["height"])).mean()
    assert deep.score(X_test) < truth + 0.05 and marginal < truth + 0.05


@pytest.mark.parametrize("model", MIXED_MODELS[:4], ids=IDS[:4])
def test_estimate_is_deterministic_batch_independent_and_near_the_many_point_integral(model):
    X = _people(1500)
    fitted = _fit(model, X.iloc[:1200])
    rows = X.iloc[1200:1260]
    scores = fitted.score_samples(rows)
    alone = np.concatenate([fitted.score_samples(rows.iloc[i : i + 1]) for i in range(20)])
    np.testing.assert_allclose(alone, scores[:20], rtol=1e-10)
    # Exact: the same fixed points, the same operations, in one process.
    np.testing.assert_array_equal(fitted.score_samples(rows), scores)
    from scipy.stats import qmc

    many = pickle.loads(pickle.dumps(fitted))
    many.cells_.points = qmc.Sobol(many.cells_.points.shape[1], scramble=True, seed=1).random(4096)
    difference = scores - many.score_samples(rows)
    # Measured: mean absolute differences of at most 2e-4 nats on this table
    # (see the user guide); a wrong integral would be off by far more.
    assert np.abs(difference).mean() < 2e-3 and np.abs(difference).max() < 2e-2


# --------------------------------------------------- transform and sampling
@pytest.mark.parametrize("model", MIXED_MODELS[:4], ids=IDS[:4])
def test_transform_is_uniform_on_held_out_rows_and_inverse_recovers_values_and_labels(model):
    X = _people(3000)
    X_train, X_test = X.iloc[:2000], X.iloc[2000:].reset_index(drop=True)
    fitted = _fit(model, X_train)
    U = fitted.transform(X_test)
    if not isinstance(fitted, (GaussianDestructor, GaussianMixtureDestructor)):  # misspecified for incomes
        for j in range(U.shape[1]):
            # The randomized probability integral transform: uniform, cell columns included.
            assert stats.kstest(U[:, j], "uniform").pvalue > 1e-3, (X.columns[j], stats.kstest(U[:, j], "uniform"))
    back = fitted.inverse_transform(U)
    assert isinstance(back, pd.DataFrame) and list(back.columns) == list(X.columns)
    for name in ("age", "city", "member"):
        pd.testing.assert_series_equal(back[name], X_test[name])
    for name in ("income", "height"):
        np.testing.assert_allclose(back[name], X_test[name], rtol=1e-6)
    Z = clone(fitted).set_params(output_distribution="normal").fit(X_train).transform(X_test)
    assert stats.kstest(Z[:, 0], "norm").pvalue > 1e-3


def test_fit_transform_is_transform_of_the_training_rows():
    X = _people(500)
    model = DeepDestructor(max_layers=2, random_state=0)
    # Exact: the same seeded positions in the cells and the same layers, in one process.
    np.testing.assert_array_equal(clone(model).fit_transform(X), clone(model).fit(X).transform(X))


@pytest.mark.parametrize("model", MIXED_MODELS[:4], ids=IDS[:4])
def test_samples_have_the_kinds_of_the_training_table(model):
    X = _people(1000)
    fitted = _fit(model, X)
    samples = fitted.sample(500, random_state=0)
    assert isinstance(samples, pd.DataFrame) and (samples.dtypes == X.dtypes).all()
    assert set(samples["city"]) <= {"oslo", "paris", "rome"} and samples["member"].dtype == bool
    # Ages cover the training range, and frequencies follow the data's.
    assert samples["age"].between(0, 150).mean() > 0.99
    assert abs(samples["member"].mean() - X["member"].mean()) < 0.08
    # Exact: the same seed, in one process.
    pd.testing.assert_frame_equal(samples, fitted.sample(500, random_state=0))


# ----------------------------------------------------------- scikit-learn
def test_grid_search_pickle_and_verbose_on_a_mixed_table(capsys):
    X = _people(600)
    search = GridSearchCV(MarginalDestructor(HistogramDensity()), {"density__bins": [10, 30]}, cv=3).fit(X)
    assert np.isfinite(search.best_score_)
    loaded = pickle.loads(pickle.dumps(search.best_estimator_))
    # Exact: the loaded model runs the same operations, in one process.
    np.testing.assert_array_equal(loaded.score_samples(X), search.best_estimator_.score_samples(X))
    DeepDestructor(max_layers=1, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "[DeepDestructor] columns: column 'age': discrete, grid of spacing 1" in out
    assert "column 'city': categorical, 3 labels" in out and "column 'member': boolean" in out


def test_what_needs_continuous_features_says_so():
    X = _people(400)
    mixture = GaussianMixtureDestructor(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="conditional densities and samples need continuous features"):
        mixture.conditional_score_samples(X, given=[0])
    deep = DeepDestructor(max_layers=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="per-layer contributions exist for continuous features only"):
        deep.score_samples_layers(X)


def test_continuous_data_behave_as_before():
    """No discrete column: no cell layer, and the same model as with the kinds switched off."""
    X = np.random.RandomState(0).gamma(2.0, size=(300, 3))
    auto = DeepDestructor(max_layers=2, random_state=0).fit(X)
    off = DeepDestructor(max_layers=2, random_state=0, discrete_features=None, categorical_features=None).fit(X)
    assert auto.cells_ is None and list(auto.feature_kinds_) == ["continuous"] * 3
    # Exact: the same operations on the same rows, in one process.
    np.testing.assert_array_equal(auto.score_samples(X), off.score_samples(X))
    assert isinstance(auto.sample(3, random_state=0), np.ndarray)


@pytest.mark.parametrize(
    "estimator",
    [RBIGDestructor(n_layers=1, random_state=0), RotationDestructor("pca", input_distribution="normal")],
    ids=["rbig", "rotation"],
)
def test_destructors_that_read_numbers_only_name_the_label_columns(estimator):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame({
        "height": rng.normal(170, 10, 200),
        "age": rng.randint(18, 90, 200),
        "colour": pd.Categorical(rng.choice(["red", "blue"], 200)),
        "city": pd.Series(rng.choice(["Oslo", "Lima"], 200), dtype="string"),
        "weight": pd.Series(rng.normal(70, 5, 200), dtype=object),  # numbers in an object column
    })
    with pytest.raises(ValueError, match=r"column\(s\) 'colour', 'city' hold labels.*categorical_features"):
        clone(estimator).fit(frame)
    numbers = frame[["height", "age", "weight"]]
    fitted = clone(estimator).fit(numbers)
    assert np.all(np.isfinite(fitted.score_samples(numbers)))
    with pytest.raises(ValueError, match=r"'weight' hold labels"):
        fitted.score_samples(numbers.assign(weight=rng.choice(["red", "blue"], 200).astype(object)))
