"""Checks run over every public estimator of the package.

Estimators are discovered from ``destructors.__all__``, so a new public
destructor is checked as soon as it is exported. ``CHECK_PARAMS`` gives the
configuration used for scikit-learn's checks when the defaults cannot be
used, each with its reason.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import SkipTestWarning
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_feature_names_out_error,
    check_get_params_invariance,
    check_global_output_transform_pandas,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_params,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from destructors import (
    MarginalDestructor,
)
from destructors.validation import check_destructor

from _estimators import DENSITY_CLASSES, DESTRUCTOR_CLASSES, instance

# Configuration for scikit-learn's checks, with the reason for each.
CHECK_PARAMS = {
    # Canonical destructors take points of the unit cube by default and raise
    # a ValueError for anything else; scikit-learn's checks feed arbitrary
    # real data. Their Gaussian-view configuration accepts any real input and
    # runs the same code; the unit-cube configuration is covered by
    # check_destructor below and by each module's tests.
    "canonical": {"input_distribution": "normal"},
}


def _checking_instance(cls):
    estimator = instance(cls)
    if "input_distribution" in estimator.get_params():
        estimator.set_params(**CHECK_PARAMS["canonical"])
    return estimator


CHECK_INSTANCES = [_checking_instance(cls) for cls in DESTRUCTOR_CLASSES]
# check_destructor runs on the defaults, so canonical destructors are
# checked on the unit cube as well as in the Gaussian view.
DESTRUCTOR_INSTANCES = [instance(cls) for cls in DESTRUCTOR_CLASSES] + [
    est for est in CHECK_INSTANCES if "input_distribution" in est.get_params()
]


def test_every_public_destructor_is_checked():
    assert {"MarginalDestructor", "GaussianDestructor", "CompositeDestructor", "IdentityDestructor"} <= {
        cls.__name__ for cls in DESTRUCTOR_CLASSES
    }
    assert len(CHECK_INSTANCES) == len(DESTRUCTOR_CLASSES)


@parametrize_with_checks(CHECK_INSTANCES)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        check(estimator)


@pytest.mark.parametrize("estimator", DESTRUCTOR_INSTANCES, ids=repr)
def test_check_destructor(estimator):
    check_destructor(estimator)


# Public checks that check_estimator does not run.
EXTRA_CHECKS = [
    check_get_feature_names_out_error,
    check_dataframe_column_names_consistency,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
]


# The set_output checks mix DataFrame and array inputs on purpose; scikit-learn's
# own transformers raise the same feature-name warnings under them.
@pytest.mark.filterwarnings("ignore:X (has|does not have valid) feature names:UserWarning")
@pytest.mark.parametrize("estimator", CHECK_INSTANCES, ids=repr)
@pytest.mark.parametrize("check", EXTRA_CHECKS, ids=lambda c: c.__name__)
def test_checks_beyond_check_estimator(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


# Univariate densities take 1-D input, which scikit-learn's checks cannot
# feed; they are configuration objects cloned by MarginalDestructor, so they
# get the checks of the estimator API that do not fit on 2-D data.
DENSITY_API_CHECKS = [
    check_estimator_cloneable,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_get_params_invariance,
    check_set_params,
]


@pytest.mark.parametrize("density_class", DENSITY_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("check", DENSITY_API_CHECKS, ids=lambda c: c.__name__)
def test_univariate_density_api(density_class, check):
    check(density_class.__name__, density_class())


@pytest.mark.parametrize("density_class", DENSITY_CLASSES, ids=lambda c: c.__name__)
def test_univariate_density_in_marginal_destructor(density_class):
    check_destructor(MarginalDestructor(density_class()))


@pytest.mark.parametrize("density_class", DENSITY_CLASSES, ids=lambda c: c.__name__)
def test_univariate_density_rejects_invalid_parameters(density_class):
    # Every declared constraint is enforced at fit time.
    x = np.random.RandomState(0).standard_normal(50)
    for name in density_class._parameter_constraints:
        with pytest.raises(ValueError, match=name):
            density_class(**{name: "not a valid value"}).fit(x)
