"""The models the runner compares: the library's families and presets, and baselines.

Each entry maps a name to ``factory(X_train, quick) -> estimator`` with ``fit``
and ``score_samples``. ``quick`` asks for a cheaper configuration.
"""

from destructors import DeepDestructor, GaussianDestructor, MarginalDestructor

from . import baselines

DEFAULT_MODEL = "destructors default"

MODELS = {
    DEFAULT_MODEL: lambda X, quick: DeepDestructor(random_state=0),
    "gaussian": lambda X, quick: GaussianDestructor(),
    "marginal histograms": lambda X, quick: MarginalDestructor(),
    "gaussian_mixture": lambda X, quick: baselines.tuned_gaussian_mixture(X),
    "kernel_density": lambda X, quick: baselines.tuned_kernel_density(X),
    "gaussian_copula": lambda X, quick: baselines.GaussianCopula(),
}
