"""Each property of check_destructor fails on a destructor broken in that one way."""

import numpy as np
import pytest

from destructors import GaussianDestructor, IdentityDestructor, MarginalDestructor
from destructors import validation as V


class _ScaledLogDet(GaussianDestructor):
    """Correct map and inverse, log-determinant off by 0.1 nats."""

    def _forward(self, X):
        Z, log_det = super()._forward(X)
        return Z, log_det + 0.1


class _LossyInverse(GaussianDestructor):
    def _inverse(self, Z):
        return super()._inverse(Z) * (1 + 1e-4)


class _Squeezed(GaussianDestructor):
    """A consistent destructor of the wrong density: output too narrow."""

    def _forward(self, X):
        Z, log_det = super()._forward(X)
        return 0.7 * Z, log_det + X.shape[1] * np.log(0.7)

    def _inverse(self, Z):
        return super()._inverse(Z / 0.7)


class _Unnormalized(GaussianDestructor):
    """Consistent map, but score_samples adds a constant: mass e^0.1, and wrong Jacobian."""

    def score_samples(self, X):
        return super().score_samples(X) + 0.1


class _BatchDependent(GaussianDestructor):
    def _forward(self, X):
        Z, log_det = super()._forward(X)
        return Z + 1e-9 * X.shape[0], log_det

    def _inverse(self, Z):
        return super()._inverse(Z - 1e-9 * Z.shape[0])


class _UnseededSampler(GaussianDestructor):
    def sample(self, n_samples=1, random_state=None):
        return super().sample(n_samples, random_state=None)


class _InfiniteTails(GaussianDestructor):
    def score_samples(self, X):
        scores = super().score_samples(X)
        return np.where(np.abs(X).max(axis=1) > 30, -np.inf, scores)


class _Mutating(GaussianDestructor):
    def score_samples(self, X):
        if isinstance(X, np.ndarray):
            X[:] = X + 0.0
            X[0, 0] += 1.0
        return super().score_samples(np.asarray(X))


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    return V._skewed_data(1000, 2, rng), V._skewed_data(300, 2, rng), rng


def test_good_destructors_pass():
    V.check_destructor(GaussianDestructor())
    V.check_destructor(MarginalDestructor())
    V.check_destructor(IdentityDestructor())


def test_round_trip_check_fails_on_a_lossy_inverse(data):
    with pytest.raises(AssertionError, match="inverse_transform"):
        V.check_inverse_round_trip(_LossyInverse(), *data[:2])
    V.check_inverse_round_trip(GaussianDestructor(), *data[:2])


def test_jacobian_check_fails_on_a_wrong_log_det(data):
    with pytest.raises(AssertionError, match="finite-difference"):
        V.check_log_det_matches_jacobian(_ScaledLogDet(), *data[:2])
    V.check_log_det_matches_jacobian(GaussianDestructor(), *data[:2])


def test_integration_check_fails_on_an_unnormalized_density(data):
    with pytest.raises(AssertionError, match="integrates to 1.10"):
        V.check_density_integrates_to_one(_Unnormalized(), data[2])


def test_uniformity_check_fails_on_the_wrong_density(data):
    with pytest.raises(AssertionError, match="not uniform"):
        V.check_uniform_output(_Squeezed(), data[2])
    V.check_uniform_output(GaussianDestructor(), data[2])


def test_sample_check_fails_when_the_seed_is_ignored(data):
    with pytest.raises(AssertionError, match="not reproducible"):
        V.check_sample_reproducible(_UnseededSampler().fit(data[0]))


def test_row_independence_check_fails_on_batch_dependence(data):
    with pytest.raises(AssertionError, match="depends on the other rows"):
        V.check_row_independence(_BatchDependent().fit(data[0]), data[1])


def test_far_rows_check_fails_on_infinite_tails(data):
    with pytest.raises(AssertionError, match="not finite far outside"):
        V.check_far_rows_finite(_InfiniteTails().fit(data[0]), data[0])


def test_mutation_check_fails_on_a_mutating_method(data):
    with pytest.raises(AssertionError, match="modified its input"):
        V.check_no_input_mutation(_Mutating(), *data[:2])


def test_check_destructor_reports_the_first_broken_property():
    with pytest.raises(AssertionError, match="_ScaledLogDet"):
        V.check_destructor(_ScaledLogDet())
