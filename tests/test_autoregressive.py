"""Tests of the autoregressive destructor, its protocol and the conditional API."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_ndtr
from sklearn.base import BaseEstimator

from destructors import (
    AutoregressiveDestructor,
    GaussianMixtureDensity,
    GaussianMixtureDestructor,
    MarginalDestructor,
    conditional_sample,
    conditional_score_samples,
)
from destructors.validation import check_destructor


class GaussianChainDensity(BaseEstimator):
    """A user-written density: a Gaussian Markov chain in the column order.

    ``x_0 ~ N(m, s^2)`` and ``x_k | x_{k-1} ~ N(a_k x_{k-1} + b_k, s_k^2)``,
    fitted by least squares. It supports only the column order, so it tests
    the protocol and its error path for other orders.
    """

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.intercepts_, self.slopes_, self.scales_ = [X[:, 0].mean()], [0.0], [X[:, 0].std()]
        for k in range(1, X.shape[1]):
            slope, intercept = np.polyfit(X[:, k - 1], X[:, k], 1)
            residual = X[:, k] - slope * X[:, k - 1] - intercept
            self.intercepts_.append(intercept)
            self.slopes_.append(slope)
            self.scales_.append(residual.std())
        return self

    def conditional_sweep(self, order, n_rows):
        if not np.array_equal(order, np.arange(len(self.scales_))):
            raise ValueError(f"GaussianChainDensity only sweeps the column order, got {list(order)}.")
        return _ChainSweep(self, n_rows)


class _ChainSweep:
    def __init__(self, density, n_rows):
        self.density, self.k, self.previous = density, 0, np.zeros(n_rows)

    def _mean_scale(self):
        d, k = self.density, self.k
        return d.intercepts_[k] + d.slopes_[k] * self.previous, d.scales_[k]

    def evaluate(self, x):
        mean, scale = self._mean_scale()
        t = (x - mean) / scale
        return stats.norm.logpdf(t) - np.log(scale), log_ndtr(t), log_ndtr(-t)

    def invert(self, z):
        mean, scale = self._mean_scale()
        return mean + scale * z

    def condition(self, x):
        self.previous, self.k = np.array(x, dtype=float), self.k + 1


def _correlated_gaussian(n_samples, random_state=0):
    rng = np.random.RandomState(random_state)
    mean = np.array([1.0, -1.0, 0.5])
    cov = np.array([[2.0, 0.8, -0.4], [0.8, 1.0, 0.3], [-0.4, 0.3, 1.5]])
    return rng.multivariate_normal(mean, cov, n_samples)


def _mixture_data(n_samples, random_state=0):
    rng = np.random.RandomState(random_state)
    labels = rng.randint(2, size=n_samples)
    centers = np.array([[-3.0, 1.0, 0.0], [3.0, -1.0, 2.0]])
    mixing = np.array([[[1.0, 0.0, 0.0], [0.7, 0.7, 0.0], [0.2, -0.5, 0.6]],
                       [[0.8, 0.0, 0.0], [-0.5, 0.6, 0.0], [0.0, 0.4, 1.0]]])
    return centers[labels] + np.einsum("nij,nj->ni", mixing[labels], rng.standard_normal((n_samples, 3)))


@pytest.fixture(scope="module")
def gaussian_model():
    return AutoregressiveDestructor(order=[2, 0, 1], random_state=0).fit(_correlated_gaussian(3000))


@pytest.fixture(scope="module")
def mixture_model():
    return GaussianMixtureDestructor(2, random_state=0, order="random").fit(_mixture_data(4000))


def _gaussian_conditional(mean, cov, x_given, given, free):
    gain = np.linalg.solve(cov[np.ix_(given, given)], cov[np.ix_(given, free)]).T
    cond_mean = mean[free] + gain @ (np.asarray(x_given) - mean[given])
    cond_cov = cov[np.ix_(free, free)] - gain @ cov[np.ix_(given, free)]
    return cond_mean, cond_cov


def _mixture_conditional(density, x_given, given, free):
    """Closed-form conditional of a Gaussian mixture at one conditioning point."""
    log_w, means, covs = [], [], []
    for weight, mean, cov in zip(density.weights_, density.means_, density.covariances_):
        m, c = _gaussian_conditional(mean, cov, x_given, given, free)
        log_w.append(np.log(weight) + stats.multivariate_normal(mean[given], cov[np.ix_(given, given)]).logpdf(x_given))
        means.append(m)
        covs.append(c)
    log_w = np.array(log_w)
    return np.exp(log_w - np.logaddexp.reduce(log_w)), np.array(means), np.array(covs)


# ------------------------------------------------------------ the destructor
def test_default_density_is_one_full_gaussian(gaussian_model):
    X = _correlated_gaussian(300, random_state=1)
    density = gaussian_model.density_
    assert isinstance(density, GaussianMixtureDensity) and density.n_components == 1
    expected = stats.multivariate_normal(density.means_[0], density.covariances_[0]).logpdf(X)
    np.testing.assert_allclose(gaussian_model.score_samples(X), expected, rtol=1e-10)


def test_mixture_template_is_cloned_and_seeded():
    X = _mixture_data(1000)
    template = GaussianMixtureDensity(n_components=2)
    first = AutoregressiveDestructor(template, random_state=3).fit(X)
    second = AutoregressiveDestructor(template, random_state=3).fit(X)
    assert template.random_state is None and not hasattr(template, "means_")
    assert first.density_.random_state is not None
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    # A seeded template keeps its own seed.
    seeded = AutoregressiveDestructor(GaussianMixtureDensity(n_components=2, random_state=5)).fit(X)
    assert seeded.density_.random_state == 5


def test_user_density_through_the_protocol():
    X = _correlated_gaussian(2000)
    model = AutoregressiveDestructor(GaussianChainDensity(), output_distribution="normal").fit(X)
    Z = model.transform(X)
    np.testing.assert_allclose(model.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)
    d = model.density_
    expected = stats.norm.logpdf(X[:, 0], d.intercepts_[0], d.scales_[0])
    for k in (1, 2):
        expected = expected + stats.norm.logpdf(X[:, k], d.intercepts_[k] + d.slopes_[k] * X[:, k - 1], d.scales_[k])
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    check_destructor(AutoregressiveDestructor(GaussianChainDensity()))


def test_unsupported_order_fails_at_fit():
    with pytest.raises(ValueError, match="only sweeps the column order"):
        AutoregressiveDestructor(GaussianChainDensity(), order=[1, 0, 2]).fit(_correlated_gaussian(100))


@pytest.mark.parametrize("order", [[0, 1], [0, 0, 1], [0.0, 1.0, 2.0], [[0, 1, 2]]])
def test_bad_order_is_a_clear_error(order):
    with pytest.raises(ValueError, match="order must be a permutation of range"):
        AutoregressiveDestructor(order=order).fit(_correlated_gaussian(100))


def test_random_order_is_seeded_and_explicit_order_reproduces_it():
    X = _mixture_data(1000)
    model = AutoregressiveDestructor(GaussianMixtureDensity(2), order="random", random_state=11).fit(X)
    again = AutoregressiveDestructor(GaussianMixtureDensity(2), order="random", random_state=11).fit(X)
    # Exact: integers.
    np.testing.assert_array_equal(model.order_, again.order_)
    assert sorted(model.order_) == [0, 1, 2]
    explicit = AutoregressiveDestructor(
        GaussianMixtureDensity(2, random_state=model.density_.random_state), order=list(model.order_)
    ).fit(X)
    np.testing.assert_allclose(explicit.transform(X), model.transform(X), rtol=1e-12, atol=1e-15)


def test_transform_is_triangular_in_the_order(mixture_model):
    # Changing the last feature of the order changes only its own output.
    X = _mixture_data(50, random_state=2)
    last = mixture_model.order_[-1]
    moved = X.copy()
    moved[:, last] += 0.5
    U, U_moved = mixture_model.transform(X), mixture_model.transform(moved)
    others = np.setdiff1d(np.arange(3), [last])
    # Exact: the other columns' arithmetic never touches the moved column.
    np.testing.assert_array_equal(U[:, others], U_moved[:, others])
    assert np.all(U_moved[:, last] > U[:, last])


# ----------------------------------------------------- conditional densities
@pytest.mark.parametrize("given", [[0], [1], [2, 0], [0, 1]])
def test_gaussian_conditional_density_matches_closed_form(gaussian_model, given):
    X = _correlated_gaussian(200, random_state=4)
    density = gaussian_model.density_
    mean, cov = density.means_[0], density.covariances_[0]
    free = [j for j in range(3) if j not in given]
    expected = np.array([
        stats.multivariate_normal(*_gaussian_conditional(mean, cov, row[given], given, free)).logpdf(row[free])
        for row in X
    ]).reshape(-1)
    np.testing.assert_allclose(gaussian_model.conditional_score_samples(X, given=given), expected, rtol=1e-9)
    # Chain rule: log p(x_B | x_A) = log p(x) - log p(x_A).
    marginal = stats.multivariate_normal(mean[given], cov[np.ix_(given, given)]).logpdf(X[:, given])
    np.testing.assert_allclose(
        gaussian_model.conditional_score_samples(X, given=given),
        gaussian_model.score_samples(X) - marginal, rtol=1e-9,
    )


@pytest.mark.parametrize("given", [[1], [2, 0]])
def test_mixture_conditional_density_matches_closed_form(mixture_model, given):
    X = _mixture_data(100, random_state=5)
    density = mixture_model.density_
    free = [j for j in range(3) if j not in given]
    expected = []
    for row in X:
        weights, means, covs = _mixture_conditional(density, row[given], given, free)
        terms = [stats.multivariate_normal(m, c).logpdf(row[free]) for m, c in zip(means, covs)]
        expected.append(np.logaddexp.reduce(np.log(weights) + np.array(terms)))
    np.testing.assert_allclose(mixture_model.conditional_score_samples(X, given=given), expected, rtol=1e-9)


def test_conditional_density_edge_sets(mixture_model):
    X = _mixture_data(30, random_state=6)
    np.testing.assert_allclose(
        mixture_model.conditional_score_samples(X, given=[]), mixture_model.score_samples(X), rtol=1e-12
    )
    # Exact: zero by construction.
    np.testing.assert_array_equal(mixture_model.conditional_score_samples(X, given=[0, 1, 2]), np.zeros(30))
    by_index = mixture_model.conditional_score_samples(X, given=[2, 0])
    np.testing.assert_allclose(mixture_model.conditional_score_samples(X, given=[0, 2]), by_index, rtol=1e-12)
    np.testing.assert_allclose(
        mixture_model.conditional_score_samples(X, given=[True, False, True]), by_index, rtol=1e-12
    )


def test_conditional_density_integrates_to_one(mixture_model):
    # Given x_0 and x_2, the density of x_1 integrates to one (midpoint rule).
    grid = np.linspace(-15, 15, 6001)
    for x0, x2 in [(-3.0, 0.0), (0.0, 1.0), (3.0, 2.0)]:
        rows = np.column_stack([np.full_like(grid, x0), grid, np.full_like(grid, x2)])
        mass = np.exp(mixture_model.conditional_score_samples(rows, given=[0, 2])).sum() * (grid[1] - grid[0])
        assert mass == pytest.approx(1.0, abs=1e-6)


def test_gaussian_conditional_sample_moments(gaussian_model):
    density = gaussian_model.density_
    mean, cov = density.means_[0], density.covariances_[0]
    x_given = np.array([[2.0], [-1.0]])
    draws = gaussian_model.conditional_sample(x_given, given=[0], n_samples=20000, random_state=0)
    assert draws.shape == (2, 20000, 3)
    # Exact: copies of the given values.
    np.testing.assert_array_equal(draws[:, :, 0], np.repeat(x_given, 20000, axis=1))
    for i in range(2):
        cond_mean, cond_cov = _gaussian_conditional(mean, cov, x_given[i], [0], [1, 2])
        sd = np.sqrt(np.diag(cond_cov))
        assert np.all(np.abs(draws[i, :, 1:].mean(axis=0) - cond_mean) <= 5 * sd / np.sqrt(20000))
        np.testing.assert_allclose(np.cov(draws[i, :, 1:].T), cond_cov, atol=0.03)


def test_mixture_conditional_sample_moments(mixture_model):
    density = mixture_model.density_
    given, free = [1], [0, 2]
    x_given = np.array([[0.0]])   # between the clusters: both components keep weight
    weights, means, covs = _mixture_conditional(density, x_given[0], given, free)
    assert weights.min() > 0.05
    mean = weights @ means
    cov = np.einsum("c,cij->ij", weights, covs + np.einsum("ci,cj->cij", means, means)) - np.outer(mean, mean)
    draws = mixture_model.conditional_sample(x_given, given=given, n_samples=40000, random_state=1)[0]
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws[:, free].mean(axis=0) - mean) <= 5 * sd / np.sqrt(40000))
    np.testing.assert_allclose(np.cov(draws[:, free].T), cov, rtol=0.05, atol=0.05)
    # The share of draws on the side of each cluster follows the posterior weights.
    first = np.argmin(means[:, 0])
    share = np.mean(draws[:, 0] < 0.5 * (means[0, 0] + means[1, 0]))
    assert share == pytest.approx(weights[first], abs=0.02)


def test_conditional_sample_is_seeded_and_empty_given_samples_the_joint(mixture_model):
    def draw(seed):
        return mixture_model.conditional_sample([[1.0]], given=[2], n_samples=10, random_state=seed)

    one = draw(0)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(one, draw(0))
    assert not np.array_equal(one, draw(1))
    joint = mixture_model.conditional_sample(np.empty((1, 0)), given=[], n_samples=5000, random_state=0)[0]
    np.testing.assert_allclose(joint.mean(axis=0), mixture_model.sample(5000, random_state=1).mean(axis=0), atol=0.15)


def test_conditional_api_with_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_mixture_data(500), columns=["a", "b", "c"])
    model = GaussianMixtureDestructor(2, random_state=0).fit(X)
    np.testing.assert_allclose(
        model.conditional_score_samples(X, given=["c", "a"]), model.conditional_score_samples(X, given=[2, 0])
    )
    draws = model.conditional_sample([[0.5]], given=["b"], n_samples=3, random_state=0)
    assert np.all(draws[0, :, 1] == 0.5)


@pytest.mark.parametrize(
    "given, match",
    [([0, 0], "more than once"), ([3], r"must lie in \[0, 2\]"), ([True, False], "one entry per feature"),
     (["a"], "without feature names"), ([[0]], "1-D list"), ([0.5], "feature indices")],
)
def test_bad_given_is_a_clear_error(mixture_model, given, match):
    with pytest.raises(ValueError, match=match):
        mixture_model.conditional_score_samples(_mixture_data(5), given=given)


def test_conditional_sample_input_errors(mixture_model):
    with pytest.raises(ValueError, match="X_given has 2 columns but given names 1"):
        mixture_model.conditional_sample([[0.0, 1.0]], given=[0])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        mixture_model.conditional_sample([[0.0]], given=[0], n_samples=0)
    with pytest.raises(ValueError, match="X has 2 features"):
        mixture_model.conditional_score_samples(np.zeros((3, 2)), given=[0])


def test_helpers_dispatch_or_name_the_supporting_estimators(mixture_model):
    X = _mixture_data(20, random_state=7)
    # Exact: the helpers call the same methods.
    np.testing.assert_array_equal(
        conditional_score_samples(mixture_model, X, given=[0]),
        mixture_model.conditional_score_samples(X, given=[0]),
    )
    np.testing.assert_array_equal(
        conditional_sample(mixture_model, [[1.0]], given=[0], n_samples=4, random_state=0),
        mixture_model.conditional_sample([[1.0]], given=[0], n_samples=4, random_state=0),
    )
    marginal = MarginalDestructor().fit(X)
    for call in (lambda: conditional_score_samples(marginal, X, given=[0]),
                 lambda: conditional_sample(marginal, [[1.0]], given=[0])):
        with pytest.raises(TypeError, match="MarginalDestructor does not support .*AutoregressiveDestructor"):
            call()
    assert not hasattr(marginal, "conditional_sample")


def test_user_density_conditions_on_a_prefix_only():
    X = _correlated_gaussian(1000)
    model = AutoregressiveDestructor(GaussianChainDensity()).fit(X)
    d = model.density_
    expected = stats.norm.logpdf(X[:, 2], d.intercepts_[2] + d.slopes_[2] * X[:, 1], d.scales_[2])
    np.testing.assert_allclose(model.conditional_score_samples(X, given=[0, 1]), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="only sweeps the column order"):
        model.conditional_score_samples(X, given=[2])
