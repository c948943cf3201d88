"""Benchmark on real mixed tables: discrete, categorical and continuous columns.

Each table of :data:`destructors.datasets.MIXED_BENCHMARKS` (real data that
optional packages ship; a 70/30 split) is fitted by

- ``destructors default``: ``DeepDestructor(random_state=0)``, the column
  kinds read by ``"auto"`` from the dtypes;
- ``marginal (independence)``: ``MarginalDestructor()``, the product of the
  columns' own distributions;
- ``vine (pyvinecopulib)``: pyvinecopulib's ``VineDensity`` with its defaults
  (see :class:`benchmarks.baselines_mixed.MixedVine`), and ``vine, margins
  tuned``: the same with each margin's bandwidth multiplier chosen on
  validation among 0.1, 0.25, 0.5, 1 and 2;
- ``gaussian_mixture (dequantized)``: scikit-learn's ``GaussianMixture`` on
  dequantized, one-hot-encoded rows, its size chosen on validation, integrated
  over each row's cell (:class:`benchmarks.baselines_mixed.DequantizedGaussianMixture`).

All are scored on the same measure: ``log P(discrete and categorical values)
+ log p(continuous values | those)`` per held-out row, in nats. Reported per
model: the mean with its standard error, the mean paired difference to the
default model with its standard error, fit and score times (one BLAS thread
for every model). The target is that the default model's mean is at least
the vine's on every table; it is checked against the better of the two vines.

The default model estimates a cell's probability with scrambled Sobol points
(``destructors.mixed``: 64 a row, doubled while the estimate moves by over
0.01 nats, up to 1024). Its error is measured against a reference with many
more points (the fitted model's points replaced by a longer scrambled Sobol
sequence, every row using all of them), and on the rows where they differ
most against a second reference on 16 times as many (4 on randhie). The mixture's own cell
integral is checked the same way (four times its points).

Run ``python -m benchmarks.bench_mixed [--quick]`` (``--quick``: the penguins
table alone, smaller references); it prints Markdown tables and writes
``benchmarks/results/mixed.json`` and ``mixed.md``.
"""

import importlib.util
import pickle
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

import destructors
from destructors import DeepDestructor, MarginalDestructor
from destructors import mixed
from destructors.datasets import MIXED_BENCHMARKS, load_mixed_benchmark

try:
    from . import _report
    from .baselines_mixed import DequantizedGaussianMixture, MixedVine
except ImportError:  # run as a script: python benchmarks/bench_mixed.py
    import _report
    from baselines_mixed import DequantizedGaussianMixture, MixedVine

TITLE = "## Mixed tables: discrete, categorical and continuous columns (`python -m benchmarks.bench_mixed`)"
RESULTS = Path(__file__).resolve().parent / "results" / "mixed.json"
DEFAULT = "destructors default"
VINE = "vine (pyvinecopulib)"
TUNED_VINE = "vine, margins tuned (pyvinecopulib)"
VINES = (VINE, TUNED_VINE)
MULTIPLIERS = (0.1, 0.25, 0.5, 1.0, 2.0)
QUICK_TABLES = ["penguins"]


def _supports(data):
    """Range of each discrete column over the whole table: what the vine is told (see MixedVine)."""
    table = pd.concat([data.X_train, data.X_test])
    return {name: (float(table[name].min()), float(table[name].max())) for name in data.discrete}


MODELS = {
    DEFAULT: lambda data: DeepDestructor(random_state=0),
    "marginal (independence)": lambda data: MarginalDestructor(),
    VINE: lambda data: MixedVine(data.discrete, data.categorical, supports=_supports(data)),
    TUNED_VINE: lambda data: MixedVine(data.discrete, data.categorical, supports=_supports(data),
                                       multipliers=MULTIPLIERS),
    "gaussian_mixture (dequantized)": lambda data: DequantizedGaussianMixture(data.discrete, data.categorical),
}
# Models that need an optional package; skipped when it is missing.
OPTIONAL_MODELS = dict.fromkeys(VINES, "pyvinecopulib")


def available_models():
    names = []
    for name in MODELS:
        package = OPTIONAL_MODELS.get(name)
        if package is not None and importlib.util.find_spec(package) is None:
            print(f"skipping {name}: it needs {package} (pip install 'destructors[benchmarks]')")
            continue
        names.append(name)
    return names


def available_tables():
    names = []
    for name, (_, package) in MIXED_BENCHMARKS.items():
        if importlib.util.find_spec(package) is None:
            print(f"skipping the {name} table: it needs {package} (pip install 'destructors[benchmarks]')")
            continue
        names.append(name)
    return names


# ------------------------------------------------------------ measurements
def _timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def _mean_and_error(values):
    """Mean and standard error of per-row values; -inf rows make the mean -inf."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return float("-inf"), None
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def _check_kinds(model, data):
    """The default model's "auto" kinds must be the declared ones, or the measures differ."""
    declared = ["discrete" if c in data.discrete else "categorical" if c in data.categorical else "continuous"
                for c in data.X_train.columns]
    if list(model.feature_kinds_) != declared:
        raise RuntimeError(f"'auto' read the kinds {list(model.feature_kinds_)}, the table declares {declared}")


def _describe_destructor(model):
    layers = getattr(model, "layers_", None)
    if layers is None:
        return ""
    kinds = sorted({type(layer).__name__ for layer in layers[1:]})
    return f"{type(layers[0]).__name__} + {model.n_layers_} layers" + (f" ({', '.join(kinds)})" if kinds else "")


def bench_table(data, model_names, verbose=True):
    """Fit every model on the training rows and score the held-out rows; return the rows and fitted models."""
    rows, fitted, scores = [], {}, {}
    for name in model_names:
        model = MODELS[name](data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fit_seconds = _timed(lambda: model.fit(data.X_train))
            with np.errstate(divide="ignore", invalid="ignore"):
                values, score_seconds = _timed(lambda: model.score_samples(data.X_test))
        if name == DEFAULT:
            _check_kinds(model, data)
        mean, error = _mean_and_error(values)
        fitted[name], scores[name] = model, values
        describe = getattr(model, "describe", None)
        rows.append({
            "model": name, "test_log_likelihood": mean, "standard_error": error,
            "n_infinite_rows": int(np.sum(~np.isfinite(values))), "fit_seconds": fit_seconds,
            "score_seconds": score_seconds,
            "chosen": describe() if describe else _describe_destructor(model),
        })
        if verbose:
            print(f"{data.name:>10} {name:<40} {mean:9.4f} +- {error or 0:.4f}  fit {fit_seconds:7.1f} s  "
                  f"score {score_seconds:6.1f} s", flush=True)
    if DEFAULT in scores:
        for row in rows:
            difference = scores[DEFAULT] - scores[row["model"]]
            row["default_minus_model"], row["difference_standard_error"] = _mean_and_error(difference)
    return rows, fitted


def reference_scores(model, X, n_points, seed=7):
    """The default model's scores with every row's cell integrated on ``n_points`` Sobol points.

    A copy of the fitted model gets a longer scrambled Sobol sequence, and
    ``destructors.mixed.MIN_CELL_POINTS`` is raised to its length for the
    call, so that every row uses all the points (no adaptive stopping).
    """
    reference = pickle.loads(pickle.dumps(model))
    n_cells = reference.cells_.points.shape[1]
    reference.cells_.points = np.clip(qmc.Sobol(n_cells, scramble=True, seed=seed).random(n_points),
                                      mixed._CELL_MARGIN, 1.0 - mixed._CELL_MARGIN)
    saved = mixed.MIN_CELL_POINTS
    mixed.MIN_CELL_POINTS = n_points
    try:
        return reference.score_samples(X)
    finally:
        mixed.MIN_CELL_POINTS = saved


def _subset(X, n_rows, seed=0):
    """A fixed random subset of ``n_rows`` rows of ``X`` (all of them if None or more)."""
    if n_rows is None or n_rows >= len(X):
        return X
    return X.iloc[np.sort(np.random.RandomState(seed).choice(len(X), n_rows, replace=False))]


def _error_summary(estimate, reference):
    error = estimate - reference
    return {
        "mean_signed": float(error.mean()), "mean_absolute": float(np.abs(error).mean()),
        "p99_absolute": float(np.quantile(np.abs(error), 0.99)), "max_absolute": float(np.abs(error).max()),
        "mean_estimate": float(estimate.mean()), "mean_reference": float(reference.mean()),
    }


def cell_estimate_error(model, X_test, n_points, n_rows=None, seed=0, n_worst=20, factor=16):
    """Error of the default model's cell-probability estimate on held-out rows, against the reference.

    ``n_rows``: score a fixed random subset of that many rows (all if None).
    The reference is itself an estimate: on the ``n_worst`` rows where the
    estimate and the reference differ most, a second reference on ``factor``
    times as many points (another scramble) gives the estimate's error there
    more precisely, and the first reference's own error.
    """
    if model.cells_ is None:
        return None
    rows = _subset(X_test, n_rows, seed)
    estimate, score_seconds = _timed(lambda: model.score_samples(rows))
    reference, reference_seconds = _timed(lambda: reference_scores(model, rows, n_points))
    worst = np.argsort(-np.abs(estimate - reference))[:n_worst]
    finer = reference_scores(model, rows.iloc[worst], factor * n_points, seed=8)
    summary = _error_summary(estimate, reference)
    summary.update(
        n_rows=len(rows), n_reference_points=n_points, score_seconds=score_seconds,
        reference_seconds=reference_seconds, n_worst=len(worst), n_finer_points=factor * n_points,
        worst_max_absolute=float(np.abs(estimate[worst] - finer).max()),
        reference_worst_max_absolute=float(np.abs(reference[worst] - finer).max()),
        worst_rows=_worst_rows(rows.iloc[worst], estimate[worst] - finer),
    )
    return summary


def _worst_rows(rows, error, n=3):
    order = np.argsort(-np.abs(error))[:n]
    return [{"error": float(error[i]), "row": {k: _plain(v) for k, v in rows.iloc[i].items()}} for i in order]


def _plain(value):
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, (int, float)) else str(value)


def mixture_integral_error(model, X_test, factor=4, n_rows=None):
    """The dequantized mixture's cell integral on its points against ``factor`` times as many, scrambled anew."""
    rows = _subset(X_test, n_rows)
    estimate = model.score_samples(rows)
    reference = model.score_samples(rows, n_points=factor * model.n_points, seed=model.random_state + 1)
    summary = _error_summary(estimate, reference)
    summary.update(n_rows=len(rows), n_points=model.n_points, n_reference_points=factor * model.n_points)
    return summary


def bench_data(data, model_names, reference_points=16384, quick=False, verbose=True):
    """Every measurement on one table (a Bunch as :func:`load_mixed_benchmark` returns, plus its ``name``)."""
    rows, fitted = bench_table(data, model_names, verbose)
    entry = {
        "table": data.name, "description": data.description, "n_train": len(data.X_train),
        "n_test": len(data.X_test), "discrete": data.discrete, "categorical": data.categorical,
        "continuous": data.continuous, "rows": rows,
    }
    # On a subset of randhie's 6,057 held-out rows: the default model's own
    # scores of all of them take about 11 minutes (measured), the reference
    # at 16,384 points a row up to 16 times as long.
    large = len(data.X_test) > 2000
    if DEFAULT in fitted:
        n_rows = 300 if large else None
        entry["cell_error"] = error = cell_estimate_error(fitted[DEFAULT], data.X_test, reference_points, n_rows,
                                                          factor=4 if quick or large else 16)
        if verbose and error:
            print(f"{data.name:>10} cell estimate: mean signed {error['mean_signed']:+.4f}, mean |error| "
                  f"{error['mean_absolute']:.4f}, p99 {error['p99_absolute']:.4f}, max {error['max_absolute']:.4f} "
                  "nats", flush=True)
    mixture = fitted.get("gaussian_mixture (dequantized)")
    if mixture is not None and (data.discrete or data.categorical):
        entry["mixture_integral_error"] = mixture_integral_error(mixture, data.X_test, n_rows=500 if large else None)
    return entry


def run(tables, model_names, quick=False, verbose=True):
    """:func:`bench_data` on each named table of ``MIXED_BENCHMARKS``."""
    entries = []
    for table in tables:
        data = load_mixed_benchmark(table)
        data.name = table
        entries.append(bench_data(data, model_names, 4096 if quick else 16384, quick, verbose))
    return entries


# ------------------------------------------------------------------ report
def _number(value, digits=3):
    if value is None:
        return ""
    return ("-inf" if value < 0 else "inf") if not np.isfinite(value) else f"{value:.{digits}f}"


def _verdict(entry):
    rows = {r["model"]: r for r in entry["rows"]}
    vines = [rows[name] for name in VINES if name in rows]
    if DEFAULT not in rows or not vines:
        return None, "the vine was not run"
    vine = max(vines, key=lambda r: r["test_log_likelihood"])
    margin, error = vine["default_minus_model"], vine["difference_standard_error"]
    if margin >= 0:
        return True, f"met: the default model is {margin:.3f} (+- {error:.3f}) nats a row above `{vine['model']}`"
    return False, (f"**open work:** the default model is {-margin:.3f} (+- {error:.3f}) nats a row below "
                   f"`{vine['model']}`")


def _print_tables(results):
    tables = results["tables"]
    print(f"{'Quick' if results['quick'] else 'Full'} run: destructors {results['environment']['destructors']}, "
          f"scikit-learn {results['environment']['scikit-learn']}, numpy {results['environment']['numpy']}, "
          f"one BLAS thread for every model. Held-out mean log-likelihood in nats a row on the mixed measure "
          "(log-probability of the discrete and categorical values plus log density of the continuous ones), "
          "+- its standard error; \"default - model\" is the mean paired difference over the same rows, +- its "
          "standard error.\n")
    verdicts = []
    for entry in tables:
        kinds = ", ".join(f"{len(entry[k])} {k}" for k in ("discrete", "categorical", "continuous") if entry[k])
        print(f"### {entry['table']}: {entry['description']} ({entry['n_train']} train / {entry['n_test']} test "
              f"rows; {kinds})\n")
        print("| model | test log-lik | default - model | -inf rows | fit s | score s | chosen |")
        print("|---|---|---|---|---|---|---|")
        for row in sorted(entry["rows"], key=lambda r: -r["test_log_likelihood"]):
            difference = "" if row["model"] == DEFAULT or "default_minus_model" not in row else (
                f"{_number(row['default_minus_model'])} +- {_number(row['difference_standard_error'])}")
            print(f"| {row['model']} | {_number(row['test_log_likelihood'])} +- {_number(row['standard_error'])} | "
                  f"{difference} | {row['n_infinite_rows']} | {row['fit_seconds']:.1f} | {row['score_seconds']:.1f} "
                  f"| {row['chosen']} |")
        met, line = _verdict(entry)
        verdicts.append((entry["table"], met))
        print(f"\nTarget (default >= the better vine): {line}.\n")
    print("### Error of the default model's cell-probability estimate\n")
    print("Estimate (64 to 1,024 scrambled Sobol points a row, adaptive) minus a reference with every row on "
          "many more points, over held-out rows, in nats. On the rows where the two differ most, a second reference "
          "on 16 times as many points (4 in a quick run and on randhie) gives the estimate's largest error there, and the first "
          "reference's own.\n")
    print("| table | rows | reference points | mean signed | mean abs | p99 abs | max abs | worst rows: max abs "
          "(finer reference) | first reference's max abs there | score s | reference s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for entry in tables:
        e = entry.get("cell_error")
        if e:
            print(f"| {entry['table']} | {e['n_rows']} | {e['n_reference_points']} | {e['mean_signed']:+.4f} | "
                  f"{e['mean_absolute']:.4f} | {e['p99_absolute']:.4f} | {e['max_absolute']:.4f} | "
                  f"{e['worst_max_absolute']:.4f} ({e['n_worst']} rows, {e['n_finer_points']} points) | "
                  f"{e['reference_worst_max_absolute']:.4f} | {e['score_seconds']:.1f} | "
                  f"{e['reference_seconds']:.1f} |")
    print("\n### Error of the dequantized mixture's cell integral\n")
    print("Its scores minus the same integral on four times the points (another scramble), over the held-out "
          "rows, in nats.\n")
    print("| table | rows | points | mean signed | mean abs | max abs |")
    print("|---|---|---|---|---|---|")
    for entry in tables:
        e = entry.get("mixture_integral_error")
        if e:
            print(f"| {entry['table']} | {e['n_rows']} | {e['n_points']} | {e['mean_signed']:+.1e} | "
                  f"{e['mean_absolute']:.1e} | {e['max_absolute']:.1e} |")
    missed = [name for name, met in verdicts if met is False]
    unknown = [name for name, met in verdicts if met is None]
    if missed:
        summary = f"**open work** on {', '.join(missed)}"
    elif unknown:
        summary = f"not measured on {', '.join(unknown)} (no vine)"
    else:
        summary = "met on every table run"
    print(f"\n**Target: the default model's held-out mixed log-likelihood is at least the vine's on every table: "
          f"{summary}.**")


def main(argv=None):
    parser = _report.family_parser(__doc__, RESULTS)
    parser.add_argument("--tables", default=None, help=f"comma-separated subset of {','.join(MIXED_BENCHMARKS)}")
    args = parser.parse_args(argv)
    if args.render is not None:
        _report.render(args.render, _print_tables, TITLE)
        return 0
    tables = args.tables.split(",") if args.tables else available_tables()
    if args.quick and not args.tables:
        tables = [t for t in tables if t in QUICK_TABLES]
    if not tables:
        print("no mixed table available: pip install 'destructors[benchmarks]'")
        return 0
    with threadpool_limits(limits=1, user_api="blas"):
        results = {
            "quick": args.quick,
            "environment": {
                "destructors": destructors.__version__, "numpy": np.__version__,
                "scikit-learn": sklearn.__version__, "python": platform.python_version(),
                "machine": platform.machine(),
            },
            "tables": run(tables, available_models(), quick=args.quick),
        }
    _report.save(results, args.output, _print_tables, TITLE)
    print(f"\nResults written to {args.output}")
    return results


if __name__ == "__main__":
    main()
