"""The models the runner compares: the library's families and presets, and baselines.

Each entry maps a name to ``factory(X_train, quick) -> estimator`` with ``fit``
and ``score_samples``. ``quick`` asks for a cheaper configuration.
"""

from destructors import (
    DeepDestructor,
    GaussianDestructor,
    GaussianMixtureDestructor,
    MarginalDestructor,
    RBIGDestructor,
    deep_copula,
    deep_rbig,
    deep_trees,
)

from . import baselines

DEFAULT_MODEL = "destructors default"

MODELS = {
    DEFAULT_MODEL: lambda X, quick: DeepDestructor(random_state=0),
    "deep RBIG": lambda X, quick: deep_rbig(random_state=0, max_layers=20 if quick else 100),
    "deep copula": lambda X, quick: deep_copula(random_state=0, max_layers=20 if quick else 100),
    "deep trees": lambda X, quick: deep_trees(random_state=0, max_layers=20 if quick else 100),
    "RBIG": lambda X, quick: RBIGDestructor(random_state=0, max_layers=20 if quick else 100),
    "mixture destructor": lambda X, quick: GaussianMixtureDestructor("auto", n_average=5, random_state=0),
    "gaussian": lambda X, quick: GaussianDestructor(),
    "marginal histograms": lambda X, quick: MarginalDestructor(),
    "gaussian_mixture": lambda X, quick: baselines.tuned_gaussian_mixture(X),
    "kernel_density": lambda X, quick: baselines.tuned_kernel_density(X),
    "gaussian_copula": lambda X, quick: baselines.GaussianCopula(),
    "neural spline flow": lambda X, quick: baselines.NeuralSplineFlow(max_epochs=20 if quick else 300, max_seconds=300),
}

# Models that need an optional package; the runner skips them when it is missing.
OPTIONAL_MODELS = {"neural spline flow": ("torch", "zuko")}
