"""Benchmark of RBIG: speed, held-out quality against GIS, information measures against peers.

Three sections (``--sections``, all by default):

1. ``speed``. ``RBIGDestructor(rotation="pca", n_layers=L)`` (default
   ``L = 5`` rotation + marginal iterations, histogram marginals,
   ``tol="auto"``) is fitted on standard-normal-mixed data of ``n`` rows and
   ``d`` features; fit, ``transform`` and ``score_samples`` of the same rows
   are timed. Their growth exponent in ``n`` is the least-squares slope of
   log time against log n (1 is linear). The cost of one iteration,
   ``transform`` time over ``L + 1`` (the first marginal layer counts as
   one), is reported as a ratio to a floor measured in the same run on the
   same array: one ``n x d`` matmul plus one ``np.interp`` per feature on 100
   knots, the least work a rotation-plus-marginal layer can do.
2. ``quality``. Held-out KL gap (mean of ``log p_true - log q`` over the
   held-out rows; 0 is the limit) on the known densities of
   :mod:`destructors.datasets` (``n_train`` training rows, ``n_train // 4``
   held out), including an 8-D Student-t with 3 degrees of freedom and a
   10-D mixture of 5 Gaussians, and held-out log-likelihood on digits,
   breast cancer and wine. ``RBIGDestructor()`` with its defaults is
   compared, in the same run, with the default before its histograms were
   smooth, had ``sqrt(n)`` bins and (later layers) shrank towards their
   fitted normal (commit 6f3159a), with the previous default (PCA
   rotations, unshrunk histograms, total-correlation stopping), with GIS (PyPI
   ``sinflow``, its defaults, optional) and with the marginal-only and
   Gaussian models. Everything runs once per seed (``--seeds``, 5): seed
   ``s`` draws the data, splits the tables and seeds the models. The tables
   give the mean over the seeds with its standard error and each seed's
   value, and RBIG's default against GIS paired seed by seed.
3. ``information``. Entropy, total correlation and mutual information of
   samples of ``--info-rows`` rows (10,000) from distributions with closed
   forms, ``--reps`` independent samples each: RBIG with ``return_std=True``
   (error, mean reported standard error, coverage of the interval
   ``estimate +- 1.96 std``), the same cross-fitted on three folds
   (``cross_fit=3``), Kozachenko-Leonenko entropy and KSG mutual
   information (PyPI ``infomeasure``, optional; ``k = 4``) and
   scikit-learn's ``mutual_info_regression`` for one-dimensional pairs, on
   the same samples, with their times.

Run ``python -m benchmarks.bench_rbig [--quick] [--sections ...]``; it prints
Markdown tables and writes ``benchmarks/results/rbig.json``. Sections not run
keep their results from the existing JSON file (the Markdown says which
commit measured them). An optional peer that is not installed is named on
stderr and under its section's table, whose rows for it are then missing
(``pip install "destructors[benchmarks]"`` installs them all).
"""

import json
import platform
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from scipy import integrate, stats

from destructors import GaussianDestructor, MarginalDestructor, RBIGDestructor, mutual_information
from destructors.datasets import (
    Banana,
    Checkerboard,
    CorrelatedGaussian,
    GaussianMixture,
    GaussianRing,
    StudentT,
    TwoMoons,
    load_benchmark,
)
from destructors.information import (
    _check_sample,
    _combine,
    _cross_fitted,
    _dependence_terms,
    _entropy_estimate,
    _entropy_terms,
    _estimators,
    _fold_seeds,
    _gaussianize,
    _groups,
    _nonnegative,
    _tc_estimate,
)

try:
    from . import _report
except ImportError:  # run as a script: python benchmarks/bench_rbig.py
    import _report

TITLE = "## RBIG: speed, quality against GIS, information measures (`python -m benchmarks.bench_rbig`)"
RESULTS = Path(__file__).resolve().parent / "results" / "rbig.json"
SECTIONS = ("speed", "quality", "information")


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ------------------------------------------------------------------ quality
KNOWN = {
    "8-D Student-t, 3 dof": StudentT(),
    "10-D mixture of 5 Gaussians": GaussianMixture(),
    "banana": Banana(),
    "ring of 8 Gaussians": GaussianRing(),
    "checkerboard": Checkerboard(),
    "8-D correlated Gaussian": CorrelatedGaussian(),
    "two moons": None,  # TwoMoons sized to the draw, as in load_benchmark
}
REAL = ("digits", "breast_cancer", "wine")


class GIS:
    """GIS from PyPI ``sinflow`` (Dai & Seljak's sliced iterative flow), with its defaults.

    ``sinflow`` shuffles its input in place and draws from NumPy's global
    generator: it gets a copy, and the global state is seeded for the fit
    and restored after it.
    """

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X):
        import sinflow

        state = np.random.get_state()
        np.random.seed(self.random_state)
        try:
            self.flow_ = sinflow.Flow(random_state=self.random_state)
            self.flow_.fit(np.array(X, dtype=np.float64, copy=True))
        finally:
            np.random.set_state(state)
        self.n_layers_ = len(self.flow_.transforms)
        return self

    def score_samples(self, X):
        return self.flow_.log_prob(np.asarray(X, dtype=np.float64))


def _has(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# Optional peers (the benchmarks extra) and the rows each one gives, per section.
OPTIONAL_PEERS = {
    "quality": {"sinflow": "GIS"},
    "information": {"infomeasure": "Kozachenko-Leonenko entropy and KSG mutual information (infomeasure)"},
}


def missing_peers(section):
    """Optional peers of ``section`` that are not installed, as ``{module: rows}``; warns on stderr."""
    missing = {module: rows for module, rows in OPTIONAL_PEERS[section].items() if not _has(module)}
    for module, rows in missing.items():
        print(f"bench_rbig: {module} is not installed, so the {section} section has no {rows} rows; "
              'install it with pip install "destructors[benchmarks]".', file=sys.stderr)
    return missing


def _missing_peers_line(missing):
    if not missing:
        return []
    names = ", ".join(f"`{module}` ({rows})" for module, rows in missing.items())
    return [f"Not installed in this run, so without their rows: {names}.", ""]


def _models(random_state=0):
    models = {
        "RBIG (default)": lambda: RBIGDestructor(random_state=random_state),
        "RBIG (6f3159a default)": lambda: _straight_histograms(random_state),
        "RBIG (previous default)": lambda: _previous_default(random_state),
        "marginal only": MarginalDestructor,
        "Gaussian": GaussianDestructor,
    }
    if _has("sinflow"):
        models["GIS (sinflow)"] = lambda: GIS(random_state)
    return models


def _previous_default(random_state):
    """The default before issue 18: PCA rotations, unshrunk histograms throughout, TC stopping."""
    from destructors.marginal import gaussian_view_marginal

    class PreviousDefault(RBIGDestructor):
        def _templates(self):
            _, _, rotation = super()._templates()
            return MarginalDestructor(), gaussian_view_marginal(), rotation

    return PreviousDefault(rotation="pca", validation_fraction=None, random_state=random_state)


def _straight_histograms(random_state):
    """The default of commit 6f3159a: straight histograms, NumPy's bins, later ones shrunk towards N(0, 1)."""
    from destructors import CompositeDestructor, GaussianDensity, HistogramDensity
    from destructors.marginal import gaussian_view_marginal

    class StraightHistograms(RBIGDestructor):
        def _templates(self):
            _, _, rotation = super()._templates()
            first = CompositeDestructor([
                ("standardize", MarginalDestructor(GaussianDensity())),
                ("histogram", MarginalDestructor(HistogramDensity(shrinkage="auto"))),
            ])
            return first, gaussian_view_marginal(shrinkage="auto"), rotation

    return StraightHistograms(random_state=random_state)


def _datasets(n_train, random_state, real=True):
    for name, density in KNOWN.items():
        if density is None:
            density = TwoMoons(n_grid=n_train + n_train // 4)
        X = density.sample(n_train + n_train // 4, random_state=random_state)
        yield name, X[:n_train], X[n_train:], density.log_density
    if real:
        for name in REAL:
            data = load_benchmark(name, random_state=random_state)
            yield name, data.X_train, data.X_test, None


def quality(n_train, seeds=(0,), verbose=True, real=True):
    """Held-out scores of every model on every data set, once per seed in ``seeds``.

    Seed ``s`` draws the synthetic data (and splits the real tables) with
    ``random_state=s`` and seeds every model with it, so the runs differ in
    both the sample and the fit: a single draw can favour one model.
    """
    rows = []
    for seed in seeds:
        models = _models(seed)
        for name, X_train, X_test, log_density in _datasets(n_train, seed, real):
            truth = float(np.mean(log_density(X_test))) if log_density is not None else None
            for model_name, make in models.items():
                model = make()
                fit_seconds, _ = _report.timed(partial(model.fit, X_train))
                log_q = model.score_samples(X_test)
                score = float(np.mean(log_q))
                row = {
                    "dataset": name, "model": model_name, "seed": seed, "n_train": len(X_train),
                    "n_features": X_train.shape[1], "true_log_likelihood": truth, "test_log_likelihood": score,
                    "kl_gap": None if truth is None else truth - score, "fit_seconds": fit_seconds,
                    "n_layers": getattr(model, "n_layers_", None), "n_minus_inf": int(np.sum(~np.isfinite(log_q))),
                }
                rows.append(row)
                if verbose:
                    gap = "" if truth is None else f"KL gap {row['kl_gap']:8.4f}"
                    print(f"seed {seed} {name:>28} {model_name:<20} log-lik {score:9.4f} {gap} "
                          f"fit {fit_seconds:6.2f} s layers {row['n_layers']}", flush=True)
    return rows


def _quality_value(row):
    """What the quality tables compare: the KL gap (lower is better) or, without a true density, minus the log-likelihood."""
    return row["kl_gap"] if row["kl_gap"] is not None else -row["test_log_likelihood"]


def quality_summary(rows):
    """Per data set and model: mean over seeds of the KL gap (or held-out log-likelihood), its standard error, time.

    Also, against GIS where it ran: the mean paired difference of RBIG's
    default minus GIS over the seeds (in KL gap, or in log-likelihood for the
    real tables, so that negative is better for RBIG in both), its standard
    error and the seeds RBIG won.
    """
    out = []
    keys = list(dict.fromkeys((r["dataset"], r["model"]) for r in rows))
    for dataset, model in keys:
        block = sorted((r for r in rows if (r["dataset"], r["model"]) == (dataset, model)),
                       key=lambda r: r.get("seed", 0))
        known = block[0]["kl_gap"] is not None
        values = np.array([r["kl_gap"] if known else r["test_log_likelihood"] for r in block])
        layers = [r["n_layers"] for r in block if r["n_layers"] is not None]
        out.append({
            "dataset": dataset, "model": model, "known": known, "n_train": block[0]["n_train"],
            "n_features": block[0].get("n_features"), "seeds": [r.get("seed", 0) for r in block],
            "values": values.tolist(), "mean": float(values.mean()),
            "se": float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else None,
            "mean_layers": float(np.mean(layers)) if layers else None,
            "mean_fit_seconds": float(np.mean([r["fit_seconds"] for r in block])),
        })
    return out


def head_to_head(rows, model="RBIG (default)", peer="GIS (sinflow)"):
    """Per data set, ``model`` against ``peer`` on the same seeds (see :func:`quality_summary`)."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        ours = {r.get("seed", 0): _quality_value(r) for r in rows if (r["dataset"], r["model"]) == (dataset, model)}
        theirs = {r.get("seed", 0): _quality_value(r) for r in rows if (r["dataset"], r["model"]) == (dataset, peer)}
        seeds = sorted(set(ours) & set(theirs))
        if not seeds:
            continue
        difference = np.array([ours[s] - theirs[s] for s in seeds])
        out.append({"dataset": dataset, "model": model, "peer": peer, "n_seeds": len(seeds),
                    "mean_difference": float(difference.mean()),
                    "se": float(difference.std(ddof=1) / np.sqrt(difference.size)) if difference.size > 1 else None,
                    "wins": int(np.sum(difference < 0))})
    return out


# -------------------------------------------------------------- information
def _random_covariance(d, rng):
    """Haar-random eigenvectors; eigenvalues spread geometrically over [0.1, 3]."""
    Q = stats.ortho_group.rvs(d, random_state=rng)
    return Q @ np.diag(np.geomspace(0.1, 3.0, d)) @ Q.T


def _mixing(d, rng):
    """Random mixing matrix with singular values in [0.5, 2]."""
    left, right = stats.ortho_group.rvs(d, random_state=rng), stats.ortho_group.rvs(d, random_state=rng)
    return left @ np.diag(np.exp(rng.uniform(np.log(0.5), np.log(2.0), d))) @ right


def _laplace_combination_entropy(weights):
    """Entropy of sum_k w_k L_k for independent standard Laplace L_k (partial fractions, quadrature)."""
    w = np.abs(weights)
    c = np.array([np.prod([w[k] ** 2 / (w[k] ** 2 - w[m] ** 2) for m in range(w.size) if m != k])
                  for k in range(w.size)])

    def integrand(x):
        density = np.sum(c / (2 * w) * np.exp(-x / w))
        return -density * np.log(density) if density > 0 else 0.0

    return 2 * integrate.quad(integrand, 0, np.inf, limit=200)[0]


def _gaussian_truths(cov):
    scale = np.sqrt(np.diag(cov))
    return {"entropy": 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1],
            "total_correlation": -0.5 * np.linalg.slogdet(cov / np.outer(scale, scale))[1]}


def gaussian_case(d):
    cov = _random_covariance(d, np.random.RandomState(d))
    return (lambda n, rng: rng.multivariate_normal(np.zeros(d), cov, size=n)), _gaussian_truths(cov)


def student_copula_case(d, dof=3.0):
    """A Student-t copula with exponential marginals: TC is that of the multivariate t."""
    rng = np.random.RandomState(100 + d)
    cov = _random_covariance(d, rng)
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    t = stats.multivariate_t(np.zeros(d), corr, df=dof)
    tc = d * stats.t(dof).entropy() - t.entropy()

    def sample(n, rng):
        return stats.expon.ppf(stats.t(dof).cdf(t.rvs(n, random_state=rng)))

    return sample, {"total_correlation": float(tc)}


def uniform_linear_case(d):
    A = _mixing(d, np.random.RandomState(200 + d))
    return (lambda n, rng: rng.uniform(size=(n, d)) @ A.T), {"entropy": float(np.linalg.slogdet(A)[1])}


def laplace_linear_case(d):
    A = _mixing(d, np.random.RandomState(300 + d))
    h = d * (1 + np.log(2)) + np.linalg.slogdet(A)[1]
    tc = sum(_laplace_combination_entropy(A[j]) for j in range(d)) - h
    return (lambda n, rng: rng.laplace(size=(n, d)) @ A.T), {"entropy": float(h), "total_correlation": float(tc)}


def gaussian_blocks_case(d_x, d_y):
    cov = _random_covariance(d_x + d_y, np.random.RandomState(400 + d_x + d_y))
    mi = 0.5 * (np.linalg.slogdet(cov[:d_x, :d_x])[1] + np.linalg.slogdet(cov[d_x:, d_x:])[1]
                - np.linalg.slogdet(cov)[1])
    return ((lambda n, rng: rng.multivariate_normal(np.zeros(d_x + d_y), cov, size=n)),
            {"mutual_information": float(mi)}, d_x)


def _information_cases(quick):
    dims = [5] if quick else [5, 10, 20]
    cases = [(f"Gaussian, {d}-D", *gaussian_case(d), None) for d in dims]
    cases += [
        ("Student-t copula (3 dof), exponential marginals, 5-D", *student_copula_case(5), None),
        ("uniform under a linear map, 5-D", *uniform_linear_case(5), None),
        ("Laplace mixed linearly, 5-D", *laplace_linear_case(5), None),
        ("Gaussian blocks 1 + 1", *gaussian_blocks_case(1, 1)),
        ("Gaussian blocks 5 + 5", *gaussian_blocks_case(5, 5)),
    ]
    return cases


def _rbig_entropy_and_tc(X, random_state, n_repeats=3):
    """Entropy and total correlation with standard errors from the same RBIG fits."""
    X = _check_sample(X, "X")
    models = [model.fit(X) for model in _estimators(None, random_state, {}, n_repeats, "benchmark")]
    fits = [(model, X) for model in models]
    tc = _combine([_tc_estimate(model, X) for model in models], True, fits)
    h = _combine([_entropy_estimate(model, X) for model in models], True, fits)
    return {"entropy": h, "total_correlation": tc}


CROSS_FIT_FOLDS = 3


def _rbig_cross_fitted(X, random_state, folds=CROSS_FIT_FOLDS):
    """Entropy and total correlation cross-fitted on ``folds`` folds (``cross_fit=folds``), from the same fits."""
    X = _check_sample(X, "X")
    models = _estimators(None, random_state, {}, folds, "benchmark")
    fits = []
    h, tc = _cross_fitted(models, X, (_entropy_terms, _dependence_terms), _fold_seeds(random_state, 1)[0], fits=fits)
    out = {"entropy": _combine([h], True, fits)}
    if X.shape[1] > 1:
        out["total_correlation"] = _combine([_nonnegative(tc)], True, fits)
    return out


def _peer_estimates(X, split):
    """Kozachenko-Leonenko entropy, KSG mutual information, scikit-learn's 1-D MI; with times."""
    out = {}
    if split is None and _has("infomeasure"):
        import infomeasure as im

        start = time.perf_counter()
        out["entropy"] = ("Kozachenko-Leonenko (infomeasure, k=4)",
                          float(im.entropy(X, approach="metric", k=4, base="e")), time.perf_counter() - start)
    if split is not None:
        if _has("infomeasure"):
            import infomeasure as im

            start = time.perf_counter()
            value = float(im.mutual_information(X[:, :split], X[:, split:], approach="metric", k=4, base="e"))
            out["mutual_information"] = ("KSG (infomeasure, k=4)", value, time.perf_counter() - start)
        if split == 1 and X.shape[1] == 2:
            from sklearn.feature_selection import mutual_info_regression

            start = time.perf_counter()
            value = float(mutual_info_regression(X[:, :1], X[:, 1], n_neighbors=4, random_state=0)[0])
            out["mutual_information_sklearn"] = ("KSG (sklearn mutual_info_regression, k=4)", value,
                                                 time.perf_counter() - start)
    return out


def information(n_rows, n_reps, quick=False, verbose=True):
    rows = []
    for case, sample, truths, split in _information_cases(quick):
        for rep in range(n_reps):
            rng = np.random.RandomState(1000 * rep + 7)
            X = sample(n_rows, rng)
            start = time.perf_counter()
            if split is None:
                estimates = _rbig_entropy_and_tc(X, random_state=rep)
            else:
                estimates = {"mutual_information": mutual_information(
                    X[:, :split], X[:, split:], random_state=rep, return_std=True)}
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            if split is None:
                crossed = _rbig_cross_fitted(X, random_state=rep)
            else:
                crossed = {"mutual_information": mutual_information(
                    X[:, :split], X[:, split:], random_state=rep, return_std=True, cross_fit=CROSS_FIT_FOLDS)}
            crossed_seconds = time.perf_counter() - start
            peers = _peer_estimates(X, split)
            for measure, truth in truths.items():
                for name, found, spent in (("RBIG", estimates, seconds),
                                           (f"RBIG cross-fitted ({CROSS_FIT_FOLDS} folds)", crossed, crossed_seconds)):
                    value, std = found[measure]
                    rows.append({"case": case, "measure": measure, "rep": rep, "n": n_rows, "d": X.shape[1],
                                 "truth": truth, "estimator": name, "estimate": value, "std": std,
                                 "covered": bool(abs(value - truth) <= 1.96 * std), "seconds": spent})
                value, std = estimates[measure]
                for key, (name, peer_value, peer_seconds) in peers.items():
                    if key.startswith(measure):
                        rows.append({"case": case, "measure": measure, "rep": rep, "n": n_rows,
                                     "d": X.shape[1], "truth": truth, "estimator": name,
                                     "estimate": peer_value, "std": None, "covered": None,
                                     "seconds": peer_seconds})
                if verbose:
                    others = "  ".join(f"{name.split(' (')[0]} {v:.4f}" for key, (name, v, _) in peers.items()
                                       if key.startswith(measure))
                    crossed_value, crossed_std = crossed[measure]
                    print(f"{case:<52} {measure:<18} rep {rep}: truth {truth:8.4f} RBIG {value:8.4f} "
                          f"+- {std:.4f} ({seconds:5.1f} s)  cross-fitted {crossed_value:8.4f} +- {crossed_std:.4f} "
                          f"({crossed_seconds:5.1f} s)  {others}", flush=True)
    return rows


def information_summary(rows):
    """Per case, measure and estimator: mean absolute error, its ratio to the truth, coverage, time."""
    keys = list(dict.fromkeys((r["case"], r["measure"], r["estimator"]) for r in rows))
    out = []
    for case, measure, estimator in keys:
        block = [r for r in rows if (r["case"], r["measure"], r["estimator"]) == (case, measure, estimator)]
        errors = np.array([r["estimate"] - r["truth"] for r in block])
        truth = block[0]["truth"]
        entry = {"case": case, "measure": measure, "estimator": estimator, "d": block[0]["d"],
                 "reps": len(block), "truth": truth, "mean_error": float(errors.mean()),
                 "mean_abs_error": float(np.abs(errors).mean()),
                 "max_abs_error": float(np.abs(errors).max()),
                 "within_5pct_or_0.02": int(np.sum(np.abs(errors) <= max(0.05 * abs(truth), 0.02))),
                 "mean_seconds": float(np.mean([r["seconds"] for r in block]))}
        if block[0]["std"] is not None:
            entry["mean_std"] = float(np.mean([r["std"] for r in block]))
            entry["coverage"] = float(np.mean([r["covered"] for r in block]))
        out.append(entry)
    return out


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
            model = RBIGDestructor(rotation="pca", n_layers=n_layers, random_state=random_state)
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


def _speed_markdown(speed_rows, growth_rows, commits):
    lines = [
        "### RBIG speed (histogram marginals, PCA rotations)", "",
        (f"Measured at commit {commits.get('speed', '?')}. Fit includes the noise-floor simulation of "
         f"`tol=\"auto\"`; the floor is one n x d matmul plus one `np.interp` per feature "
         f"({_report.FLOOR_KNOTS} knots), measured in the same run."), "",
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
    return lines


def _format_se(value):
    return "" if value is None else f" ({value:.4f})"


def _quality_markdown(quality_rows, commits, missing):
    summary = quality_summary(quality_rows)
    seeds = sorted({r.get("seed", 0) for r in quality_rows})
    lines = ["", "### Held-out quality: RBIG against GIS (KL gap = mean log p_true - log q, held out; lower is better)", "",
             (f"Measured at commit {commits.get('quality', '?')}, all models in the same run on the same rows, "
              f"seeds {', '.join(map(str, seeds))}: seed s draws the synthetic data (splits the real tables) and "
              "seeds every model. Mean over the seeds, its standard error in parentheses, then each seed's value. "
              "Real data sets have no true density: compare the held-out log-likelihoods (higher is better)."), "",
             *_missing_peers_line(missing),
             "| data | model | n_train | d | KL gap or test log-lik: mean (SE) | per seed | iterations | fit s |",
             "|---|---|---|---|---|---|---|---|"]
    for e in summary:
        layers = "" if e["mean_layers"] is None else f"{e['mean_layers']:.0f}"
        kind = "KL gap" if e["known"] else "log-lik"
        per_seed = ", ".join(f"{v:.4f}" if e["known"] else f"{v:.2f}" for v in e["values"])
        lines.append(
            f"| {e['dataset']} | {e['model']} | {e['n_train']:,} | {e.get('n_features') or ''} | "
            f"{kind} {e['mean']:.4f}{_format_se(e['se'])} | {per_seed} | {layers} | {e['mean_fit_seconds']:.2f} |"
        )
    duels = head_to_head(quality_rows)
    if duels:
        lines += ["", ("RBIG's default against GIS on the same seeds: mean difference in KL gap (in held-out "
                       "log-likelihood, sign flipped, on the real tables), so negative means RBIG is better; "
                       "standard error of the paired differences; seeds RBIG won."), "",
                  "| data | RBIG - GIS (SE) | RBIG better on |", "|---|---|---|"]
        for d in duels:
            lines.append(f"| {d['dataset']} | {d['mean_difference']:+.4f}{_format_se(d['se'])} | "
                         f"{d['wins']} of {d['n_seeds']} seeds |")
    return lines


def _information_markdown(summary, commits, n_rows, missing):
    lines = ["", "### Information measures against closed forms", "",
             (f"Measured at commit {commits.get('information', '?')}: {n_rows:,} rows per sample, the same "
              "samples for every estimator. RBIG: `return_std=True` (3 seeds); RBIG cross-fitted: "
              f"`cross_fit={CROSS_FIT_FOLDS}`, `return_std=True` (one fit per fold); coverage is the share of "
              "samples whose interval estimate +- 1.96 std holds the truth. Error: estimate - truth "
              "(mean over samples; mean of absolute values). 'Within' counts samples within 5% or 0.02 nats."), "",
             *_missing_peers_line(missing),
             "| case | measure | estimator | d | truth | mean error | mean abs error | within | mean std | coverage | s per estimate |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        std = f"{e['mean_std']:.4f}" if "mean_std" in e else ""
        coverage = f"{e['coverage']:.0%}" if "coverage" in e else ""
        lines.append(
            f"| {e['case']} | {e['measure'].replace('_', ' ')} | {e['estimator']} | {e['d']} | {e['truth']:.4f} | "
            f"{e['mean_error']:+.4f} | {e['mean_abs_error']:.4f} | {e['within_5pct_or_0.02']}/{e['reps']} | {std} | "
            f"{coverage} | {e['mean_seconds']:.2f} |"
        )
    return lines


def markdown(results):
    commits = results.get("commits", {})
    lines = []
    if results.get("speed"):
        lines += _speed_markdown(results["speed"], results.get("growth", []), commits)
    if results.get("quality"):
        lines += _quality_markdown(results["quality"], commits, results.get("missing_peers", {}).get("quality", {}))
    if results.get("information_summary"):
        lines += _information_markdown(results["information_summary"], commits, results.get("information_rows", 0),
                                       results.get("missing_peers", {}).get("information", {}))
    return "\n".join(lines)


def main(argv=None):
    parser = _report.family_parser(__doc__, RESULTS)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="sections to run; the others keep their results from --output")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="numbers of rows (default 1e4 1e5 1e6)")
    parser.add_argument("--dims", type=int, nargs="+", default=None, help="numbers of features (default 2 10 50)")
    parser.add_argument("--n-layers", type=int, default=5, help="RBIG iterations in the speed runs")
    parser.add_argument("--n-train", type=int, default=None, help="training rows of the quality runs (default 20000)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="quality runs with seeds 0, 1, ..., seeds - 1 (default 5; 1 with --quick)")
    parser.add_argument("--info-rows", type=int, default=None, help="rows per information sample (default 10000)")
    parser.add_argument("--reps", type=int, default=None, help="samples per information case (default 10)")
    args = parser.parse_args(argv)
    if args.render is not None:
        results = _report.load(args.render)
        print(_report.write_markdown(args.render, markdown(results), TITLE))
        return 0

    results = _report.load(args.output) if args.output.exists() else {}
    results.update({"benchmark": "rbig", "quick": args.quick, "machine": platform.platform(),
                    "processor": platform.processor()})
    commits = dict(results.get("commits", {}))
    if "speed" in args.sections:
        sizes = args.sizes or ([1000, 10_000] if args.quick else [10_000, 100_000, 1_000_000])
        dims = args.dims or ([2, 10] if args.quick else [2, 10, 50])
        results["speed"] = speed(sizes, dims, args.n_layers)
        results["growth"] = growth(results["speed"])
        commits["speed"] = _commit()
    missing = dict(results.get("missing_peers", {}))
    for section in ("quality", "information"):
        if section in args.sections:
            missing[section] = missing_peers(section)
    results["missing_peers"] = missing
    if "quality" in args.sections:
        seeds = range(args.seeds or (1 if args.quick else 5))
        results["quality"] = quality(args.n_train or (2000 if args.quick else 20_000), seeds=seeds,
                                     real=not args.quick)
        commits["quality"] = _commit()
    if "information" in args.sections:
        n_rows = args.info_rows or (2000 if args.quick else 10_000)
        rows = information(n_rows, args.reps or (2 if args.quick else 10), quick=args.quick)
        results["information"] = rows
        results["information_rows"] = n_rows
        results["information_summary"] = information_summary(rows)
        commits["information"] = _commit()
    results["commits"] = commits
    table = markdown(results)
    print()
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    _report.write_markdown(args.output, table, TITLE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
