"""Benchmark of KDEDensity: speed against HistogramDensity, accuracy, likelihood.

Three measurements:

1. Speed. ``KDEDensity`` and ``HistogramDensity`` (the library's default
   univariate density) are fitted to ``n`` standard normal values and map
   100,000 held-out values forward (``_to_normal``: log density, log CDF and
   log SF, as MarginalDestructor uses them) and back (``_from_normal``).
   Times are the best of three runs and are reported as ratios to the
   histogram measured in the same run; scikit-learn's exact
   ``KernelDensity.score_samples`` (log density only) is timed on up to
   2,000 values for context, per value.
2. Accuracy. The largest error of ``logpdf``, ``logcdf`` and ``logsf``
   against the brute-force sum over every training point, on several data
   shapes and bandwidths, in the bulk, near the edges (0 to 14 bandwidths
   out) and far out (50 bandwidths and 10 data ranges). Errors are absolute
   in log space (relative in the values), relative where the log is huge.
3. Likelihood. Held-out mean log-likelihood of ``KDEDensity`` and of
   scikit-learn's ``KernelDensity`` with the same bandwidth (and of the
   histogram for context) on a few distributions.

Run ``python benchmarks/bench_kde.py [--quick]``; it prints Markdown tables
and writes ``benchmarks/results/kde.json``.
"""

import time
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.special import log_ndtr, logsumexp
from sklearn.neighbors import KernelDensity

from destructors import HistogramDensity, KDEDensity

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_kde.py
    import _report

TITLE = "## KDEDensity: speed, accuracy and likelihood (`python -m benchmarks.bench_kde`)"
RESULTS = Path(__file__).resolve().parent / "results" / "kde.json"
LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _best(func, repeats=3):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def brute_force(x_train, bandwidth, x):
    """Exact ``(log_pdf, log_cdf, log_sf)``: every training point, every test point."""
    out = []
    for part in np.array_split(x, max(1, len(x) * len(x_train) // 2_000_000)):
        u = (part[:, None] - x_train[None, :]) / bandwidth
        out.append(
            (
                logsumexp(-0.5 * u * u, axis=1) - LOG_SQRT_2PI - np.log(bandwidth),
                logsumexp(log_ndtr(u), axis=1),
                logsumexp(log_ndtr(-u), axis=1),
            )
        )
    log_n = np.log(len(x_train))
    return [np.concatenate(values) - log_n for values in zip(*out)]


# -------------------------------------------------------------------- speed
def speed(sizes, n_test=100_000, seed=0):
    rng = np.random.RandomState(seed)
    test = rng.standard_normal(n_test)
    z = rng.standard_normal(n_test)
    rows = []
    for n in sizes:
        x = rng.standard_normal(n)
        row = {"n_train": n}
        for name, make in (("kde", KDEDensity), ("histogram", HistogramDensity)):
            density = make().fit(x)
            row[f"{name}_fit_s"] = _best(lambda: make().fit(x))
            row[f"{name}_forward_s"] = _best(lambda: density._to_normal(test))
            row[f"{name}_inverse_s"] = _best(lambda: density._from_normal(z))
        kde = KDEDensity().fit(x)
        row["kde_grid_nodes"] = int(kde.kde_.n_nodes)
        exact = KernelDensity(bandwidth=kde.bandwidth_).fit(x[:, None])
        n_exact = max(100, min(2000, 2 * 10**8 // n))  # keep the exact sums to seconds
        row["sklearn_score_values"] = n_exact
        row["sklearn_score_s"] = _best(lambda: exact.score_samples(test[:n_exact, None]), repeats=1)
        for step in ("fit", "forward", "inverse"):
            row[f"{step}_ratio"] = row[f"kde_{step}_s"] / row[f"histogram_{step}_s"]
        row["sklearn_per_value_over_kde_forward"] = (row["sklearn_score_s"] / n_exact) / (
            row["kde_forward_s"] / n_test
        )
        rows.append(row)
    return rows


# ----------------------------------------------------------------- accuracy
def _shapes(n, rng):
    return {
        "normal": rng.standard_normal(n),
        "bimodal": np.where(rng.uniform(size=n) < 0.3, rng.normal(-3, 0.3, n), rng.normal(1, 1, n)),
        "exponential": rng.exponential(size=n),
        "cauchy": rng.standard_cauchy(n),
        "poisson (ties)": rng.poisson(2.0, size=n).astype(float),
        "discrete, spread": 10.0 * rng.randint(0, 20, size=n),
        "constant": np.full(n, 2.5),
    }


def accuracy(sizes, seed=0):
    rng = np.random.RandomState(seed)
    worst = {}
    for n in sizes:
        for shape, x in _shapes(n, rng).items():
            for bandwidth in ("scott", "silverman", 0.02, 3.0):
                density = KDEDensity(bandwidth=bandwidth).fit(x)
                h = density.bandwidth_
                lo, hi = x.min(), x.max()
                span = max(hi - lo, h)
                regions = {
                    "bulk": rng.choice(x, 600) + rng.normal(0.0, h, 600),
                    "edges (0-14 h out)": np.concatenate(
                        [lo - rng.uniform(0, 14, 300) * h, hi + rng.uniform(0, 14, 300) * h]
                    ),
                    "far (50 h, 10 ranges, 1e4 ranges)": np.array(
                        [lo - 50 * h, hi + 50 * h, lo - 10 * span, hi + 10 * span, lo - 1e4 * span, hi + 1e4 * span]
                    ),
                }
                for region, points in regions.items():
                    expected = brute_force(np.sort(x), h, points)
                    got = (density.logpdf(points), density.logcdf(points), density.logsf(points))
                    for name, a, b in zip(("logpdf", "logcdf", "logsf"), got, expected):
                        error = float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
                        key = (region, name)
                        if error >= worst.get(key, (-1.0,))[0]:
                            worst[key] = (error, f"{shape}, n={n}, bandwidth={bandwidth}")
    return [
        {"region": region, "quantity": name, "max_error": error, "where": where}
        for (region, name), (error, where) in sorted(worst.items())
    ]


# --------------------------------------------------------------- likelihood
def likelihood(n_train, n_test, seed=0):
    rng = np.random.RandomState(seed)
    distributions = {
        "normal": stats.norm(),
        "bimodal 0.3 N(-3, 0.3) + 0.7 N(1, 1)": None,
        "lognormal (s=1)": stats.lognorm(1.0),
        "student t (3 dof)": stats.t(3),
    }
    rows = []
    for name, dist in distributions.items():
        if dist is None:
            n = n_train + n_test
            values = np.where(rng.uniform(size=n) < 0.3, rng.normal(-3, 0.3, n), rng.normal(1, 1, n))
            true = np.log(0.3 * stats.norm.pdf(values, -3, 0.3) + 0.7 * stats.norm.pdf(values, 1, 1))
        else:
            values = dist.rvs(n_train + n_test, random_state=rng)
            true = dist.logpdf(values)
        x, test = values[:n_train], values[n_train:]
        for rule in ("scott", "silverman"):
            kde = KDEDensity(bandwidth=rule).fit(x)
            exact = KernelDensity(bandwidth=kde.bandwidth_).fit(x[:, None])
            ours = kde.logpdf(test)
            theirs = exact.score_samples(test[:, None])
            rows.append(
                {
                    "distribution": name,
                    "bandwidth": rule,
                    "h": kde.bandwidth_,
                    "kde_loglik": float(ours.mean()),
                    "sklearn_loglik": float(theirs.mean()),
                    "max_abs_diff": float(np.max(np.abs(ours - theirs))),
                    "histogram_loglik": float(HistogramDensity().fit(x).logpdf(test).mean()),
                    "true_loglik": float(true[n_train:].mean()),
                }
            )
    return rows


# -------------------------------------------------------------------- main
def _table(rows, columns, formats):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[c]) for c, fmt in zip(columns, formats)) + " |")
    return "\n".join(lines)


def _print_tables(results):
    print("### Speed (ratios to HistogramDensity, same run; 100,000 values forward and back)\n")
    print(
        _table(
            results["speed"],
            ["n_train", "kde_fit_s", "fit_ratio", "kde_forward_s", "forward_ratio", "kde_inverse_s",
             "inverse_ratio", "sklearn_per_value_over_kde_forward", "kde_grid_nodes"],
            ["{:,}", "{:.4f}", "{:.2f}", "{:.4f}", "{:.2f}", "{:.4f}", "{:.2f}", "{:.0f}", "{:,}"],
        )
    )
    print("\n### Largest error against brute force (log space)\n")
    print(_table(results["accuracy"], ["region", "quantity", "max_error", "where"], ["{}", "{}", "{:.1e}", "{}"]))
    print("\n### Held-out mean log-likelihood (nats), same bandwidth as scikit-learn\n")
    print(
        _table(
            results["likelihood"],
            ["distribution", "bandwidth", "h", "kde_loglik", "sklearn_loglik", "max_abs_diff",
             "histogram_loglik", "true_loglik"],
            ["{}", "{}", "{:.4f}", "{:.6f}", "{:.6f}", "{:.1e}", "{:.4f}", "{:.4f}"],
        )
    )


def main(argv=None):
    args = _report.family_parser(__doc__, RESULTS).parse_args(argv)
    if args.render is not None:
        _report.render(args.render, _print_tables, TITLE)
        return 0
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    results = {
        "speed": speed(sizes),
        "accuracy": accuracy([500] if args.quick else [500, 2000]),
        "likelihood": likelihood(2000 if args.quick else 5000, 5000 if args.quick else 20000),
    }
    _report.save(results, args.output, _print_tables, TITLE)
    return results


if __name__ == "__main__":
    main()
