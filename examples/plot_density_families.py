"""
==========================================
Destructor families on 2-D toy densities
==========================================

Each family of destructors makes a different assumption about the data: a
single Gaussian, independent margins tied by a Gaussian copula, iterated
rotations and marginals (RBIG), axis-aligned density trees, a Gaussian
mixture, or the adaptive :class:`~destructors.DeepDestructor`, which chooses
its layers on held-out rows. Here every family learns four toy densities
whose exact log density is known, so each model's fit can be read off its
picture and its held-out log-likelihood (in nats per row; higher is better,
and the true density sets the ceiling up to sampling noise).
"""

# %%
# Data and models
# ---------------
# :func:`~destructors.datasets.load_benchmark` gives fixed train/test splits
# of the toy densities together with their exact log density. A few thousand
# rows keep this example fast; the benchmark suite uses more.
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm
from sklearn.base import clone

from destructors import (
    CompositeDestructor,
    DeepDestructor,
    GaussianDestructor,
    GaussianMixtureDestructor,
    MarginalDestructor,
    RBIGDestructor,
    deep_trees,
)
from destructors.datasets import load_benchmark

datasets = {name: load_benchmark(name, n_train=2000, random_state=0)
            for name in ["banana", "ring", "checkerboard", "two_moons"]}

models = {
    "Gaussian": GaussianDestructor(),
    "Gaussian copula": CompositeDestructor(
        [("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]
    ),
    "RBIG": RBIGDestructor(random_state=0),
    "deep trees": deep_trees(random_state=0),
    "Gaussian mixture": GaussianMixtureDestructor("auto", random_state=0),
    "DeepDestructor()": DeepDestructor(random_state=0),
}

# %%
# Fit every family on every data set
# ----------------------------------
# Each model is a fresh clone, fitted on the training rows and scored on the
# held-out rows with ``score`` (the mean log-likelihood).
fitted, scores = {}, {}
for data_name, data in datasets.items():
    for model_name, model in models.items():
        start = time.perf_counter()
        fitted[data_name, model_name] = clone(model).fit(data.X_train)
        scores[data_name, model_name] = fitted[data_name, model_name].score(data.X_test)
        seconds = time.perf_counter() - start
        score = scores[data_name, model_name]
        print(f"{data_name:>12}  {model_name:<17} {score:7.3f} nats  ({seconds:.1f} s)")
    print(f"{data_name:>12}  {'true density':<17} {data.log_density(data.X_test).mean():7.3f} nats")

# %%
# Learned densities side by side
# ------------------------------
# Each row is a data set, each column a family; the first column is the true
# density. Every panel shows ``exp(score_samples)`` on a grid, on a square-root
# colour scale shared along the row, with the held-out mean log-likelihood in
# its title.
n_grid = 120


def show(ax, density, extent, norm, title):
    ax.imshow(density.reshape(n_grid, n_grid), origin="lower", cmap="magma", norm=norm,
              extent=extent, aspect="auto")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


fig, axes = plt.subplots(len(datasets), len(models) + 1, figsize=(15, 8.6))
for row, (data_name, data) in zip(axes, datasets.items()):
    low, high = np.percentile(data.X_train, [0.5, 99.5], axis=0)
    low, high = low - 0.15 * (high - low), high + 0.15 * (high - low)
    x0, x1 = np.linspace(low[0], high[0], n_grid), np.linspace(low[1], high[1], n_grid)
    grid = np.stack(np.meshgrid(x0, x1), axis=-1).reshape(-1, 2)
    extent = (low[0], high[0], low[1], high[1])
    true_density = np.exp(data.log_density(grid))
    norm = PowerNorm(0.5, vmin=0, vmax=true_density.max())
    show(row[0], true_density, extent, norm, f"truth: {data.log_density(data.X_test).mean():.2f}")
    row[0].set_ylabel(data.description, fontsize=9)
    for ax, model_name in zip(row[1:], models):
        density = np.exp(fitted[data_name, model_name].score_samples(grid))
        show(ax, density, extent, norm, f"{model_name}: {scores[data_name, model_name]:.2f}")
fig.tight_layout()

# %%
# What the adaptive model chose
# -----------------------------
# :class:`~destructors.DeepDestructor` grows one stack from marginal
# histograms and one from a Gaussian mixture whose size is chosen by AIC,
# adding at each depth the best of a Gaussian, an RBIG step and a tree while
# held-out rows say it helps, and keeps the stack with the better held-out
# likelihood.
for data_name in datasets:
    model = fitted[data_name, "DeepDestructor()"]
    layers = [type(layer).__name__ for layer in model.layers_]
    print(f"{data_name:>12}: {' -> '.join(layers)}")

# %%
# The gap to the truth
# --------------------
# The difference between the true density's held-out log-likelihood and a
# model's estimates the Kullback-Leibler divergence from the truth to the
# model. Zero is the limit. Each estimate has a standard error from the
# finite number of held-out rows (printed below): differences of that order
# are noise, not a ranking.
gaps = np.empty((len(datasets), len(models)))
for i, (data_name, data) in enumerate(datasets.items()):
    true_rows = data.log_density(data.X_test)
    errors = []
    for j, model_name in enumerate(models):
        row_gaps = true_rows - fitted[data_name, model_name].score_samples(data.X_test)
        gaps[i, j] = row_gaps.mean()
        errors.append(row_gaps.std(ddof=1) / np.sqrt(row_gaps.size))
    print(f"{data_name:>12}: standard errors " + " ".join(f"{e:.3f}" for e in errors))

fig, ax = plt.subplots(figsize=(9, 3.4))
image = ax.imshow(np.sqrt(np.clip(gaps, 0, None)), cmap="Reds", aspect="auto")
for (i, j), gap in np.ndenumerate(gaps):
    ax.text(j, i, f"{gap:.3f}", ha="center", va="center", fontsize=9,
            color="white" if gap > 0.5 * gaps.max() else "black")
ax.set_xticks(np.arange(len(models)), list(models), fontsize=9)
ax.set_yticks(np.arange(len(datasets)), list(datasets), fontsize=9)
ax.set_title("held-out log-likelihood gap to the true density (nats)")
fig.tight_layout()
plt.show()
