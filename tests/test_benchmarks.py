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


def test_bench_rbig_quality_tables_average_seeds_and_pair_rbig_with_gis():
    from benchmarks import bench_rbig

    def row(dataset, model, seed, kl_gap=None, log_lik=0.0):
        return {"dataset": dataset, "model": model, "seed": seed, "n_train": 100, "n_features": 2,
                "true_log_likelihood": None if kl_gap is None else 0.0, "kl_gap": kl_gap,
                "test_log_likelihood": log_lik if kl_gap is None else -kl_gap, "fit_seconds": 1.0, "n_layers": 3}

    rows = [row("moons", "RBIG (default)", 0, kl_gap=0.15), row("moons", "RBIG (default)", 1, kl_gap=0.11),
            row("moons", "GIS (sinflow)", 0, kl_gap=0.13), row("moons", "GIS (sinflow)", 1, kl_gap=0.37),
            row("wine", "RBIG (default)", 0, log_lik=-14.6), row("wine", "GIS (sinflow)", 0, log_lik=-14.4)]
    summary = {(e["dataset"], e["model"]): e for e in bench_rbig.quality_summary(rows)}
    moons = summary["moons", "RBIG (default)"]
    assert moons["values"] == [0.15, 0.11] and moons["mean"] == pytest.approx(0.13)
    assert moons["se"] == pytest.approx(0.02)  # sample std 0.0283 over sqrt(2)
    assert summary["wine", "RBIG (default)"]["se"] is None  # one seed: no spread to report
    duels = {d["dataset"]: d for d in bench_rbig.head_to_head(rows)}
    assert duels["moons"]["mean_difference"] == pytest.approx((0.02 - 0.26) / 2)
    assert duels["moons"]["wins"] == 1
    # On a real table the comparison is in log-likelihood, sign flipped: GIS's higher score wins.
    assert duels["wine"]["mean_difference"] == pytest.approx(0.2) and duels["wine"]["wins"] == 0
    table = bench_rbig.markdown({"quality": rows})
    assert "| moons | RBIG (default) | 100 | 2 | KL gap 0.1300 (0.0200) | 0.1500, 0.1100 |" in table
    assert "| moons | -0.1200 (0.1400) | 1 of 2 seeds |" in table
