"""
===================================================
Choosing a destructor's parameters by grid search
===================================================

A destructor's ``score`` is the mean log-likelihood of the rows it is given,
so :class:`~sklearn.model_selection.GridSearchCV` with its default scoring
ranks density models by their held-out log-likelihood: no labels and no
custom scorer needed. Parameters of nested estimators are reached with the
usual ``<step>__<parameter>`` names.

We tune the number of histogram bins of a marginal density, then the depth
and the rotation of a deep RBIG-style stack, and plot ``cv_results_``.
"""

# %%
# How many histogram bins?
# ------------------------
# A one-dimensional sample from a skewed two-bump distribution, and a
# :class:`~destructors.MarginalDestructor` with a
# :class:`~destructors.HistogramDensity`. Too few bins blur the bumps; too
# many fit noise. The grid mixes fixed numbers of bins with the binning rules
# the density knows (``"auto"``, ``"fd"``, ``"sturges"``, ``"sqrt"``).
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from destructors import HistogramDensity, MarginalDestructor, deep_rbig
from destructors.datasets import load_benchmark

rng = np.random.RandomState(0)
x = np.concatenate([rng.gamma(2.0, 1.0, size=1500), rng.normal(9.0, 0.6, size=500)])
X = x[:, None]

cv = KFold(5, shuffle=True, random_state=0)
counts = [2, 4, 8, 16, 32, 64, 128, 256, 512]
rules = ["auto", "fd", "sturges", "sqrt"]
search = GridSearchCV(MarginalDestructor(HistogramDensity()), {"density__bins": counts + rules}, cv=cv)
search.fit(X)
print("best:", search.best_params_, f"held-out log-likelihood {search.best_score_:.3f} nats")

# %%
# ``cv_results_`` holds the mean and spread of the held-out log-likelihood
# over the five folds for every candidate. Fixed counts make a curve; the
# rules are horizontal lines.
results = search.cv_results_
is_count = np.array([isinstance(bins, int) for bins in results["param_density__bins"]])
mean, std = results["mean_test_score"], results["std_test_score"]

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
axes[0].errorbar(counts, mean[is_count], yerr=std[is_count], fmt="o-", capsize=3, label="fixed number")
for rule, score, colour in zip(results["param_density__bins"][~is_count], mean[~is_count],
                               ["C1", "C2", "C3", "C4"]):
    # The rules resolve per fold; show the number of bins each gives on all rows.
    n_bins = MarginalDestructor(HistogramDensity(bins=rule)).fit(X).densities_[0].n_bins_
    axes[0].axhline(score, color=colour, linestyle="--", label=f'bins="{rule}" ({n_bins} bins)')
axes[0].set(xscale="log", xlabel="number of bins", ylabel="held-out mean log-likelihood",
            title="MarginalDestructor(HistogramDensity(bins=...))")
axes[0].legend(fontsize=8)

best = search.best_estimator_
grid = np.linspace(x.min() - 1, x.max() + 1, 1000)
axes[1].hist(x, bins=100, density=True, color="0.8", label="data")
axes[1].plot(grid, np.exp(best.score_samples(grid[:, None])), "C0",
             label=f"best: {best.density.bins} bins")
axes[1].set(xlabel="x", ylabel="density", title="the chosen density, refitted on all rows")
axes[1].legend(fontsize=8)
fig.tight_layout()

# %%
# Depth and rotation of a deep stack
# ----------------------------------
# :func:`~destructors.deep_rbig` returns a
# :class:`~destructors.DeepDestructor` whose layer template is a rotation
# followed by marginal histograms. With an integer ``n_layers`` the stack has
# exactly that depth; the template's rotation is
# ``destructor__rotation__rotation``. The data are the banana of
# :mod:`destructors.datasets`.
data = load_benchmark("banana", n_train=2000, random_state=0)
param_grid = {
    "n_layers": [0, 1, 2, 4, 8, 16, 32],
    "destructor__rotation__rotation": ["random", "pca"],
}
search = GridSearchCV(deep_rbig(random_state=0), param_grid, cv=cv)
search.fit(data.X_train)
print("best:", search.best_params_, f"held-out log-likelihood {search.best_score_:.3f} nats")
print(f"test rows: {search.score(data.X_test):.3f} nats (true density: "
      f"{data.log_density(data.X_test).mean():.3f})")

# %%
# ``n_layers="auto"`` makes the same choice inside one fit, on a single
# held-out split instead of five folds; its depth is marked on the curves.
results = search.cv_results_
fig, ax = plt.subplots(figsize=(7, 4.2))
for colour, rotation in zip(["C0", "C1"], param_grid["destructor__rotation__rotation"]):
    rows = results["param_destructor__rotation__rotation"] == rotation
    ax.errorbar(np.asarray(results["param_n_layers"][rows], dtype=float), results["mean_test_score"][rows],
                yerr=results["std_test_score"][rows], fmt="o-", capsize=3, color=colour,
                label=f'rotation="{rotation}"')
    auto = deep_rbig(rotation, random_state=0).fit(data.X_train)
    ax.axvline(auto.n_layers_, color=colour, linestyle=":",
               label=f'n_layers="auto" chose {auto.n_layers_}')
ax.axhline(data.log_density(data.X_test).mean(), color="k", linestyle="--", label="true density")
ax.set_xscale("symlog", linthresh=1)
ax.set_xticks(param_grid["n_layers"], [str(n) for n in param_grid["n_layers"]])
ax.set_xlim(-0.3, 1.3 * max(param_grid["n_layers"]))
ax.set(xlabel="n_layers (after the marginal layer)", ylabel="held-out mean log-likelihood",
       title="deep_rbig on the banana")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
