"""
=================================
Destruction, one layer at a time
=================================

A deep destructor is a stack of layers, each fitted to the output of the
layers before it. Every layer removes some of the structure that is left, so
the data pass from their own shape to the uniform distribution on the unit
square: the density is *destroyed*. Because each layer is invertible and its
log-determinant is known, the stack is an exact density model at every depth.

``transform(X, n_layers=k)`` shows the data after the first layer and the
next ``k`` layers, ``score_samples(X, n_layers=k)`` scores with the stack cut
there, and ``score_samples_layers`` splits the log-likelihood into what each
layer contributes. Here we watch two moons go from their own shape to
uniform noise.
"""

# %%
# Two moons, and a stack of RBIG layers
# -------------------------------------
# Each point is coloured by its position along its moon, so that we can follow
# it through the layers. :func:`~destructors.deep_rbig` starts with a marginal
# layer (a histogram CDF for each coordinate), then adds layers that rotate
# the data at random and Gaussianize each coordinate again, while the
# log-likelihood of held-out rows improves.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm
from scipy import stats
from sklearn.datasets import make_moons

from destructors import DeepDestructor, MarginalDestructor, deep_rbig
from destructors.datasets import TwoMoons

noise = 0.05
X, label = make_moons(5000, noise=noise, random_state=0)
X_train, X_test, label_test = X[:4000], X[4000:], label[4000:]

# The exact density of make_moons' generator, to compare the models with.
truth = TwoMoons(n_grid=len(X), noise=noise)
true_score = truth.log_density(X_test).mean()


def position_along_moon(X, label):
    """0 to 0.5 along the upper moon, 0.5 to 1 along the lower one."""
    upper = np.arctan2(X[:, 1], X[:, 0])
    lower = np.arctan2(0.5 - X[:, 1], 1.0 - X[:, 0])
    angle = np.clip(np.where(label == 0, upper, lower), 0.0, np.pi)
    return (label + angle / np.pi) / 2


colour = position_along_moon(X_test, label_test)
rbig = deep_rbig(random_state=0).fit(X_train)
print(f"deep_rbig kept {rbig.n_layers_} layers after the marginal one")
print(f"held-out mean log-likelihood: {rbig.score(X_test):.3f} nats "
      f"(the true density: {true_score:.3f})")

# %%
# The held-out rows after 1, 2, ... layers
# ----------------------------------------
# Each panel is the output of the stack cut after a few layers, with the
# held-out mean log-likelihood of that truncated model in the title. The
# marginal layer only stretches each axis; the rotations then unfold the
# moons and spread them over the square, as the likelihood climbs.


def layers(k):
    return f"{k} layer" if k == 1 else f"{k} layers"


def stages(model, n_panels):
    """Up to ``n_panels`` depths from 0 to the full stack, denser where layers matter most."""
    depths = np.round(np.geomspace(1, model.n_layers_ + 1, n_panels)).astype(int) - 1
    return np.unique(depths)


def show_destruction(model, axes):
    axes[0].scatter(X_test[:, 0], X_test[:, 1], c=colour, cmap="turbo", s=3)
    # A square window around the data, so that every panel has the same size.
    centre = (X_test.max(axis=0) + X_test.min(axis=0)) / 2
    half = 0.55 * (X_test.max(axis=0) - X_test.min(axis=0)).max()
    axes[0].set(xlim=(centre[0] - half, centre[0] + half), ylim=(centre[1] - half, centre[1] + half),
                title="held-out data")
    for ax, k in zip(axes[1:], stages(model, len(axes) - 1)):
        U = model.transform(X_test, n_layers=int(k))
        score = model.score_samples(X_test, n_layers=int(k)).mean()
        ax.scatter(U[:, 0], U[:, 1], c=colour, cmap="turbo", s=3)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=f"{layers(k + 1)}: {score:.2f} nats")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal")
        if not ax.collections:
            ax.set_axis_off()


fig, axes = plt.subplots(2, 3, figsize=(9.6, 6.4))
show_destruction(rbig, axes.ravel())
fig.suptitle("two moons destroyed by a deep RBIG stack")
fig.tight_layout()

# %%
# Every truncated stack is a density
# ----------------------------------
# Cut after ``k`` layers, the stack maps the data into the square and its
# log-determinant is a log density in its own right. Its heat maps show what
# the model believes after each stage, next to the true density. The colour
# scale (square root of the density) is shared and saturates at the maximum
# of the true density.
grid_x0 = np.linspace(-1.5, 2.5, 200)
grid_x1 = np.linspace(-1.0, 1.5, 125)
grid = np.stack(np.meshgrid(grid_x0, grid_x1), axis=-1).reshape(-1, 2)
extent = (grid_x0[0], grid_x0[-1], grid_x1[0], grid_x1[-1])
true_density = np.exp(truth.log_density(grid))
norm = PowerNorm(0.5, vmin=0, vmax=true_density.max())

fig, axes = plt.subplots(2, 3, figsize=(10, 5))
axes = axes.ravel()
axes[0].imshow(true_density.reshape(len(grid_x1), len(grid_x0)), origin="lower", extent=extent,
               cmap="magma", norm=norm)
axes[0].set_title("true density")
for ax, k in zip(axes[1:], stages(rbig, len(axes) - 1)):
    density = np.exp(rbig.score_samples(grid, n_layers=int(k)))
    ax.imshow(density.reshape(len(grid_x1), len(grid_x0)), origin="lower", extent=extent,
              cmap="magma", norm=norm)
    ax.set_title(f"after {layers(k + 1)}")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# Fewer, stronger layers
# ----------------------
# :class:`~destructors.DeepDestructor` can also choose each layer: with its
# default candidates it fits a full-covariance Gaussian, an RBIG step and a
# density tree at every depth and keeps whichever gains the most held-out
# likelihood. Here it starts from the same marginal layer.
adaptive = DeepDestructor(init_destructor=MarginalDestructor(), random_state=0).fit(X_train)
chosen = [type(layer).__name__ for layer in adaptive.layers_]
print("adaptive stack:", " -> ".join(chosen))
print(f"held-out mean log-likelihood: {adaptive.score(X_test):.3f} nats")

fig, axes = plt.subplots(1, min(adaptive.n_layers_ + 2, 6), figsize=(12, 2.9))
show_destruction(adaptive, np.atleast_1d(axes))
fig.tight_layout()

# %%
# What each layer contributes
# ---------------------------
# ``score_samples_layers`` returns, for every row, the log density that each
# layer contributes; the columns add up to ``score_samples``. The mean over
# held-out rows shows where the likelihood comes from, and the running sum is
# the held-out log-likelihood of the stack cut at each depth. A layer that
# finds nothing left to model contributes about zero.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for model, name, offset in ((rbig, "deep_rbig", -0.2), (adaptive, "adaptive", 0.2)):
    contributions = model.score_samples_layers(X_test)
    assert np.allclose(contributions.sum(axis=1), model.score_samples(X_test))
    depth = np.arange(1, contributions.shape[1] + 1)
    axes[0].bar(depth + offset, contributions.mean(axis=0), width=0.4, label=name)
    axes[1].plot(depth, np.cumsum(contributions.mean(axis=0)), "o-", label=name)
axes[1].axhline(true_score, color="k", linestyle="--", label="true density")
axes[0].set(xlabel="layer", ylabel="mean contribution (nats)", title="per layer")
axes[1].set(xlabel="layers", ylabel="held-out mean log-likelihood", title="cumulative")
for ax in axes:
    ax.legend()
fig.tight_layout()

# %%
# How uniform is the end result?
# ------------------------------
# If a model were the true density, its output on held-out rows would be
# exactly uniform. Counting the rows in an 8 x 8 grid of cells and comparing
# with equal counts (a chi-square test) measures what structure is left: the
# holes and clumps in the last panels above.
for model, name in ((rbig, "deep_rbig"), (adaptive, "adaptive")):
    U = model.transform(X_test)
    counts, _, _ = np.histogram2d(U[:, 0], U[:, 1], bins=8, range=[[0, 1], [0, 1]])
    test = stats.chisquare(counts.ravel())
    print(f"{name:>9}: chi-square {test.statistic:7.1f} on {counts.size - 1} degrees of freedom, "
          f"p-value {test.pvalue:.2g}")

plt.show()
