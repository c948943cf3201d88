"""DeepDestructor and DeepDestructorCV, and the scikit-learn workflows they must support."""

import pickle
import re

import joblib
import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from destructors import (
    CompositeDestructor,
    DeepDestructor,
    DeepDestructorCV,
    GaussianDestructor,
    GaussianMixtureDestructor,
    HistogramDensity,
    IdentityDestructor,
    MarginalDestructor,
    RotationDestructor,
    TreeDestructor,
)
from destructors.deep import _Leader, _significant, _trails_hopelessly, default_init_candidates, default_layer_candidates


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(3000, noise=0.1, random_state=0)
    return X, y


def _copula_layer():
    return CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())])


def _simple(**params):
    """A fast deep model: marginal first layer, copula layers."""
    return DeepDestructor(_copula_layer(), init_destructor=MarginalDestructor(), random_state=0, **params)


# ------------------------------------------------------------------ mechanics
def test_fixed_depth_with_single_templates_uses_every_row(moons):
    X, _ = moons
    model = _simple(n_layers=4).fit(X)
    assert model.n_layers_ == 4 and len(model.layers_) == 5
    # No choice to make: no validation split, every layer saw all rows.
    assert model.validation_scores_ is None and model.init_scores_ is None
    assert model.train_scores_.shape == (5,)
    assert model.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / (len(X) + 1))
    assert all(layer.output_distribution == "normal" for layer in model.layers_)
    assert len({id(layer) for layer in model.layers_}) == 5


def test_early_stopping_keeps_the_best_depth(moons):
    X, _ = moons
    model = _simple(n_iter_no_change=3, max_layers=30, refit=False).fit(X)
    scores = model.validation_scores_
    assert len(model.layers_) == model.n_layers_ + 1
    # Layers after the kept depth brought no significant progress.
    assert len(scores) <= model.n_layers_ + 3 + 1
    assert scores[model.n_layers_] >= scores[0]


def test_large_tol_keeps_only_the_initial_layer(moons):
    X, _ = moons
    assert _simple(tol=1e3).fit(X).n_layers_ == 0


def test_progress_must_beat_its_standard_error():
    signs = np.tile([1.0, -1.0], 10)
    # Mean gain 0.05 nats, but rows scatter by 0.5: standard error 0.11.
    assert not _significant(0.05 + 0.5 * signs, 1e-3)
    assert _significant(0.05 + 0.01 * signs, 1e-3)
    assert not _significant(0.05 + 0.01 * signs, 0.1)
    # The same mean gain over many rows is significant.
    assert _significant(0.05 + 0.5 * np.tile([1.0, -1.0], 1000), 1e-3)


def test_refit_replays_the_chosen_stack_on_all_rows(moons):
    X, _ = moons
    truncated = _simple(refit=False).fit(X)
    refit = _simple(refit=True).fit(X)
    assert refit.n_layers_ == truncated.n_layers_
    assert refit.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / (len(X) + 1))
    n_fit = len(X) - int(np.ceil(0.1 * len(X)))
    assert truncated.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / (n_fit + 1))
    assert refit.train_scores_.shape == (refit.n_layers_ + 1,)


def test_refit_reuses_resolved_parameters():
    X, _ = make_moons(1500, noise=0.05, random_state=1)
    model = DeepDestructor(
        init_destructor=GaussianMixtureDestructor("auto", random_state=0), n_layers=0, random_state=0
    ).fit(X)
    chosen = model.layers_[0]
    # The refitted first layer was given the size that "auto" resolved.
    assert chosen.get_params()["n_components"] == chosen.n_components_ > 1
    assert chosen.aic_ is None


def test_same_seed_same_model_and_global_rng_untouched(moons):
    X, _ = moons
    state = np.random.get_state()[1].copy()
    a = _simple(n_layers=3).fit(X).score_samples(X)
    b = _simple(n_layers=3).fit(X).score_samples(X)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(a, b)
    # Exact: the global generator's state, integers.
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_cycle_takes_templates_in_turn(moons):
    X, _ = moons
    model = DeepDestructor(
        [RotationDestructor("random"), MarginalDestructor()], init_destructor=MarginalDestructor(),
        layer_choice="cycle", n_layers=4, random_state=0,
    ).fit(X)
    kinds = [type(layer).__name__ for layer in model.layers_]
    assert kinds == ["MarginalDestructor", "RotationDestructor", "MarginalDestructor", "RotationDestructor", "MarginalDestructor"]


def test_best_choice_keeps_the_template_that_helps_most(moons):
    X, _ = moons
    # An identity layer never helps; the copula layer does.
    model = DeepDestructor(
        [IdentityDestructor(), _copula_layer()], init_destructor=MarginalDestructor(), n_layers=1, random_state=0
    ).fit(X)
    assert isinstance(model.layers_[1], CompositeDestructor)
    assert model.validation_scores_ is not None


def test_best_initial_candidate_wins(moons):
    X, _ = moons
    model = DeepDestructor(
        IdentityDestructor(), init_destructor=[GaussianDestructor(), MarginalDestructor()], random_state=0
    ).fit(X)
    assert model.init_scores_.shape == (2,)
    winner = int(np.argmax(model.init_scores_))
    assert type(model.layers_[0]) is (GaussianDestructor, MarginalDestructor)[winner]
    assert isinstance(model.layers_[0], MarginalDestructor)  # moons are far from one Gaussian


def test_a_stack_stops_when_it_cannot_catch_up():
    assert not _trails_hopelessly([1.0, 2.0], None, 5)  # no other stack grown yet
    assert not _trails_hopelessly([1.0], _Leader(10.0, 0.0), 5)  # no gain seen anywhere yet
    assert _trails_hopelessly([1.0, 2.0], _Leader(20.0, 0.0), 5)  # 18 nats behind at 1 nat per layer
    assert not _trails_hopelessly([1.0, 2.0], _Leader(6.0, 0.0), 5)  # 4 nats behind: 5 layers may do it
    assert _trails_hopelessly([1.0, 0.5], _Leader(1.5, 0.0), 5)  # behind and losing
    # Only the last `patience` gains set the pace.
    assert _trails_hopelessly([0.0, 10.0, 10.1, 10.2], _Leader(12.0, 0.0), 2)
    assert not _trails_hopelessly([0.0, 10.0, 10.1, 10.2], _Leader(12.0, 0.0), 3)
    # With its initial layer only, a stack is given the leader's largest gain from one layer.
    assert _trails_hopelessly([1.0], _Leader(10.0, 4.0), 2)  # 9 nats behind, at most 8 in 2 layers
    assert not _trails_hopelessly([1.0], _Leader(10.0, 5.0), 2)
    assert _trails_hopelessly([1.0, 1.5], _Leader(10.0, 5.0), 2)  # once it has grown, its own pace (0.5) counts


def test_a_stack_whose_initial_layer_is_far_behind_grows_no_layer(capsys):
    # The leader gains 12.5 nats with its best layer on digits; the mixture's
    # initial layer is 35 nats behind: more than n_iter_no_change=2 such layers.
    from sklearn.datasets import load_digits

    X = load_digits().data[:600] / 16.0
    X = X + np.random.RandomState(0).uniform(0, 1 / 16.0, size=X.shape)
    model = DeepDestructor(random_state=0, verbose=1).fit(X)
    output = capsys.readouterr().out
    assert re.search(r"GaussianMixtureDestructor stopped: [0-9.]+ nats behind", output)
    assert _stack_lengths(output)["GaussianMixtureDestructor"] == 1
    assert isinstance(model.layers_[0], MarginalDestructor)


def _stack_lengths(output):
    lengths = {}
    for line in output.splitlines():
        if "validation log-likelihood" in line and _LAYER_LINE.match(line):
            branch = line.split()[1]
            lengths[branch] = lengths.get(branch, 0) + 1
    return lengths


@pytest.mark.parametrize("first", ["gaussian", "marginal"])
def test_a_stack_far_behind_the_first_stops_early(first, capsys):
    rng = np.random.RandomState(0)
    X = rng.multivariate_normal(np.zeros(4), 0.9 * np.ones((4, 4)) + 0.1 * np.eye(4), size=1000)
    inits = {"gaussian": GaussianDestructor(), "marginal": MarginalDestructor()}
    order = [first] + [name for name in inits if name != first]
    model = DeepDestructor(
        IdentityDestructor(), init_destructor=[inits[name] for name in order], n_iter_no_change=5, verbose=1,
        random_state=0,
    ).fit(X)
    assert isinstance(model.layers_[0], GaussianDestructor)
    output = capsys.readouterr().out
    lengths = _stack_lengths(output)
    # Identity layers gain nothing: the first stack stops after n_iter_no_change
    # layers; the marginal stack, far behind the Gaussian one, after one.
    if first == "gaussian":
        assert lengths == {"GaussianDestructor": 6, "MarginalDestructor": 2}
        assert "MarginalDestructor stopped:" in output
    else:
        assert lengths == {"MarginalDestructor": 6, "GaussianDestructor": 6}
        assert "stopped:" not in output
    assert model.init_scores_[order.index("gaussian")] > model.init_scores_[order.index("marginal")] + 1


def test_default_candidates():
    assert [type(t).__name__ for t in default_init_candidates()] == ["MarginalDestructor", "GaussianMixtureDestructor"]
    assert [type(t).__name__ for t in default_layer_candidates()] == [
        "GaussianDestructor", "CompositeDestructor", "TreeDestructor"
    ]


def test_default_layer_candidates_on_small_tables():
    # Below 50 rows per feature the Gaussian alone; at 50 and above all three.
    assert [type(t).__name__ for t in default_layer_candidates(n_samples=499, n_features=10)] == ["GaussianDestructor"]
    assert len(default_layer_candidates(n_samples=500, n_features=10)) == 3
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 8)) ** 3
    small = DeepDestructor(max_layers=3, random_state=0).fit(X)
    assert [type(t).__name__ for t in small._layer_templates()] == ["GaussianDestructor"]
    assert all(isinstance(layer, GaussianDestructor) for layer in small.layers_[1:])
    # Parameters are stored untouched: the template list is resolved per fit.
    assert small.destructor is None
    assert len(small.fit(np.vstack([X] * 7))._layer_templates()) == 3
    # The full list, passed explicitly, is used whatever the table's size.
    full = DeepDestructor(default_layer_candidates(), max_layers=3, random_state=0).fit(X)
    assert len(full._layer_templates()) == 3


def test_default_model_adapts_to_the_data():
    from destructors.datasets import Checkerboard

    rng = np.random.RandomState(0)
    # Correlated Gaussian data: the Gaussian mixture branch (one component) wins.
    X = rng.multivariate_normal([0, 0, 0], [[1, 0.9, 0.5], [0.9, 1, 0.3], [0.5, 0.3, 1]], size=1000)
    gaussian = DeepDestructor(random_state=0).fit(X)
    assert isinstance(gaussian.layers_[0], GaussianMixtureDestructor) and gaussian.layers_[0].n_components_ == 1
    # Uniform squares with hard edges: marginals, then a tree.
    board = DeepDestructor(random_state=0).fit(Checkerboard().sample(2000, random_state=0))
    assert isinstance(board.layers_[0], MarginalDestructor)
    assert any(isinstance(layer, TreeDestructor) for layer in board.layers_[1:])


def test_partial_evaluation(moons):
    X, _ = moons
    model = _simple(n_layers=3, output_distribution="normal").fit(X)
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
    model = _simple(n_layers=3).fit(X)
    contributions = model.score_samples_layers(X)
    assert contributions.shape == (len(X), 4)
    np.testing.assert_allclose(contributions.sum(axis=1), model.score_samples(X), rtol=1e-10)
    # The k-layer model's density is the sum of the first k + 1 contributions.
    np.testing.assert_allclose(contributions[:, :2].sum(axis=1), model.score_samples(X, n_layers=1), rtol=1e-10)


_LAYER_LINE = re.compile(r"^\[DeepDestructor\] (.+) layer +(\d+) ")
_SUMMARY_LINE = re.compile(r"^\[DeepDestructor\] (.+?) (race stack on \d+ rows|stack on \d+ rows|stack): "
                           r"(\d+) layers, .*, \d+\.\d\d s$")


def test_verbose_prints_one_line_per_layer_and_per_stack(moons, capsys):
    X, _ = moons
    model = _simple(refit=True, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("[DeepDestructor] ") for line in lines)
    layers = [line for line in lines if _LAYER_LINE.match(line)]
    summaries = [line for line in lines if not _LAYER_LINE.match(line)]
    # One layer line per layer grown, then per layer refitted.
    assert len(layers) == len(model.validation_scores_) + model.n_layers_ + 1
    assert "validation log-likelihood" in layers[1] and layers[1].rstrip().endswith(" s")
    assert "CompositeDestructor" in layers[1]
    # One summary line for the stack grown on the training part, one for the
    # refit; neither says "layer" followed by a number, which parsers use to
    # tell the two kinds apart.
    assert len(summaries) == 2
    assert [_SUMMARY_LINE.match(line).group(2) for line in summaries] == ["stack", f"stack on {len(X)} rows"]
    assert int(_SUMMARY_LINE.match(summaries[0]).group(3)) == len(model.validation_scores_) - 1
    assert all(not re.search(r" layer \d", line) for line in summaries)
    assert re.match(r"^\[DeepDestructor\] MarginalDestructor refit layer +0 ", layers[len(model.validation_scores_)])


def test_racing_candidates_on_a_subsample(capsys):
    X = np.random.RandomState(0).exponential(size=(3000, 2))
    inits = [GaussianDestructor(), MarginalDestructor()]
    # Training part 2,700 rows >= 4 x 300: the candidates race on 300 rows.
    model = DeepDestructor(
        IdentityDestructor(), init_destructor=inits, race_samples=300, verbose=1, random_state=0,
    ).fit(X)
    output = capsys.readouterr().out
    assert output.count("race stack on 300 rows:") == 2
    assert "GaussianDestructor leaves the race" in output
    # The Gaussian, far behind on skewed data, never grows on all rows.
    assert np.isnan(model.init_scores_[0]) and np.isfinite(model.init_scores_[1])
    assert model.race_scores_[1] > model.race_scores_[0] + 0.1
    assert isinstance(model.layers_[0], MarginalDestructor)
    # Without the race both grow on all rows.
    full = DeepDestructor(IdentityDestructor(), init_destructor=inits, race_samples=None, random_state=0).fit(X)
    assert full.race_scores_ is None and np.isfinite(full.init_scores_).all()


def test_close_candidates_stay_in_the_race():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((3000, 2))
    # Two identical candidates cannot be told apart: both grow on all rows.
    model = DeepDestructor(
        IdentityDestructor(input_distribution="normal"), init_destructor=[GaussianDestructor(), GaussianDestructor()],
        race_samples=300, random_state=0,
    ).fit(X)
    assert np.isfinite(model.init_scores_).all()


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_template_clearly_behind_for_n_iter_no_change_layers_rests(n_jobs):
    # Correlated Gaussian data in the Gaussian view: a Gaussian layer gains a
    # lot, the identity nothing. The count of layers in a row a template was
    # clearly behind (beyond tol plus two standard errors of the per-row
    # gaps) is updated by each choice; at n_iter_no_change the template is no
    # longer fitted, its seed still drawn, so the others' layers do not change.
    from destructors.deep import _clearly_behind

    rng = np.random.default_rng(0)
    Z = rng.multivariate_normal([0, 0, 0], [[1, 0.8, 0.3], [0.8, 1, 0.5], [0.3, 0.5, 1]], size=600)
    model = DeepDestructor([IdentityDestructor(), GaussianDestructor()], n_iter_no_change=2, n_jobs=n_jobs)
    templates = model._layer_templates()

    def next_layer(trailing):
        state = np.random.RandomState(0)
        choice, *_ = model._next_layer(templates, 1, Z[:500], Z[500:], state, None, trailing=trailing)
        return choice, state.randint(1000)

    trailing = [0, 1]
    choice, after = next_layer(trailing)
    assert choice == 1 and trailing == [1, 0]
    trailing = [0, 2]  # the Gaussian rests, though it would win
    assert next_layer(trailing) == (0, after) and trailing == [0, 2]
    assert _clearly_behind(np.full(10, 0.5), 1e-3) and not _clearly_behind(np.array([1.0, -1.0, 0.2]), 1e-3)


@pytest.mark.parametrize("race_samples", [None, 200])
def test_the_fitted_model_does_not_depend_on_n_jobs(race_samples):
    from destructors.datasets import Checkerboard

    X = Checkerboard().sample(1200, random_state=0)
    serial = DeepDestructor(race_samples=race_samples, max_layers=4, random_state=0).fit(X)
    parallel = DeepDestructor(race_samples=race_samples, max_layers=4, n_jobs=2, random_state=0).fit(X)
    np.testing.assert_array_equal(serial.init_scores_, parallel.init_scores_)
    np.testing.assert_array_equal(serial.validation_scores_, parallel.validation_scores_)
    assert [type(layer) for layer in serial.layers_] == [type(layer) for layer in parallel.layers_]
    np.testing.assert_array_equal(serial.score_samples(X), parallel.score_samples(X))


def test_stacks_grown_in_parallel_are_cut_where_a_lone_stack_stops(capsys):
    rng = np.random.RandomState(0)
    X = rng.multivariate_normal(np.zeros(4), 0.9 * np.ones((4, 4)) + 0.1 * np.eye(4), size=1000)
    make = lambda n_jobs: DeepDestructor(  # noqa: E731
        IdentityDestructor(), init_destructor=[GaussianDestructor(), MarginalDestructor()], n_iter_no_change=5,
        n_jobs=n_jobs, verbose=1, random_state=0,
    ).fit(X)
    serial = make(None)
    serial_lengths = _stack_lengths(capsys.readouterr().out)
    parallel = make(2)
    output = capsys.readouterr().out
    # The parallel marginal stack grew past its cut; its recorded curve is the
    # one a stack grown alone stopped with.
    assert _stack_lengths(output)["MarginalDestructor"] > serial_lengths["MarginalDestructor"] == 2
    assert "MarginalDestructor stopped:" in output
    np.testing.assert_array_equal(serial.init_scores_, parallel.init_scores_)


def test_a_refitted_mixture_continues_em_from_its_validated_fits():
    from destructors.base import make_layer
    from destructors.deep import _replay_layer

    X, _ = make_moons(4000, noise=0.05, random_state=0)
    template = GaussianMixtureDestructor("auto", n_average=3)
    fitted = make_layer(template, 0)
    fitted._fit_layer(X[:3600])
    refit = _replay_layer(template, fitted, 1)
    refit._fit_layer(X)
    assert refit.n_components == fitted.n_components_ and refit.density_.n_components == 3 * fitted.n_components_
    assert not hasattr(refit, "_starts")  # used by that fit only
    np.testing.assert_allclose(refit.density_.means_, fitted.density_.means_, atol=0.05)
    # With warm_start=False the refit starts from k-means, and the components
    # come out elsewhere (and in another order).
    cold = _replay_layer(GaussianMixtureDestructor("auto", n_average=3, warm_start=False), fitted, 1)
    assert not hasattr(cold, "_starts")
    cold._fit_layer(X)
    assert np.abs(cold.density_.means_ - fitted.density_.means_).max() > 0.05


def test_fit_scores_the_last_refitted_layer_without_its_output(monkeypatch):
    # fit keeps only the model: the refitted mixture (the whole chosen stack
    # on two moons) is scored by its density, without the Rosenblatt sweep
    # over the training rows. The model is the one fit_transform makes, and
    # the training score the same function of the rows (a few ulps per row).
    X, _ = make_moons(3000, noise=0.05, random_state=0)
    params = dict(init_destructor=GaussianMixtureDestructor(8), destructor=GaussianDestructor(), random_state=0)
    full = DeepDestructor(**params)
    U = full.fit_transform(X)
    sweeps = []
    forward = GaussianMixtureDestructor._forward
    monkeypatch.setattr(GaussianMixtureDestructor, "_forward", lambda self, Z: sweeps.append(len(Z)) or forward(self, Z))
    model = DeepDestructor(**params).fit(X)
    assert model.n_layers_ == full.n_layers_ == 0
    # Sweeps over the training part and the held-out rows while choosing; none in the refit.
    assert sum(sweeps) == len(X)
    # The same model: two fits in one process, compared to rounding (EM's
    # threads may sum in another order).
    np.testing.assert_allclose(model.transform(X), U, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.train_scores_, full.train_scores_, rtol=1e-12)
    assert model.train_scores_[-1] == pytest.approx(model.score(X), rel=1e-12)


def _mixed_frame(n=400):
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "x": x,
        "count": rng.poisson(np.exp(0.5 * x + 1.0)),
        "city": pd.Categorical(rng.choice(["oslo", "paris", "rome"], n)),
    })


@pytest.mark.parametrize("make", [
    lambda: DeepDestructor(max_layers=3, random_state=0),
    lambda: DeepDestructor(max_layers=3, refit=False, random_state=0),
    lambda: DeepDestructorCV(max_layers=2, cv=2, random_state=0),
], ids=["refit", "no-refit", "cv"])
@pytest.mark.parametrize("data", ["moons", "mixed frame"])
def test_fit_and_fit_transform_make_the_same_deep_model(moons, make, data):
    # fit skips the last refitted layer's output, fit_transform computes it:
    # the models must be the same (two fits in one process, to rounding).
    X = moons[0] if data == "moons" else _mixed_frame()
    model = make().fit(X)
    full = make()
    full.fit_transform(X)
    np.testing.assert_allclose(model.score_samples(X), full.score_samples(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.train_scores_, full.train_scores_, rtol=1e-12)


def test_too_few_rows_for_a_validation_split():
    with pytest.raises(ValueError, match="needs at least 2 rows to fit and 1 to validate"):
        _simple(validation_fraction=0.9).fit(np.random.RandomState(0).rand(3, 2))


def test_non_destructor_templates_are_rejected(moons):
    with pytest.raises(TypeError, match="layers must be destructors .* in destructor"):
        DeepDestructor(StandardScaler()).fit(moons[0])
    with pytest.raises(TypeError, match="in init_destructor"):
        DeepDestructor(init_destructor=[MarginalDestructor(), StandardScaler()]).fit(moons[0])
    with pytest.raises(ValueError, match="must not be an empty list"):
        DeepDestructor([]).fit(moons[0])


def test_invalid_nested_template_parameters_are_rejected_before_growing(moons):
    # Layers cloned from the templates are fitted without validating again,
    # so the templates (and what they hold) must be validated up front.
    from sklearn.utils._param_validation import InvalidParameterError

    from destructors import TreeDensity

    bad_tree = TreeDestructor(TreeDensity(max_leaf_nodes=0))
    with pytest.raises(InvalidParameterError, match="max_leaf_nodes"):
        DeepDestructor([GaussianDestructor(), bad_tree], random_state=0).fit(moons[0][:300])
    bad_step = CompositeDestructor([("marginal", MarginalDestructor(HistogramDensity(bins="many")))])
    with pytest.raises(InvalidParameterError, match="bins"):
        DeepDestructor(init_destructor=bad_step, random_state=0).fit(moons[0][:300])


# ----------------------------------------------------- scikit-learn workflows
def test_pipeline_and_composite_with_a_scaler(moons):
    X, _ = moons
    pipeline = Pipeline([("scale", StandardScaler()), ("density", _simple())]).fit(X)
    composite = CompositeDestructor([("deep", _simple())]).fit(X)
    # The pipeline scores the scaled data, missing the scaler's log-determinant;
    # the composite scores X itself.
    gap = composite.score(X) - pipeline.score(X)
    assert gap == pytest.approx(-np.log(X.std(axis=0)).sum(), abs=0.05)


def test_grid_search_ranks_by_held_out_log_likelihood(moons):
    X, _ = moons
    search = GridSearchCV(
        DeepDestructor(_copula_layer(), init_destructor=MarginalDestructor(), random_state=0),
        {"destructor__marginal__density": [HistogramDensity(bins=2), HistogramDensity(bins=40)], "n_layers": [0, 2]},
        cv=3,
        n_jobs=2,
    ).fit(X)
    assert search.best_params_["destructor__marginal__density"].bins == 40
    assert search.best_params_["n_layers"] == 2
    # The ranking score is the held-out mean log-likelihood of each fold.
    best = clone(search.best_estimator_)
    held_out = [clone(best).fit(X[tr]).score(X[te]) for tr, te in KFold(3).split(X)]
    assert search.best_score_ == pytest.approx(np.mean(held_out))


def test_gaussianize_features_before_a_classifier(moons):
    X, y = moons[0][:1200], moons[1][:1200]
    rng = np.random.RandomState(0)
    X_skew = np.column_stack([np.exp(X[:, 0]), X[:, 1] ** 3 + 0.1 * rng.standard_normal(len(X))])
    model = make_pipeline(DeepDestructor(output_distribution="normal", random_state=0), LogisticRegression())
    model.fit(X_skew, y)
    assert model.score(X_skew, y) > 0.75
    Z = model[0].transform(X_skew)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(2), atol=0.1)
    for j in range(2):
        assert stats.kstest(Z[:, j], "norm").statistic < 0.04


def test_clone_params_pickle_and_joblib_of_a_deep_model(moons, tmp_path):
    X, _ = moons
    model = DeepDestructor(IdentityDestructor(), init_destructor=MarginalDestructor(), n_layers=100, random_state=0).fit(X)
    assert len(model.layers_) == 101
    params = model.get_params(deep=True)
    assert "destructor__input_distribution" in params
    copy = clone(model).set_params(n_layers=2)
    assert copy.n_layers == 2 and not hasattr(copy, "layers_")
    expected = model.score_samples(X)
    # Exact: a loaded model runs the same operations, in one process.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).score_samples(X), expected)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").score_samples(X), expected)


def test_set_output_pandas(moons):
    pd = pytest.importorskip("pandas")
    X, _ = moons
    frame = pd.DataFrame(X, columns=["x", "y"])
    model = _simple(n_layers=1).set_output(transform="pandas").fit(frame)
    assert list(model.transform(frame).columns) == ["x", "y"]
    assert isinstance(model.transform(frame, n_layers=0), pd.DataFrame)


# ------------------------------------------------------------- cross-validation
def _simple_cv(**params):
    return DeepDestructorCV(_copula_layer(), init_destructor=MarginalDestructor(), random_state=0, **params)


def test_cv_chooses_the_best_mean_depth(moons):
    X, _ = moons
    model = _simple_cv(cv=3, max_layers=6).fit(X)
    assert model.cv_scores_.shape[0] == 3
    assert model.n_layers_ == int(np.argmax(model.cv_scores_.mean(axis=0)))
    assert len(model.layers_) == model.n_layers_ + 1
    assert model.train_scores_.shape == (model.n_layers_ + 1,)


def test_cv_parallel_folds_match_serial(moons):
    X, _ = moons
    serial = _simple_cv(cv=3, max_layers=3).fit(X)
    parallel = _simple_cv(cv=3, max_layers=3, n_jobs=2).fit(X)
    # Not bit for bit: the folds run in worker processes with another number
    # of BLAS threads, and not every BLAS sums a product alike whatever its
    # thread count. The same seeds give the same model up to that rounding.
    np.testing.assert_allclose(serial.cv_scores_, parallel.cv_scores_, rtol=1e-12)
    np.testing.assert_allclose(serial.score_samples(X), parallel.score_samples(X), rtol=1e-10)


def test_cv_accepts_a_splitter_and_chooses_initial_candidates(moons):
    X, _ = moons
    model = DeepDestructorCV(
        IdentityDestructor(), init_destructor=[GaussianDestructor(), MarginalDestructor()],
        cv=KFold(4), max_layers=2, random_state=0,
    ).fit(X)
    assert model.cv_scores_.shape[0] == 4
    assert model.init_scores_.shape == (2,)
    assert isinstance(model.layers_[0], MarginalDestructor)


def test_cv_replays_the_majority_template(moons):
    X, _ = moons
    model = DeepDestructorCV(
        [IdentityDestructor(), _copula_layer()], init_destructor=MarginalDestructor(), cv=3, max_layers=2, random_state=0
    ).fit(X)
    assert model.n_layers_ >= 1
    assert isinstance(model.layers_[1], CompositeDestructor)


# -------------------------------------------------------------------- presets
def test_presets_are_configured_deep_destructors(moons):
    from destructors import deep_copula, deep_rbig, deep_trees

    X, _ = moons
    rbig = deep_rbig("pca", random_state=0).fit(X)
    assert isinstance(rbig.layers_[0], MarginalDestructor)
    assert all(isinstance(layer.layers_[0], RotationDestructor) for layer in rbig.layers_[1:])
    assert rbig.score(X) > MarginalDestructor().fit(X).score(X)
    copula = deep_copula(n_layers=1, random_state=0).fit(X)
    assert [type(step).__name__ for step in copula.layers_[1].layers_] == ["MarginalDestructor", "GaussianDestructor"]
    trees = deep_trees("random", max_leaf_nodes=8, n_layers=3, random_state=0).fit(X)
    assert all(isinstance(layer, TreeDestructor) for layer in trees.layers_[1:])
    assert trees.layers_[1].tree_density_.n_leaves_ <= 8


def test_preset_parameters_reach_grid_search(moons):
    from destructors import deep_rbig

    params = deep_rbig().get_params()
    assert "destructor__rotation__rotation" in params and "destructor__marginal__density" in params


# ---------------------------------------------------------------- subsampling
def test_max_fit_samples_fits_layers_on_a_subsample_without_clipping():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((5000, 2)) * [1.0, 3.0]
    model = DeepDestructor(
        _copula_layer(), init_destructor=MarginalDestructor(), n_layers=2, max_fit_samples=300,
        random_state=0, output_distribution="normal",
    ).fit(X)
    # The first layer's histograms saw 300 rows: tail mass 1 / 301.
    assert model.layers_[0].densities_[0].cdf_.p_left == pytest.approx(1 / 301)
    # Rows far beyond any subsample stay distinct and invertible: nothing is clipped.
    far = np.array([[8.0, 0.0], [12.0, 0.0], [40.0, 0.0]])
    Z = model.transform(far)
    assert np.all(np.diff(Z[:, 0]) > 0)
    np.testing.assert_allclose(model.inverse_transform(Z), far, rtol=1e-8, atol=1e-12)
    assert np.all(np.isfinite(model.score_samples(far)))
    # Fitting on all rows fits them better; the subsample model is still close
    # to the true density (two independent Gaussians: -3.94 nats per row).
    full = DeepDestructor(_copula_layer(), init_destructor=MarginalDestructor(), n_layers=2, random_state=0).fit(X)
    truth = stats.norm.logpdf(X, scale=[1.0, 3.0]).sum(axis=1).mean()
    assert full.score(X) > model.score(X) > truth - 0.3


def test_cv_refits_the_next_candidate_when_the_best_fails_on_all_rows(monkeypatch):
    # A mixture that fitted every fold may still collapse on all rows: the
    # next best initial candidate is refitted instead, with a warning.
    from destructors import DeepDestructorCV, GaussianMixtureDestructor, MarginalDestructor

    X = np.random.default_rng(0).normal(size=(300, 2))
    fit = GaussianMixtureDestructor._fit

    def fails_on_all_rows(self, rows):
        if rows.shape[0] == X.shape[0]:
            raise ValueError("collapsed on all rows")
        return fit(self, rows)

    monkeypatch.setattr(GaussianMixtureDestructor, "_fit", fails_on_all_rows)
    model = DeepDestructorCV(cv=2, init_destructor=[MarginalDestructor(), GaussianMixtureDestructor(2)],
                             max_layers=2, random_state=0)
    with pytest.warns(UserWarning, match="GaussianMixtureDestructor could not be refitted on all rows"):
        model.fit(X)
    assert isinstance(model.layers_[0], MarginalDestructor)
    assert np.isfinite(model.init_scores_[0]) and model.init_scores_[1] == -np.inf
    assert np.all(np.isfinite(model.score_samples(X)))
