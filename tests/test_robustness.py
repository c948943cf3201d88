"""Numerical robustness on fixed, adversarial data.

Deep stacks of 200 layers, rows 50 standard deviations out, near-singular
and exactly singular covariances, very small and very large samples,
discrete data, concurrent scoring from several threads, and the error
messages of every estimator. Each test fails if its property breaks; the
known limitations are marked ``xfail(strict=True)`` with their reason, so
that a fix is noticed. ``test_properties.py`` runs the same properties on
data drawn by hypothesis.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from destructors import (
    AutoregressiveDestructor,
    CompositeDestructor,
    DeepDestructor,
    DeepDestructorCV,
    GaussianDestructor,
    GaussianMixtureDestructor,
    HistogramDensity,
    IdentityDestructor,
    KDEDensity,
    MarginalDestructor,
    RBIGDestructor,
    RotationDestructor,
    SplineDensity,
    TreeDensity,
    TreeDestructor,
    conditional_sample,
    deep_copula,
    deep_rbig,
)
from destructors.deep import default_layer_candidates

from _estimators import DESTRUCTOR_CLASSES, instance


def _default(cls, **params):
    """The estimator with its default parameters (Gaussian-view input if canonical)."""
    estimator = instance(cls)
    if "input_distribution" in estimator.get_params():
        estimator.set_params(input_distribution="normal")
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    return estimator.set_params(**params)


def _skewed(n_rows, n_features=3, seed=0):
    """Correlated, skewed data."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, n_features)) @ (np.eye(n_features) + 0.5 * np.tri(n_features, k=-1)).T
    X[:, 0] = np.exp(0.7 * X[:, 0])
    return X


@pytest.fixture(scope="module")
def skewed():
    return _skewed(600)


# ------------------------------------------------------------ 200 layers
def _stack_of_200(templates, X):
    return DeepDestructor(
        templates, init_destructor=MarginalDestructor(), layer_choice="cycle", n_layers=200,
        random_state=0, output_distribution="normal",
    ).fit(X)


def _rows_and_far_rows(X, X_test):
    far = X.mean(axis=0) + 50 * X.std(axis=0) * np.array([[1, 0, 0], [0, -1, 0], [1, 1, -1]])
    return np.vstack([X_test, far])


def test_a_200_layer_stack_stays_finite_and_invertible():
    """Rotations, random and best trees and Gaussian layers, cycled 200 times after a marginal layer."""
    X, X_test = _skewed(400, seed=1), _skewed(200, seed=2)
    model = _stack_of_200(
        [RotationDestructor("random"), TreeDestructor(TreeDensity("random", max_leaf_nodes=8)),
         GaussianDestructor(), TreeDestructor(TreeDensity(max_leaf_nodes=8))], X,
    )
    assert len(model.layers_) == 201
    rows = _rows_and_far_rows(X, X_test)
    Z = model.transform(rows)
    assert np.all(np.isfinite(Z))
    scores = model.score_samples(rows)
    assert np.all(np.isfinite(scores)) and scores.min() > -1e4
    np.testing.assert_allclose(model.score_samples_layers(rows).sum(axis=1), scores, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(model.inverse_transform(Z), rows, rtol=1e-8)
    samples = model.sample(100, random_state=0)
    assert np.all(np.isfinite(samples)) and np.all(np.isfinite(model.score_samples(samples)))


def _rbig_steps(**density):
    return lambda: [CompositeDestructor([("rotation", RotationDestructor("random")),
                                         ("marginal", MarginalDestructor(HistogramDensity(**density)))])]


def _copula_layers(**density):
    return lambda: [CompositeDestructor([("marginal", MarginalDestructor(HistogramDensity(**density))),
                                         ("gaussian", GaussianDestructor(covariance="correlation"))])]


# The library's own stacks of marginal layers, then the variants that explain their choices.
MARGINAL_STACKS = {
    "rbig-steps": _rbig_steps(tails="normal", shrinkage="auto"),
    "copula-layers": _copula_layers(tails="normal"),
    "rbig-steps-unshrunk": _rbig_steps(tails="normal"),
    "rbig-steps-cauchy": _rbig_steps(tails="cauchy", shrinkage="auto"),
    "copula-layers-cauchy": _copula_layers(tails="cauchy"),
}


def test_the_library_stacks_marginal_layers_like_the_tested_stacks():
    for preset, name in ((deep_rbig("random"), "rbig-steps"), (deep_copula(), "copula-layers")):
        assert repr(preset.destructor) == repr(MARGINAL_STACKS[name]()[0])
    assert repr(default_layer_candidates()[1]) == repr(MARGINAL_STACKS["rbig-steps"]()[0])


@pytest.mark.parametrize("templates", MARGINAL_STACKS.values(), ids=MARGINAL_STACKS.keys())
def test_a_200_layer_stack_of_marginal_layers_scores_every_row(templates):
    X, X_test = _skewed(400, seed=1), _skewed(200, seed=2)
    model = _stack_of_200(templates(), X)
    rows = _rows_and_far_rows(X, X_test)
    assert np.all(np.isfinite(model.transform(rows)))
    scores = model.score_samples(rows)
    assert np.all(np.isfinite(scores))
    # Not astronomically low either: one Gaussian fitted to X scores the 50-sd rows -1,500
    # to -7,400; stacks whose layers stretched far rows layer after layer gave -2e15.
    assert scores.min() > -1e4
    np.testing.assert_allclose(model.score_samples_layers(rows).sum(axis=1), scores, rtol=1e-9, atol=1e-8)
    assert np.all(np.isfinite(model.sample(200, random_state=0)))


_CAUCHY_CONTRACTS = pytest.mark.xfail(strict=True, reason=(
    "Known limitation of half-Cauchy tails in the Gaussian view (the reason normal tails "
    "exist): beyond its data such a layer maps the Gaussian view through a tail heavier than "
    "the Gaussian it follows, so it contracts there (dz/dx about 0.3 a unit beyond the "
    "extreme of 400 rows), and rows that keep landing beyond the extremes are contracted layer "
    "after layer: 12 of 203 rows (RBIG steps) and 9 (copula layers) come back from the inverse "
    "as values near 1e307 or infinite."
))
_UNSHRUNK_STACK_IS_ILL_CONDITIONED = pytest.mark.xfail(strict=True, reason=(
    "Known limitation of 200 unshrunk RBIG steps on 400 rows (the reason the library's RBIG "
    "steps shrink their histograms towards the normal): once the data are Gaussian, every "
    "further step fits sampling noise, and the forward map of a few rows contracts some "
    "direction by 1e-9 to 1e-10 (smallest singular value of the Jacobian, by finite "
    "differences); the rounding of each layer, magnified by the inverse of the layers before "
    "it, leaves 6 of 203 rows with errors from 1e-6 to 1e-3 after the round trip. The inverse "
    "is backward stable (next test)."
))
INVERSION_MARKS = {
    "rbig-steps-unshrunk": _UNSHRUNK_STACK_IS_ILL_CONDITIONED,
    "rbig-steps-cauchy": _CAUCHY_CONTRACTS,
    "copula-layers-cauchy": _CAUCHY_CONTRACTS,
}


@pytest.mark.parametrize("templates", [
    pytest.param(templates, id=name, marks=INVERSION_MARKS.get(name, ()))
    for name, templates in MARGINAL_STACKS.items()
])
def test_a_200_layer_stack_of_marginal_layers_inverts_the_tails(templates):
    X, X_test = _skewed(400, seed=1), _skewed(200, seed=2)
    model = _stack_of_200(templates(), X)
    rows = _rows_and_far_rows(X, X_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        back = model.inverse_transform(model.transform(rows))
    np.testing.assert_allclose(back, rows, rtol=1e-6)


def _forced_rbig(rotation):
    """Default RBIG forced to 200 steps on 400 rows, and rows to map: held-out ones and three far ones."""
    X, X_test = _skewed(400, seed=1), _skewed(200, seed=2)
    model = RBIGDestructor(rotation=rotation, n_layers=200, random_state=0, output_distribution="normal").fit(X)
    return model, _rows_and_far_rows(X, X_test)


@pytest.mark.parametrize("rotation", ["sliced", "pca"])
def test_200_rbig_steps_have_a_backward_stable_inverse(rotation):
    """Default RBIG steps forced to 200: finite scores, and an inverse that is backward stable.

    200 steps on 400 rows overfit badly, and with sliced rotations the stack
    squeezes some regions flat: measured on these rows (seeds 0 to 3), the
    smallest singular value of its Jacobian goes down to 2e-22 at a far row
    and to 5e-12 at held-out rows (1e-8 when the later histograms had
    NumPy's bins and were shrunk towards the standard normal), and rows come
    back off by up to 1.2 (held out) and 2e6 (far), whatever the inverse
    does: so flat a map sends whole regions within rounding of one point
    (there the errors exceed the first-order bound ``|dz| / sigma_min`` at
    the row by up to 2.6e7 times). What an inverse can give is backward
    stability: the stack maps the inverse's output onto the given values,
    measured within 6e-11.
    """
    model, rows = _forced_rbig(rotation)
    scores = model.score_samples(rows)
    assert np.all(np.isfinite(scores)) and scores.min() > -1e4
    Z = model.transform(rows)
    np.testing.assert_allclose(model.transform(model.inverse_transform(Z)), Z, rtol=0, atol=1e-9)


def test_200_pca_rbig_steps_invert_as_accurately_as_their_conditioning_allows():
    """PCA steps, which the data decide without a search, stay near linear at the scale of their errors.

    Measured on these rows: the smallest singular value of the stack's
    Jacobian goes down to 6e-11, rows come back off by up to 6e-5, and the
    forward errors stay within the first-order bound ``|dx| <= |dz| /
    sigma_min`` row by row with ``|dz| = 3e-11``, 50x the largest backward
    error measured (5.8e-13; the products ``|dx| sigma_min`` stay below
    8e-14; finite-difference Jacobians of so flat a map are themselves
    rough).
    """
    model, rows = _forced_rbig("pca")
    Z = model.transform(rows)
    back = model.inverse_transform(Z)
    smallest = np.linalg.svd(_jacobians(model, rows), compute_uv=False)[:, -1]
    assert np.all(np.abs(back - rows).max(axis=1) * smallest <= 3e-11)


def _jacobians(model, rows, relative_step=1e-6):
    """Central-difference Jacobians of ``model.transform`` at each row, shape (n_rows, d, d)."""
    steps = relative_step * np.maximum(1.0, np.abs(rows))
    columns = []
    for j in range(rows.shape[1]):
        shift = np.zeros_like(rows)
        shift[:, j] = steps[:, j]
        columns.append((model.transform(rows + shift) - model.transform(rows - shift)) / (2 * steps[:, [j]]))
    return np.stack(columns, axis=2)


def test_200_unshrunk_rbig_steps_have_a_backward_stable_inverse():
    """Where their round trip above fails, the stack itself is nearly singular: the inverse
    still returns points that the stack maps back onto the given values."""
    X, X_test = _skewed(400, seed=1), _skewed(200, seed=2)
    model = _stack_of_200(MARGINAL_STACKS["rbig-steps-unshrunk"](), X)
    Z = model.transform(_rows_and_far_rows(X, X_test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        again = model.transform(model.inverse_transform(Z))
    np.testing.assert_allclose(again, Z, rtol=0, atol=1e-9)


# ------------------------------------------------------------ far rows
@pytest.mark.parametrize("cls", DESTRUCTOR_CLASSES, ids=lambda c: c.__name__)
def test_rows_50_standard_deviations_out_get_finite_scores(cls, skewed):
    """The defaults (the full-size expensive ones included) on rows 50 sd out along each axis."""
    model = _default(cls, output_distribution="normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(skewed)
    center, spread = skewed.mean(axis=0), skewed.std(axis=0)
    directions = np.vstack([np.eye(3), -np.eye(3), [[1, -1, 1]]])
    far = center + 50 * spread * directions
    scores = model.score_samples(far)
    assert np.all(np.isfinite(scores)), scores
    # Far rows are less likely than the training rows, not more.
    assert scores.max() < np.median(model.score_samples(skewed))
    Z = model.transform(far)
    assert np.all(np.isfinite(Z))
    # Rows 20 sd out survive a round trip (the contract of every destructor).
    near = center + 20 * spread * directions
    np.testing.assert_allclose(model.inverse_transform(model.transform(near)), near, rtol=1e-8)


# ------------------------------------------------------------ singular data
def _near_singular(n_rows, gap, seed=0):
    """Three features; the third equals the first up to noise of relative size ``gap``."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, 3))
    X[:, 2] = X[:, 0] + gap * rng.standard_normal(n_rows)
    return X


NEAR_SINGULAR_MODELS = [
    GaussianDestructor(),
    GaussianMixtureDestructor(2, random_state=0),
    RBIGDestructor(max_layers=10, random_state=0),
    CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]),
    DeepDestructor(max_layers=3, random_state=0),
]


@pytest.mark.parametrize("gap", [1e-4, 1e-8, 1e-12, 0.0])
@pytest.mark.parametrize("model", NEAR_SINGULAR_MODELS, ids=lambda m: type(m).__name__)
def test_near_singular_covariances_stay_finite_and_invertible(model, gap):
    X = _near_singular(500, gap)
    X_test = _near_singular(200, gap, seed=1)
    model = clone(model).set_params(output_distribution="normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    Z = model.transform(X_test)
    assert np.all(np.isfinite(Z))
    scores = model.score_samples(X_test)
    assert np.all(np.isfinite(scores))
    # The data hug a plane: the density there is at least that of an
    # independent fit, which ignores the plane.
    assert scores.mean() > MarginalDestructor().fit(X).score(X_test)
    back = model.inverse_transform(Z)
    np.testing.assert_allclose(back, X_test, rtol=1e-6, atol=1e-6)
    # A row off the plane is finite, and less likely than the same row on it.
    off, on = np.array([[0.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 0.0]])
    assert np.isfinite(model.score_samples(off)).all()
    assert model.score_samples(off)[0] < model.score_samples(on)[0]


_RBIG_OFF_PLANE = pytest.mark.xfail(strict=False, reason=(
    "Known limitation of RBIGDestructor: beyond its data a later marginal layer continues "
    "with the standard normal's own tail (a shift, so that deep stacks invert there), "
    "whatever the spread of the data in that direction. A row 1 unit off a plane the data "
    "hug lies just beyond the data of the direction across the plane and is penalized by "
    "about log N(4), not by (1 / gap)^2 / 2: it scores about -8.8, far below the rows on the "
    "plane (+4.7 on average at gap 1e-4) but level with the least likely test rows (-8.8 to "
    "-9.3 over seeds 0 to 3), so whether it falls below all of them depends on the seed "
    "(at gap 1e-4 it does with seed 0 only, by 0.3)."
))


@pytest.mark.parametrize("gap", [1e-4, 1e-8])
@pytest.mark.parametrize(
    "model",
    [pytest.param(m, marks=_RBIG_OFF_PLANE) if isinstance(m, RBIGDestructor) else m for m in NEAR_SINGULAR_MODELS],
    ids=lambda m: type(m).__name__,
)
def test_a_row_off_a_thin_plane_is_less_likely_than_every_row_on_it(model, gap):
    X = _near_singular(500, gap)
    X_test = _near_singular(200, gap, seed=1)
    model = clone(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    off = np.array([[0.0, 0.0, 1.0]])
    assert model.score_samples(off)[0] < model.score_samples(X_test).min()


def test_rbig_on_duplicated_columns_does_not_depend_on_the_batch():
    """A duplicated column leaves a direction of pure rounding noise after PCA.

    Before RotationDestructor snapped such directions to their training
    value, the marginal layer after it fitted the noise, which differs with
    the number of rows in the product: scores moved by 8 nats between a row
    scored alone and in a batch.
    """
    rng = np.random.RandomState(0)
    X = rng.gamma(0.5, size=(300, 3)) * 1e-3 + 1.0
    X[:, 2] = X[:, 0]
    model = RBIGDestructor(max_layers=5, patience=2, random_state=0).fit(X)
    whole = model.score_samples(X[:20])
    alone = np.concatenate([model.score_samples(X[i : i + 1]) for i in range(20)])
    np.testing.assert_allclose(alone, whole, rtol=1e-12)


def test_rbig_batch_independence_on_near_singular_data():
    """PCA rotations isolate directions of tiny but real spread here, and the marginal layers
    fitted to them magnify any rounding by the inverse of that spread: rows must be rotated
    the same way alone and in a batch (``_rotation_kernels.rotate``)."""
    rng = np.random.RandomState(0)
    X = (rng.lognormal(sigma=1.5, size=(500, 8)) + 1e6) * 1e-8
    X[:, 3] = X[0, 3]
    X[:, 5] = X[:, 0]
    X[:, 7] = -3.0 * X[:, 1] + 1e-8
    model = RBIGDestructor(max_layers=4, patience=2, random_state=0).fit(X)
    whole = model.score_samples(X[:200])
    alone = np.concatenate([model.score_samples(X[i : i + 1]) for i in range(200)])
    np.testing.assert_allclose(alone, whole, rtol=1e-9)


def test_rotation_snaps_only_directions_without_spread():
    X = np.random.RandomState(0).standard_normal((200, 3))
    model = RotationDestructor(input_distribution="normal", output_distribution="normal").fit(X)
    # Nothing degenerate: the map is the plain product, to the rounding of a
    # 3-term sum (the two products run through BLAS kernels of other shapes).
    np.testing.assert_allclose(model.transform(X), X @ model.rotation_.T, rtol=0, atol=1e-14 * np.abs(X).max())
    X[:, 2] = X[:, 1]
    model = model.fit(X)
    Y = model.transform(X)
    flat = np.flatnonzero(np.ptp(Y, axis=0) == 0)
    assert flat.size == 1  # the difference of the duplicated columns
    # A row off the degenerate plane keeps its coordinate: the map stays invertible.
    off = np.array([[0.0, 1.0, 1.5]])
    np.testing.assert_allclose(model.inverse_transform(model.transform(off)), off, atol=1e-12)


# ------------------------------------------------------------ regressions found by the property tests
def test_histogram_of_a_feature_spread_over_a_few_ulps():
    """Spread below the floor is rounding noise: a constant feature, not a crash."""
    x = -2.697367109473801 + np.arange(16) * 4.440892098500626e-16
    density = HistogramDensity().fit(x)
    assert np.all(np.diff(density.bin_edges_) > 0)
    assert np.all(np.isfinite(density.logpdf(np.array([x[0], x[-1], 0.0, -1e6]))))


@pytest.mark.parametrize("n_rows", [2, 3, 10])
def test_ica_rotation_with_fewer_rows_than_features(n_rows):
    X = np.random.RandomState(0).standard_normal((n_rows, 8))
    model = RotationDestructor("ica", random_state=0, input_distribution="normal").fit(X)
    np.testing.assert_allclose(model.rotation_ @ model.rotation_.T, np.eye(8), atol=1e-12)


def test_mixture_inverse_at_a_large_offset():
    """The root finder's tolerance is relative to the component scale, not to |x|."""
    rng = np.random.RandomState(0)
    X = -1e9 + 1e3 * rng.standard_normal((40, 3))
    X[:5] = X[0] + 1e-4 * rng.standard_normal((5, 3))  # a tight cluster
    model = GaussianMixtureDestructor(2, random_state=0, output_distribution="normal").fit(X)
    Z = model.transform(X)
    back = model.inverse_transform(Z)
    # Before: the tolerance 1e-10 * |x| = 0.1 let rows come back 100 cluster widths away.
    assert np.abs(back - X).max() < 1e-5
    np.testing.assert_allclose(model.transform(back), Z, atol=1e-6)


def test_tree_inverse_of_rows_on_a_split():
    """A training value one ulp from its neighbour makes the threshold equal to it.

    The row then maps onto a face of its target box; without clipping into
    that box the inverse found the neighbouring leaf and applied its map to
    every other coordinate.
    """
    rng = np.random.RandomState(0)
    U = rng.uniform(size=(400, 4))
    U[:200, 0] = 1.0 - 1.1102230246251565e-16 * rng.randint(1, 8, size=200)
    model = TreeDestructor(random_state=0, output_distribution="normal").fit(U)
    back = model.inverse_transform(model.transform(U))
    np.testing.assert_allclose(back, U, atol=1e-9)


def test_tree_round_trip_of_a_sample_packed_in_a_tiny_region():
    """Gaussian-view input spread over 1e-8 around 1e-5: leaves thinner than 1e-11 of the cube."""
    X = np.random.RandomState(0).gamma(0.5, size=(2000, 3)) * 1e-8 + 1e-5
    model = TreeDestructor(input_distribution="normal", output_distribution="normal", random_state=0).fit(X)
    back = model.inverse_transform(model.transform(X))
    # Before the fix: errors of 1e-8, the size of the sample's spread.
    assert np.abs(back - X).max() < 1e-11


def test_tree_round_trip_of_training_rows_in_the_tails():
    """Leaves whose input box is in one tail and output box in the other half.

    The image is computed on the output's side of 1/2; before, the sign of
    the output chose it and rows 6 sd out came back with relative errors
    near 1e-8, their transform moving by up to 0.2.
    """
    X = 10.0 * (np.random.RandomState(0).standard_normal((500, 4)) + 1.0)
    model = TreeDestructor(input_distribution="normal", output_distribution="normal", random_state=0).fit(X)
    Z = model.transform(X)
    np.testing.assert_allclose(model.transform(model.inverse_transform(Z)), Z, atol=1e-8)


def test_tree_round_trip_20_to_50_sd_out():
    """Rows beyond the training data lie in leaves touching a face: log-space maps."""
    X = np.random.RandomState(0).standard_normal((1000, 2))
    model = TreeDestructor(input_distribution="normal", output_distribution="normal", random_state=0).fit(X)
    far = np.array([[20.0, 0.0], [-20.0, 0.0], [30.0, -30.0], [37.0, 1.0], [-38.0, 2.0], [50.0, 3.0]])
    np.testing.assert_allclose(model.inverse_transform(model.transform(far)), far, rtol=1e-8)
    assert np.all(np.isfinite(model.score_samples(far)))


def test_default_deep_destructor_fits_collinear_features_at_scale_1e8():
    X = np.random.RandomState(0).standard_normal((200, 3)) * 1e8
    X[:, 2] = 2 * X[:, 0] - 3e8
    # The mixture candidate cannot be fitted; the default skips it with a warning.
    with pytest.warns(UserWarning, match="initial candidate GaussianMixtureDestructor could not be fitted"):
        model = DeepDestructor(max_layers=2, random_state=0).fit(X)
    assert isinstance(model.layers_[0], MarginalDestructor)
    assert model.init_scores_[1] == -np.inf
    assert np.all(np.isfinite(model.score_samples(X)))


def test_mixture_on_collinear_features_at_scale_1e8_says_what_to_do():
    X = np.random.RandomState(0).standard_normal((200, 3)) * 1e8
    X[:, 2] = 2 * X[:, 0] - 3e8
    for model in (GaussianMixtureDestructor(2), GaussianMixtureDestructor("auto"), AutoregressiveDestructor()):
        with pytest.raises(ValueError, match=rf"{type(model).__name__}.*(reg_covar|ill-defined)"):
            model.fit(X)


# ------------------------------------------------------------ sample sizes
SIZE_MODELS = [
    MarginalDestructor(),
    MarginalDestructor(SplineDensity()),
    MarginalDestructor(KDEDensity()),
    GaussianDestructor(),
    GaussianMixtureDestructor(2, random_state=0),
    TreeDestructor(input_distribution="normal", random_state=0),
    RBIGDestructor(max_layers=3, random_state=0),
]


@pytest.mark.parametrize("n_rows", [2, 3])
@pytest.mark.parametrize("model", SIZE_MODELS + [DeepDestructor(GaussianDestructor(), n_layers=2,
                                                                  init_destructor=MarginalDestructor())],
                         ids=repr)
def test_two_and_three_rows(model, n_rows):
    X = _skewed(n_rows, seed=3)
    model = clone(model).set_params(output_distribution="normal").fit(X)
    Z = model.transform(X)
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(model.inverse_transform(Z), X, rtol=1e-7, atol=1e-9)
    assert np.all(np.isfinite(model.score_samples(X * 100.0)))


@pytest.mark.parametrize("model", SIZE_MODELS, ids=repr)
def test_two_hundred_thousand_rows(model):
    X = _skewed(200_000, n_features=2, seed=4)
    model = clone(model).set_params(output_distribution="normal")
    if isinstance(model, RBIGDestructor):
        model.set_params(tol=0.0, n_layers=1)  # the noise-floor simulation alone costs 5 layers
    model.fit(X)
    rows = X[::997]
    scores = model.score_samples(rows)
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(model.inverse_transform(model.transform(rows)), rows, rtol=1e-7, atol=1e-9)
    # With this much data nothing overfits: training rows score as fresh rows do.
    fresh = _skewed(20_000, n_features=2, seed=5)
    assert abs(model.score(X[:20_000]) - model.score(fresh)) < 0.05


# ------------------------------------------------------------ discrete data
@pytest.fixture(scope="module")
def digits():
    X = load_digits().data  # integers 0..16, many ties (constant columns included)
    return X[:1200], X[1200:]


DISCRETE_MODELS = [
    MarginalDestructor(),
    CompositeDestructor([("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]),
    TreeDestructor(input_distribution="normal", random_state=0),
    GaussianMixtureDestructor(4, random_state=0),
    RBIGDestructor(max_layers=3, random_state=0),
    DeepDestructor(max_layers=2, random_state=0),
]


@pytest.mark.parametrize("model", DISCRETE_MODELS, ids=lambda m: type(m).__name__)
def test_integer_pixels_get_finite_densities(model, digits):
    """Raw integer data: finite scores for training, held-out and unseen rows; equal rows score alike."""
    X_train, X_test = digits
    model = clone(model).set_params(output_distribution="normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train)
    for X in (X_train, X_test):
        # Scores of discrete rows integrate over each row's cell (up to 1,024
        # forward passes a row for a mixture): a sample of rows suffices here.
        assert np.all(np.isfinite(model.score_samples(X[:60])))
        assert np.all(np.isfinite(model.transform(X)))
    # Pixel values never seen in training (17, -1) are finite too.
    unseen = np.clip(X_test[:5] + 1.0, 0, 17)
    unseen[:, 0] = -1.0
    assert np.all(np.isfinite(model.score_samples(unseen)))
    # Equal rows have equal scores: the density is a function of the row (to
    # the last bits that a BLAS kernel may round differently by row position).
    # Their transforms differ where pixels are discrete: each goes to its own
    # uniform point of the pixel's cell.
    doubled = np.vstack([X_test[:3], X_test[:3]])
    scores = model.score_samples(doubled)
    np.testing.assert_allclose(scores[:3], scores[3:], rtol=1e-12, atol=1e-12)


def test_discrete_density_is_a_continuous_relaxation_and_dequantization_bounds_it(digits):
    """What a density means on integer data, checked in one dimension where all is exact.

    A model fitted to dequantized data ``x + u`` (``u`` uniform on [0, 1))
    is a density ``q`` on the real line; it gives the integer ``k`` the
    probability ``P(k) = F(k + 1) - F(k)``. By Jensen's inequality the
    dequantized log-likelihood ``E_u log q(k + u)`` is a lower bound on
    ``log P(k)``: published "dequantized" numbers are such bounds, in nats.
    A model fitted to the raw integers is a density too (a continuous
    relaxation of the data): its log-likelihoods depend on the units and are
    not log-probabilities.
    """
    X_train, X_test = digits
    pixel = X_train[:, 36]  # a pixel with many distinct values
    rng = np.random.RandomState(0)
    relaxation = {"discrete_features": None}  # a continuous density, as this test is about
    dequantized = MarginalDestructor(HistogramDensity(bins=17), **relaxation).fit(
        (pixel + rng.uniform(size=pixel.size))[:, None]
    )
    k = np.arange(17.0)[:, None]
    F = dequantized.transform
    prob = (F(k + 1.0) - F(k))[:, 0]
    assert 0.98 < prob.sum() <= 1.0  # the rest lies in the tails beyond [0, 17)
    # E_u log q(k + u), exactly: q is constant between the histogram's edges.
    edges = dequantized.densities_[0].bin_edges_
    mean_log_q = []
    for kk in k[:, 0]:
        cuts = np.unique(np.clip(np.concatenate([[kk, kk + 1.0], edges]), kk, kk + 1.0))
        pieces = np.diff(cuts)
        log_q = dequantized.score_samples((0.5 * (cuts[:-1] + cuts[1:]))[:, None])
        mean_log_q.append(np.sum(pieces * log_q))
    assert np.all(np.array(mean_log_q) <= np.log(prob) + 1e-12)
    # The bound is tight where the density is flat across [k, k + 1).
    assert np.min(np.log(prob) - np.array(mean_log_q)) < 1e-3
    # Fitted to the raw integers, the model is still a density, not a
    # probability: it changes with the units. Dividing the pixels by 17 adds
    # log 17 per feature to every log-likelihood (histograms are
    # scale-equivariant; an all-zero pixel is not: its spike has a fixed width).
    columns = np.flatnonzero(np.ptp(X_train, axis=0) > 0)[:10]
    raw = MarginalDestructor(**relaxation).fit(X_train[:, columns])
    scaled = MarginalDestructor(**relaxation).fit(X_train[:, columns] / 17.0)
    np.testing.assert_allclose(
        scaled.score_samples(X_test[:, columns] / 17.0),
        raw.score_samples(X_test[:, columns]) + columns.size * np.log(17.0),
        rtol=1e-10,
    )


# ------------------------------------------------------------ threads
THREAD_MODELS = [
    MarginalDestructor(KDEDensity()),
    GaussianMixtureDestructor(3, random_state=0),
    TreeDestructor(input_distribution="normal", random_state=0),
    RBIGDestructor(max_layers=3, random_state=0),
    DeepDestructor(init_destructor=MarginalDestructor(), max_layers=3, random_state=0),
]


@pytest.mark.parametrize("model", THREAD_MODELS, ids=lambda m: type(m).__name__)
def test_concurrent_scoring_from_threads_equals_serial(model, skewed):
    model = clone(model).fit(skewed)
    batches = [_skewed(300 + 37 * i, seed=10 + i) for i in range(8)]
    serial = [(model.score_samples(b), model.transform(b)) for b in batches]

    def work(i):
        b = batches[i % len(batches)]
        return i % len(batches), model.score_samples(b), model.transform(b)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(32)))
    # A race would garble whole values; the last bit may differ because a BLAS
    # called from several threads at once may use fewer threads of its own.
    for i, scores, Z in results:
        np.testing.assert_allclose(scores, serial[i][0], rtol=1e-12)
        np.testing.assert_allclose(Z, serial[i][1], rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ error messages
@pytest.mark.parametrize("cls", DESTRUCTOR_CLASSES, ids=lambda c: c.__name__)
def test_common_errors_name_the_estimator_and_what_is_expected(cls, skewed):
    name = cls.__name__
    model = _default(cls)
    with pytest.raises(NotFittedError, match=name):
        model.transform(skewed)
    bad = skewed.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=rf"(?s)(NaN.*{name}|{name}.*NaN)"):
        clone(model).fit(bad)
    with pytest.raises(ValueError, match=rf"1 sample\(s\).*minimum of 2 is required by {name}"):
        clone(model).fit(skewed[:1])
    fitted = clone(model).fit(skewed)
    with pytest.raises(ValueError, match=rf"X has 2 features, but {name} is expecting 3 features"):
        fitted.score_samples(skewed[:, :2])
    with pytest.raises(ValueError, match=rf"{name}.*output_distribution='uniform'.*unit cube"):
        fitted.inverse_transform(np.full((1, 3), 2.0))
    with pytest.raises(ValueError, match=rf"{name}\.sample: n_samples must be a positive integer"):
        fitted.sample(0)
    for parameter in cls._parameter_constraints:
        with pytest.raises(ValueError, match=rf"The '{parameter}' parameter of {name} must be"):
            clone(model).set_params(**{parameter: object()}).fit(skewed)


@pytest.mark.parametrize("cls", [IdentityDestructor, RotationDestructor, TreeDestructor], ids=lambda c: c.__name__)
def test_unit_input_outside_the_cube_is_refused_by_name(cls, skewed):
    with pytest.raises(ValueError, match=rf"{cls.__name__} with input_distribution='uniform'.*unit cube"):
        cls().fit(skewed)


SPECIFIC_ERRORS = [
    ("rotation n_directions",
     lambda X: RotationDestructor("sliced", n_directions=5, input_distribution="normal").fit(X),
     ValueError, r"RotationDestructor: n_directions=5 exceeds the number of features, 3"),
    ("mixture larger than the data", lambda X: GaussianMixtureDestructor(50).fit(X[:10]),
     ValueError, r"GaussianMixtureDestructor: n_components=50 needs at least as many training rows, got 10"),
    ("composite without steps", lambda X: CompositeDestructor([]).fit(X),
     ValueError, r"CompositeDestructor needs at least one step"),
    ("composite step not a destructor", lambda X: CompositeDestructor([("pca", object())]).fit(X),
     (TypeError, ValueError), r"CompositeDestructor"),
    ("deep template not a destructor", lambda X: DeepDestructor([HistogramDensity()], n_layers=1).fit(X),
     (TypeError, ValueError), r"DeepDestructor.*destructor"),
    ("deep empty candidates", lambda X: DeepDestructor([], n_layers=1).fit(X),
     ValueError, r"DeepDestructor: destructor must not be an empty list"),
    ("deep too few rows to validate", lambda X: DeepDestructor().fit(X[:2]),
     ValueError, r"DeepDestructor holds out validation_fraction=0.1.*got 2 rows"),
    ("deep-cv folds too small", lambda X: DeepDestructorCV(cv=2).fit(X[:3]),
     ValueError, r"DeepDestructorCV: every fold of cv=2 needs at least 2 training rows"),
    ("deep-cv more folds than rows", lambda X: DeepDestructorCV(cv=5).fit(X[:3]),
     ValueError, r"DeepDestructorCV: cv=5 cannot split 3 rows"),
    ("deep partial depth out of range",
     lambda X: DeepDestructor(n_layers=1, init_destructor=MarginalDestructor(),
                              destructor=GaussianDestructor()).fit(X).transform(X, n_layers=5),
     ValueError, r"DeepDestructor: n_layers must be an integer in \[0, 1\]"),
    ("autoregressive order", lambda X: AutoregressiveDestructor(order=[0, 0, 1]).fit(X),
     ValueError, r"AutoregressiveDestructor: order must be a permutation of range\(3\)"),
    ("rbig marginal not a destructor", lambda X: RBIGDestructor(marginal=RotationDestructor, n_layers=1).fit(X),
     (TypeError, ValueError), r"RBIGDestructor"),
    ("tree density outside the cube", lambda X: TreeDensity().fit(X),
     ValueError, r"TreeDensity takes points of the unit cube"),
    ("univariate density on 2-D data", lambda X: HistogramDensity().fit(X),
     ValueError, r"HistogramDensity is univariate: expected a 1-D array"),
    ("conditional sample of an unsupported estimator",
     lambda X: conditional_sample(GaussianDestructor().fit(X), X[:1, :1], given=[0]),
     TypeError, r"GaussianDestructor does not support conditional densities"),
    ("conditional given out of range",
     lambda X: GaussianMixtureDestructor().fit(X).conditional_score_samples(X, given=[7]),
     ValueError, r"GaussianMixtureDestructor: given indices must lie in \[0, 2\]"),
]


@pytest.mark.parametrize("fails, error, pattern", [e[1:] for e in SPECIFIC_ERRORS], ids=[e[0] for e in SPECIFIC_ERRORS])
def test_specific_errors_name_the_estimator_and_the_parameter(fails, error, pattern, skewed):
    with pytest.raises(error, match=pattern):
        fails(skewed)
