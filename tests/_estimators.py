"""The public estimators that the test modules iterate over, and how to construct each."""

import inspect

import destructors
from destructors import (
    BaseDestructor,
    BaseUnivariateDensity,
    GaussianDestructor,
    MarginalDestructor,
)

# Constructor arguments for classes without a default for every parameter.
CONSTRUCTOR_ARGS = {
    "CompositeDestructor": lambda: {
        "steps": [("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]
    },
}


def _public_classes(base):
    for name in destructors.__all__:
        obj = getattr(destructors, name)
        if inspect.isclass(obj) and issubclass(obj, base) and not inspect.isabstract(obj):
            yield obj


DESTRUCTOR_CLASSES = sorted(_public_classes(BaseDestructor), key=lambda c: c.__name__)
DENSITY_CLASSES = sorted(_public_classes(BaseUnivariateDensity), key=lambda c: c.__name__)


def instance(cls, **params):
    """``cls`` with its default parameters (and the constructor arguments it needs), then ``params``."""
    return cls(**CONSTRUCTOR_ARGS.get(cls.__name__, dict)()).set_params(**params)
