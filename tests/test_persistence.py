"""Persistence: pickles record the library version and warn when it differs."""

import pickle
import warnings

import joblib
import numpy as np
import pytest

import destructors
from destructors import CompositeDestructor, GaussianDestructor, MarginalDestructor
from destructors.base import InconsistentVersionWarning


def _model():
    X = np.random.RandomState(0).gamma(2.0, size=(300, 2))
    return CompositeDestructor([("m", MarginalDestructor()), ("g", GaussianDestructor())]).fit(X), X


def test_pickle_records_the_version_and_loads_silently():
    model, X = _model()
    assert model.__getstate__()["_destructors_version"] == destructors.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_loading_under_another_version_warns(tmp_path):
    model, _ = _model()
    state = model.__getstate__()
    state["_destructors_version"] = "0.0.1"
    copy = CompositeDestructor.__new__(CompositeDestructor)
    with pytest.warns(InconsistentVersionWarning, match=r"saved with destructors 0\.0\.1 under destructors"):
        copy.__setstate__(state)


def test_joblib_round_trip(tmp_path):
    model, X = _model()
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").transform(X), model.transform(X))
