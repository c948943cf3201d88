"""Density destructors: invertible maps to the uniform distribution, as scikit-learn estimators.

A destructor ``T`` maps data to the uniform distribution on the unit cube (or,
through the normal quantile, to a standard Gaussian); its Jacobian gives an
exact density, ``log p(x) = log |det J_T(x)|``.
"""

from .autoregressive import (
    AutoregressiveDestructor,
    conditional_sample,
    conditional_score_samples,
)
from .base import BaseDestructor, CanonicalDestructor
from .composite import CompositeDestructor, IdentityDestructor
from .deep import DeepDestructor, DeepDestructorCV, deep_copula, deep_rbig, deep_trees
from .gaussian import GaussianDestructor
from .information import entropy, kl_divergence, mutual_information, total_correlation
from .marginal import MarginalDestructor
from .mixture import GaussianMixtureDensity, GaussianMixtureDestructor
from .rbig import RBIGDestructor
from .rotation import RotationDestructor, UnmixingDestructor
from .tree import TreeDensity, TreeDestructor
from .univariate import (
    BaseUnivariateDensity,
    GaussianDensity,
    HistogramDensity,
    KDEDensity,
    SplineDensity,
)

from ._version import __version__ as __version__

__all__ = [
    "AutoregressiveDestructor",
    "BaseDestructor",
    "BaseUnivariateDensity",
    "CanonicalDestructor",
    "CompositeDestructor",
    "DeepDestructor",
    "DeepDestructorCV",
    "deep_copula",
    "deep_rbig",
    "deep_trees",
    "GaussianDensity",
    "GaussianDestructor",
    "GaussianMixtureDensity",
    "GaussianMixtureDestructor",
    "HistogramDensity",
    "IdentityDestructor",
    "KDEDensity",
    "MarginalDestructor",
    "RBIGDestructor",
    "RotationDestructor",
    "SplineDensity",
    "TreeDensity",
    "TreeDestructor",
    "UnmixingDestructor",
    "conditional_sample",
    "conditional_score_samples",
    "entropy",
    "kl_divergence",
    "mutual_information",
    "total_correlation",
]
