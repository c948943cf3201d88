"""Tests of the tree density and the tree destructor."""


import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtr
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from destructors import CompositeDestructor, MarginalDestructor, TreeDensity, TreeDestructor
from destructors import _tree_kernels as kernels
from destructors.validation import check_destructor


def _checkerboard(n_samples, rng, k=4):
    """Uniform on the k x k checkerboard's even squares of the unit cube; density 2."""
    cells = np.array([(i, j) for i in range(k) for j in range(k) if (i + j) % 2 == 0], float)
    return (cells[rng.randint(len(cells), size=n_samples)] + rng.uniform(size=(n_samples, 2))) / k


def _step_density_sample(n_samples, rng):
    """Density 1.6 on x0 < 0.5 and 0.4 on x0 > 0.5, uniform in x1."""
    left = rng.uniform(size=n_samples) < 0.8
    X = rng.uniform(size=(n_samples, 2))
    X[:, 0] = np.where(left, 0.5 * X[:, 0], 0.5 + 0.5 * X[:, 0])
    return X


# ----------------------------------------------------- scikit-learn checks
# TreeDensity is the configuration component of TreeDestructor and takes only
# points of the unit cube, which scikit-learn's checks cannot feed; it gets the
# checks of the estimator API that need no fitting on arbitrary data.
# TreeDestructor itself takes every check in tests/test_common.py.
@pytest.mark.parametrize(
    "check",
    [
        check_estimator_cloneable,
        check_estimator_repr,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_get_params_invariance,
        check_set_params,
    ],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("estimator", [TreeDensity(), TreeDensity("random", max_leaf_nodes=8)], ids=repr)
def test_tree_density_api(estimator, check):
    check(type(estimator).__name__, estimator)


def test_tree_density_bad_input():
    U = np.random.RandomState(0).uniform(size=(50, 2))
    density = TreeDensity().fit(U)
    with pytest.raises(ValueError, match="NaN"):
        density.score_samples(np.array([[np.nan, 0.5]]))
    with pytest.raises(ValueError, match="X has 3 features"):
        density.score_samples(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="1 sample"):
        TreeDensity().fit(U[:1])


# ------------------------------------------------------------- destructor
@pytest.mark.parametrize("input_distribution", ["uniform", "normal"])
@pytest.mark.parametrize(
    "tree_density",
    [
        TreeDensity("random", max_leaf_nodes=64, validation_fraction=0.0),
        TreeDensity(min_samples_leaf=3, validation_fraction=0.0, uniform_weight=0.0),
    ],
    ids=["random-unpruned", "best-unpruned"],
)
def test_check_destructor(tree_density, input_distribution):
    # The defaults are checked by tests/test_common.py; these are deep,
    # unpruned trees with many leaf edges.
    check_destructor(TreeDestructor(tree_density, input_distribution=input_distribution))


def test_leaf_boxes_map_onto_target_boxes_of_volume_mass():
    rng = np.random.RandomState(0)
    U = _checkerboard(3000, rng)
    model = TreeDestructor(TreeDensity(random_state=0)).fit(U)
    density = model.tree_density_
    target_volume = np.prod(model.target_upper_ - model.target_lower_, axis=1)
    np.testing.assert_allclose(target_volume, density.leaf_mass_, rtol=1e-10)
    np.testing.assert_allclose(density.leaf_mass_.sum(), 1.0)
    # Corners (nudged inside) of every leaf land at the corners of its target box.
    inside = 1e-9
    lower = model.transform(density.leaf_lower_ + inside)
    upper = model.transform(density.leaf_upper_ - inside)
    np.testing.assert_allclose(lower, model.target_lower_, atol=1e-6)
    np.testing.assert_allclose(upper, model.target_upper_, atol=1e-6)
    # The log-determinant on a leaf is its log density.
    centers = 0.5 * (density.leaf_lower_ + density.leaf_upper_)
    np.testing.assert_allclose(model.score_samples(centers), density.leaf_log_density_, atol=1e-9)


def _boxes_partition_cube(lower, upper, rng):
    points = rng.uniform(size=(5000, lower.shape[1]))
    inside = np.all((points[:, None, :] >= lower) & (points[:, None, :] <= upper), axis=2)
    return np.all(inside.sum(axis=1) == 1) and np.isclose(np.prod(upper - lower, axis=1).sum(), 1.0)


def test_leaf_and_target_boxes_partition_the_cube():
    rng = np.random.RandomState(1)
    U = rng.beta(2.0, 5.0, size=(2000, 3))
    model = TreeDestructor(TreeDensity("random", max_leaf_nodes=40), random_state=0).fit(U)
    density = model.tree_density_
    assert density.n_leaves_ > 5
    assert _boxes_partition_cube(density.leaf_lower_, density.leaf_upper_, rng)
    assert _boxes_partition_cube(model.target_lower_, model.target_upper_, rng)


def test_output_is_uniform_for_data_from_the_tree_density():
    rng = np.random.RandomState(2)
    model = TreeDestructor(TreeDensity(random_state=0)).fit(_checkerboard(4000, rng))
    U = model.transform(model.tree_density_.sample(5000, random_state=3))
    for j in range(2):
        assert stats.kstest(U[:, j], "uniform").pvalue > 1e-3


@pytest.mark.parametrize("splitter", ["best", "random"])
def test_gaussian_view_tails_round_trip(splitter):
    rng = np.random.RandomState(3)
    Z = rng.standard_normal((3000, 2)) * [1.0, 0.5] + 0.3
    model = TreeDestructor(
        TreeDensity(splitter, max_leaf_nodes=30, validation_fraction=0.0), random_state=0,
        input_distribution="normal", output_distribution="normal",
    ).fit(Z)
    far = np.array([[20.0, -20.0], [-20.0, 20.0], [-40.0, 40.0], [39.0, -39.0], [1e5, -1e5], [-8.5, 8.5]])
    out = model.transform(far)
    assert np.all(np.isfinite(out))
    # Far rows stay far: a leaf touching a face maps u' = s u, so z' ~ z.
    assert np.all(np.abs(out - far) < 0.1 * np.abs(far))
    np.testing.assert_allclose(model.inverse_transform(out), far, rtol=1e-8)
    assert np.all(np.isfinite(model.score_samples(far)))


def test_log_det_matches_finite_differences_in_the_tails():
    rng = np.random.RandomState(4)
    Z = rng.standard_normal((2000, 2))
    model = TreeDestructor(
        TreeDensity("random", max_leaf_nodes=20, validation_fraction=0.0), random_state=0,
        input_distribution="normal", output_distribution="normal",
    ).fit(Z)
    X = np.array([[-20.0, 0.1], [15.0, -0.2], [-30.0, 25.0], [0.2, -12.0]])
    step = 1e-5
    jacobian = np.empty((len(X), 2, 2))
    for j in range(2):
        shift = np.zeros(2)
        shift[j] = step
        jacobian[:, :, j] = (model.transform(X + shift) - model.transform(X - shift)) / (2 * step)
    expected = stats.norm.logpdf(model.transform(X)).sum(axis=1) + np.linalg.slogdet(jacobian)[1]
    np.testing.assert_allclose(model.score_samples(X), expected, atol=1e-4)


def test_identity_for_uniform_data_and_a_single_leaf():
    rng = np.random.RandomState(5)
    U = rng.uniform(size=(3000, 2))
    model = TreeDestructor(TreeDensity(max_leaf_nodes=1)).fit(U)
    assert model.tree_density_.n_leaves_ == 1
    np.testing.assert_allclose(model.transform(U), U, rtol=1e-12)
    np.testing.assert_allclose(model.score_samples(U), 0.0, atol=1e-12)


def test_random_state_of_destructor_overrides_template():
    U = _checkerboard(2000, np.random.RandomState(6))
    template = TreeDensity("random", max_leaf_nodes=16, random_state=0)
    a = TreeDestructor(template, random_state=1).fit(U)
    b = TreeDestructor(template, random_state=1).fit(U)
    c = TreeDestructor(template, random_state=2).fit(U)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(a.tree_density_.threshold_, b.tree_density_.threshold_)
    assert not np.array_equal(
        np.nan_to_num(a.tree_density_.threshold_), np.nan_to_num(c.tree_density_.threshold_)
    )


def test_stack_of_best_trees_learns_the_checkerboard():
    rng = np.random.RandomState(7)
    X = _checkerboard(12000, rng) * 4.0 - 2.0
    X_test = _checkerboard(3000, rng) * 4.0 - 2.0
    steps = [("marginal", MarginalDestructor())] + [
        (f"tree{i}", TreeDestructor(random_state=i)) for i in range(2)
    ]
    model = CompositeDestructor(steps).fit(X)
    true = -np.log(8.0)
    marginal_only = MarginalDestructor().fit(X).score(X_test)
    assert marginal_only < true - 0.6
    assert model.score(X_test) > true - 0.06


# ------------------------------------------------------------ tree density
def test_best_split_recovers_a_step_density():
    rng = np.random.RandomState(8)
    density = TreeDensity(max_leaf_nodes=2, validation_fraction=0.0).fit(_step_density_sample(20000, rng))
    assert density.n_leaves_ == 2
    assert density.feature_[0] == 0
    assert abs(density.threshold_[0] - 0.5) < 0.01
    np.testing.assert_allclose(np.exp(density.leaf_log_density_), [1.6, 0.4], rtol=0.05)


def test_pruning_keeps_the_best_prefix_and_stops_overfitting():
    rng = np.random.RandomState(9)
    U = rng.uniform(size=(4000, 2))
    pruned = TreeDensity(random_state=0).fit(U)
    assert pruned.n_leaves_ - 1 == int(np.argmax(pruned.validation_scores_))
    assert pruned.n_leaves_ <= 5
    unpruned = TreeDensity(validation_fraction=0.0, max_leaf_nodes=200).fit(U)
    assert unpruned.validation_scores_ is None and unpruned.n_leaves_ == 200
    U_test = rng.uniform(size=(4000, 2))
    assert pruned.score(U_test) > unpruned.score(U_test) + 0.05


def test_checkerboard_needs_splits_without_gain_first():
    # Every single split of a checkerboard has zero expected gain (an XOR
    # problem); growth must look past them for the pruning to find the squares.
    rng = np.random.RandomState(10)
    density = TreeDensity(random_state=0).fit(_checkerboard(8000, rng))
    assert density.n_leaves_ >= 16
    assert density.score(_checkerboard(4000, rng)) > np.log(2.0) - 0.05


def _reference_best_split(values, lower, upper, min_samples_leaf):
    """Score every threshold of every feature one by one."""
    m = len(values)
    best = (-np.inf, -1, 0.0)
    for j in range(values.shape[1]):
        x = np.sort(values[:, j])
        for k in range(min_samples_leaf, m - min_samples_leaf + 1):
            if x[k - 1] == x[k]:
                continue
            t = 0.5 * (x[k - 1] + x[k])
            f = (t - lower[j]) / (upper[j] - lower[j])
            gain = k * np.log((k / m) / f) + (m - k) * np.log(((m - k) / m) / (1 - f))
            if gain > best[0]:
                best = (gain, j, t)
    return best


@pytest.mark.parametrize("min_samples_leaf", [1, 4])
def test_best_split_matches_a_loop_over_all_thresholds(min_samples_leaf):
    rng = np.random.RandomState(11)
    values = 0.2 + 0.5 * rng.beta(0.5, 2.0, size=(60, 3))
    values[:10, 1] = values[0, 1]  # ties are not split
    lower, upper = np.full(3, 0.2), np.array([0.8, 0.7, 0.75])
    gain, feature, threshold = kernels._best_split(values, lower, upper, min_samples_leaf)
    expected = _reference_best_split(values, lower, upper, min_samples_leaf)
    assert feature == expected[1]
    assert threshold == pytest.approx(expected[2])
    assert gain == pytest.approx(expected[0])


def _reference_leaves(density, U):
    """Walk the public tree arrays one row at a time."""
    leaves = []
    for row in U:
        node = 0
        while density.children_left_[node] >= 0:
            go_right = row[density.feature_[node]] > density.threshold_[node]
            node = density.children_right_[node] if go_right else density.children_left_[node]
        leaves.append(np.searchsorted(density.leaves_, node))
    return np.array(leaves)


@pytest.mark.parametrize("splitter", ["best", "random"])
def test_leaf_lookup_matches_a_row_by_row_walk(splitter):
    rng = np.random.RandomState(12)
    U = rng.beta(0.7, 0.7, size=(3000, 3))
    density = TreeDensity(splitter, validation_fraction=0.0, max_leaf_nodes=300, random_state=0).fit(U)
    # Deep trees descend the last levels on the unfinished rows only.
    n_levels, n_full = density._levels_
    assert n_full < n_levels
    U_test = rng.uniform(size=(500, 3))
    # Exact: leaf indices, integers found by comparing the same values with the same thresholds.
    np.testing.assert_array_equal(density.apply(U_test), _reference_leaves(density, U_test))
    # The Gaussian view compares with the images of the thresholds.
    destructor = TreeDestructor(clone(density)).fit(U)
    Z = stats.norm.ppf(U_test)
    nodes = kernels.find_nodes(destructor._source_lookup_, Z, destructor.tree_density_._levels_)
    # Exact: node indices, integers.
    np.testing.assert_array_equal(
        destructor.tree_density_._leaf_of_node_[nodes], destructor.tree_density_.apply(ndtr(Z))
    )


def test_limits_on_growth_are_respected():
    rng = np.random.RandomState(13)
    U = rng.beta(2.0, 2.0, size=(2000, 2))
    for splitter in ("best", "random"):
        density = TreeDensity(splitter, max_leaf_nodes=25, validation_fraction=0.0).fit(U)
        assert density.n_leaves_ == 25
        density = TreeDensity(splitter, max_depth=3, validation_fraction=0.0).fit(U)
        assert density.depth_ == 3 and density.n_leaves_ <= 8
        density = TreeDensity(splitter, min_samples_leaf=0.05, validation_fraction=0.0).fit(U)
        counts = np.bincount(density.apply(U), minlength=density.n_leaves_)
        assert counts.min() >= 100


def test_uniform_weight_mixes_in_the_uniform_density():
    rng = np.random.RandomState(14)
    U = _step_density_sample(5000, rng)
    pure = TreeDensity(max_leaf_nodes=2, validation_fraction=0.0, uniform_weight=0.0).fit(U)
    mixed = TreeDensity(max_leaf_nodes=2, validation_fraction=0.0, uniform_weight=0.5).fit(U)
    np.testing.assert_allclose(
        np.exp(mixed.leaf_log_density_), 0.5 * np.exp(pure.leaf_log_density_) + 0.5
    )
    flat = TreeDensity(uniform_weight=1.0).fit(U)
    np.testing.assert_allclose(flat.score_samples(U), 0.0, atol=1e-12)


def test_sample_follows_the_leaf_masses():
    rng = np.random.RandomState(16)
    density = TreeDensity(max_leaf_nodes=2, validation_fraction=0.0).fit(_step_density_sample(5000, rng))
    X = density.sample(20000, random_state=0)
    assert np.all((X >= 0) & (X <= 1))
    np.testing.assert_allclose(np.mean(X[:, 0] < density.threshold_[0]), density.leaf_mass_[0], atol=0.015)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(X, density.sample(20000, random_state=0))
    with pytest.raises(ValueError, match="n_samples"):
        density.sample(0)


def test_density_rejects_points_outside_the_cube():
    rng = np.random.RandomState(17)
    with pytest.raises(ValueError, match="unit cube"):
        TreeDensity().fit(rng.normal(size=(50, 2)))
    density = TreeDensity().fit(rng.uniform(size=(50, 2)))
    with pytest.raises(ValueError, match="unit cube"):
        density.score_samples([[0.5, 1.5]])


@pytest.mark.parametrize(
    "params, name",
    [
        ({"splitter": "worst"}, "splitter"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"uniform_weight": -0.1}, "uniform_weight"),
    ],
)
def test_invalid_parameters_are_named(params, name):
    with pytest.raises(ValueError, match=name):
        TreeDensity(**params).fit(np.random.RandomState(0).uniform(size=(20, 2)))


def test_constant_and_tiny_inputs():
    U = np.full((30, 2), 0.5)
    density = TreeDensity().fit(U)
    assert density.n_leaves_ == 1
    destructor = TreeDestructor().fit(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert np.all(np.isfinite(destructor.score_samples([[0.0, 0.0], [1.0, 1.0], [0.3, 0.7]])))
