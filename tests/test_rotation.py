"""RotationDestructor and UnmixingDestructor: linear maps of the Gaussian view."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr

from destructors import RotationDestructor, UnmixingDestructor
from destructors._rotation_kernels import _normal_scores, histogram_entropies, sliced_wasserstein2
from destructors.validation import check_destructor

ROTATIONS = ["pca", "random", "ica", "sliced"]


def _gaussian_view(rotation, **params):
    return RotationDestructor(
        rotation, input_distribution="normal", output_distribution="normal", random_state=0, **params
    )


@pytest.fixture
def X_mixed():
    """Correlated, non-Gaussian data of the Gaussian view (standardized mixture of uniforms)."""
    rng = np.random.RandomState(0)
    sources = rng.uniform(-1, 1, size=(3000, 3))
    X = sources @ rng.standard_normal((3, 3)).T
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_rotation_is_orthogonal(rotation, n_features):
    X = np.random.RandomState(n_features).standard_normal((400, n_features)) * np.arange(1, n_features + 1)
    R = _gaussian_view(rotation).fit(X).rotation_
    assert R.shape == (n_features, n_features)
    np.testing.assert_allclose(R @ R.T, np.eye(n_features), atol=1e-12)


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_log_det_is_zero_in_the_uniform_view(rotation, X_mixed):
    """Finite-difference Jacobian of u -> Phi(R Phi^-1(u)) has log|det| = 0."""
    U_train = ndtr(X_mixed)
    model = RotationDestructor(rotation, random_state=0).fit(U_train)
    rng = np.random.RandomState(1)
    U = rng.uniform(0.05, 0.95, size=(50, 3))
    step = 1e-6
    jacobian = np.empty((len(U), 3, 3))
    for j in range(3):
        shift = np.zeros(3)
        shift[j] = step
        jacobian[:, :, j] = (model.transform(U + shift) - model.transform(U - shift)) / (2 * step)
    sign, log_abs_det = np.linalg.slogdet(jacobian)
    assert np.all(sign != 0)
    np.testing.assert_allclose(log_abs_det, 0.0, atol=1e-6)
    # The density of the input is the uniform one: score_samples is log 1.
    np.testing.assert_allclose(model.score_samples(U), 0.0, atol=1e-10)
    # The map really moves points (it is not the identity), yet keeps volume.
    assert np.abs(model.transform(U) - U).max() > 1e-3


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_gaussian_view_is_the_linear_map(rotation, X_mixed):
    model = _gaussian_view(rotation).fit(X_mixed)
    R = model.rotation_
    np.testing.assert_allclose(model.transform(X_mixed), X_mixed @ R.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.inverse_transform(X_mixed @ R.T), X_mixed, atol=1e-12)
    # Jacobian of a linear map is R itself; its log|det| is exactly 0.
    assert abs(np.linalg.slogdet(R)[1]) < 1e-12
    expected = stats.norm.logpdf(X_mixed).sum(axis=1)
    np.testing.assert_allclose(model.score_samples(X_mixed), expected, rtol=1e-12)


def test_tails_survive_a_round_trip():
    X = np.random.RandomState(0).standard_normal((500, 2))
    model = _gaussian_view("random").fit(X)
    far = np.array([[20.0, -20.0], [-15.0, 3.0]])
    np.testing.assert_allclose(model.inverse_transform(model.transform(far)), far, rtol=1e-8)
    assert np.all(np.isfinite(model.score_samples(far)))
    # From the cube: a coordinate 20 standard deviations into the lower tail.
    cube = RotationDestructor("random", random_state=0, output_distribution="normal").fit(ndtr(X))
    U = ndtr(np.array([[-20.0, 0.5], [1.0, -12.0]]))
    np.testing.assert_allclose(cube.inverse_transform(cube.transform(U)), U, rtol=1e-8)
    np.testing.assert_allclose(cube.score_samples(U), 0.0, atol=1e-12)


def test_pca_decorrelates_by_decreasing_variance():
    rng = np.random.RandomState(0)
    cov = [[2.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]]
    X = rng.multivariate_normal(np.zeros(3), cov, size=5000)
    model = _gaussian_view("pca").fit(X)
    Z = model.transform(X)
    covariance = np.cov(Z.T)
    np.testing.assert_allclose(covariance - np.diag(np.diag(covariance)), 0.0, atol=1e-10)
    assert np.all(np.diff(np.diag(covariance)) < 0)
    np.testing.assert_allclose(np.sort(np.diag(covariance)), np.linalg.eigvalsh(np.cov(X.T)), rtol=1e-10)


def test_random_rotation_is_haar_distributed():
    # For a Haar-distributed orthogonal 3x3 matrix, each entry is the coordinate
    # of a uniform point on the sphere S^2, uniform on [-1, 1] (Archimedes).
    X = np.zeros((5, 3))
    entries = np.array([
        RotationDestructor("random", random_state=seed, input_distribution="normal").fit(X).rotation_[1, 2]
        for seed in range(500)
    ])
    assert stats.kstest(entries, stats.uniform(-1, 2).cdf).pvalue > 1e-3
    # Without the sign fix of the QR factor the diagonal would be biased.
    diagonal = np.array([
        RotationDestructor("random", random_state=seed, input_distribution="normal").fit(X).rotation_[0, 0]
        for seed in range(500)
    ])
    assert stats.kstest(diagonal, stats.uniform(-1, 2).cdf).pvalue > 1e-3


def test_random_rotation_follows_random_state():
    X = np.zeros((5, 4))
    first = RotationDestructor("random", random_state=3).fit(X + 0.5).rotation_
    again = RotationDestructor("random", random_state=3).fit(X + 0.5).rotation_
    other = RotationDestructor("random", random_state=4).fit(X + 0.5).rotation_
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_fit_transform_is_fit_then_transform(rotation, X_mixed):
    # The fit's rotated rows are reused for the training output. Duplicated
    # columns leave directions without spread, whose outputs are snapped.
    X = np.column_stack([X_mixed[:500], X_mixed[:500, 0]])
    model = _gaussian_view(rotation)
    Z = model.fit_transform(X)
    assert rotation != "pca" or not np.isnan(model._flat_value_).all()
    # Exact: the same fitted arrays and code, in one process.
    np.testing.assert_array_equal(Z, model.transform(X))


def test_ica_unmixes_rotated_independent_sources():
    rng = np.random.RandomState(0)
    sources = rng.uniform(-np.sqrt(3), np.sqrt(3), size=(5000, 3))
    Q = stats.ortho_group.rvs(3, random_state=1)
    X = sources @ Q.T
    R = _gaussian_view("ica").fit(X).rotation_
    product = np.abs(R @ Q)  # a signed permutation when the sources are recovered
    np.testing.assert_allclose(np.sort(product, axis=1)[:, -1], 1.0, atol=0.02)
    np.testing.assert_allclose(product.sum(axis=0), 1.0, atol=0.05)


def test_sliced_finds_the_non_gaussian_direction():
    # Whitened data, Gaussian except along one direction: PCA has nothing to go on.
    rng = np.random.RandomState(0)
    n, d = 4000, 5
    X = rng.standard_normal((n, d))
    X[:, 0] = rng.uniform(-np.sqrt(3), np.sqrt(3), n)
    Q = stats.ortho_group.rvs(d, random_state=2)
    X = X @ Q.T
    direction = Q[:, 0]
    model = _gaussian_view("sliced", n_directions=1).fit(X)
    R = model.rotation_
    assert abs(R[0] @ direction) > 0.98
    np.testing.assert_allclose(R @ R.T, np.eye(d), atol=1e-12)
    # The found direction beats the principal axes and random directions.
    scores = _normal_scores(n)
    found = sliced_wasserstein2(X @ R[:1].T, scores)[0]
    pca = _gaussian_view("pca").fit(X).rotation_
    others = np.concatenate([
        sliced_wasserstein2(X @ pca.T, scores),
        sliced_wasserstein2(X @ stats.ortho_group.rvs(d, random_state=3), scores),
    ])
    assert found > others.max()


def test_sliced_directions_are_sorted_by_distance(X_mixed):
    model = _gaussian_view("sliced").fit(X_mixed)
    distances = sliced_wasserstein2(model.transform(X_mixed), _normal_scores(len(X_mixed)))
    assert np.all(np.diff(distances) <= 1e-12)
    assert 1 <= model.n_iter_ <= model.max_iter


def test_n_directions_larger_than_n_features_is_rejected(X_mixed):
    with pytest.raises(ValueError, match="n_directions=4 exceeds the number of features, 3"):
        _gaussian_view("sliced", n_directions=4).fit(X_mixed)


def test_unknown_rotation_is_rejected(X_mixed):
    with pytest.raises(ValueError, match="'rotation' parameter of RotationDestructor"):
        RotationDestructor("svd", input_distribution="normal").fit(X_mixed)


def test_uniform_input_outside_the_cube_is_rejected(X_mixed):
    with pytest.raises(ValueError, match="unit cube"):
        RotationDestructor().fit(X_mixed)


@pytest.mark.parametrize("rotation", ["random", "ica", "sliced"])
def test_check_destructor(rotation):
    # The default ("pca") runs in tests/test_common.py.
    check_destructor(RotationDestructor(rotation, random_state=0))


# ------------------------------------------------------------------ unmixing
def _unmixing(**params):
    return UnmixingDestructor(input_distribution="normal", output_distribution="normal", random_state=0, **params)


def _residual_mixing(W, A):
    """Largest entry of ``W A`` off its rows' largest, relative to it: 0 for a scaled permutation."""
    product = np.abs(W @ A)
    product /= product.max(axis=1, keepdims=True)
    return float(np.sort(product, axis=1)[:, :-1].max())


def test_unmixing_separates_mixed_uniform_sources_far_beyond_fastica():
    # Five uniform sources under a general (not orthogonal) mixing, 10,000
    # rows. FastICA after whitening (rotation="ica") is limited by the
    # sampling error of the whitening: 1.5% to 2.4% residual mixing on such
    # data, the shear refinement 0.28% to 0.37% (seeds 7, 1007, 2007).
    rng = np.random.RandomState(7)
    A = rng.standard_normal((5, 5))
    X = rng.uniform(size=(10_000, 5)) @ A.T
    unmixing = _unmixing().fit(X)
    assert _residual_mixing(unmixing.unmixing_, A) < 0.008
    whitened = (X - X.mean(axis=0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(X.T))).T
    rotation = _gaussian_view("ica").fit(whitened).rotation_
    fastica = rotation @ np.linalg.inv(np.linalg.cholesky(np.cov(X.T)))
    assert _residual_mixing(unmixing.unmixing_, A) < 0.5 * _residual_mixing(fastica, A)


def test_unmixing_density_is_the_linear_change_of_variables(X_mixed):
    unmixing = _unmixing().fit(X_mixed)
    W, mean = unmixing.unmixing_, unmixing.mean_
    Y = (X_mixed - mean) @ W.T
    np.testing.assert_allclose(unmixing.transform(X_mixed), Y, rtol=1e-12, atol=1e-12)
    assert unmixing.log_det_ == pytest.approx(np.linalg.slogdet(W)[1], rel=1e-12)
    expected = stats.norm.logpdf(Y).sum(axis=1) + np.linalg.slogdet(W)[1]
    np.testing.assert_allclose(unmixing.score_samples(X_mixed), expected, rtol=1e-10)
    np.testing.assert_allclose(unmixing.inverse_transform(Y), X_mixed, atol=1e-10)
    np.testing.assert_allclose(unmixing.mixing_ @ W, np.eye(3), atol=1e-10)


def test_unmixing_keeps_flat_directions_and_single_features():
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(2000, 2))
    X = np.column_stack([x, x[:, 0], np.full(2000, 3.0)])  # a duplicate and a constant column
    unmixing = _unmixing().fit(X)
    assert np.all(np.isfinite(unmixing.unmixing_)) and np.isfinite(unmixing.log_det_)
    assert np.all(np.isfinite(unmixing.score_samples(X)))
    one = _unmixing().fit(x[:, :1])
    np.testing.assert_allclose(np.abs(one.unmixing_ * x[:, 0].std()), 1.0, rtol=1e-12)


def test_histogram_entropies_of_uniform_and_normal_columns():
    rng = np.random.RandomState(0)
    P = np.column_stack([rng.uniform(0, 2, 100_000), rng.standard_normal(100_000)])
    # Plug-in entropies of 316 bins: log 2 for U(0, 2), 0.5 log(2 pi e) for N(0, 1),
    # within the histogram's bias (a few times (bins - 1) / (2 n)).
    np.testing.assert_allclose(histogram_entropies(P, 316), [np.log(2.0), 0.5 * np.log(2 * np.pi * np.e)], atol=0.01)


def test_unmixing_check_destructor():
    check_destructor(UnmixingDestructor(random_state=0))
