"""destructors.dask: lazy transforms of dask arrays, fitting by map-reduce, grid search.

The tests run on a ``distributed.LocalCluster`` of two worker processes
started once for the module; they are skipped when the optional extra
(``dask[array]`` and ``distributed``) is not installed.
"""

import gc
import pickle
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from destructors import (
    CompositeDestructor,
    DeepDestructor,
    GaussianDensity,
    GaussianDestructor,
    HistogramDensity,
    MarginalDestructor,
    RBIGDestructor,
    RotationDestructor,
    SplineDensity,
)
from destructors import dask as ddask
from destructors.base import resolve_random_state

N_ROWS, CHUNK = 6000, 1000
EXTRA = "the optional extra destructors[dask] (dask[array], distributed) is not installed"


@pytest.fixture(scope="module")
def da():
    pytest.importorskip("dask", reason=EXTRA)
    return pytest.importorskip("dask.array", reason=EXTRA)


@pytest.fixture(scope="module")
def client(da):
    distributed = pytest.importorskip("distributed", reason=EXTRA)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _data(n_rows, seed):
    """Skewed, dependent data with ties in one column."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, 3))
    X[:, 1] = 0.5 * X[:, 0] ** 2 + 0.3 * X[:, 1]
    X[:, 2] = np.round(np.exp(X[:, 2]), 1)
    return X


@pytest.fixture(scope="module")
def X():
    return _data(N_ROWS, 0)


@pytest.fixture(scope="module")
def X_test():
    return _data(2000, 1)


@pytest.fixture(scope="module")
def X_dask(da, X):
    return da.from_array(X, chunks=(CHUNK, 3))


@pytest.fixture(scope="module")
def rbig(X):
    return RBIGDestructor(rotation="random", n_layers=2, tol=0.0, random_state=0).fit(X)


def _task_workers(stream, prefix):
    """Worker address of each task of the task stream whose key starts with ``prefix``."""
    workers = []
    for task in stream.data:
        key = task["key"][0] if isinstance(task["key"], tuple) else task["key"]
        if str(key).startswith(prefix):
            workers.append(task["worker"])
    return workers


def _held_keys(client, prefix):
    """Keys starting with ``prefix`` whose results the workers hold in memory."""
    held = set().union(*client.has_what().values())
    return {key for key in held if str(key[0] if isinstance(key, tuple) else key).startswith(prefix)}


def _blockwise(method, X):
    return np.concatenate([method(X[i : i + CHUNK]) for i in range(0, len(X), CHUNK)])


def _assert_same_across_processes(actual, desired, exact):
    """Worker processes against the client: bit for bit without matrix products.

    Elementwise maps, sorting and counting give the same bits in any process.
    A BLAS product in a worker (one BLAS thread there) may round otherwise
    than in the client, as not every BLAS sums alike whatever its thread
    count: those results agree to rounding.
    """
    if exact:
        np.testing.assert_array_equal(actual, desired)
    else:
        np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- extra
def test_missing_extra_raises_an_import_error_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    model = MarginalDestructor().fit(np.random.RandomState(0).standard_normal((50, 2)))
    with pytest.raises(ImportError, match=r"destructors\[dask\]"):
        ddask.transform(model, np.zeros((3, 2)))
    with pytest.raises(ImportError, match=r"destructors\[dask\]"):
        ddask.fit(MarginalDestructor(), np.zeros((3, 2)))


# ------------------------------------------------------------ lazy apply
@pytest.mark.parametrize("kind", ["marginal", "rbig"])
def test_lazy_methods_equal_in_memory_results(client, da, X, X_dask, rbig, kind):
    distributed = pytest.importorskip("distributed")
    model = MarginalDestructor().fit(X) if kind == "marginal" else rbig
    U_lazy = ddask.transform(model, X_dask)
    assert isinstance(U_lazy, da.Array) and U_lazy.chunks == X_dask.chunks
    with distributed.get_task_stream(client) as stream:
        U = U_lazy.compute()
        log_density = ddask.score_samples(model, X_dask).compute()
        X_back = ddask.inverse_transform(model, da.from_array(U, chunks=(CHUNK, 3))).compute()
    # Each block is the in-memory result of its rows (bit for bit without
    # rotations, see _assert_same_across_processes)...
    exact = kind == "marginal"
    _assert_same_across_processes(U, _blockwise(model.transform, X), exact)
    _assert_same_across_processes(log_density, _blockwise(model.score_samples, X), exact)
    _assert_same_across_processes(X_back, _blockwise(model.inverse_transform, U), exact)
    # ... so the whole agrees with the in-memory result of the whole array:
    # exactly without matrix products, to BLAS rounding with rotations.
    whole = (model.transform(X), model.score_samples(X), model.inverse_transform(U))
    if kind == "marginal":
        for lazy, local in zip((U, log_density, X_back), whole):
            np.testing.assert_array_equal(lazy, local)
    for lazy, local in zip((U, log_density, X_back), whole):
        np.testing.assert_allclose(lazy, local, rtol=1e-12, atol=1e-14)
    # The blocks ran on the cluster's workers, one task per block and method.
    workers = set(client.scheduler_info()["workers"])
    for what in ("transform", "score_samples", "inverse_transform"):
        ran_on = _task_workers(stream, f"destructors-{what}-")
        assert len(ran_on) == N_ROWS // CHUNK
        assert set(ran_on) <= workers


def test_model_is_one_task_of_the_graph(client, da, rbig):
    distributed = pytest.importorskip("distributed")
    lazy = ddask.score_samples(rbig, da.zeros((N_ROWS, 3), chunks=(CHUNK, 3)))
    graph = dict(lazy.__dask_graph__())
    (model_key,) = [key for key in graph if str(key).startswith("RBIGDestructor-")]
    blocks = [task for key, task in graph.items() if str(key).startswith("('destructors-score_samples-")]
    assert len(blocks) == N_ROWS // CHUNK
    model_bytes = len(pickle.dumps(rbig))
    for task in blocks:
        # Each block task refers to the model's key and does not carry a copy.
        assert model_key in task.dependencies
        assert len(pickle.dumps(task)) < model_bytes / 10
    with distributed.get_task_stream(client) as stream:
        lazy.compute()
    assert len(_task_workers(stream, "RBIGDestructor-")) <= 1  # made once, then fetched


def test_sample_blocks_equal_in_memory_samples_with_their_seeds(client, rbig):
    lazy = ddask.sample(rbig, 2500, chunk_size=1000, random_state=7)
    assert lazy.shape == (2500, 3) and lazy.chunks == ((1000, 1000, 500), (3,))
    samples = lazy.compute()
    seeds = resolve_random_state(7).randint(np.iinfo(np.int32).max, size=3)
    expected = np.concatenate([
        rbig.sample(size, random_state=int(seed)) for size, seed in zip((1000, 1000, 500), seeds)
    ])
    _assert_same_across_processes(samples, expected, exact=False)  # RBIG rotates
    # Exact: the same seeds in the same worker processes.
    np.testing.assert_array_equal(samples, ddask.sample(rbig, 2500, chunk_size=1000, random_state=7).compute())
    assert not np.array_equal(samples, ddask.sample(rbig, 2500, chunk_size=1000, random_state=8).compute())
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        ddask.sample(rbig, 0)


def test_lazy_methods_check_the_number_of_features(da, rbig):
    with pytest.raises(ValueError, match="fitted with 3 features"):
        ddask.transform(rbig, da.zeros((10, 2), chunks=5))


# ------------------------------------------------------- distributed fit
def _assert_same_histograms(fitted, reference, exact=True):
    assert len(fitted.densities_) == len(reference.densities_)
    for mine, theirs in zip(fitted.densities_, reference.densities_):
        assert mine.n_bins_ == theirs.n_bins_
        _assert_same_across_processes(mine.bin_edges_, theirs.bin_edges_, exact)
        _assert_same_across_processes(mine.cdf_.masses, theirs.cdf_.masses, exact)
        _assert_same_across_processes(
            [mine.cdf_.p_left, mine.cdf_.p_right], [theirs.cdf_.p_left, theirs.cdf_.p_right], exact
        )


@pytest.mark.parametrize(
    "density",
    [HistogramDensity(), HistogramDensity(bins="sturges", alpha=0.0), HistogramDensity(bins=17),
     HistogramDensity(tails="normal", shrinkage="auto"),
     HistogramDensity(tails="normal", shrinkage="auto", shrinkage_target="fitted_normal")],
    ids=["auto", "sturges-alpha0", "17", "normal-shrunk", "fitted-normal-shrunk"],
)
def test_fit_marginal_is_identical_to_the_in_memory_fit(client, X, X_dask, X_test, density):
    fitted = ddask.fit(MarginalDestructor(density), X_dask)
    reference = MarginalDestructor(density).fit(X)
    _assert_same_histograms(fitted, reference)
    # Exact: identical histograms, evaluated by the same code in one process.
    np.testing.assert_array_equal(fitted.score_samples(X_test), reference.score_samples(X_test))


def test_fit_gaussian_marginals_match_the_in_memory_fit(client, X, X_dask, X_test):
    fitted = ddask.fit(MarginalDestructor(GaussianDensity()), X_dask)
    reference = MarginalDestructor(GaussianDensity()).fit(X)
    # Sums over blocks against one sum: equal to rounding, a few units of 1e-16 per row summed.
    for mine, theirs in zip(fitted.densities_, reference.densities_):
        assert mine.mean_ == pytest.approx(theirs.mean_, rel=1e-12, abs=1e-14)
        assert mine.scale_ == pytest.approx(theirs.scale_, rel=1e-12)
    np.testing.assert_allclose(fitted.score_samples(X_test), reference.score_samples(X_test), rtol=1e-10)
    constant = ddask.fit(MarginalDestructor(GaussianDensity()), X_dask[:, :1] * 0 + 3.0)
    assert constant.densities_[0].scale_ == pytest.approx(3e-10)  # the spread floor, as in memory


@pytest.mark.parametrize("covariance", ["sample", "correlation"])
def test_fit_gaussian_matches_the_in_memory_fit(client, X, X_dask, X_test, covariance):
    fitted = ddask.fit(GaussianDestructor(covariance=covariance), X_dask)
    reference = GaussianDestructor(covariance=covariance).fit(X)
    np.testing.assert_allclose(fitted.cholesky_, reference.cholesky_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fitted.score_samples(X_test), reference.score_samples(X_test), rtol=1e-10)


def test_exact_quartiles_through_narrowing_passes_and_ties(client, da, monkeypatch):
    # Few values gathered and few bins per pass force several narrowing passes.
    monkeypatch.setattr(ddask, "_SELECT_GATHER", 100)
    monkeypatch.setattr(ddask, "_SELECT_BINS", 16)
    rng = np.random.RandomState(3)
    n = 5000
    X = np.column_stack([
        rng.standard_normal(n) * 1e6 + 1e9,           # large offset
        np.where(rng.uniform(size=n) < 0.6, 0.0, rng.exponential(size=n)),  # 60 % ties
        np.full(n, -2.5),                              # constant
    ])
    rows = ddask._Rows(da.from_array(X, chunks=(700, 3)).persist(), 3)
    ranks = np.array([[0, 1249, 1250, 2500, 3749, 3750, n - 1]] * 3)
    values = ddask._order_statistics(rows, ranks)
    # Exact: order statistics are values of X, selected, not computed.
    np.testing.assert_array_equal(values, np.take_along_axis(np.sort(X, axis=0).T, ranks, axis=1))
    q75, q25 = ddask._quartile_spread(rows)
    # Exact: numpy's interpolation of the same two order statistics.
    np.testing.assert_array_equal(np.column_stack([q75, q25]), np.percentile(X, [75, 25], axis=0).T)


def test_fit_rbig_with_random_rotations_matches_the_in_memory_fit(client, X, X_dask, X_test, rbig):
    fitted = ddask.fit(clone(rbig), X_dask)
    assert fitted.n_layers_ == rbig.n_layers_ == 2
    for k, (mine, theirs) in enumerate(zip(fitted.layers_, rbig.layers_)):
        assert type(mine) is type(theirs)
        if isinstance(mine, RotationDestructor):
            # Exact: the Haar draws need no data, only the seed.
            np.testing.assert_array_equal(mine.rotation_, theirs.rotation_)
        elif isinstance(mine, CompositeDestructor):
            # The first layer standardizes from sums over blocks (equal to
            # rounding), then fits histograms to the standardized rows.
            standardize, histogram = mine.layers_
            np.testing.assert_allclose(
                [(d.mean_, d.scale_) for d in standardize.densities_],
                [(d.mean_, d.scale_) for d in theirs.layers_[0].densities_], rtol=1e-12,
            )
            _assert_same_histograms(histogram, theirs.layers_[1], exact=False)
        else:
            # Histograms after a rotation see rows rotated in the workers.
            _assert_same_histograms(mine, theirs, exact=False)
    _assert_same_across_processes(fitted.score_samples(X_test), rbig.score_samples(X_test), exact=False)
    np.testing.assert_allclose(fitted.tc_reductions_, rbig.tc_reductions_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fitted.entropy_, rbig.entropy_, rtol=1e-10)
    # An ordinary fitted model: it pickles and keeps working.
    restored = pickle.loads(pickle.dumps(fitted))
    _assert_same_across_processes(restored.transform(X_test), rbig.transform(X_test), exact=False)


def test_fit_runs_each_layer_once_on_the_workers(client, X, X_dask, X_test):
    distributed = pytest.importorskip("distributed")
    model = CompositeDestructor([
        ("marginal", MarginalDestructor(HistogramDensity(bins=20))),
        ("rotation", RotationDestructor("pca")),
        ("marginal2", MarginalDestructor(HistogramDensity(bins=20))),
        ("gaussian", GaussianDestructor()),
    ])
    # Poll the workers' memory while fitting: the data (the persisted input,
    # then each layer's output) are held in two copies at most.
    copies, done = [], threading.Event()

    def poll():
        while not done.is_set():
            groups = {str(key[0]) for key in set().union(*client.has_what().values()) if isinstance(key, tuple)}
            copies.append(sum(g == X_dask.name or g.startswith("destructors-forward-") for g in groups))
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with distributed.get_task_stream(client) as stream:
            fitted = ddask.fit(clone(model), X_dask)
    finally:
        done.set()
        poller.join()
    assert len(copies) > 5 and max(copies) == 2
    # Each layer but the last transforms every block exactly once: the
    # intermediate data are persisted, not recomputed for each statistic.
    forward = _task_workers(stream, "destructors-forward-")
    assert len(forward) == 3 * (N_ROWS // CHUNK)
    # Once fitted, no intermediate layer output stays in the workers' memory.
    deadline = time.monotonic() + 10
    while _held_keys(client, "destructors-forward-") and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert not _held_keys(client, "destructors-forward-")
    assert set(_task_workers(stream, "destructors-")) <= set(client.scheduler_info()["workers"])
    # PCA and Gaussian layers come from summed cross-products: equal to rounding.
    reference = clone(model).fit(X)
    np.testing.assert_allclose(fitted.layers_[1].rotation_, reference.layers_[1].rotation_, atol=1e-10)
    np.testing.assert_allclose(fitted.layers_[3].cholesky_, reference.layers_[3].cholesky_, rtol=1e-9)
    np.testing.assert_allclose(fitted.layers_[3].mean_, reference.layers_[3].mean_, atol=1e-12)
    assert abs(fitted.score(X_test) - reference.score(X_test)) < 1e-6


def test_fit_pca_rotation_of_duplicated_columns_matches_in_memory(client, da):
    rng = np.random.RandomState(5)
    base = rng.standard_normal((3000, 2))
    X = np.column_stack([base[:, 0], base[:, 0], base[:, 1] + base[:, 0] ** 2])
    model = CompositeDestructor([
        ("marginal", MarginalDestructor(HistogramDensity(bins=30))),
        ("rotation", RotationDestructor("pca")),
        ("marginal2", MarginalDestructor(HistogramDensity(bins=30))),
    ])
    fitted = ddask.fit(clone(model), da.from_array(X, chunks=(700, 3)))
    reference = clone(model).fit(X)
    mine, theirs = fitted.layers_[1], reference.layers_[1]
    np.testing.assert_allclose(mine.rotation_, theirs.rotation_, atol=1e-10)
    if hasattr(theirs, "_flat_value_"):  # directions without spread are snapped
        np.testing.assert_array_equal(np.isnan(mine._flat_value_), np.isnan(theirs._flat_value_))
        assert not np.isnan(theirs._flat_value_).all()
        np.testing.assert_allclose(mine._flat_value_, theirs._flat_value_, atol=1e-12)
        assert mine._flat_level_ == theirs._flat_level_
    # The direction without spread gets a spike of density whose width is
    # set by rounding (values of order 1e-17), so fits equal to rounding give
    # log densities that differ by a constant: the log ratio of the widths.
    difference = fitted.score_samples(X[:500]) - reference.score_samples(X[:500])
    assert np.all(np.isfinite(difference)) and np.ptp(difference) < 1e-6


def test_fit_rbig_with_pca_and_auto_tol_is_as_good_as_in_memory(client, da, X, X_test):
    # Correlated columns: PCA rotations see linear dependence only (on the
    # uncorrelated fixture any rotation PCA returns is as good as another).
    mixing = np.array([[1.0, 0.0, 0.0], [0.6, 1.0, 0.0], [0.3, -0.4, 1.0]])
    X, X_test = X @ mixing.T, X_test @ mixing.T
    params = dict(rotation="pca", validation_fraction=None, max_layers=4, patience=2, random_state=0)
    fitted = ddask.fit(RBIGDestructor(**params), da.from_array(X, chunks=(CHUNK, 3)))
    reference = RBIGDestructor(**params).fit(X)
    # The noise floor comes from other normal draws, so it differs a little.
    assert fitted.tol_ > 0 and abs(fitted.tol_ - reference.tol_) < 5 * reference.tol_
    assert abs(fitted.score(X_test) - reference.score(X_test)) < 0.02
    assert fitted.score(X_test) > MarginalDestructor().fit(X).score(X_test) + 0.1


def test_fit_validates_data_and_refuses_unsupported_layers(client, da, X_dask):
    for estimator, match in [
        (DeepDestructor(), "cannot fit a DeepDestructor"),
        (MarginalDestructor(SplineDensity()), "HistogramDensity or GaussianDensity marginals only"),
        (RBIGDestructor(rotation="ica", n_layers=1, tol=0.0), "rotation='pca' or 'random' only"),
        (RBIGDestructor(rotation="pca"), "pass validation_fraction=None"),
        (RBIGDestructor(validation_fraction=None), "rotation='pca' or 'random' only"),
    ]:
        with pytest.raises(ValueError, match=match):
            ddask.fit(estimator, X_dask)
    bad = da.from_array(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.5]]), chunks=2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        ddask.fit(MarginalDestructor(), bad)
    with pytest.raises(ValueError, match="minimum of 2"):
        ddask.fit(MarginalDestructor(), da.ones((1, 2), chunks=1))
    with pytest.raises(ValueError, match="unit cube"):
        ddask.fit(RotationDestructor(), X_dask)  # uniform input, data outside [0, 1]


# ------------------------------------------------- joblib's dask backend
def test_grid_search_runs_on_the_cluster_with_joblib_dask_backend(client, X):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    grid = {"density__bins": [5, 20, 60]}
    search = GridSearchCV(MarginalDestructor(HistogramDensity()), grid, cv=3, n_jobs=2)
    with distributed.get_task_stream(client) as stream, parallel_config(backend="dask"):
        search.fit(X)
    local = GridSearchCV(MarginalDestructor(HistogramDensity()), grid, cv=3).fit(X)
    # Exact: histogram marginals are fitted and scored without BLAS products.
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == local.best_params_
    workers = {task["worker"] for task in stream.data}
    assert stream.data and workers <= set(client.scheduler_info()["workers"])
