"""Public methods process rows in chunks sized from scikit-learn's working_memory.

With ``working_memory=1`` (MiB) scoring 200,000 x 10 rows allocates a small
fraction of one ``n x d`` array, instead of the ``16`` full temporaries a
layer may hold per chunk, and gives the same numbers as the default setting.
"""

import numpy as np
import pytest
import sklearn

from benchmarks._report import peak, skewed_data
from destructors import MarginalDestructor, RBIGDestructor

N_ROWS, N_FEATURES = 200_000, 10


def _data(n_rows, seed):
    return skewed_data(n_rows, N_FEATURES, seed)


@pytest.fixture(scope="module")
def X():
    return _data(N_ROWS, 1)


@pytest.fixture(scope="module", params=["marginal", "rbig"])
def model(request):
    X_train = _data(5000, 0)
    if request.param == "marginal":
        return MarginalDestructor().fit(X_train)
    return RBIGDestructor(n_layers=2, tol=0.0, random_state=0).fit(X_train)


def _assert_same(chunked, whole, model):
    if isinstance(model, MarginalDestructor):
        # Exact: elementwise maps without products or sums across rows give the same bits in any chunk.
        np.testing.assert_array_equal(chunked, whole)
    else:
        # Rotations multiply matrices; BLAS may round a row differently
        # depending on how many rows it multiplies at once.
        np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-12)


def test_score_samples_in_chunks_keeps_memory_bounded(model, X):
    whole, whole_peak = peak(lambda: model.score_samples(X))
    with sklearn.config_context(working_memory=1):
        chunked, chunked_peak = peak(lambda: model.score_samples(X))
    _assert_same(chunked, whole, model)
    # Without chunks the layers' temporaries have the size of the data...
    assert whole_peak > X.nbytes
    # ... in 1 MiB chunks, all of scoring takes less than half of one n x d
    # array (the output and its chunks are 2 * n floats), far below the 16
    # n x d temporaries a layer may hold.
    assert chunked_peak < 0.5 * X.nbytes
    assert chunked_peak < whole_peak / 4


def test_transforms_and_sampling_in_chunks_hold_few_full_arrays(model, X):
    X = X[:50_000]
    with sklearn.config_context(working_memory=1):
        U, transform_peak = peak(lambda: model.transform(X))
        X_back, inverse_peak = peak(lambda: model.inverse_transform(U))
        samples, sample_peak = peak(lambda: model.sample(len(X), random_state=0))
    _assert_same(U, model.transform(X), model)
    _assert_same(X_back, model.inverse_transform(U), model)
    _assert_same(samples, model.sample(len(X), random_state=0), model)
    # The output, its chunks before concatenation, and for the inverse the
    # Gaussian view of its input (or the normal draws): at most three arrays
    # of the output's size.
    assert transform_peak < 2.5 * X.nbytes
    assert inverse_peak < 3.5 * X.nbytes
    assert sample_peak < 3.5 * X.nbytes
