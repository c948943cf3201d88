"""The benchmark runner's quick mode: the smoke run CI executes."""

import json

import numpy as np
import pytest

from benchmarks import run
from benchmarks.baselines import GaussianCopula
from benchmarks.models import DEFAULT_MODEL


def test_quick_run_writes_json_and_markdown(tmp_path):
    assert run.main(["--quick", "--out", str(tmp_path), "--datasets", "two_moons,wine"]) == 0
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    rows = results["results"]
    assert {r["dataset"] for r in rows} == {"two_moons", "wine"}
    assert {r["model"] for r in rows} == set(run.QUICK_MODELS)
    moons = [r for r in rows if r["dataset"] == "two_moons"]
    assert all("kl_gap" in r for r in moons)
    default = next(r for r in moons if r["model"] == DEFAULT_MODEL)
    assert default["fit_ratio_to_default"] == pytest.approx(1.0)
    assert np.isfinite(default["test_log_likelihood"]) and default["n_infinite_rows"] == 0
    table = (tmp_path / "benchmarks.md").read_text()
    assert "### two_moons" in table and "| " + DEFAULT_MODEL in table


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown model"):
        run.main(["--models", "nope", "--out", str(tmp_path)])


def test_gaussian_copula_scores_rows_outside_the_training_range_as_minus_infinity():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((500, 2))
    copula = GaussianCopula().fit(X)
    scores = copula.score_samples(np.array([[0.0, 0.0], [10.0, 0.0]]))
    assert np.isfinite(scores[0]) and scores[1] == -np.inf


def test_optional_models_and_data_sets_are_skipped_when_their_packages_are_missing(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in {"zuko", "statsmodels"} else real(name, *a))
    assert "neural spline flow" not in run._available_models()
    assert "randhie" not in run._available()
    assert "skipping randhie: it needs statsmodels" in capsys.readouterr().out


def test_bench_rbig_says_which_optional_peers_are_missing(monkeypatch, capsys):
    from benchmarks import bench_rbig

    monkeypatch.setattr(bench_rbig, "_has", lambda module: module != "infomeasure")
    missing = bench_rbig.missing_peers("information")
    assert list(missing) == ["infomeasure"]
    assert "infomeasure is not installed" in capsys.readouterr().err
    assert bench_rbig.missing_peers("quality") == {}
    summary = [{"case": "Gaussian, 5-D", "measure": "entropy", "estimator": "RBIG", "d": 5, "truth": 1.0,
                "mean_error": 0.0, "mean_abs_error": 0.0, "within_5pct_or_0.02": 1, "reps": 1, "mean_seconds": 1.0}]
    table = bench_rbig.markdown({"information_summary": summary, "information_rows": 100,
                                 "missing_peers": {"information": missing}})
    assert "Not installed in this run, so without their rows: `infomeasure`" in table
    assert "Not installed" not in bench_rbig.markdown({"information_summary": summary, "information_rows": 100})


def test_fast_fits_are_timed_several_times_and_the_fastest_kept(monkeypatch):
    from destructors.datasets import load_benchmark

    data = load_benchmark("wine")
    durations = iter([0.5, 0.2, 0.4, 30.0, 0.1])
    made = []

    def fake_fit_and_score(model, data):
        return np.zeros(len(data.X_test)), next(durations), 0.01

    monkeypatch.setattr(run, "_fit_and_score", fake_fit_and_score)
    monkeypatch.setattr(run, "_peak_memory", lambda make_model, data: 0)
    row = run._measure(lambda: made.append(1), data, repeats=3)
    assert (row["fit_seconds"], row["timed_runs"], len(made)) == (0.2, 3, 3)
    # A fit slower than TIMING_REPEAT_MAX_SECONDS is timed once.
    row = run._measure(lambda: made.append(1), data, repeats=3)
    assert (row["fit_seconds"], row["timed_runs"]) == (30.0, 1)
