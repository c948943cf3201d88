"""Benchmark of tree destructors: quality on known densities, scoring speed, fitting cost.

Three measurements, all in one run:

1. Quality. Two 2-D cases with exact densities: a checkerboard of uniform
   squares (hard edges; 8 of the 16 squares of [-2, 2]^2, log density
   ``-log 8`` on them) and two moons (``make_moons``, noise 0.05, smooth; the
   exact density is the mixture of the noise Gaussians around make_moons'
   grid points of the draw). The KL gap ``mean(log p_true - log q)`` on
   held-out rows is compared for

   - a stack of tree destructors, built as ``CompositeDestructor`` of a
     ``MarginalDestructor`` followed by ``TreeDestructor`` layers (a plain
     composite: ``DeepDestructor`` is not used), with best-split trees and
     with random trees; the number of tree layers is chosen on validation;
   - scikit-learn's ``GaussianMixture`` (``n_components`` chosen on
     validation) and ``KernelDensity`` (bandwidth chosen on validation).

   Every model is tuned on the last 20% of the training rows and refitted on
   all of them with the chosen setting.
2. Scoring throughput. ``score_samples`` of a fitted stack of 50 random-tree
   layers (64 leaves each, unpruned) after a marginal layer on 5,000 rows,
   as a ratio to the numpy floor for the same work timed in the same run:
   for every level of every layer's tree, one ``searchsorted`` of a column
   of the rows into 63 sorted edges and one ``take`` over the rows (target:
   at most 2x). Descending a tree is that work per level; the layers also
   convert every element with ``ndtr`` and ``ndtri`` (the Gaussian-view
   layer contract) and apply the leaf's linear map, which the floor leaves
   out. For context, the floor plus one ``ndtr`` and one ``ndtri`` per
   element and layer is timed too.
3. Fitting cost growth. Fit time of a best-split tree destructor and of a
   10-layer random-tree stack at doubling ``n``; the exponent is the slope of
   log time against log ``n``.

Run ``python benchmarks/bench_tree.py [--quick]``; it prints Markdown tables
and writes ``benchmarks/results/tree.json``.
"""

import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KernelDensity

from destructors import CompositeDestructor, MarginalDestructor, TreeDensity, TreeDestructor

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_tree.py
    import _report

TITLE = "## Tree destructors: quality, scoring throughput, fitting cost (`python -m benchmarks.bench_tree`)"
RESULTS = Path(__file__).resolve().parent / "results" / "tree.json"
NOISE = 0.05


# ------------------------------------------------------------------- data
def checkerboard(n_samples, rng, k=4):
    """Uniform on the k^2 / 2 even squares of a k x k board on [-k/2, k/2]^2.

    Returns the rows and a function giving their exact log density.
    """
    cells = np.array([(i, j) for i in range(k) for j in range(k) if (i + j) % 2 == 0], float)
    X = cells[rng.randint(len(cells), size=n_samples)] + rng.uniform(size=(n_samples, 2)) - k / 2

    def log_density(A):
        cell = np.floor(A + k / 2)
        inside = np.all((cell >= 0) & (cell < k), axis=1) & (cell.sum(axis=1) % 2 == 0)
        with np.errstate(divide="ignore"):
            return np.where(inside, -np.log(len(cells)), -np.inf)

    return X, log_density


def two_moons(n_samples, rng):
    """``make_moons`` with noise 0.05, and its exact log density.

    make_moons puts ``n_samples`` grid points on the two half circles and adds
    N(0, 0.05^2 I) noise, so a row of the shuffled draw has the density of
    the equal mixture of those Gaussians.
    """
    X, _ = make_moons(n_samples, noise=NOISE, random_state=rng.randint(2**31 - 1))
    grid, _ = make_moons(n_samples, noise=0.0, shuffle=False)

    def log_density(A):
        out = []
        for block in np.array_split(A, max(1, len(A) * len(grid) // 2**22)):
            d2 = ((block[:, None, :] - grid[None]) ** 2).sum(axis=-1)
            out.append(logsumexp(-d2 / (2 * NOISE**2), axis=1))
        return np.concatenate(out) - np.log(len(grid)) - np.log(2 * np.pi * NOISE**2)

    return X, log_density


DATASETS = {"checkerboard": checkerboard, "two_moons": two_moons}


# ----------------------------------------------------------------- models
def _tree_stack(template, n_layers, seed=0):
    steps = [("marginal", MarginalDestructor())]
    steps += [(f"tree{i}", TreeDestructor(template, random_state=seed + i)) for i in range(n_layers)]
    return CompositeDestructor(steps)


def _stack_curve(model, X):
    """Mean log-likelihood of ``X`` after the marginal layer and after each tree layer."""
    first = model.layers_[0]
    Z = first.transform(X)
    log_det = first.score_samples(X) - _norm_logpdf(Z).sum(axis=1)
    curve = [np.mean(log_det + _norm_logpdf(Z).sum(axis=1))]
    for layer in model.layers_[1:]:
        score = layer.score_samples(Z)
        Z = layer.transform(Z)
        log_det += score - _norm_logpdf(Z).sum(axis=1)
        curve.append(np.mean(log_det + _norm_logpdf(Z).sum(axis=1)))
    return np.array(curve)


def _norm_logpdf(Z):
    return -0.5 * Z**2 - 0.5 * np.log(2 * np.pi)


def _split(X):
    n_val = max(1, len(X) // 5)
    return X[:-n_val], X[-n_val:]


def tune_tree_stack(template, max_layers, X):
    """Choose the number of tree layers on validation, refit on all rows."""
    X_fit, X_val = _split(X)
    curve = _stack_curve(_tree_stack(template, max_layers).fit(X_fit), X_val)
    n_layers = int(np.argmax(curve))
    return _tree_stack(template, n_layers).fit(X), f"tree layers: {n_layers}"


def tune_gaussian_mixture(X, sizes):
    X_fit, X_val = _split(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = [GaussianMixture(k, random_state=0).fit(X_fit).score(X_val) for k in sizes]
        k = sizes[int(np.argmax(scores))]
        return GaussianMixture(k, random_state=0).fit(X), f"n_components={k}"


def tune_kernel_density(X, bandwidths):
    X_fit, X_val = _split(X)
    scores = [KernelDensity(bandwidth=b).fit(X_fit).score_samples(X_val).mean() for b in bandwidths]
    b = float(bandwidths[int(np.argmax(scores))])
    return KernelDensity(bandwidth=b).fit(X), f"bandwidth={b:.3g}"


def quality(name, n_train, n_test, settings, seed=0):
    rng = np.random.RandomState(seed)
    X, log_density = DATASETS[name](n_train + n_test, rng)
    X_train, X_test = X[:n_train], X[n_train:]
    true = float(np.mean(log_density(X_test)))
    models = {
        "tree stack, best splits": lambda: tune_tree_stack(
            TreeDensity("best"), settings["best_layers"], X_train
        ),
        "tree stack, random splits": lambda: tune_tree_stack(
            TreeDensity("random", max_leaf_nodes=32, min_samples_leaf=20, validation_fraction=0.0),
            settings["random_layers"], X_train,
        ),
        "GaussianMixture, tuned": lambda: tune_gaussian_mixture(X_train, settings["gmm_sizes"]),
        "KernelDensity, tuned": lambda: tune_kernel_density(X_train, settings["bandwidths"]),
    }
    rows = []
    for model_name, make in models.items():
        start = time.perf_counter()
        model, chosen = make()
        seconds = time.perf_counter() - start
        score = float(np.mean(model.score_samples(X_test)))
        rows.append({
            "model": model_name, "chosen": chosen, "test_log_likelihood": score,
            "kl_gap": true - score, "tune_and_fit_seconds": seconds,
        })
    fastest = min(r["tune_and_fit_seconds"] for r in rows)
    for r in rows:
        r["tune_and_fit_relative"] = r["tune_and_fit_seconds"] / fastest
    return {"dataset": name, "n_train": n_train, "n_test": n_test, "true_log_likelihood": true, "rows": rows}


# ------------------------------------------------------------------ speed
def _numpy_floor(U, depths, n_leaves, rng, gaussian=False):
    """Per level of every layer's tree: one searchsorted of a column into sorted edges, one take over the rows."""
    n_rows, n_features = U.shape
    edges = [np.sort(rng.uniform(size=n_leaves - 1)) for _ in depths]
    tables = [rng.uniform(size=n_leaves) for _ in depths]
    columns = [np.ascontiguousarray(U[:, j]) for j in range(n_features)]
    values, work = np.empty(n_rows), np.empty_like(U)

    def run():
        for k, depth in enumerate(depths):
            column = columns[k % n_features]
            for _ in range(depth):
                np.take(tables[k], np.searchsorted(edges[k], column), out=values)
            if gaussian:
                ndtr(U, out=work)
                ndtri(work, out=work)
        return values

    return run


def throughput(n_rows, n_layers, n_leaves, n_train, repeats, seed=0):
    rng = np.random.RandomState(seed)
    X_train, _ = checkerboard(n_train, rng)
    template = TreeDensity("random", max_leaf_nodes=n_leaves, validation_fraction=0.0)
    start = time.perf_counter()
    model = _tree_stack(template, n_layers).fit(X_train)
    fit_seconds = time.perf_counter() - start
    X, _ = checkerboard(n_rows, rng)
    U = rng.uniform(size=X.shape)
    depths = [layer.tree_density_.depth_ for layer in model.layers_[1:]]
    floor = _numpy_floor(U, depths, n_leaves, rng)
    floor_gaussian = _numpy_floor(U, depths, n_leaves, rng, gaussian=True)
    times = {"score_samples": [], "floor": [], "floor_gaussian": []}
    for _ in range(repeats):  # interleaved, so that load on the machine hits all alike
        for key, func in (("floor", floor), ("score_samples", lambda: model.score_samples(X)),
                          ("floor_gaussian", floor_gaussian)):
            start = time.perf_counter()
            func()
            times[key].append(time.perf_counter() - start)
    best = {key: min(values) for key, values in times.items()}
    return {
        "n_rows": n_rows, "n_layers": n_layers, "n_leaves": n_leaves, "n_train": n_train,
        "mean_tree_depth": float(np.mean(depths)), "max_tree_depth": int(np.max(depths)),
        "levels": int(np.sum(depths)),
        "score_over_floor": best["score_samples"] / best["floor"],
        "score_over_gaussian_floor": best["score_samples"] / best["floor_gaussian"],
        "gaussian_floor_over_floor": best["floor_gaussian"] / best["floor"],
        "seconds": best, "fit_seconds": fit_seconds,
    }


def fit_scaling(sizes, seed=0):
    rng = np.random.RandomState(seed)
    X, _ = checkerboard(max(sizes), rng)
    fits = {
        "best-split tree (one layer)": lambda A: TreeDestructor(random_state=0).fit(
            MarginalDestructor().fit_transform(A)
        ),
        "random-tree stack (10 layers)": lambda A: _tree_stack(
            TreeDensity("random", max_leaf_nodes=32, validation_fraction=0.0), 10
        ).fit(A),
    }
    out = {}
    for name, fit in fits.items():
        seconds = []
        for n in sizes:
            best = np.inf
            for _ in range(2):
                start = time.perf_counter()
                fit(X[:n])
                best = min(best, time.perf_counter() - start)
            seconds.append(best)
        slope = float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])
        out[name] = {"n": list(sizes), "seconds": seconds, "exponent": slope,
                     "time_ratio": seconds[-1] / seconds[0], "size_ratio": sizes[-1] / sizes[0]}
    return out


# ------------------------------------------------------------------ report
def _print_tables(results):
    for q in results["quality"]:
        print(f"\n### {q['dataset']}: {q['n_train']} train / {q['n_test']} test, "
              f"true mean log-likelihood {q['true_log_likelihood']:.3f}")
        print("| model | chosen on validation | test log-lik | KL gap | tune + fit time (x fastest) |")
        print("|---|---|---|---|---|")
        for r in sorted(q["rows"], key=lambda r: r["kl_gap"]):
            print(f"| {r['model']} | {r['chosen']} | {r['test_log_likelihood']:.3f} | "
                  f"**{r['kl_gap']:.3f}** | {r['tune_and_fit_relative']:.1f}x |")
    t = results["throughput"]
    print(f"\n### Scoring throughput: {t['n_layers']} random-tree layers ({t['n_leaves']} leaves, "
          f"mean depth {t['mean_tree_depth']:.1f}, max {t['max_tree_depth']}) after a marginal layer, "
          f"{t['n_rows']} rows")
    print("| measure | ratio |")
    print("|---|---|")
    target = "within" if t["score_over_floor"] <= 2 else "**open work:** above"
    print(f"| score_samples / numpy floor (a searchsorted and a take over the rows per level of every "
          f"layer's tree, {t['levels']} levels) | **{t['score_over_floor']:.2f}x** ({target} the target of 2x) |")
    print(f"| floor + one ndtr and one ndtri per element and layer / floor | {t['gaussian_floor_over_floor']:.2f}x |")
    print(f"| score_samples / (floor + ndtr + ndtri) | {t['score_over_gaussian_floor']:.2f}x |")
    print("\n### Fitting cost growth in n (checkerboard)")
    print("| model | n | time ratio | size ratio | exponent |")
    print("|---|---|---|---|---|")
    for name, s in results["fit_scaling"].items():
        print(f"| {name} | {s['n'][0]}..{s['n'][-1]} | {s['time_ratio']:.1f}x | "
              f"{s['size_ratio']:.0f}x | **{s['exponent']:.2f}** |")


def main(argv=None):
    parser = _report.family_parser(__doc__, RESULTS)
    parser.add_argument("--n-train", type=int, default=None, help="training rows of the quality cases")
    parser.add_argument("--n-rows", type=int, default=None, help="rows scored in the throughput test")
    args = parser.parse_args(argv)
    if args.render is not None:
        _report.render(args.render, _print_tables, TITLE)
        return 0
    if args.quick:
        settings = {"best_layers": 3, "random_layers": 10, "gmm_sizes": [4, 16, 64],
                    "bandwidths": np.geomspace(0.02, 0.2, 4)}
        n_train, n_test, n_rows, n_layers, repeats = 4000, 2000, 5000, 50, 3
        sizes = [1000, 2000, 4000]
    else:
        settings = {"best_layers": 10, "random_layers": 100, "gmm_sizes": [4, 8, 16, 32, 64, 128],
                    "bandwidths": np.geomspace(0.01, 0.3, 8)}
        n_train, n_test, n_rows, n_layers, repeats = 20000, 5000, 5000, 50, 15
        sizes = [5000, 10000, 20000, 40000, 80000]
    n_train = args.n_train or n_train
    n_rows = args.n_rows or n_rows
    results = {
        "quality": [quality(name, n_train, n_test, settings) for name in DATASETS],
        "throughput": throughput(n_rows, n_layers, 64, n_train, repeats),
        "fit_scaling": fit_scaling(sizes),
        "quick": bool(args.quick),
    }
    _report.save(results, args.output, _print_tables, TITLE)
    return results


if __name__ == "__main__":
    main()
