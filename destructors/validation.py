"""A property suite that any destructor, including your own, should pass.

:func:`check_destructor` fits clones of a destructor on small synthetic data
and asserts the properties that make it a destructor: an exact inverse, a
log-density equal to the log-determinant of its Jacobian, a density that
integrates to one, uniform output in a well-specified case, reproducible
sampling, row independence, finite tails and untouched inputs.
"""

import numpy as np
from scipy import stats
from scipy.special import ndtr
from sklearn.base import clone

__all__ = [
    "check_destructor",
    "check_density_integrates_to_one",
    "check_far_rows_finite",
    "check_inverse_round_trip",
    "check_log_det_matches_jacobian",
    "check_no_input_mutation",
    "check_row_independence",
    "check_sample_reproducible",
    "check_uniform_output",
]


def _name(destructor):
    return type(destructor).__name__


def _unit_input(destructor):
    return destructor.get_params().get("input_distribution") == "uniform" or (
        hasattr(destructor, "_unit_input") and destructor._unit_input()
    )


def _with_params(destructor, **params):
    """Clone ``destructor`` with the given parameters where it has them."""
    own = destructor.get_params()
    return clone(destructor).set_params(**{k: v for k, v in params.items() if k in own})


def _skewed_data(n_samples, n_features, rng):
    """Correlated, skewed data on the real line."""
    base = rng.standard_normal((n_samples, n_features))
    mixing = np.eye(n_features) + 0.5 * np.tri(n_features, k=-1)
    X = base @ mixing.T
    X[:, 0] = np.exp(0.5 * X[:, 0])
    return X


def _training_data(destructor, n_samples, n_features, rng):
    X = _skewed_data(n_samples, n_features, rng)
    if _unit_input(destructor):
        X = ndtr((X - X.mean(axis=0)) / X.std(axis=0))
    return X


def _normal_view(destructor, X):
    """Gaussian-view output of a fitted destructor, whatever its output setting."""
    out = destructor.transform(X)
    if destructor.get_params().get("output_distribution") == "uniform":
        out = stats.norm.ppf(np.clip(out, 1e-300, 1 - 1e-16))
    return out


def check_inverse_round_trip(destructor, X_train, X_test, rtol=1e-6):
    """``inverse_transform(transform(X))`` recovers ``X`` on held-out rows.

    Checked with ``output_distribution="normal"``, where the round trip is
    exact up to rounding; with uniform output only rows whose output is
    strictly inside the cube can be recovered.
    """
    for output in ("normal", "uniform"):
        model = _with_params(destructor, output_distribution=output).fit(X_train)
        U = model.transform(X_test)
        back = model.inverse_transform(U)
        keep = np.ones(len(X_test), dtype=bool)
        if output == "uniform":
            keep = np.all((U > 1e-9) & (U < 1 - 1e-9), axis=1)
        scale = np.maximum(np.abs(X_test), 1.0)
        error = (np.abs(back - X_test) / scale)[keep]
        assert error.size == 0 or error.max() <= rtol, (
            f"{_name(destructor)} ({output} output): inverse_transform(transform(X)) "
            f"differs from X by up to {error.max():.3g} relative (allowed {rtol:g})."
        )


def check_log_det_matches_jacobian(destructor, X_train, X_test, atol=1e-3, min_fraction=0.9):
    """``score_samples`` equals the log-determinant of a finite-difference Jacobian.

    The Jacobian of the Gaussian-view output is estimated by central
    differences. Piecewise maps (trees) have kinks where a difference
    straddles a boundary, so the check asks ``min_fraction`` of rows to agree
    within ``atol`` nats.
    """
    model = _with_params(destructor, output_distribution="normal").fit(X_train)
    n_rows, n_features = X_test.shape
    step = 1e-6 * np.maximum(np.abs(X_test), 1.0)
    if _unit_input(destructor):
        step = np.full_like(X_test, 1e-7)
        X_test = np.clip(X_test, 1e-3, 1 - 1e-3)
    jacobian = np.empty((n_rows, n_features, n_features))
    for j in range(n_features):
        shift = np.zeros_like(X_test)
        shift[:, j] = step[:, j]
        diff = model.transform(X_test + shift) - model.transform(X_test - shift)
        jacobian[:, :, j] = diff / (2 * step[:, j : j + 1])
    Z = model.transform(X_test)
    sign, log_abs_det = np.linalg.slogdet(jacobian)
    log_density = stats.norm.logpdf(Z).sum(axis=1) + log_abs_det
    scores = model.score_samples(X_test)
    agree = (np.abs(log_density - scores) <= atol) & (sign != 0)
    assert agree.mean() >= min_fraction, (
        f"{_name(destructor)}: score_samples matches the finite-difference "
        f"log|det J| on only {agree.mean():.0%} of rows (need {min_fraction:.0%}); "
        f"median gap {np.median(np.abs(log_density - scores)):.3g} nats."
    )


def _midpoints(n_points):
    return (np.arange(n_points) + 0.5) / n_points


def _quadrature_axis(values, n_points, unit):
    """Nodes and weights of a midpoint rule over one axis.

    On the real line the substitution ``x = m + s tan(pi (t - 1/2))`` maps
    ``t`` in (0, 1) onto the whole line, with nodes dense where the data are
    (``m`` the median, ``s`` half the interquartile range) and sparse in the
    tails, so a sharp density is resolved and no mass is left outside a box.
    """
    t = _midpoints(n_points)
    if unit:
        return t, np.full(n_points, 1.0 / n_points)
    center = np.median(values)
    scale = 0.5 * np.subtract(*np.percentile(values, [75, 25])) or 1.0
    angle = np.pi * (t - 0.5)
    return center + scale * np.tan(angle), scale * np.pi / np.cos(angle) ** 2 / n_points


def check_density_integrates_to_one(destructor, rng, atol=0.02):
    """``exp(score_samples)`` integrates to one in 1-D and in 2-D.

    A midpoint rule over the whole real line (see ``_quadrature_axis``), or
    over the unit cube for canonical destructors with uniform input.
    """
    for n_features, n_points in ((1, 20000), (2, 800)):
        X = _training_data(destructor, 500, n_features, rng)
        model = clone(destructor).fit(X)
        axes = [_quadrature_axis(X[:, j], n_points, _unit_input(destructor)) for j in range(n_features)]
        nodes = np.meshgrid(*[a[0] for a in axes], indexing="ij")
        weights = np.prod(np.meshgrid(*[a[1] for a in axes], indexing="ij"), axis=0)
        points = np.column_stack([m.ravel() for m in nodes])
        mass = float(np.sum(np.exp(model.score_samples(points)) * weights.ravel()))
        assert abs(mass - 1.0) <= atol, (
            f"{_name(destructor)}: the density integrates to {mass:.4f} over a "
            f"{n_features}-D grid, not 1 (allowed error {atol})."
        )


def check_uniform_output(destructor, rng, max_ks=0.1):
    """Held-out data from a well-specified case maps to uniform marginals.

    The data are independent standard normals (or uniforms on the cube for
    canonical destructors), a case every destructor should capture.
    """
    n_features = 2
    if _unit_input(destructor):
        X_train, X_test = rng.uniform(size=(2000, n_features)), rng.uniform(size=(1000, n_features))
    else:
        X_train, X_test = rng.standard_normal((2000, n_features)), rng.standard_normal((1000, n_features))
    model = _with_params(destructor, output_distribution="uniform").fit(X_train)
    U = model.transform(X_test)
    for j in range(n_features):
        statistic = stats.kstest(U[:, j], "uniform").statistic
        assert statistic <= max_ks, (
            f"{_name(destructor)}: output feature {j} of held-out data is not "
            f"uniform (Kolmogorov-Smirnov statistic {statistic:.3f} > {max_ks})."
        )


def check_sample_reproducible(model):
    """``sample`` has the right shape, is finite, and follows its seed."""
    first = model.sample(50, random_state=0)
    assert first.shape == (50, model.n_features_in_), (
        f"{_name(model)}.sample(50) returned shape {first.shape}."
    )
    assert np.all(np.isfinite(first)), f"{_name(model)}.sample returned non-finite values."
    # Exact: the same seed and operations, in one process.
    np.testing.assert_array_equal(
        first, model.sample(50, random_state=0),
        err_msg=f"{_name(model)}.sample is not reproducible with a fixed random_state.",
    )
    assert not np.array_equal(first, model.sample(50, random_state=1)), (
        f"{_name(model)}.sample ignores random_state."
    )


def check_row_independence(model, X, rtol=1e-12):
    """Results for a row do not depend on the other rows of the batch."""
    cuts = [0, 1, 8, len(X) // 2, len(X)]
    methods = {
        "transform": model.transform,
        "score_samples": model.score_samples,
        "inverse_transform": lambda A: model.inverse_transform(model.transform(A)),
    }
    for name, method in methods.items():
        whole = method(X)
        blocks = np.concatenate([method(X[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])
        np.testing.assert_allclose(
            blocks, whole, rtol=rtol, atol=0,
            err_msg=f"{_name(model)}.{name} depends on the other rows of the batch.",
        )


def check_far_rows_finite(model, X_train):
    """Rows ten times the training range away get finite scores and transforms."""
    n_features = X_train.shape[1]
    if _unit_input(model):
        far = np.array([np.full(n_features, 1e-12), np.full(n_features, 1 - 1e-12), np.zeros(n_features)])
    else:
        center = X_train.mean(axis=0)
        spread = X_train.max(axis=0) - X_train.min(axis=0)
        signs = np.array([np.ones(n_features), -np.ones(n_features), (-1.0) ** np.arange(n_features)])
        far = center + 10 * spread * signs
    scores = model.score_samples(far)
    assert np.all(np.isfinite(scores)), (
        f"{_name(model)}.score_samples is not finite far outside the training range: {scores}."
    )
    out = model.transform(far)
    assert np.all(np.isfinite(out)), f"{_name(model)}.transform is not finite far outside the training range."


def check_no_input_mutation(destructor, X_train, X_test):
    """``fit``, ``transform``, ``score_samples`` and ``inverse_transform`` leave inputs alone."""
    train, test = X_train.copy(), X_test.copy()
    model = clone(destructor).fit(train)
    U = model.transform(test)
    model.score_samples(test)
    U_copy = U.copy()
    model.inverse_transform(U)
    for before, after, what in ((X_train, train, "fit"), (X_test, test, "transform/score_samples"), (U_copy, U, "inverse_transform")):
        # Exact: the input must be left untouched, bit for bit.
        np.testing.assert_array_equal(after, before, err_msg=f"{_name(destructor)}.{what} modified its input.")


def check_destructor(destructor, random_state=0):
    """Run the destructor property suite on an unfitted destructor.

    Each check fits clones of ``destructor`` on small synthetic data (a few
    thousand rows, two features) and raises ``AssertionError`` with a message
    naming the property that failed.

    Parameters
    ----------
    destructor : destructor
        An unfitted destructor (any :class:`~destructors.BaseDestructor`).
        Canonical destructors with ``input_distribution="uniform"`` are given
        data in the unit cube.
    random_state : int, default=0
        Seed of the synthetic data.

    Examples
    --------
    >>> from destructors import MarginalDestructor
    >>> from destructors.validation import check_destructor
    >>> check_destructor(MarginalDestructor())
    """
    rng = np.random.RandomState(random_state)
    X_train = _training_data(destructor, 1000, 2, rng)
    X_test = _training_data(destructor, 300, 2, rng)

    check_inverse_round_trip(destructor, X_train, X_test)
    check_log_det_matches_jacobian(destructor, X_train, X_test)
    check_density_integrates_to_one(destructor, rng)
    check_uniform_output(destructor, rng)
    model = clone(destructor).fit(X_train)
    check_sample_reproducible(model)
    check_row_independence(model, X_test)
    check_far_rows_finite(model, X_train)
    check_no_input_mutation(destructor, X_train, X_test)
