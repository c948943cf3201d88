"""Benchmark of the Gaussian mixture destructor: inversion cost and two moons.

Two measurements:

1. Inversion cost. A 10-component mixture is fitted to 8-D data drawn from a
   10-cluster mixture; ``inverse_transform`` of ``n_rows`` rows is timed as a
   ratio to ``transform`` of the same rows in the same run (target: at most
   20x). For context, a scalar root finder per value (``scipy.optimize.brentq``
   on each conditional CDF, as older destructor libraries do) is timed on a
   few rows and projected to ``n_rows``.
2. Two moons (``make_moons``, noise 0.05; 20,000 training and 5,000 test rows
   from one draw). Held-out mean log-likelihood of the true density (the
   exact mixture of the noise Gaussians around make_moons' grid points),
   scikit-learn's GaussianMixture and GaussianMixtureDestructor with
   ``n_components`` chosen on a validation split of the training rows and
   refitted on all of them, and stacks with the destructor as first layer.

Run ``python benchmarks/bench_mixture.py [--quick]``; it prints Markdown
tables and writes ``benchmarks/results/mixture.json``.
"""

import warnings
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from destructors import (
    CompositeDestructor,
    GaussianMixtureDestructor,
    MarginalDestructor,
    SplineDensity,
)

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_mixture.py
    import _report

TITLE = "## Mixture destructors: inversion cost and two moons (`python -m benchmarks.bench_mixture`)"
RESULTS = Path(__file__).resolve().parent / "results" / "mixture.json"
NOISE = 0.05


# ------------------------------------------------------------ inversion cost
def _mixture_sampler(n_features, n_components, rng):
    """A random mixture of correlated Gaussian clusters, as a sampling function."""
    means = rng.normal(0.0, 3.0, (n_components, n_features))
    mixing = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)
    mixing += 0.3 * np.eye(n_features)

    def sample(n_samples):
        labels = rng.randint(n_components, size=n_samples)
        noise = rng.standard_normal((n_samples, n_features))
        return means[labels] + np.einsum("nij,nj->ni", mixing[labels], noise)

    return sample


def _scalar_inverse(model, Z_rows):
    """Invert one value at a time with brentq, as a per-value root finder does.

    Each value solves ``Phi^-1(F(x | x_prev)) = z`` in the Gaussian view with
    the same conditional kernel as the vectorized solver and a bracket found
    by doubling, so the comparison is one of vectorization only.
    """
    sweep = model.density_.conditional_sweep(model.order_, len(Z_rows))
    X = np.empty_like(Z_rows)
    for j in model.order_:
        for i in range(len(Z_rows)):
            row = np.array([i])

            def gap(x, target=Z_rows[i, j], row=row):
                return sweep._z_and_log_slope(np.array([x]), row)[0][0] - target

            lo, hi = -1.0, 1.0
            for _ in range(1100):
                if gap(lo) <= 0:
                    break
                lo *= 2.0
            for _ in range(1100):
                if gap(hi) >= 0:
                    break
                hi *= 2.0
            X[i, j] = brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12)
        sweep.condition(X[:, j])
    return X


def bench_inversion(n_rows, n_scalar, repeats, random_state=0):
    rng = np.random.RandomState(random_state)
    n_features, n_components = 8, 10
    sample = _mixture_sampler(n_features, n_components, rng)
    X_train = sample(20000)
    model = GaussianMixtureDestructor(
        n_components, random_state=random_state, output_distribution="normal"
    ).fit(X_train)
    X = sample(n_rows)
    forward, Z = _report.timed(partial(model.transform, X), repeats)
    inverse, back = _report.timed(partial(model.inverse_transform, Z), repeats)
    error = float(np.max(np.abs(back - X) / np.maximum(np.abs(X), 1.0)))
    scalar, scalar_back = _report.timed(partial(_scalar_inverse, model, Z[:n_scalar]))
    agreement = float(np.max(np.abs(scalar_back - back[:n_scalar]) / np.maximum(np.abs(X[:n_scalar]), 1.0)))
    projected = scalar * n_rows / n_scalar
    return {
        "n_rows": n_rows,
        "n_features": n_features,
        "n_components": n_components,
        "transform_seconds": forward,
        "inverse_seconds": inverse,
        "inverse_over_transform": inverse / forward,
        "max_relative_round_trip_error": error,
        "scalar_rows_timed": n_scalar,
        "scalar_projected_seconds": projected,
        "scalar_over_vectorized_inverse": projected / inverse,
        "scalar_vs_vectorized_max_relative_difference": agreement,
    }


# ---------------------------------------------------------------- two moons
def true_moons_log_density(X, n_grid):
    """Exact log density of make_moons(n_grid, noise=0.05): a mixture of grid Gaussians."""
    grid, _ = make_moons(n_grid, noise=None, shuffle=False)
    out = np.empty(len(X))
    log_norm = -np.log(n_grid) - np.log(2.0 * np.pi * NOISE**2)
    for start in range(0, len(X), 256):
        block = X[start : start + 256]
        sq = ((block[:, None, :] - grid[None, :, :]) ** 2).sum(axis=2)
        out[start : start + 256] = logsumexp(-0.5 * sq / NOISE**2, axis=1) + log_norm
    return out


def _choose_components(make, grid, X_fit, X_val):
    scores = {}
    for k in grid:
        scores[k] = float(make(k).fit(X_fit).score(X_val))
    return max(scores, key=scores.get), scores


def bench_moons(n_train, n_test, grid, random_state=0):
    n_total = n_train + n_test
    X, _ = make_moons(n_total, noise=NOISE, random_state=random_state)
    X_train, X_test = X[:n_train], X[n_train:]
    n_fit = int(0.8 * n_train)
    X_fit, X_val = X_train[:n_fit], X_train[n_fit:]
    rows = []

    true_scores = true_moons_log_density(X_test, n_total)
    rows.append({"model": "true density", "n_components": None, "test": float(true_scores.mean())})

    def sklearn_mixture(k):
        return GaussianMixture(k, random_state=random_state)

    def destructor(k):
        return GaussianMixtureDestructor(k, random_state=random_state)

    for name, make in (("GaussianMixture (scikit-learn)", sklearn_mixture), ("GaussianMixtureDestructor", destructor)):
        k, validation = _choose_components(make, grid, X_fit, X_val)
        seconds, model = _report.timed(partial(_fit, make(k), X_train))
        rows.append({
            "model": name, "n_components": k, "test": float(model.score(X_test)),
            "fit_seconds": seconds, "validation_scores": validation,
        })
    chosen = rows[-1]["n_components"]
    same = np.allclose(model.score_samples(X_test), model.density_.score_samples(X_test), rtol=1e-10)
    rows[-1]["equals_own_mixture"] = bool(same)

    stacks = {
        "GMM destructor + spline marginals": CompositeDestructor([
            ("mixture", destructor(chosen)), ("marginal", MarginalDestructor(SplineDensity())),
        ]),
    }
    try:
        from destructors import DeepDestructor
    except ImportError:  # the deep destructor lands separately
        DeepDestructor = None
    if DeepDestructor is not None:
        stacks["DeepDestructor(init=GMM destructor, refit)"] = DeepDestructor(
            init_destructor=destructor(chosen), refit=True, random_state=random_state
        )
    for name, model in stacks.items():
        seconds, model = _report.timed(partial(_fit, model, X_train))
        row = {"model": name, "n_components": chosen, "test": float(model.score(X_test)), "fit_seconds": seconds}
        if hasattr(model, "n_layers_"):
            row["n_layers"] = int(model.n_layers_)
        rows.append(row)
    baseline = rows[1]["fit_seconds"]
    for row in rows[1:]:
        row["fit_over_gaussian_mixture"] = row["fit_seconds"] / baseline
    return {"n_train": n_train, "n_test": n_test, "grid": list(grid), "rows": rows}


def _fit(model, X):
    return model.fit(X)


# ------------------------------------------------------------------- report
def _print_tables(results):
    inv = results["inversion"]
    print(f"\n### Inversion cost: {inv['n_rows']} rows, {inv['n_components']}-component "
          f"{inv['n_features']}-D mixture\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| transform | {inv['transform_seconds']:.3f} s (baseline, 1x) |")
    print(f"| inverse_transform | {inv['inverse_seconds']:.3f} s, "
          f"**{inv['inverse_over_transform']:.1f}x** transform (target <= 20x) |")
    print(f"| scalar brentq per value, projected from {inv['scalar_rows_timed']} rows | "
          f"{inv['scalar_projected_seconds']:.1f} s, "
          f"{inv['scalar_over_vectorized_inverse']:.0f}x the vectorized inverse |")
    print(f"| max relative round-trip error | {inv['max_relative_round_trip_error']:.1e} |")
    print(f"| max relative difference, scalar vs vectorized inverse | "
          f"{inv['scalar_vs_vectorized_max_relative_difference']:.1e} |")
    moons = results["moons"]
    print(f"\n### Two moons (noise {NOISE}, {moons['n_train']} train / {moons['n_test']} test), "
          "held-out mean log-likelihood\n")
    print("| model | n_components | test (nats) | fit time (x GaussianMixture) |")
    print("|---|---|---|---|")
    for row in moons["rows"]:
        k = "" if row["n_components"] is None else row["n_components"]
        layers = f" ({row['n_layers']} layers after the first)" if "n_layers" in row else ""
        ratio = f"{row['fit_over_gaussian_mixture']:.1f}x" if "fit_over_gaussian_mixture" in row else ""
        print(f"| {row['model']}{layers} | {k} | {row['test']:.4f} | {ratio} |")


def main(argv=None):
    args = _report.family_parser(__doc__, RESULTS).parse_args(argv)
    if args.render is not None:
        _report.render(args.render, _print_tables, TITLE)
        return 0
    if args.quick:
        settings = dict(n_rows=20000, n_scalar=20, repeats=1, n_train=4000, n_test=1000, grid=(10, 20))
    else:
        settings = dict(
            n_rows=100000, n_scalar=200, repeats=3, n_train=20000, n_test=5000, grid=(10, 20, 30, 40, 60)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = {
            "quick": args.quick,
            "inversion": bench_inversion(settings["n_rows"], settings["n_scalar"], settings["repeats"]),
            "moons": bench_moons(settings["n_train"], settings["n_test"], settings["grid"]),
        }
    _report.save(results, args.output, _print_tables, TITLE)
    print(f"\nResults written to {args.output}")
    return results


if __name__ == "__main__":
    main()
