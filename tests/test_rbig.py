"""RBIGDestructor: rotation-based iterative Gaussianization."""

import numpy as np
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV

from destructors import (
    GaussianDensity,
    HistogramDensity,
    MarginalDestructor,
    RBIGDestructor,
    RotationDestructor,
    UnmixingDestructor,
    SplineDensity,
)
from destructors._normal import norm_logpdf
from destructors.rbig import default_first_layer
from destructors.validation import check_destructor


def _banana(n_samples, rng):
    x = rng.standard_normal(n_samples)
    return np.column_stack([x, 0.5 * x**2 + 0.3 * rng.standard_normal(n_samples)])


def _banana_logpdf(X):
    return stats.norm.logpdf(X[:, 0]) + stats.norm.logpdf(X[:, 1], 0.5 * X[:, 0] ** 2, 0.3)


@pytest.fixture
def banana():
    rng = np.random.RandomState(0)
    return _banana(3000, rng), _banana(3000, rng)


@pytest.mark.parametrize(
    "estimator",
    [
        RBIGDestructor(rotation="random", random_state=0),
        RBIGDestructor(MarginalDestructor(SplineDensity()), n_layers=3, random_state=0),
        RBIGDestructor(rotation=RotationDestructor("sliced", max_iter=20), n_layers=2, random_state=0),
    ],
    ids=["random", "spline", "sliced"],
)
def test_check_destructor(estimator):
    # The default configuration runs in tests/test_common.py.
    check_destructor(estimator)


def test_layers_alternate_rotation_and_marginal(banana):
    X, _ = banana
    model = RBIGDestructor(n_layers=4, random_state=0).fit(X)
    assert model.n_layers_ == 4 and len(model.layers_) == 9
    assert model.tc_reductions_.shape == (4,)
    # The first layer standardizes each feature, then fits shrunk histograms.
    standardize, histogram = model.layers_[0].layers_
    assert isinstance(standardize.densities_[0], GaussianDensity)
    assert all(density.shrinkage == "auto" for density in histogram.densities_)
    for rotation, marginal in zip(model.layers_[1::2], model.layers_[2::2]):
        assert isinstance(rotation, RotationDestructor) and rotation.input_distribution == "normal"
        assert isinstance(marginal, MarginalDestructor) and marginal.output_distribution == "normal"


def test_score_is_the_sum_of_layer_log_dets(banana):
    X, X_test = banana
    model = RBIGDestructor(n_layers=3, output_distribution="normal", random_state=0).fit(X)
    Z, log_det = X_test, np.zeros(len(X_test))
    for layer in model.layers_:
        # Each layer on its own: its density is log N(output) + its log-det.
        output = layer.transform(Z)
        log_det += layer.score_samples(Z) - norm_logpdf(output).sum(axis=1)
        Z = output
    np.testing.assert_allclose(model.transform(X_test), Z, rtol=1e-12)
    expected = norm_logpdf(Z).sum(axis=1) + log_det
    np.testing.assert_allclose(model.score_samples(X_test), expected, rtol=1e-10)


def test_zero_layers_is_the_marginal_model(banana):
    X, X_test = banana
    model = RBIGDestructor(n_layers=0).fit(X)
    marginal = default_first_layer().fit(X)
    np.testing.assert_allclose(model.score_samples(X_test), marginal.score_samples(X_test), rtol=1e-12)
    assert model.n_layers_ == 0 and model.total_correlation_ == 0.0


def test_fit_transform_matches_transform_after_auto_stop(banana):
    X, _ = banana
    model = RBIGDestructor(output_distribution="normal", random_state=0)
    Z = model.fit_transform(X)
    np.testing.assert_allclose(Z, model.transform(X), rtol=1e-12, atol=1e-12)


class _CountingMarginal(MarginalDestructor):
    """A marginal destructor that counts the forward passes of all its clones."""

    calls = 0

    def _forward(self, X):
        type(self).calls += 1
        return super()._forward(X)


def test_fitting_transforms_the_training_data_once(banana):
    X, _ = banana
    _CountingMarginal.calls = 0
    RBIGDestructor(_CountingMarginal(), n_layers=3, tol=0.01, random_state=0).fit(X)
    assert _CountingMarginal.calls == 4  # one per marginal layer


def test_auto_stops_soon_on_gaussian_data():
    """One iteration Gaussianizes a Gaussian; the held-out search may keep a few near-identity ones after it.

    Measured over seeds 0 to 3: 2 to 6 iterations, every one after the
    first removing less than ``tol_`` (the noise threshold), and total
    correlations 0.376 to 0.385 (truth 0.384).
    """
    rng = np.random.RandomState(0)
    cov = np.array([[1, 0.7, 0.3], [0.7, 1, 0.2], [0.3, 0.2, 1]])
    X = rng.multivariate_normal([0, 0, 0], cov, size=4000)
    model = RBIGDestructor(random_state=0).fit(X)
    assert model.n_layers_ <= 8
    assert model.tc_reductions_[0] > model.tol_ > 0
    assert np.all(model.tc_reductions_[1:] < model.tol_)
    assert model.total_correlation_ == pytest.approx(-0.5 * np.log(np.linalg.det(cov)), abs=0.02)


def test_auto_uses_more_layers_on_curved_data_and_drops_the_tail(banana):
    X, _ = banana
    model = RBIGDestructor(validation_fraction=None, random_state=0, patience=3).fit(X)
    assert model.n_layers_ >= 4
    # The kept model ends on a significant iteration.
    assert model.tc_reductions_[-1] > model.tol_
    assert model.n_layers_ <= model.max_layers


def test_max_layers_bounds_auto(banana):
    X, _ = banana
    model = RBIGDestructor(max_layers=2, random_state=0).fit(X)
    assert model.n_layers_ <= 2


def test_large_tol_keeps_no_iteration(banana):
    X, _ = banana
    model = RBIGDestructor(tol=100.0, validation_fraction=None, random_state=0).fit(X)
    assert model.n_layers_ == 0 and len(model.layers_) == 1
    assert model.total_correlation_ == 0.0 and model.noise_floor_ == 0.0


def test_marginal_entropies_are_corrected_for_the_first_layers_optimism():
    """``marginal_optimism_`` is the held-in gain of the first layer over the true normal density.

    On standard normal data of 4,000 rows a plain histogram's held-in
    log-likelihood exceeds the truth by about ``(n_bins - 1) / (2 n)`` a
    feature (Miller-Madow; its pseudo-counts make it somewhat less). The
    default first layer shrinks its smooth histograms towards the fitted
    normal and gains far less there (measured 0.06 to 0.32 of Miller-Madow's
    bias over seeds 0 to 3: about what fitting a mean and a deviation
    gains, plus the little histogram left in). Without the correction a
    normal sample's entropy would come out low by that much.
    """
    X = np.random.RandomState(7).standard_normal((4000, 3))
    plain = RBIGDestructor(MarginalDestructor(), random_state=0).fit(X)
    n_bins = np.array([density.n_bins_ for density in plain.layers_[0].densities_])
    miller_madow = np.sum(n_bins - 1) / (2 * X.shape[0])
    assert 0.3 * miller_madow < plain.marginal_optimism_ < 1.5 * miller_madow
    default = RBIGDestructor(random_state=0).fit(X)
    assert abs(default.marginal_optimism_) < 0.5 * miller_madow
    for model in (plain, default):
        held_in = -np.mean(model.layers_[0].score_samples(X))
        assert model.marginal_entropy_ == pytest.approx(held_in + model.marginal_optimism_, abs=1e-12)
        assert model.entropy_ == pytest.approx(model.marginal_entropy_ - model.total_correlation_, abs=1e-12)
    fixed = RBIGDestructor(tol=0.01, validation_fraction=None, random_state=0).fit(X)
    assert fixed.marginal_optimism_ == 0.0


def test_single_feature_has_no_total_correlation():
    x = np.random.RandomState(0).exponential(size=(1000, 1))
    model = RBIGDestructor(random_state=0).fit(x)
    assert model.n_layers_ == 0 and model.total_correlation_ == 0.0
    assert model.entropy_ == pytest.approx(1.0, abs=0.05)  # Exp(1) has entropy 1


def test_verbose_prints_one_line_per_iteration(banana, capsys):
    X, _ = banana
    model = RBIGDestructor(verbose=1, validation_fraction=None, patience=2, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == model.n_layers_ + 2  # plus the dropped iterations
    assert lines[0].startswith("[RBIGDestructor] iteration 1: TC reduction")


def test_verbose_reports_the_depth_search_then_the_refit(banana, capsys):
    X, _ = banana
    model = RBIGDestructor(verbose=1, patience=2, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    search = [line for line in lines if "depth search" in line]
    assert len(search) == len(model.validation_scores_) - 1
    assert len(lines) == len(search) + model.n_layers_
    assert lines[-1].startswith(f"[RBIGDestructor] iteration {model.n_layers_}: TC reduction")


def test_beats_the_marginal_model_and_nears_the_truth(banana):
    X, X_test = banana
    model = RBIGDestructor(random_state=0).fit(X)
    marginal = MarginalDestructor().fit(X)
    truth = _banana_logpdf(X_test).mean()
    assert model.score(X_test) > marginal.score(X_test) + 0.3
    assert truth - model.score(X_test) < 0.25  # measured: 0.18 nats at n = 3000


def test_gaussianizes_the_training_data(banana):
    X, _ = banana
    Z = RBIGDestructor(output_distribution="normal", random_state=0).fit_transform(X)
    # Shrunk histograms only partly Gaussianize what they judge noise: the
    # variances come out 0.94 here (0.98 to 1.00 without shrinkage).
    np.testing.assert_allclose(np.cov(Z.T), np.eye(2), atol=0.08)
    for j in range(2):
        assert stats.kstest(Z[:, j], "norm").statistic < 0.03


def test_samples_follow_the_data(banana):
    # Robust statistics only: the first marginal layer has half-Cauchy tails
    # (mass 1 / (n + 1) a side), so a sample of 4,000 rows holds a point or
    # two far outside the data, and its covariance is that of those points.
    X, X_test = banana
    model = RBIGDestructor(random_state=0).fit(X)
    S = model.sample(4000, random_state=1)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    np.testing.assert_allclose(np.quantile(S, levels, axis=0), np.quantile(X, levels, axis=0), atol=0.15)
    # Against held-out rows of the truth: 0.047 is the two-sample KS critical value at the 0.1% level.
    assert max(stats.ks_2samp(S[:, j], X_test[:, j]).statistic for j in range(2)) < 0.047
    assert np.mean(np.any((S < X.min(axis=0)) | (S > X.max(axis=0)), axis=1)) < 0.01
    # Curvature is reproduced: x1 grows with x0**2 (0.74 in the data).
    assert stats.spearmanr(S[:, 0] ** 2, S[:, 1])[0] > 0.6


def test_random_state_reproducible(banana):
    X, X_test = banana
    first = RBIGDestructor(rotation="random", n_layers=3, random_state=0).fit(X)
    again = RBIGDestructor(rotation="random", n_layers=3, random_state=0).fit(X)
    other = RBIGDestructor(rotation="random", n_layers=3, random_state=1).fit(X)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(first.score_samples(X_test), again.score_samples(X_test))
    assert not np.allclose(first.score_samples(X_test), other.score_samples(X_test))


def test_grid_search_reaches_marginal_density_parameters(banana):
    X, _ = banana
    model = RBIGDestructor(MarginalDestructor(HistogramDensity()), n_layers=2, tol=0.01)
    search = GridSearchCV(model, {"marginal__density__bins": [3, 40]}, cv=3).fit(X)
    assert search.best_params_ == {"marginal__density__bins": 40}
    assert all(layer.densities_[0].n_bins_ == 40 for layer in search.best_estimator_.layers_[::2])


def test_rotation_template_parameters_are_reachable(banana):
    X, _ = banana
    model = RBIGDestructor(rotation=RotationDestructor("sliced"), n_layers=1, tol=0.01, random_state=0)
    model.set_params(rotation__n_directions=1, rotation__max_iter=5).fit(X)
    assert model.layers_[1].n_directions == 1 and model.layers_[1].rotation == "sliced"


def test_marginal_must_be_a_destructor(banana):
    X, _ = banana
    with pytest.raises(ValueError, match="'marginal' parameter of RBIGDestructor"):
        RBIGDestructor(GaussianDensity()).fit(X)
    with pytest.raises(ValueError, match="'rotation' parameter must be a destructor"):
        RBIGDestructor(rotation=PCA()).fit(X)


def test_far_rows_have_finite_scores(banana):
    X, _ = banana
    model = RBIGDestructor(random_state=0).fit(X)
    far = np.array([[1e3, -1e3], [-50.0, 80.0], [0.0, 1e6]])
    assert np.all(np.isfinite(model.score_samples(far)))
    assert np.all(np.isfinite(model.transform(far)))


def _marginal_tails(model):
    """Tails of the histogram (or spline) marginal layers, composites' steps included."""
    steps = [step for layer in model.layers_ for step in getattr(layer, "layers_", [layer])]
    return [
        step.densities_[0].tails for step in steps
        if isinstance(step, MarginalDestructor) and hasattr(step.densities_[0], "tails")
    ]


def test_default_marginal_layers_have_cauchy_then_normal_tails():
    X = np.random.RandomState(0).standard_normal((300, 3))
    # The first layer sees the raw data; the later ones, Gaussianized data.
    assert _marginal_tails(RBIGDestructor(n_layers=2, random_state=0).fit(X)) == ["cauchy", "normal", "normal"]
    # A template is used as given, for every marginal layer.
    template = MarginalDestructor(SplineDensity())
    model = RBIGDestructor(template, n_layers=2, random_state=0).fit(X)
    assert _marginal_tails(model) == ["cauchy"] * 3
    assert all(type(layer.densities_[0]) is SplineDensity for layer in model.layers_[::2])


def test_rows_beyond_the_data_survive_many_random_steps():
    # With half-Cauchy tails in the Gaussianized steps, 59 of these 203 rows
    # came back from the round trip as values near 1e307: each step contracted
    # the rows beyond its data. Normal tails shift them instead.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 3)) @ [[1, 0.5, 0], [0, 1, 0.5], [0, 0, 1]]
    rows = np.vstack([1.5 * rng.standard_normal((200, 3)), [[8, 0, 0], [0, -9, 0], [5, 5, -5]]])
    model = RBIGDestructor(rotation="random", n_layers=50, random_state=0).fit(X)
    # With the default shrunk steps the farthest row, [5, 5, -5], comes back
    # within 1e-4 (1e-14 for the others).
    np.testing.assert_allclose(model.inverse_transform(model.transform(rows)), rows, rtol=0, atol=3e-4)


def test_depth_is_the_best_on_validation_rows(banana):
    X, _ = banana
    model = RBIGDestructor(patience=3, random_state=0).fit(X)
    scores = model.validation_scores_
    assert model.n_layers_ == int(np.argmax(scores)) > 0
    # The search stopped after `patience` iterations without a better score.
    assert len(scores) - 1 == model.n_layers_ + 3
    assert RBIGDestructor(validation_fraction=None, random_state=0).fit(X).validation_scores_ is None


def test_searched_rotations_look_at_a_subsample_only():
    rng = np.random.RandomState(0)
    X = rng.laplace(size=(600, 3)) @ rng.standard_normal((3, 3))
    small = RBIGDestructor(n_layers=1, max_samples=100, random_state=0).fit(X)
    full = RBIGDestructor(n_layers=1, max_samples=None, random_state=0).fit(X)
    assert not np.allclose(small.layers_[1].rotation_, full.layers_[1].rotation_)
    # PCA rotations are not searched: they use every row.
    pca = [RBIGDestructor(rotation="pca", n_layers=1, max_samples=m, random_state=0).fit(X) for m in (100, None)]
    np.testing.assert_array_equal(pca[0].layers_[1].rotation_, pca[1].layers_[1].rotation_)


def test_default_beats_the_total_correlation_rule_on_heavy_tails():
    # An 8-D Student-t (3 dof): the total-correlation rule overfits with
    # PCA rotations (benchmarks: held-out KL gap 1.86 against 0.44 at 20,000 rows).
    from destructors.datasets import StudentT

    t = StudentT()
    X, X_test = t.sample(3000, random_state=0), t.sample(1000, random_state=1)
    default = RBIGDestructor(random_state=0).fit(X).score(X_test)
    rule = RBIGDestructor(rotation="pca", validation_fraction=None, random_state=0).fit(X).score(X_test)
    truth = t.log_density(X_test).mean()
    assert default > rule + 0.1
    assert truth - default < 1.0


# ------------------------------------------------------------------ unmixing
def _mixed_uniform(n_samples, seed):
    rng = np.random.RandomState(seed)
    A = rng.standard_normal((3, 3))
    return rng.uniform(size=(n_samples, 3)) @ A.T, float(np.linalg.slogdet(A)[1])


def test_unmixing_removes_the_entropy_bias_of_mixed_hard_edges():
    # H(A u) = log|det A| for u uniform on the cube. Plain RBIG removes the
    # dependence of slanted hard edges slowly (+0.012 to +0.137 nats on such
    # samples, seeds 0 to 3); after the unmixing +0.0014 to +0.0026.
    X, truth = _mixed_uniform(10_000, 0)
    plain = RBIGDestructor(random_state=0).fit(X)
    unmixed = RBIGDestructor(unmixing="ica", random_state=0).fit(X)
    assert unmixed.unmixing_ == "ica" and plain.unmixing_ is None
    assert abs(unmixed.entropy_ - truth) < 0.02
    assert abs(unmixed.entropy_ - truth) < 0.5 * abs(plain.entropy_ - truth)
    assert isinstance(unmixed.layers_[0].steps[0][1], UnmixingDestructor)
    # The marginal entropies are still those of the raw features, and the
    # total correlation is what separates them from the joint entropy.
    assert unmixed.marginal_entropy_ == pytest.approx(plain.marginal_entropy_, abs=0.01)
    assert unmixed.total_correlation_ == pytest.approx(unmixed.marginal_entropy_ - unmixed.entropy_, rel=1e-12)
    assert unmixed.marginal_layer_ is not unmixed.layers_[0]
    assert plain.marginal_layer_ is plain.layers_[0]
    assert plain.first_entropy_ == plain.marginal_entropy_


def test_auto_unmixing_is_chosen_on_validation_rows():
    X, _ = _mixed_uniform(5000, 1)
    auto = RBIGDestructor(unmixing="auto", random_state=0).fit(X)
    assert auto.unmixing_ == "ica"
    # Exponential marginals of a Gaussian copula: a linear unmixing of the
    # skewed raw features only hurts, and the plain model is kept, fitted
    # exactly as without the option.
    rng = np.random.RandomState(0)
    Z = rng.multivariate_normal([0, 0, 0], [[1, 0.7, 0.3], [0.7, 1, 0.5], [0.3, 0.5, 1]], size=5000)
    Y = stats.expon.ppf(stats.norm.cdf(Z))
    auto = RBIGDestructor(unmixing="auto", random_state=0).fit(Y)
    plain = RBIGDestructor(random_state=0).fit(Y)
    assert auto.unmixing_ is None
    np.testing.assert_array_equal(auto.score_samples(Y), plain.score_samples(Y))
    ica = RBIGDestructor(unmixing="ica", random_state=0).fit(Y)
    assert ica.validation_scores_.max() < auto.validation_scores_.max()
    # Without a depth search there is nothing to choose on: no unmixing.
    fixed = RBIGDestructor(unmixing="auto", n_layers=2, random_state=0).fit(X)
    assert fixed.unmixing_ is None


def test_unmixed_model_is_a_destructor():
    check_destructor(RBIGDestructor(unmixing="ica", n_layers=2, random_state=0))
