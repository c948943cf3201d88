"""
=====================================
Density trees and the tree destructor
=====================================

A :class:`~destructors.TreeDensity` is a piecewise-constant density on the
axis-aligned leaves of a tree over the unit cube. Grown with
``splitter="best"`` it is a density estimation tree (Ram & Gray, 2011): each
split is the one that gains the most log-likelihood, and a held-out split of
the rows prunes the tree back to the size that generalizes best.

A :class:`~destructors.TreeDestructor` maps every leaf linearly onto a box of
the unit cube whose volume is the leaf's mass, so data from the density come
out uniform, and its log-determinant is the tree's log density.
"""

# %%
# Data with hard edges
# --------------------
# Points spread uniformly over the dark squares of a 4 x 4 checkerboard, plus
# a dense block in one corner: sharp, axis-aligned structure that smooth
# models blur.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from destructors import TreeDensity, TreeDestructor

rng = np.random.default_rng(0)
cells = np.array([(i, j) for i in range(4) for j in range(4) if (i + j) % 2 == 0])
squares = (cells[rng.integers(len(cells), size=4000)] + rng.uniform(size=(4000, 2))) / 4
block = 0.75 + 0.25 * rng.uniform(size=(1000, 2)) * [1.0, 0.5]
X = np.vstack([squares, block])

# %%
# Fit a density estimation tree
# -----------------------------
# The tree is grown best split first; 20% of the rows are held out to choose
# how many splits to keep, then the leaf masses are estimated on all rows.
density = TreeDensity(random_state=0).fit(X)
print(f"{density.n_leaves_} leaves, depth {density.depth_}")
print(f"mean log-likelihood of the training rows: {density.score(X):.3f}")

# %%
# Growth is best split first, so the first ``s`` splits form a nested
# sequence of trees. Their held-out log-likelihood rises while the splits
# find the squares and the block, then slowly falls as further splits fit
# noise; the tree at the maximum is kept. (Growth stops once the tree has
# grown well past the best size, so the curve ends there.)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(density.validation_scores_)
ax.axvline(density.n_leaves_ - 1, color="k", linestyle=":", label="kept")
ax.set_xlabel("number of splits")
ax.set_ylabel("held-out mean log-likelihood")
ax.legend()
fig.tight_layout()

# %%
# Density and leaf boxes
# ----------------------
# The density is constant on each leaf; the rectangles are the leaves.
grid = np.linspace(0, 1, 201)
mesh = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
log_density = density.score_samples(mesh).reshape(len(grid), len(grid))

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharex=True, sharey=True)
axes[0].scatter(X[:, 0], X[:, 1], s=1, alpha=0.4)
axes[0].set_title("data")
image = axes[1].imshow(
    np.exp(log_density), origin="lower", extent=(0, 1, 0, 1), cmap="viridis"
)
for lower, upper in zip(density.leaf_lower_, density.leaf_upper_):
    axes[1].add_patch(
        Rectangle(lower, *(upper - lower), fill=False, edgecolor="white", linewidth=0.6)
    )
axes[1].set_title(f"TreeDensity: {density.n_leaves_} leaves")
fig.colorbar(image, ax=axes[1], label="density")
for ax in axes:
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# The tree destructor
# -------------------
# The destructor fits the same tree and sends each leaf onto its target box.
# Leaves with more mass than volume grow, the others shrink, and the data
# come out close to uniform.
destructor = TreeDestructor(TreeDensity(random_state=0)).fit(X)
U = destructor.transform(X)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharex=True, sharey=True)
for ax, points, lowers, uppers, title in (
    (axes[0], X, destructor.tree_density_.leaf_lower_, destructor.tree_density_.leaf_upper_, "leaves"),
    (axes[1], U, destructor.target_lower_, destructor.target_upper_, "target boxes"),
):
    ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4)
    for lower, upper in zip(lowers, uppers):
        ax.add_patch(Rectangle(lower, *(upper - lower), fill=False, edgecolor="k", linewidth=0.5))
    ax.set_title(title)
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Random trees
# ------------
# ``splitter="random"`` draws a random feature and a random threshold at every
# split: much cheaper, blind to the data's edges, and meant for deep stacks of
# destructor layers rather than for a single density.
random_density = TreeDensity("random", max_leaf_nodes=64, validation_fraction=0.0, random_state=0).fit(X)
print(f"best splits:   {density.score(X):.3f} nats per row, {density.n_leaves_} leaves")
print(f"random splits: {random_density.score(X):.3f} nats per row, {random_density.n_leaves_} leaves")

fig, ax = plt.subplots(figsize=(5, 4.6))
ax.imshow(
    np.exp(random_density.score_samples(mesh)).reshape(len(grid), len(grid)),
    origin="lower", extent=(0, 1, 0, 1), cmap="viridis",
)
for lower, upper in zip(random_density.leaf_lower_, random_density.leaf_upper_):
    ax.add_patch(Rectangle(lower, *(upper - lower), fill=False, edgecolor="white", linewidth=0.6))
ax.set_title("random splits, 64 leaves")
ax.set_aspect("equal")
fig.tight_layout()
plt.show()
