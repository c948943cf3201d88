"""
=============================
Sampling from fitted models
=============================

A destructor maps data to uniform noise, and its inverse maps uniform noise
back to data. So every fitted destructor is also a generator:
``sample(n_samples, random_state)`` draws standard normal points and runs the
stack backwards, all rows at once.

We sample two moons from three models of increasing flexibility and compare
the samples against held-out data, then sample images of digits.
"""

# %%
# Two moons from three models
# ---------------------------
# Because make_moons' generator has an exact density
# (:class:`~destructors.datasets.TwoMoons`), we can score the *samples* under
# the true density: good samples have the same mean true log density as real
# held-out rows. A second check is a classifier two-sample test: a
# k-nearest-neighbours classifier tries to tell samples from real rows, and
# its cross-validated accuracy is about 0.5 when it cannot.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from destructors import DeepDestructor, GaussianDestructor, GaussianMixtureDestructor, deep_rbig
from destructors.datasets import TwoMoons, load_benchmark

moons = TwoMoons(n_grid=3000)
X = moons.sample(3000, random_state=0)
X_train, X_test = X[:2000], X[2000:]


def two_sample_accuracy(real, fake):
    """Cross-validated accuracy of a classifier telling ``fake`` rows from ``real`` ones."""
    rows = np.vstack([real, fake])
    is_fake = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return cross_val_score(KNeighborsClassifier(10), rows, is_fake, cv=folds).mean()


models = {
    "GaussianDestructor()": GaussianDestructor(),
    "deep_rbig()": deep_rbig(random_state=0),
    "DeepDestructor()": DeepDestructor(random_state=0),
}
samples, accuracies = {}, {}
print(f"{'held-out data':>22}: true log density {moons.log_density(X_test).mean():7.3f}")
for name, model in models.items():
    model.fit(X_train)
    samples[name] = model.sample(len(X_test), random_state=0)
    accuracies[name] = two_sample_accuracy(X_test, samples[name])
    print(f"{name:>22}: true log density {moons.log_density(samples[name]).mean():7.3f}, "
          f"two-sample accuracy {accuracies[name]:.3f}, "
          f"model's held-out log-likelihood {model.score(X_test):.3f}")

fig, axes = plt.subplots(1, 4, figsize=(14, 3.5), sharex=True, sharey=True)
axes[0].scatter(X_test[:, 0], X_test[:, 1], s=2, color="0.3")
axes[0].set_title(f"held-out data\ntrue log density {moons.log_density(X_test).mean():.2f}", fontsize=10)
for ax, (name, S) in zip(axes[1:], samples.items()):
    ax.scatter(S[:, 0], S[:, 1], s=2, color="C0")
    ax.set_title(f"samples of {name}\ntrue log density {moons.log_density(S).mean():.2f}, "
                 f"accuracy {accuracies[name]:.2f}", fontsize=10)
axes[0].set(xlim=(-1.5, 2.5), ylim=(-1.0, 1.5))
fig.tight_layout()

# %%
# Sampling is the inverse transform
# ---------------------------------
# ``inverse_transform`` takes points of the unit square to the data space.
# Applied to the lines of a regular grid of the square, it shows how the
# fitted model folds the square onto the moons: equal areas of the square
# become regions of equal probability, so lines crowd where the density is
# high. Uniform draws pushed through the same map are samples.
model = models["DeepDestructor()"]
t = np.linspace(0.001, 0.999, 400)
levels = np.linspace(0.05, 0.95, 19)

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for u in levels:
    for points in (np.column_stack([np.full_like(t, u), t]), np.column_stack([t, np.full_like(t, u)])):
        axes[0].plot(points[:, 0], points[:, 1], color="0.6", lw=0.6)
        curve = model.inverse_transform(points)
        axes[1].plot(curve[:, 0], curve[:, 1], color="C0", lw=0.6)
axes[0].set(title="lines of the unit square", aspect="equal")
axes[1].set(title="their inverse transform", xlim=(-1.5, 2.5), ylim=(-1.0, 1.5))
fig.tight_layout()

# %%
# Digits
# ------
# ``load_benchmark("digits")`` gives scikit-learn's 8 x 8 digits, dequantized
# (uniform noise added to the integer pixel values) and scaled into [0, 1],
# so that they have a density. We fit the default
# :class:`~destructors.DeepDestructor` and, for contrast, a mixture of ten
# Gaussians (as many as there are digit classes).
digits = load_benchmark("digits", random_state=0)
digit_models = {
    "DeepDestructor()": DeepDestructor(random_state=0),
    "10 Gaussians": GaussianMixtureDestructor(10, reg_covar=1e-3, random_state=0),
}
digit_samples = {}
for name, model in digit_models.items():
    model.fit(digits.X_train)
    digit_samples[name] = model.sample(len(digits.X_test), random_state=0)

# %%
# Samples and their nearest training digits
# -----------------------------------------
# A generator that only copied its training rows would be useless. Below each
# sample of the deep model is its nearest training digit: close in shape
# where the sample is a plausible digit, but not the same image.
neighbours = NearestNeighbors(n_neighbors=1).fit(digits.X_train)
n_show = 12
deep_samples = digit_samples["DeepDestructor()"][:n_show]
nearest = digits.X_train[neighbours.kneighbors(deep_samples, return_distance=False)[:, 0]]
image_rows = {
    "held-out digits": digits.X_test[:n_show],
    "DeepDestructor() samples": deep_samples,
    "nearest training digits": nearest,
    "10 Gaussians samples": digit_samples["10 Gaussians"][:n_show],
}
fig, axes = plt.subplots(len(image_rows), n_show, figsize=(12, 4.6))
for row_axes, (title, images) in zip(axes, image_rows.items()):
    for ax, image in zip(row_axes, images):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row_axes[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)
fig.tight_layout()

# %%
# Likelihood and sample quality measure different things
# ------------------------------------------------------
# Three checks per model: the held-out log-likelihood (higher is better), the
# share of sampled pixel values outside [0, 1], where the data never go, and
# the two-sample accuracy (closer to 0.5 is better). The median distance from
# a sample to its nearest training digit, next to the same distance for
# held-out digits, says whether samples are as novel as new real digits.
# The checks need not agree: a model can win on likelihood by getting every
# pixel's distribution right while its samples lose on shape, and the
# reverse.
real_distance = np.median(neighbours.kneighbors(digits.X_test)[0])
print(f"{'':>17}{'log-likelihood':>16}{'outside [0, 1]':>16}{'two-sample acc.':>17}{'NN distance':>13}")
real_outside = np.mean((digits.X_test < 0) | (digits.X_test > 1))
print(f"{'held-out digits':>17}{'':>16}{real_outside:>16.3f}{'':>17}{real_distance:>13.2f}")
for name, model in digit_models.items():
    S = digit_samples[name]
    outside = np.mean((S < 0) | (S > 1))
    print(f"{name:>17}{model.score(digits.X_test):>16.1f}{outside:>16.3f}"
          f"{two_sample_accuracy(digits.X_test, S):>17.3f}{np.median(neighbours.kneighbors(S)[0]):>13.2f}")
plt.show()
