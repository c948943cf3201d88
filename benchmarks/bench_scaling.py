"""Scaling benchmark: time and peak memory against the number of rows, relative to a NumPy floor.

For each data set (two moons, ``make_moons`` with noise 0.05, 2-D; and
correlated, skewed 10-D data) and number of rows ``n`` (default ``n`` in
{2e4, 1e5, 3e5, 1e6}; ``--quick``: {1e4, 3e4}), the default model
``DeepDestructor(random_state=0)`` and ``RBIGDestructor(random_state=0)``
are fitted on ``n`` rows, then ``transform`` and ``score_samples`` are run
on the same rows. Targets for the default model between 20,000 and
1,000,000 rows: fit time growing at most linearly (exponent <= 1.1) and a
fit's peak memory at most 10x the training array at 1,000,000 rows.
Reported per cell:

- wall-clock seconds of fit, transform and score_samples (untraced runs;
  best of three when ``n * d <= 1e5``);
- their ratio to the *floor* measured in the same run on the same array:
  one ``n x d`` matmul plus one ``np.interp`` per feature on 100 knots, the
  least work a layer can do on every value;
- peak memory of each call, from ``tracemalloc`` in a separate traced run
  (traced fits are skipped when the untraced fit took more than a quarter
  of ``--max-seconds``), in MiB and as a multiple of the ``n x d`` float64
  input: a bounded multiple shows that rows are processed in chunks;
- ``score_samples`` time of the model fitted at the smallest ``n`` (for that
  ``d`` and model) applied to the ``n`` rows: the per-row cost of a fixed
  model, separated from the growth of the model itself (a refitted deep
  model may choose more or larger layers on more rows).

Every run, the floor's included, uses ``--blas-threads`` BLAS threads (default
1): on a shared machine, threads beyond the free cores stall, which once made
the floor's 1e6 x 2 matmul six times slower than single-threaded.

The growth exponent in ``n`` is the least-squares slope of log time against
log n per model and data set (1 is linear; the target is at most 1.1).

Cells are capped. Before a cell runs, the time of its fit, transform and
score_samples is predicted linearly in ``n`` from the previous ``n`` of the
same model and ``d``; if the prediction exceeds ``--max-seconds`` the cell is
skipped and listed with the prediction. Each cell runs in a fresh process,
stopped if it is still running after three times ``--max-seconds`` (the
memory and fixed-model runs come on top of the timed ones); a model whose
size grows with ``n`` can outrun the linear prediction. Every larger ``n``
after a skipped or stopped cell is skipped too. ``--quick`` (and
``--in-process``) runs the cells in the calling process, without the stop.
Results are written after every cell, so an interrupted run keeps what it
measured.

Run ``python benchmarks/bench_scaling.py [--quick] [--max-seconds S]``; it
prints a Markdown table and writes ``benchmarks/results/scaling.json`` and
``benchmarks/results/scaling.md``. The full run takes about an hour on a
shared 2-core machine: run it with ``nice``.
"""

import argparse
import gc
import json
import multiprocessing
import pickle
import platform
import queue
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn.datasets import make_moons

from destructors import DeepDestructor, RBIGDestructor

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_scaling.py
    import _report

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = {
    "DeepDestructor": lambda: DeepDestructor(random_state=0),
    "RBIGDestructor": lambda: RBIGDestructor(random_state=0),
}
DATASETS = {
    "two_moons": lambda n: make_moons(n, noise=0.05, random_state=0)[0],
    "skewed_10d": lambda n: _report.skewed_data(n, 10),
}
# Largest fit peak memory, as a multiple of the training array, at the largest n.
MEMORY_TARGET = 10.0
EXPONENT_TARGET = 1.1


def run_cell(name, n, data, max_seconds, small_model=None):
    """Measure one model on one (data set, n) cell; return the row and the fitted model."""
    X = DATASETS[data](n)
    d = X.shape[1]
    repeats = 3 if n * d <= 10**5 else 1
    floor = _report.floor_seconds(X)
    model = MODELS[name]()
    fit_s, _ = _report.timed(lambda: model.fit(X))
    transform_s, _ = _report.timed(lambda: model.transform(X), repeats)
    score_s, _ = _report.timed(lambda: model.score_samples(X), repeats)
    input_bytes = X.nbytes
    row = {
        "model": name, "data": data, "n": n, "d": d, "status": "measured",
        "n_layers": len(model.layers_), "floor_seconds": floor,
        "fit_seconds": fit_s, "transform_seconds": transform_s, "score_samples_seconds": score_s,
        "fit_over_floor": fit_s / floor, "transform_over_floor": transform_s / floor,
        "score_samples_over_floor": score_s / floor,
    }
    if fit_s <= max_seconds / 4:
        row["fit_peak_mib"] = _report.peak(lambda: MODELS[name]().fit(X))[1] / 2**20
    else:
        row["fit_peak_mib"] = None
    row["transform_peak_mib"] = _report.peak(lambda: model.transform(X))[1] / 2**20
    row["score_samples_peak_mib"] = _report.peak(lambda: model.score_samples(X))[1] / 2**20
    for key in ("fit", "transform", "score_samples"):
        peak = row[f"{key}_peak_mib"]
        row[f"{key}_peak_over_input"] = None if peak is None else peak * 2**20 / input_bytes
    fixed = model if small_model is None else small_model
    row["fixed_model_score_seconds"] = _report.timed(lambda: fixed.score_samples(X), repeats)[0]
    row["fixed_model_score_over_floor"] = row["fixed_model_score_seconds"] / floor
    row["cell_seconds"] = None  # filled by the caller
    return row, model


def growth(rows):
    """Least-squares slope of log time against log n, per model and data set."""
    out = []
    keys = ("fit_seconds", "transform_seconds", "score_samples_seconds",
            "fixed_model_score_seconds", "floor_seconds")
    for name in dict.fromkeys(r["model"] for r in rows):
        for data in dict.fromkeys(r["data"] for r in rows):
            block = [r for r in rows if r["model"] == name and r["data"] == data and r["status"] == "measured"]
            if len(block) < 2:
                continue
            log_n = np.log([r["n"] for r in block])
            entry = {"model": name, "data": data, "d": block[0]["d"], "n": [r["n"] for r in block],
                     "largest_fit_peak_over_input": block[-1]["fit_peak_over_input"]}
            for key in keys:
                slope = np.polyfit(log_n, np.log([r[key] for r in block]), 1)[0]
                entry[key.replace("_seconds", "_exponent")] = float(slope)
            out.append(entry)
    return out


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def markdown(rows, growth_rows, max_seconds):
    lines = [
        "### Scaling: time and peak memory against the number of rows", "",
        (f"Floor: one n x d matmul plus one `np.interp` per feature ({_report.FLOOR_KNOTS} knots), "
         "measured in the same run on the same array; `/ floor` columns are time ratios to it. "
         "Peaks are tracemalloc peaks, also as multiples of the n x d float64 input. "
         "\"fixed-model score\" scores the n rows with the model fitted at the smallest n."), "",
        ("| model | data | n | d | layers | fit s | transform s | score s | floor s | fit / floor | "
         "transform / floor | score / floor | fixed-model score / floor | fit peak MiB (x input) | "
         "transform peak MiB (x input) | score peak MiB (x input) |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    skipped = []
    for r in rows:
        if r["status"] != "measured":
            skipped.append(r)
            continue
        peaks = [
            "n/a" if r[f"{k}_peak_mib"] is None
            else f"{r[f'{k}_peak_mib']:.1f} ({r[f'{k}_peak_over_input']:.1f})"
            for k in ("fit", "transform", "score_samples")
        ]
        lines.append(
            f"| {r['model']} | {r['data']} | {r['n']:,} | {r['d']} | {r['n_layers']} | {r['fit_seconds']:.2f} | "
            f"{r['transform_seconds']:.3f} | {r['score_samples_seconds']:.3f} | {r['floor_seconds']:.4f} | "
            f"{r['fit_over_floor']:.0f} | {r['transform_over_floor']:.1f} | "
            f"{r['score_samples_over_floor']:.1f} | {r['fixed_model_score_over_floor']:.1f} | "
            + " | ".join(peaks) + " |"
        )
    if growth_rows:
        lines += [
            "", (f"Growth exponent in n (slope of log time against log n; 1 is linear, target <= "
                 f"{EXPONENT_TARGET} for the fit of the default model) and the fit's peak memory at the largest "
                 f"n (target <= {MEMORY_TARGET:g}x the training array):"), "",
            "| model | data | n measured | fit | transform | score_samples | fixed-model score | floor | "
            "fit peak at largest n (x input) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for g in growth_rows:
            peak = g["largest_fit_peak_over_input"]
            lines.append(
                f"| {g['model']} | {g['data']} | {', '.join(f'{n:,}' for n in g['n'])} | "
                f"{g['fit_exponent']:.2f} | {g['transform_exponent']:.2f} | "
                f"{g['score_samples_exponent']:.2f} | {g['fixed_model_score_exponent']:.2f} | "
                f"{g['floor_exponent']:.2f} | {_fmt(peak, '.1f')} |"
            )
    if skipped:
        lines += ["", (f"Cells not measured (`--max-seconds {max_seconds:g}`: skipped when predicted "
                       "to take longer, stopped when still running after three times as long):"), ""]
        for r in skipped:
            lines.append(f"- {r['model']}, {r['data']}, n = {r['n']:,}: {r['reason']}")
    return "\n".join(lines)


def _core_seconds(row):
    return row["fit_seconds"] + row["transform_seconds"] + row["score_samples_seconds"]


def _cell_process(results, name, n, data, max_seconds, small_model_bytes, return_model, blas_threads):
    small_model = None if small_model_bytes is None else pickle.loads(small_model_bytes)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        row, model = run_cell(name, n, data, max_seconds, small_model)
    results.put((row, pickle.dumps(model) if return_model else None))


def _run_isolated(name, n, data, max_seconds, small_model_bytes, timeout, blas_threads):
    """Run a cell in a fresh process; ``(None, None)`` if it is still running after ``timeout`` s."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(
        target=_cell_process,
        args=(results, name, n, data, max_seconds, small_model_bytes, small_model_bytes is None, blas_threads),
        daemon=True,
    )
    process.start()
    try:
        row, model_bytes = results.get(timeout=timeout)
    except queue.Empty:
        process.terminate()
        process.join()
        return None, None
    process.join()
    return row, model_bytes


def _skip(name, n, data, reason, **extra):
    return {"model": name, "n": n, "data": data, "status": "skipped", "reason": reason, **extra}


def run(sizes, datasets, models, max_seconds, isolate=True, blas_threads=1, verbose=True, on_cell=None):
    """Measure every cell; ``on_cell(rows)`` is called after each one (to save partial results)."""
    rows = []
    for data in datasets:
        for name in models:
            previous, small_model = None, None
            for n in sorted(sizes):
                start = time.perf_counter()
                if previous is not None and previous["status"] != "measured":
                    rows.append(_skip(name, n, data, f"a smaller n was not measured ({previous['n']:,} rows)"))
                elif previous is not None and _core_seconds(previous) * n / previous["n"] > max_seconds:
                    measured = _core_seconds(previous)
                    predicted = measured * n / previous["n"]
                    rows.append(_skip(
                        name, n, data,
                        f"fit + transform + score_samples predicted to take {predicted:.0f} s "
                        f"(linear in n from {measured:.0f} s at n = {previous['n']:,}), "
                        f"more than {max_seconds:g} s",
                        predicted_seconds=predicted,
                    ))
                elif isolate:
                    timeout = 3 * max_seconds
                    row, model_bytes = _run_isolated(name, n, data, max_seconds, small_model, timeout, blas_threads)
                    if row is None:
                        rows.append(_skip(name, n, data, f"stopped: the cell was still running after {timeout:g} s"))
                    else:
                        small_model = small_model or model_bytes
                        rows.append(row)
                else:
                    with threadpool_limits(limits=blas_threads, user_api="blas"):
                        row, model = run_cell(
                            name, n, data, max_seconds, None if small_model is None else pickle.loads(small_model)
                        )
                    small_model = small_model or pickle.dumps(model)
                    rows.append(row)
                    del model
                    gc.collect()
                row = previous = rows[-1]
                row["cell_seconds"] = time.perf_counter() - start
                if verbose and row["status"] == "measured":
                    print(
                        f"{name:>15} n={n:>8} {data:>11}  layers {row['n_layers']:>3}  fit {row['fit_seconds']:8.2f} s  "
                        f"transform {row['transform_seconds']:7.3f} s  score {row['score_samples_seconds']:7.3f} s  "
                        f"floor {row['floor_seconds']:7.4f} s  score peak x input "
                        f"{row['score_samples_peak_over_input']:.1f}  (cell {row['cell_seconds']:.0f} s)",
                        flush=True,
                    )
                elif verbose:
                    print(f"{name:>15} n={n:>8} {data:>11}  skipped: {row['reason']}", flush=True)
                if on_cell is not None:
                    on_cell(rows)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: n in {1e4, 3e4}")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="numbers of rows (default 2e4 1e5 3e5 1e6)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="skip a cell whose fit + transform + score_samples is predicted to take "
                             "longer; stop one running after 3 times as long (default 300; quick: 20)")
    parser.add_argument("--in-process", action="store_true",
                        help="run the cells in this process, without the time limit (the default with --quick)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads of every run, floor included (default 1: on a shared "
                             "machine more threads oversubscribe the cores and distort the ratios)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of scaling.json and scaling.md")
    args = parser.parse_args(argv)

    sizes = args.sizes or ([10_000, 30_000] if args.quick else [20_000, 100_000, 300_000, 1_000_000])
    max_seconds = args.max_seconds or (20.0 if args.quick else 300.0)
    args.in_process = args.in_process or args.quick

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    def save(rows):
        growth_rows = growth(rows)
        table = markdown(rows, growth_rows, max_seconds)
        (args.out / "scaling.md").write_text(table + "\n")
        (args.out / "scaling.json").write_text(json.dumps({
            "benchmark": "scaling", "quick": args.quick, "max_seconds": max_seconds,
            "isolated": not args.in_process, "blas_threads": args.blas_threads,
            "machine": platform.platform(),
            "processor": platform.processor(), "numpy": np.__version__,
            "total_seconds": time.perf_counter() - start, "cells": rows, "growth": growth_rows,
        }, indent=2))
        return table

    rows = run(sizes, args.datasets, args.models, max_seconds, isolate=not args.in_process,
               blas_threads=args.blas_threads, on_cell=save)
    print()
    print(save(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
