"""
Density destruction on a Dask cluster
=====================================

``destructors.dask`` fits a destructor from a dask array without gathering
the rows to one machine, and applies any fitted destructor lazily, block by
block of rows, on the workers. Hyper-parameter searches run on the same
cluster through joblib's ``"dask"`` backend.

Here a local cluster of two workers stands in for a real one (connect to
yours with ``Client("scheduler-address:8786")``). The data are a banana
whose log density is known in closed form, generated on the workers.

This example needs the optional extra: ``pip install "destructors[dask]"``.
"""

# %%
# A cluster and data that live on it
# -----------------------------------
# 400,000 rows in eight blocks, drawn on the workers: the client only holds
# the recipe. (Worker threads keep this example self-contained; a real
# deployment runs worker processes on other machines.)
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

try:
    import dask.array as da
    from distributed import Client, LocalCluster
except ImportError:
    da = None
    print("This example needs dask[array] and distributed: pip install 'destructors[dask]'. Skipping it.")

from destructors import MarginalDestructor, RBIGDestructor
from destructors import dask as ddask


def banana(n_rows, seed, chunk):
    """Lazy banana: x1 ~ N(0, 1), x2 ~ N(x1^2 / 2, 0.3^2)."""
    normal = da.random.default_rng(seed).standard_normal((n_rows, 2), chunks=(chunk, 2))
    x1, noise = normal[:, 0], normal[:, 1]
    return da.stack([x1, 0.5 * x1**2 + 0.3 * noise], axis=1)


def banana_logpdf(X):
    return stats.norm.logpdf(X[:, 0]) + stats.norm.logpdf(X[:, 1], 0.5 * X[:, 0] ** 2, 0.3)


if da is not None:
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None))
    X = banana(400_000, seed=0, chunk=50_000).rechunk({1: -1}).persist()
    X_test = banana(100_000, seed=1, chunk=50_000)
    print(X)

# %%
# Fit by map-reduce, layer by layer
# ---------------------------------
# Each histogram layer needs two passes over the blocks (the range of each
# feature, then the bin counts), each rotation none (random) or two (PCA);
# only these small summaries reach the client, and each layer's output is
# persisted on the workers for the next one. With random rotations and a
# numeric ``tol`` the result is the very model that the in-memory fit on the
# same rows gives.
if da is not None:
    template = RBIGDestructor(rotation="random", n_layers=8, tol=0.0, random_state=0)
    start = time.perf_counter()
    model = ddask.fit(template, X)
    print(f"distributed fit: {time.perf_counter() - start:.1f} s, {len(model.layers_)} layers")

    X_local = X.compute()  # small enough here, to compare with the in-memory fit
    reference = RBIGDestructor(rotation="random", n_layers=8, tol=0.0, random_state=0).fit(X_local)
    probe = X_test[:5000].compute()
    print("identical to the in-memory fit:", np.array_equal(model.score_samples(probe), reference.score_samples(probe)))

# %%
# Lazy scoring and sampling on the workers
# ----------------------------------------
# ``score_samples`` returns a lazy dask array; the fitted model enters the
# task graph once. The mean held-out log-likelihood, against the true
# density, gives the KL divergence of the fit.
if da is not None:
    log_density = ddask.score_samples(model, X_test)
    truth = X_test.map_blocks(banana_logpdf, drop_axis=1, dtype=float)
    model_ll, true_ll = (float(v) for v in da.compute(log_density.mean(), truth.mean()))
    marginal_ll = float(ddask.score_samples(ddask.fit(MarginalDestructor(), X), X_test).mean().compute())
    print(f"held-out log-likelihood: RBIG {model_ll:.4f}, marginals only {marginal_ll:.4f}, truth {true_ll:.4f}")
    print(f"KL divergence of the RBIG fit: {true_ll - model_ll:.4f} nats")

    samples = ddask.sample(model, 20_000, chunk_size=5_000, random_state=0).compute()

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
    shown = X_local[:20_000]
    axes[0].scatter(shown[:, 0], shown[:, 1], s=1, alpha=0.3)
    axes[0].set_title("data (first 20,000 of 400,000 rows)")
    axes[1].scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.3, color="C1")
    axes[1].set_title("samples drawn on the workers")
    for ax in axes:
        ax.set_xlim(-4, 4)
        ax.set_ylim(-1.5, 6)
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    fig.tight_layout()

# %%
# Hyper-parameter search on the cluster
# -------------------------------------
# scikit-learn's searches run their fits through joblib; with the ``"dask"``
# backend each fit and score is a task on the cluster of the active client.
if da is not None:
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(
        RBIGDestructor(rotation="random", tol=0.0, random_state=0),
        {"n_layers": [1, 4, 16]},
        cv=3,
        n_jobs=-1,
    )
    with parallel_config(backend="dask"):
        search.fit(X_local[:10_000])
    for n_layers, score in zip(search.cv_results_["param_n_layers"], search.cv_results_["mean_test_score"]):
        print(f"n_layers={n_layers:>2}: held-out log-likelihood {score:.4f}")
    print("best:", search.best_params_)

    client.close()
