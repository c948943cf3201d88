"""Benchmark of RBIG: time against a NumPy floor, and quality on known densities.

Two measurements:

1. Speed. ``RBIGDestructor(n_layers=L)`` (default ``L = 5`` rotation +
   marginal iterations, histogram marginals, PCA rotations, ``tol="auto"``)
   is fitted on standard-normal-mixed data of ``n`` rows and ``d`` features;
   fit, ``transform`` and ``score_samples`` of the same rows are timed. Their
   growth exponent in ``n`` is the least-squares slope of log time against
   log n (1 is linear). The cost of one iteration, ``transform`` time over
   ``L + 1`` (the first marginal layer counts as one), is reported as a ratio
   to a floor measured in the same run on the same array: one ``n x d``
   matmul plus one ``np.interp`` per feature on 100 knots, the least work a
   rotation-plus-marginal layer can do.
2. Quality on known densities: banana, ring of 8 Gaussians and an 8-D
   correlated Gaussian (the parameters of ``destructors.datasets``), with
   ``n_train`` training and ``n_train // 4`` held-out rows. The KL gap is the
   mean of ``log p_true - log q`` over the held-out rows (0 is the limit).
   RBIG with its defaults and with random rotations is compared with the
   marginal-only and full-Gaussian destructors, fitted in the same run.

Run ``python benchmarks/bench_rbig.py [--quick]``; it prints Markdown tables
and writes ``benchmarks/results/rbig.json``.
"""

import json
import platform
from functools import partial
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from destructors import GaussianDestructor, MarginalDestructor, RBIGDestructor

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_rbig.py
    import _report

TITLE = "## RBIG: speed, growth and quality (`python -m benchmarks.bench_rbig`)"
RESULTS = Path(__file__).resolve().parent / "results" / "rbig.json"


# ---------------------------------------------------------- known densities
# Same parameters as destructors.datasets (Banana, GaussianRing,
# CorrelatedGaussian), kept here so that this script stands alone.
def banana_sample(n, rng, bend=1.0, scale=0.5):
    x1 = rng.standard_normal(n)
    return np.column_stack([x1, bend * (x1**2 - 1) + scale * rng.standard_normal(n)])


def banana_logpdf(X, bend=1.0, scale=0.5):
    residual = X[:, 1] - bend * (X[:, 0] ** 2 - 1)
    return stats.norm.logpdf(X[:, 0]) + stats.norm.logpdf(residual, scale=scale)


def _ring_centers(n_components=8, radius=2.0):
    angles = 2 * np.pi * np.arange(n_components) / n_components
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def ring_sample(n, rng, scale=0.2):
    centers = _ring_centers()
    return centers[rng.randint(len(centers), size=n)] + scale * rng.standard_normal((n, 2))


def ring_logpdf(X, scale=0.2):
    centers = _ring_centers()
    sq = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    log_norm = np.log(len(centers)) + 2 * (np.log(scale) + 0.5 * np.log(2 * np.pi))
    return logsumexp(-0.5 * sq / scale**2, axis=1) - log_norm


def _gaussian8(n_features=8, seed=0):
    rng = np.random.RandomState(seed)
    factor = rng.standard_normal((n_features, n_features))
    covariance = factor @ factor.T / n_features + 0.1 * np.eye(n_features)
    return stats.multivariate_normal(np.zeros(n_features), covariance)


def gaussian8_sample(n, rng):
    return _gaussian8().rvs(n, random_state=rng).reshape(n, 8)


def gaussian8_logpdf(X):
    return np.atleast_1d(_gaussian8().logpdf(X))


KNOWN = {
    "banana": (banana_sample, banana_logpdf),
    "ring of 8 Gaussians": (ring_sample, ring_logpdf),
    "8-D correlated Gaussian": (gaussian8_sample, gaussian8_logpdf),
}


def _models(random_state=0):
    return {
        "RBIG (pca)": RBIGDestructor(random_state=random_state),
        "RBIG (random)": RBIGDestructor(rotation="random", random_state=random_state),
        "marginal only": MarginalDestructor(),
        "Gaussian": GaussianDestructor(),
    }


def quality(n_train, random_state=0, verbose=True):
    rows = []
    for name, (sample, logpdf) in KNOWN.items():
        rng = np.random.RandomState(random_state)
        X = sample(n_train + n_train // 4, rng)
        X_train, X_test = X[:n_train], X[n_train:]
        truth = float(np.mean(logpdf(X_test)))
        for model_name, model in _models(random_state).items():
            fit_seconds, _ = _report.timed(partial(model.fit, X_train))
            score = float(np.mean(model.score_samples(X_test)))
            row = {
                "dataset": name, "model": model_name, "n_train": n_train,
                "true_log_likelihood": truth, "test_log_likelihood": score,
                "kl_gap": truth - score, "fit_seconds": fit_seconds,
                "n_layers": getattr(model, "n_layers_", None),
            }
            rows.append(row)
            if verbose:
                print(f"{name:>24} {model_name:<14} KL gap {row['kl_gap']:7.4f}  "
                      f"fit {fit_seconds:6.2f} s", flush=True)
    return rows


# -------------------------------------------------------------------- speed
def _speed_data(n, d, rng):
    """Correlated, skewed data: mixed standard normals, one column exponentiated."""
    X = rng.standard_normal((n, d))
    X = X @ (np.eye(d) + 0.5 * np.tri(d, k=-1)).T
    X[:, 0] = np.exp(0.5 * X[:, 0])
    return X


def speed(sizes, dims, n_layers, random_state=0, verbose=True):
    rows = []
    for d in dims:
        for n in sizes:
            rng = np.random.RandomState(random_state)
            X = _speed_data(n, d, rng)
            repeats = 3 if n * d <= 10**5 else 1
            floor = _report.floor_seconds(X)
            model = RBIGDestructor(n_layers=n_layers, random_state=random_state)
            fit_s, _ = _report.timed(partial(model.fit, X), repeats)
            transform_s, _ = _report.timed(partial(model.transform, X), repeats)
            score_s, _ = _report.timed(partial(model.score_samples, X), repeats)
            per_iteration = transform_s / (n_layers + 1)
            row = {
                "n": n, "d": d, "n_layers": n_layers, "fit_seconds": fit_s,
                "transform_seconds": transform_s, "score_samples_seconds": score_s,
                "floor_seconds": floor, "iteration_seconds": per_iteration,
                "iteration_over_floor": per_iteration / floor,
                "fit_iteration_over_floor": fit_s / (n_layers + 1) / floor,
            }
            rows.append(row)
            if verbose:
                print(
                    f"n={n:>8} d={d:>3}  fit {fit_s:8.3f} s  transform {transform_s:8.3f} s  "
                    f"score {score_s:8.3f} s  floor {floor:7.4f} s  iteration/floor "
                    f"{row['iteration_over_floor']:6.1f}",
                    flush=True,
                )
    return rows


def growth(rows):
    """Least-squares slope of log time against log n, per d."""
    out = []
    for d in dict.fromkeys(r["d"] for r in rows):
        block = [r for r in rows if r["d"] == d]
        if len(block) < 2:
            continue
        log_n = np.log([r["n"] for r in block])
        entry = {"d": d}
        for key in ("fit_seconds", "transform_seconds", "score_samples_seconds", "floor_seconds"):
            entry[key.replace("_seconds", "_exponent")] = float(np.polyfit(log_n, np.log([r[key] for r in block]), 1)[0])
        out.append(entry)
    return out


def markdown(speed_rows, growth_rows, quality_rows):
    lines = [
        "### RBIG speed (histogram marginals, PCA rotations)", "",
        (f"Fit includes the noise-floor simulation of `tol=\"auto\"`; the floor is one n x d matmul "
         f"plus one `np.interp` per feature ({_report.FLOOR_KNOTS} knots), measured in the same run."), "",
        "| n | d | iterations | fit s | transform s | score_samples s | floor s | iteration / floor | fit per iteration / floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in speed_rows:
        lines.append(
            f"| {r['n']:,} | {r['d']} | {r['n_layers']} | {r['fit_seconds']:.3f} | {r['transform_seconds']:.3f} | "
            f"{r['score_samples_seconds']:.3f} | {r['floor_seconds']:.4f} | {r['iteration_over_floor']:.1f} | "
            f"{r['fit_iteration_over_floor']:.1f} |"
        )
    if growth_rows:
        lines += ["", "Growth exponent in n (slope of log time against log n; 1 is linear):", "",
                  "| d | fit | transform | score_samples | floor |", "|---|---|---|---|---|"]
        for g in growth_rows:
            lines.append(f"| {g['d']} | {g['fit_exponent']:.2f} | {g['transform_exponent']:.2f} | "
                         f"{g['score_samples_exponent']:.2f} | {g['floor_exponent']:.2f} |")
    lines += ["", "### RBIG quality on known densities (KL gap = mean log p_true - log q, held out)", "",
              "| data | model | n_train | true log-lik | test log-lik | KL gap | iterations | fit s |",
              "|---|---|---|---|---|---|---|---|"]
    for r in quality_rows:
        layers = "" if r["n_layers"] is None else r["n_layers"]
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['n_train']:,} | {r['true_log_likelihood']:.3f} | "
            f"{r['test_log_likelihood']:.3f} | {r['kl_gap']:.4f} | {layers} | {r['fit_seconds']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = _report.family_parser(__doc__, RESULTS)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="numbers of rows (default 1e4 1e5 1e6)")
    parser.add_argument("--dims", type=int, nargs="+", default=None, help="numbers of features (default 2 10 50)")
    parser.add_argument("--n-layers", type=int, default=5, help="RBIG iterations in the speed runs")
    parser.add_argument("--n-train", type=int, default=None, help="training rows of the quality runs (default 20000)")
    args = parser.parse_args(argv)
    if args.render is not None:
        results = _report.load(args.render)
        table = markdown(results["speed"], results["growth"], results["quality"])
        print(_report.write_markdown(args.render, table, TITLE))
        return 0

    sizes = args.sizes or ([1000, 10_000] if args.quick else [10_000, 100_000, 1_000_000])
    dims = args.dims or ([2, 10] if args.quick else [2, 10, 50])
    n_train = args.n_train or (2000 if args.quick else 20_000)

    speed_rows = speed(sizes, dims, args.n_layers)
    growth_rows = growth(speed_rows)
    quality_rows = quality(n_train)
    table = markdown(speed_rows, growth_rows, quality_rows)
    print()
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "benchmark": "rbig", "quick": args.quick, "machine": platform.platform(),
        "processor": platform.processor(), "speed": speed_rows, "growth": growth_rows,
        "quality": quality_rows,
    }, indent=2))
    _report.write_markdown(args.output, table, TITLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
