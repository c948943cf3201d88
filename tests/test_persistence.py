"""Persistence: pickles record the library version and warn when it differs.

A stored fixture (``tests/fixtures``) checks that models pickled by this
version load and give the same outputs bit for bit; see the comment above
``FIXTURES`` for how to regenerate it.
"""

import importlib.util
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest

import destructors
from destructors import (
    CompositeDestructor,
    GaussianDestructor,
    KDEDensity,
    MarginalDestructor,
    RBIGDestructor,
)
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


# ------------------------------------------------------------ stored fixture
# tests/fixtures/models.pkl holds small fitted models of every layer kind,
# pickled by destructors; tests/fixtures/expected.npz their outputs at the
# time, and the version that wrote them. Regenerate both, when a change of the
# numerical results is intended or for a new version, with
#     python tests/fixtures/make_fixtures.py
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _load_fixture():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = dict(np.load(module.EXPECTED))
    saved_version = str(expected.pop("version"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentVersionWarning)
        with open(module.MODELS, "rb") as file:
            models = pickle.load(file)
    return module, models, expected, saved_version, caught


def test_stored_models_give_their_stored_outputs_bit_for_bit():
    module, models, expected, saved_version, caught = _load_fixture()
    version_warnings = [w for w in caught if issubclass(w.category, InconsistentVersionWarning)]
    if saved_version == destructors.__version__:
        assert not version_warnings, "a model saved by this version warned on loading"
    else:
        # Saved by another version: loading must say so, and the outputs
        # must still agree (regenerate the fixture if a change is intended).
        assert version_warnings and saved_version in str(version_warnings[0].message)
    rows = expected.pop("rows")
    np.testing.assert_array_equal(rows, module.evaluation_rows())
    assert {key.split("/")[0] for key in expected} == set(models)
    for name, model in models.items():
        for key, value in module.outputs(model, rows).items():
            np.testing.assert_array_equal(
                value, expected[f"{name}/{key}"],
                err_msg=f"the stored {name} model no longer gives its stored {key}: if the change is "
                "intended, run python tests/fixtures/make_fixtures.py and say so in the commit",
            )


def test_stored_models_are_what_make_fixtures_fits_now():
    """Refitting with the same seeds reproduces the stored outputs: fitting is deterministic too."""
    module, _, expected, _, _ = _load_fixture()
    rows = expected.pop("rows")
    for name, model in module.make_models().items():
        for key, value in module.outputs(model, rows).items():
            np.testing.assert_array_equal(value, expected[f"{name}/{key}"], err_msg=f"{name}: {key}")


def test_fixture_is_small():
    assert (FIXTURES / "models.pkl").stat().st_size < 100_000
    assert (FIXTURES / "expected.npz").stat().st_size < 100_000


def test_every_fitted_attribute_survives_pickling_bit_for_bit():
    """In memory, for a KDE marginal (too large for the stored fixture) and RBIG."""
    X = np.random.RandomState(1).gamma(2.0, size=(300, 2))
    for model in (MarginalDestructor(KDEDensity()), RBIGDestructor(max_layers=3, random_state=0)):
        model.fit(X)
        loaded = pickle.loads(pickle.dumps(model, protocol=4))
        for method in (loaded.transform, loaded.score_samples):
            np.testing.assert_array_equal(method(X), getattr(model, method.__name__)(X))
        np.testing.assert_array_equal(loaded.sample(5, random_state=0), model.sample(5, random_state=0))
