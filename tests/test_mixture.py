"""Tests of the Gaussian mixture density, its destructor and their kernels."""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_ndtr, ndtr
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV

from destructors import GaussianDestructor, GaussianMixtureDensity, GaussianMixtureDestructor
from destructors._mixture_kernels import (
    _log_ndtr_both,
    full_gaussian_parameters,
    full_log_gaussian_prob,
    logsumexp_rows,
    solve_increasing,
)


def _mixture_data(n_samples=1500, random_state=0):
    """Three well-separated correlated clusters in 3-D."""
    rng = np.random.RandomState(random_state)
    centers = np.array([[-4.0, 0.0, 2.0], [3.0, 3.0, -1.0], [0.0, -4.0, 0.0]])
    mixing = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.3, 0.4, 0.5]])
    labels = rng.randint(3, size=n_samples)
    return centers[labels] + (rng.standard_normal((n_samples, 3)) @ mixing.T) * (1 + labels[:, None] * 0.5)


@pytest.fixture(scope="module")
def mixture_data():
    return _mixture_data()


@pytest.fixture(scope="module")
def fitted(mixture_data):
    return GaussianMixtureDestructor(3, random_state=0, output_distribution="normal").fit(mixture_data)


# ------------------------------------------------------------ density equality
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_score_equals_sklearn_mixture(mixture_data, covariance_type):
    destructor = GaussianMixtureDestructor(
        3, covariance_type=covariance_type, random_state=0, order="random"
    ).fit(mixture_data)
    # An independent scikit-learn mixture with the same seed fits the same model.
    reference = GaussianMixture(
        3, covariance_type=covariance_type, random_state=destructor.density_.random_state
    ).fit(mixture_data)
    X_test = _mixture_data(300, random_state=1)
    np.testing.assert_allclose(
        destructor.score_samples(X_test), reference.score_samples(X_test), rtol=1e-10, atol=1e-10
    )
    assert destructor.score(X_test) == pytest.approx(reference.score(X_test), rel=1e-12)


@pytest.mark.parametrize("n_features", [2, 12])
def test_batched_em_steps_match_scikit_learn(n_features):
    # 12 features take the per-component covariance path, 2 the outer products.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((600, n_features)) @ rng.standard_normal((n_features, n_features))
    X[:200] += 5.0
    ours = GaussianMixtureDensity(4, random_state=0).fit(X)
    theirs = GaussianMixture(4, random_state=0).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)


def test_batched_covariances_keep_their_digits_far_from_the_data_mean():
    # A tight component 1e7 spreads away from the others: the second-moment
    # formula would cancel to noise there; the kernel recomputes it centred.
    rng = np.random.RandomState(0)
    tight = 1e7 + 1e-3 * rng.standard_normal((300, 2))
    X = np.vstack([rng.standard_normal((300, 2)), tight])
    resp = np.zeros((600, 2))
    resp[:300, 0] = resp[300:, 1] = 1.0
    _, means, covariances = full_gaussian_parameters(X, resp, reg_covar=0.0)
    np.testing.assert_allclose(covariances[1], np.cov(tight.T, bias=True), rtol=1e-6)
    np.testing.assert_allclose(means[1], tight.mean(axis=0), rtol=1e-14)


def test_batched_log_prob_in_row_blocks_matches_scipy(monkeypatch):
    import destructors._mixture_kernels as kernels

    rng = np.random.RandomState(0)
    X = rng.standard_normal((50, 3))
    means = rng.standard_normal((4, 3))
    factors = rng.standard_normal((4, 3, 3)) * 0.3 + 2 * np.eye(3)
    covariances = factors @ np.transpose(factors, (0, 2, 1))
    precisions_cholesky = np.stack([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])
    # Blocks of 7 rows: the blocked loop must give the rows' own values.
    monkeypatch.setattr(kernels, "_BLOCK_ENTRIES", 7 * 3 * 4)
    log_prob = full_log_gaussian_prob(X, means, precisions_cholesky)
    expected = np.column_stack([stats.multivariate_normal(m, c).logpdf(X) for m, c in zip(means, covariances)])
    np.testing.assert_allclose(log_prob, expected, rtol=1e-12)


def test_a_split_component_pair_keeps_the_parent_mean_and_covariance(mixture_data):
    from destructors.mixture import _split_components

    parent = GaussianMixtureDensity(3, random_state=0).fit(mixture_data)
    weights, means, precisions = _split_components(parent)
    covariances = np.linalg.inv(precisions)
    for c in range(3):
        halves = [c, c + 3]
        assert weights[halves].sum() == pytest.approx(parent.weights_[c])
        np.testing.assert_allclose(means[halves].mean(axis=0), parent.means_[c])
        spread = means[c + 3] - means[c]
        # Mixture of two equal halves: mean covariance plus a quarter of the
        # outer product of the difference of their means.
        np.testing.assert_allclose(covariances[c] + np.outer(spread, spread) / 4, parent.covariances_[c], atol=1e-10)
        assert np.all(np.linalg.eigvalsh(covariances[c]) > 0)


def test_one_component_is_the_full_gaussian():
    rng = np.random.RandomState(0)
    covariance = np.array([[2.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]])
    X = rng.multivariate_normal([1.0, -2.0, 3.0], covariance, size=2000)
    mixture = GaussianMixtureDestructor(1, reg_covar=0.0, output_distribution="normal").fit(X)
    gaussian = GaussianDestructor(reg_covar=0.0, output_distribution="normal").fit(X)
    X_test = rng.multivariate_normal([1.0, -2.0, 3.0], covariance, size=300)
    # The Rosenblatt transform of a Gaussian is whitening by its Cholesky factor.
    np.testing.assert_allclose(mixture.transform(X_test), gaussian.transform(X_test), atol=1e-9)
    np.testing.assert_allclose(mixture.score_samples(X_test), gaussian.score_samples(X_test), atol=1e-9)
    mean, cov = X.mean(axis=0), np.cov(X.T, bias=True)
    np.testing.assert_allclose(
        mixture.score_samples(X_test), stats.multivariate_normal(mean, cov).logpdf(X_test), atol=1e-9
    )


def test_one_component_transform_in_any_order_is_a_permuted_cholesky_whitening():
    rng = np.random.RandomState(1)
    X = rng.multivariate_normal([0.0, 1.0, 2.0], [[1.0, 0.5, 0.2], [0.5, 2.0, 0.4], [0.2, 0.4, 1.5]], 500)
    order = [2, 0, 1]
    destructor = GaussianMixtureDestructor(1, order=order, output_distribution="normal").fit(X)
    cov = destructor.density_.covariances_[0][np.ix_(order, order)]
    mean = destructor.density_.means_[0][order]
    expected = np.linalg.solve(np.linalg.cholesky(cov), (X[:, order] - mean).T).T
    Z = destructor.transform(X)
    np.testing.assert_allclose(Z[:, order], expected, atol=1e-10)


def test_density_does_not_depend_on_the_order(mixture_data):
    X_test = _mixture_data(200, random_state=2)
    scores, outputs = [], []
    for order in (None, "random", [2, 1, 0]):
        destructor = GaussianMixtureDestructor(3, order=order, random_state=0).fit(mixture_data)
        scores.append(destructor.score_samples(X_test))
        outputs.append(destructor.transform(X_test))
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-10)
    np.testing.assert_allclose(scores[2], scores[0], rtol=1e-10)
    # The map to the cube does depend on it.
    assert not np.allclose(outputs[2], outputs[0])


# ------------------------------------------------------------- tails, inverse
def test_far_tail_rows_round_trip(mixture_data):
    destructor = GaussianMixtureDestructor(3, random_state=0, output_distribution="normal").fit(mixture_data)
    spread = mixture_data.std(axis=0)
    center = mixture_data.mean(axis=0)
    far = center + spread * np.array([[20.0, 0.0, 0.0], [0.0, -20.0, 0.0], [20.0, 20.0, -20.0], [-30.0, 5.0, 40.0]])
    Z = destructor.transform(far)
    assert np.all(np.isfinite(Z)) and np.abs(Z).max() > 15
    back = destructor.inverse_transform(Z)
    np.testing.assert_allclose(back, far, rtol=1e-8)
    # The log density stays the mixture's, finite, far out.
    np.testing.assert_allclose(
        destructor.score_samples(far), destructor.density_.score_samples(far), rtol=1e-10
    )


def test_inverse_is_accurate_and_uniform_view_inverts(fitted, mixture_data):
    X_test = _mixture_data(500, random_state=3)
    Z = fitted.transform(X_test)
    back = fitted.inverse_transform(Z)
    np.testing.assert_allclose(back, X_test, rtol=1e-10, atol=1e-10)
    # Arbitrary Gaussian-view points, including far ones, map back onto themselves.
    Z_any = np.random.RandomState(4).standard_normal((500, 3)) * 4.0
    np.testing.assert_allclose(fitted.transform(fitted.inverse_transform(Z_any)), Z_any, atol=1e-8)


def test_uniform_output_on_held_out_data_from_a_mixture():
    X_train, X_test = _mixture_data(3000, 5), _mixture_data(2000, 6)
    destructor = GaussianMixtureDestructor(3, random_state=0, order="random").fit(X_train)
    U = destructor.transform(X_test)
    assert U.min() >= 0.0 and U.max() <= 1.0
    for j in range(3):
        assert stats.kstest(U[:, j], "uniform").pvalue > 1e-3
    # Output coordinates of the Rosenblatt transform are independent.
    assert np.abs(np.corrcoef(U.T) - np.eye(3)).max() < 0.1


def test_sample_follows_the_mixture(fitted):
    draws = fitted.sample(20000, random_state=0)
    density = fitted.density_
    mean = density.weights_ @ density.means_
    outer = np.einsum("ci,cj->cij", density.means_, density.means_)
    second = np.einsum("c,cij->ij", density.weights_, density.covariances_ + outer)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.1)
    np.testing.assert_allclose(np.cov(draws.T, bias=True), second - np.outer(mean, mean), atol=0.3)


# ---------------------------------------------------------- parameters, fit
def test_grid_search_reaches_the_mixture_parameters(mixture_data):
    search = GridSearchCV(
        GaussianMixtureDestructor(random_state=0), {"n_components": [1, 3]}, cv=3
    ).fit(mixture_data)
    assert search.best_params_ == {"n_components": 3}


def test_fitted_attributes(fitted):
    assert isinstance(fitted.density_, GaussianMixture)
    assert fitted.density_.n_components == 3
    assert fitted.converged_ and fitted.n_iter_ >= 1
    # Exact: integers.
    np.testing.assert_array_equal(fitted.order_, [0, 1, 2])


def test_too_many_components_is_a_clear_error():
    X = np.random.RandomState(0).standard_normal((5, 2))
    with pytest.raises(ValueError, match="GaussianMixtureDestructor: n_components=10"):
        GaussianMixtureDestructor(10).fit(X)


def test_seeded_fit_is_reproducible_and_leaves_global_rng_alone(mixture_data):
    state = np.random.get_state()[1].copy()
    first = GaussianMixtureDestructor(3, random_state=7, order="random").fit(mixture_data)
    second = GaussianMixtureDestructor(3, random_state=7, order="random").fit(mixture_data)
    GaussianMixtureDestructor(3, order="random").fit(mixture_data)
    # Exact: the global generator's state, integers.
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(first.order_, second.order_)
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(first.transform(mixture_data), second.transform(mixture_data))


# ---------------------------------------------------- conditional sweep kernel
def _conditional_closed_form(density, order, x_prev, k):
    """Weights, means and scales of coordinate order[k] given the previous ones."""
    a, b = list(order[:k]), order[k]
    log_w, means, scales = [], [], []
    for weight, mean, cov in zip(density.weights_, density.means_, density.covariances_):
        if k == 0:
            log_w.append(np.log(weight))
            means.append(mean[b])
            scales.append(np.sqrt(cov[b, b]))
            continue
        gain = np.linalg.solve(cov[np.ix_(a, a)], cov[a, b])
        log_w.append(np.log(weight) + stats.multivariate_normal(mean[a], cov[np.ix_(a, a)]).logpdf(x_prev))
        means.append(mean[b] + gain @ (x_prev - mean[a]))
        scales.append(np.sqrt(cov[b, b] - cov[b, a] @ gain))
    log_w = np.array(log_w)
    return np.exp(log_w - np.logaddexp.reduce(log_w)), np.array(means), np.array(scales)


def test_sweep_matches_closed_form_conditionals(fitted):
    density = fitted.density_
    order = [1, 2, 0]
    rows = _mixture_data(5, random_state=8)
    sweep = density.conditional_sweep(order, len(rows))
    for k, j in enumerate(order):
        log_pdf, log_cdf, log_sf = sweep.evaluate(rows[:, j])
        for i, row in enumerate(rows):
            weights, means, scales = _conditional_closed_form(density, order, row[order[:k]], k)
            t = (row[j] - means) / scales
            assert log_pdf[i] == pytest.approx(np.log(weights @ (stats.norm.pdf(t) / scales)), rel=1e-10)
            assert np.exp(log_cdf[i]) == pytest.approx(weights @ stats.norm.cdf(t), rel=1e-10)
            assert np.exp(log_sf[i]) == pytest.approx(weights @ stats.norm.sf(t), rel=1e-10)
        sweep.condition(rows[:, j])
    with pytest.raises(ValueError, match="already conditioned"):
        sweep.condition(rows[:, 0])


def test_sweep_invert_solves_in_both_far_tails(fitted):
    sweep = fitted.density_.conditional_sweep([0, 1, 2], 6)
    z = np.array([-35.0, -20.0, -1e-3, 0.0, 20.0, 35.0])
    x = sweep.invert(z)
    log_pdf, log_cdf, log_sf = sweep.evaluate(x)
    np.testing.assert_allclose(np.where(z <= 0, stats.norm.logcdf(z), stats.norm.logsf(z)),
                               np.where(z <= 0, log_cdf, log_sf), rtol=1e-9)


def test_sweep_sums_in_linear_space_and_in_log_space_far_out():
    # Two components; rows from the bulk to 60 standard deviations out on both
    # sides: the linear-space sums serve the bulk, log space the far rows
    # (densities below 1e-250), and both agree with scipy's log-space values.
    from scipy.special import logsumexp

    from destructors._mixture_kernels import GaussianMixtureSweep

    log_weights = np.log([0.3, 0.7])
    means = np.array([[-1.0], [2.0]])
    scales = np.array([0.5, 1.5])
    x = np.array([-91.0, -31.0, -18.0, -3.0, 0.0, 0.4, 5.0, 20.0, 40.0, 92.0])
    log_pdf, log_cdf, log_sf = GaussianMixtureSweep(log_weights, means, scales[:, None, None], x.size).evaluate(x)
    t = (x[:, None] - means[:, 0]) / scales
    np.testing.assert_allclose(log_pdf, logsumexp(log_weights + stats.norm.logpdf(t) - np.log(scales), axis=1),
                               rtol=1e-12)
    np.testing.assert_allclose(log_cdf, logsumexp(log_weights + stats.norm.logcdf(t), axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(log_sf, logsumexp(log_weights + stats.norm.logsf(t), axis=1), rtol=1e-12, atol=1e-15)


def test_conditional_sweep_rejects_a_bad_order(fitted):
    with pytest.raises(ValueError, match="permutation of range"):
        fitted.density_.conditional_sweep([0, 0, 1], 3)


# ------------------------------------------------------------------ kernels
def test_logsumexp_rows_handles_empty_mass():
    a = np.array([[0.0, np.log(3.0)], [-np.inf, -np.inf], [-1000.0, -1000.0]])
    np.testing.assert_allclose(logsumexp_rows(a), [np.log(4.0), -np.inf, -1000.0 + np.log(2.0)])


def test_solve_increasing_finds_roots_and_reports_non_convergence():
    def cubic(x, rows):
        return x**3 + x, np.log(3 * x**2 + 1)

    target = np.array([-1e6, -2.0, 0.0, 0.5, 10.0, 1e9])
    lo, hi = np.full(6, -1e4), np.full(6, 1e4)
    x, n_iter = solve_increasing(cubic, target, lo, hi, np.zeros(6), np.ones(6))
    np.testing.assert_allclose(x**3 + x, target, rtol=1e-12, atol=1e-12)
    assert n_iter < 100
    # A collapsed bracket returns its end without evaluating.
    x, n_iter = solve_increasing(cubic, np.array([2.0]), np.array([1.0]), np.array([1.0]), np.array([0.0]), np.ones(1))
    assert x[0] == 1.0 and n_iter == 0
    with pytest.warns(ConvergenceWarning, match="did not reach"):
        solve_increasing(cubic, target, lo, hi, np.zeros(6), np.ones(6), max_iter=2)


def test_uniform_output_is_the_normal_cdf_of_the_gaussian_view(mixture_data):
    normal = GaussianMixtureDestructor(3, random_state=0, output_distribution="normal").fit(mixture_data)
    uniform = GaussianMixtureDestructor(3, random_state=0).fit(mixture_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(uniform.transform(mixture_data), ndtr(normal.transform(mixture_data)))


def test_density_is_a_scikit_learn_gaussian_mixture():
    density = GaussianMixtureDensity(n_components=2, covariance_type="diag", random_state=0)
    X = _mixture_data(300)
    fitted = density.fit(X)
    assert fitted is density and density.get_params()["covariance_type"] == "diag"
    reference = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    np.testing.assert_allclose(density.score_samples(X), reference.score_samples(X))


def test_log_ndtr_of_both_tails_matches_scipy():
    t = np.concatenate([np.linspace(-38.0, 38.0, 20001), [0.0, -0.0, 1e-300, -1e-300, 1e10, -1e10, np.inf, -np.inf]])
    log_cdf, log_sf = _log_ndtr_both(t)
    for mine, reference in ((log_cdf, log_ndtr(t)), (log_sf, log_ndtr(-t))):
        np.testing.assert_allclose(mine, reference, rtol=1e-13, atol=1e-300)


def test_log_density_is_the_mixture_density_without_the_sweep():
    # score_samples evaluates the mixture's log density directly; the forward
    # pass (log-determinant plus the output's normal density) is the same
    # function. Tolerance: both sum d conditional or component log terms of
    # size up to ~1e12 far outside, each rounded to a few ulps.
    from destructors import DeepDestructor
    from destructors.base import BaseDestructor

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=2000), rng.exponential(size=2000), rng.normal(size=2000)])
    rows = np.vstack([X[:100], 1e3 * X[:5], np.full((1, 3), -1e6)])
    model = GaussianMixtureDestructor(4, random_state=0).fit(X)
    direct = model.score_samples(rows)
    assert np.all(np.isfinite(direct))
    np.testing.assert_allclose(direct, BaseDestructor._log_density(model, rows), rtol=1e-12)
    # A deep stack of the mixture alone scores through the same shortcut.
    deep = DeepDestructor(init_destructor=GaussianMixtureDestructor(4), max_layers=2, random_state=0).fit(X)

    def no_sweep(*args, **kwargs):
        raise AssertionError("the forward sweep ran")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GaussianMixtureDestructor, "_forward", no_sweep)
        stack = deep.score_samples(rows, n_layers=0)  # the initial layer alone
        model.score_samples(rows)
    forward = BaseDestructor._log_density(deep, deep._check_X(rows), n_layers=1)
    np.testing.assert_allclose(stack, forward, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
@pytest.mark.parametrize("shape", [(111, 13), (500, 1), (40, 3)])
def test_one_component_in_closed_form_is_what_em_converges_to(covariance_type, shape):
    # One component: every responsibility is exactly 1, so EM's first M step
    # is its fixed point; the closed form must give scikit-learn's EM result
    # (the same M step; compared to rounding, as a threaded BLAS may sum a
    # product in another order from one call to the next).
    rng = np.random.default_rng(shape[0])
    X = rng.standard_t(3, size=shape) @ rng.normal(size=(shape[1], shape[1])) + 100.0
    em = GaussianMixtureDensity(1, covariance_type=covariance_type, random_state=0).fit(X)
    closed = GaussianMixtureDensity(1, covariance_type=covariance_type, random_state=0)._fit_one_component(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_allclose(getattr(closed, name), getattr(em, name), rtol=1e-12, err_msg=name)
    assert closed.lower_bound_ == pytest.approx(em.lower_bound_, rel=1e-12) and closed.converged_
    np.testing.assert_allclose(closed.score_samples(X), em.score_samples(X), rtol=1e-12)
    layer = GaussianMixtureDestructor(1, covariance_type=covariance_type, random_state=0).fit(X)
    np.testing.assert_allclose(layer.density_.means_, em.means_, rtol=1e-12)


def test_one_component_of_collinear_columns_names_the_remedy():
    X = np.random.default_rng(0).normal(size=(50, 1)) * np.array([[1.0, 1.0]]) * 1e6
    with pytest.raises(ValueError, match="increase reg_covar or standardize X"):
        GaussianMixtureDestructor(1, reg_covar=1e-12).fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_one_component_maps_by_whitening_as_the_sweep_does(covariance_type):
    # A single Gaussian's Rosenblatt map is whitening by the Cholesky factor
    # of its covariance in the sweep's order. The sweep reaches the same z
    # through the normal CDF and its inverse: equal to ~1e-9 where
    # Phi^-1(Phi(t)) keeps its digits (|t| < 8).
    from destructors.autoregressive import AutoregressiveDestructor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) + 5.0
    model = GaussianMixtureDestructor(1, covariance_type=covariance_type, order="random", random_state=0).fit(X)
    assert model._gaussian_ is not None and not np.array_equal(model.order_, np.arange(4))
    Z, log_det = model._forward(X)
    Z_sweep, log_det_sweep = AutoregressiveDestructor._forward(model, X)
    assert np.abs(Z).max() < 8
    np.testing.assert_allclose(Z, Z_sweep, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(log_det, log_det_sweep, rtol=1e-12)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)), X, rtol=1e-12)
    np.testing.assert_allclose(model.score_samples(X), norm_logpdf_rows(Z) + log_det, rtol=1e-12)
    far = 1e6 * X[:3]
    assert np.all(np.isfinite(model._forward(far)[0]))
    assert GaussianMixtureDestructor(2, random_state=0).fit(X)._gaussian_ is None


def norm_logpdf_rows(Z):
    return stats.norm.logpdf(Z).sum(axis=1)
