"""Density destructors: invertible maps to the uniform distribution, as scikit-learn estimators.

A destructor ``T`` maps data to the uniform distribution on the unit cube (or,
through the normal quantile, to a standard Gaussian); its Jacobian gives an
exact density, ``log p(x) = log |det J_T(x)|``.
"""

from .base import BaseDestructor, CanonicalDestructor
from .composite import CompositeDestructor, IdentityDestructor
from .deep import DeepDestructor, DeepDestructorCV
from .gaussian import GaussianDestructor
from .marginal import MarginalDestructor
from .tree import TreeDensity, TreeDestructor
from .univariate import (
    BaseUnivariateDensity,
    GaussianDensity,
    HistogramDensity,
    SplineDensity,
)
from ._version import __version__ as __version__

__all__ = [
    "BaseDestructor",
    "BaseUnivariateDensity",
    "CanonicalDestructor",
    "CompositeDestructor",
    "DeepDestructor",
    "DeepDestructorCV",
    "GaussianDensity",
    "GaussianDestructor",
    "HistogramDensity",
    "IdentityDestructor",
    "MarginalDestructor",
    "SplineDensity",
    "TreeDensity",
    "TreeDestructor",
]
