"""Information measures estimated with RBIG (Laparra et al. 2020).

Every function fits :class:`RBIGDestructor` models and reads the total
correlation they remove. Results are in nats. The estimator is set by an
``rbig`` template, by keyword parameters of :class:`RBIGDestructor`, or both
(keywords override the template), so that for example
``entropy(X, marginal=MarginalDestructor(SplineDensity()))`` changes the
marginal density. The default template is
``RBIGDestructor(unmixing="auto")``: each fit also tries a linear ICA
unmixing of the features before RBIG and keeps it when it scores better on
the held-out rows of the depth search, as it does for linearly mixed
independent sources.

Every function can also return a standard error (``return_std=True``). An
estimate here is the mean over rows of a per-row log-density term (for
example ``log q(x) - sum_j log q_j(x_j)`` for the total correlation), so its
sampling standard error is the standard deviation of that term over the
rows divided by ``sqrt(n)``: the delta-method (influence-function) error of
a plug-in entropy, valid to first order in ``1 / n``. To it are added, in
quadrature, the uncertainty of the noise-floor correction (see
:class:`RBIGDestructor`) and the spread between fits with different seeds
(``n_repeats``, 3 by default with ``return_std=True``), whose estimates are
averaged; the seeds change the validation split, hence the depth, and the
searched rotations. When a fit chose the linear unmixing, its error is added
too: on sources with hard edges an unmixing error raises the entropy to first
order, a bias that the per-row terms do not show, and it is measured by
refitting the unmixing on bootstrap resamples of the rows (four more
unmixing fits per call, only with ``return_std=True``). Other biases of the
estimator (``benchmarks/bench_rbig.py`` measures them) are not included.

With ``cross_fit=K`` the estimate is cross-fitted instead: each of ``K``
models is fitted without one fold of the rows, and the estimate is the mean
over the folds of the midpoint of the model's held-in and held-out means of
the per-row term. Its standard error adds, in quadrature, the sampling error
of the held-out terms and the spread between the folds' estimates, in full
(the folds' models share most of their rows), and the unmixing's error as
above, measured on the first fold's training rows.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_array

from ._rotation_kernels import histogram_entropies, ica_unmixing
from .base import resolve_random_state
from .rbig import _N_NOISE_LAYERS, RBIGDestructor

__all__ = ["entropy", "kl_divergence", "mutual_information", "total_correlation"]

_LOG_2PI = np.log(2.0 * np.pi)


def _check_sample(X, name):
    """Finite float64 sample as a 2-D array; a 1-D array is one variable."""
    X = check_array(X, dtype=np.float64, ensure_2d=False, ensure_min_samples=2, input_name=name)
    return X[:, None] if X.ndim == 1 else X


def _estimators(rbig, random_state, params, n_models, caller):
    """Unfitted RBIG models: clones of the template with ``params`` set.

    A single model takes ``random_state`` as it is; several models get their
    own seeds drawn from it. Without one, each keeps the template's
    ``random_state``.
    """
    if rbig is None:
        rbig = RBIGDestructor(unmixing="auto")
    if not isinstance(rbig, RBIGDestructor):
        raise ValueError(
            f"{caller}: rbig must be an RBIGDestructor (used as a template), "
            f"got {type(rbig).__name__}."
        )
    template = clone(rbig).set_params(**params)
    if n_models == 1:
        if random_state is not None:
            template.set_params(random_state=random_state)
        return [template]
    rng = None if random_state is None else resolve_random_state(random_state)
    models = []
    for _ in range(n_models):
        model = clone(template)
        if rng is not None:
            model.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        models.append(model)
    return models


def _gaussianize(model, X):
    """Fit ``model`` to ``X`` and return the Gaussianized data."""
    return model.set_params(output_distribution="normal").fit_transform(X)


def _check_n_repeats(n_repeats, return_std, caller):
    if n_repeats is None:
        return 3 if return_std else 1
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"{caller}: n_repeats must be a positive integer, got {n_repeats!r}.")
    return int(n_repeats)


# Bootstrap resamples that measure the error of a fitted unmixing.
_UNMIXING_RESAMPLES = 4


def _floor_variance(model):
    """Variance of the noise-floor correction: ``n_layers_`` times the floor's standard error, squared."""
    return (model.n_layers_ * model.noise_floor_std_) ** 2 / _N_NOISE_LAYERS


def _ica_entropy(X, unmixing, mean):
    """Entropy of ``X`` under independent unmixed columns: their histogram entropies less ``log |det W|``."""
    n_bins = max(10, int(np.sqrt(X.shape[0])))
    return float(histogram_entropies((X - mean) @ unmixing.T, n_bins).sum() - np.linalg.slogdet(unmixing)[1])


def _unmixing_variance(fits):
    """Squared error of the unmixing of the first of ``(model, X)`` fits that has one (0 if none does).

    An unmixing off by ``e`` raises the entropy of hard-edged sources to
    first order in ``e``, always upwards: a bias that the sampling error of
    the per-row terms (nearly constant on such data) does not show and that
    seeds and folds share. It is measured by refitting the unmixing on
    bootstrap resamples of the rows: each resample's unmixing is scored on
    all rows by the criterion the unmixing minimizes (the columns' histogram
    entropies less ``log |det W|``), and the mean excess over the fitted
    unmixing's own score is the entropy that an unmixing error of its
    sampling size costs (with it, the standard error on the benchmark's
    first ten 5-D uniform samples came to 0.007 to 0.014 nats, against
    errors of 0.003 to 0.011). One fit measures it for all: it depends on
    the data and the number of rows, not on the seed.
    """
    model, X = next(((m, X) for m, X in fits if getattr(m, "unmixing_", None) is not None), (None, None))
    if model is None:
        return 0.0
    fitted = model.layers_[0].layers_[0]
    base = _ica_entropy(X, fitted.unmixing_, fitted.mean_)
    rng = np.random.RandomState(resolve_random_state(model.random_state).randint(np.iinfo(np.int32).max))
    excess = []
    for _ in range(_UNMIXING_RESAMPLES):
        rows = rng.randint(0, X.shape[0], X.shape[0])
        unmixing, mean, _ = ica_unmixing(X[rows], fitted.max_iter, rng)
        excess.append(_ica_entropy(X, unmixing, mean) - base)
    return float(np.mean(excess)) ** 2


def _row_terms(model, X):
    """Per-row log densities of a fitted model: marginal part and the rest.

    The marginal part is the log density of the model's marginal layer
    fitted to the raw features (``marginal_layer_``), ``sum_j log q_j(x_j)``;
    the rest, ``log q(x) - sum_j log q_j(x_j)``, has the total correlation
    as its mean.
    """
    marginal = model.marginal_layer_._layer_log_density(X)
    return marginal, model.score_samples(X) - marginal


def _sampling_variance(terms):
    """Squared standard error of the mean of ``terms``."""
    return float(np.var(terms, ddof=1)) / terms.size if terms.size > 1 else 0.0


def _tc_estimate(model, X):
    """Total correlation of a fitted model and its variance."""
    if X.shape[1] < 2:
        return 0.0, 0.0
    _, dependence = _row_terms(model, X)
    return model.total_correlation_, _sampling_variance(dependence) + _floor_variance(model)


def _combine(results, return_std, fits):
    """Mean of the ``(estimate, variance)`` results of several seeds, and its standard error.

    The variance is that of one fit (sampling and noise floor) plus the
    variance between seeds in full, not divided by the number of seeds: the
    seeds share the data, and the depth each of them chooses is itself
    uncertain, so the error is bounded conservatively by that of one fit.
    The error of a fitted unmixing, shared by the seeds, is added too
    (measured on the fitted ``(model, X)`` pairs ``fits``, only here, where
    a standard error is asked for).
    """
    estimates, variances = zip(*results)
    estimate = float(np.mean(estimates))
    if not return_std:
        return estimate
    variance = float(np.mean(variances)) + _unmixing_variance(fits)
    if len(estimates) > 1:
        variance += float(np.var(estimates, ddof=1))
    return estimate, float(np.sqrt(variance))


def _groups(models, size):
    return [models[k : k + size] for k in range(0, len(models), size)]


def _nonnegative(result):
    """A total correlation or mutual information and its variance, the estimate clipped at 0 as the models' are."""
    estimate, variance = result
    return max(estimate, 0.0), variance


def _check_cross_fit(cross_fit, n_samples, caller):
    if cross_fit is None:
        return None
    if isinstance(cross_fit, bool) or not isinstance(cross_fit, (int, np.integer)) or cross_fit < 2:
        raise ValueError(f"{caller}: cross_fit must be None or an integer of at least 2 folds, got {cross_fit!r}.")
    if n_samples < 2 * cross_fit:
        raise ValueError(
            f"{caller}: cross_fit={cross_fit} folds need at least {2 * cross_fit} rows, got {n_samples}."
        )
    return int(cross_fit)


def _repeats(n_repeats, return_std, cross_fit, caller):
    """Number of estimates to average: ``n_repeats``, or by default 1 with cross-fitting (its folds spread)."""
    if n_repeats is None and cross_fit is not None:
        return 1
    return _check_n_repeats(n_repeats, return_std, caller)


def _fold_seeds(random_state, n_repeats):
    """Seeds of the fold splits of ``n_repeats`` cross-fits (all None, unseeded, without ``random_state``).

    The first is the first draw from ``random_state`` changed by a constant,
    so that it differs from the first model's seed drawn from the same state.
    """
    if random_state is None:
        return [None] * n_repeats
    first = resolve_random_state(random_state).randint(np.iinfo(np.int32).max) ^ 0x5EED
    return [first + r for r in range(n_repeats)]


def _cross_fitted(models, X, row_terms, fold_seed, offset=None, fits=None):
    """Cross-fitted mean of a per-row term and its variance, one model per fold.

    The rows are split into ``len(models)`` folds; each model is fitted on
    the other folds and gives ``row_terms(model, rows)`` on its training rows
    (held in, optimistic) and on its fold (held out, pessimistic). Each
    fold's estimate is the midpoint of the two means: to first order the
    optimism of a fitted model on its own rows equals its pessimism on new
    ones, so the midpoint cancels both, whatever the data (the noise floor of
    :class:`RBIGDestructor` is simulated on Gaussian data, and misses the
    optimism of steps that keep their histograms). The variance is the
    sampling variance of the held-out terms over all rows plus the variance
    of the folds' estimates. ``offset``, if given, is a per-row term added to
    ``row_terms`` (known exactly, not fitted). ``row_terms`` may also be a
    tuple of such functions, read off the same fits: then a list of
    ``(estimate, variance)`` pairs is returned. ``fits``, if given, is a list
    to which each fitted ``(model, training rows)`` pair is appended.
    """
    several = isinstance(row_terms, tuple)
    functions = row_terms if several else (row_terms,)
    folds = np.array_split(np.random.RandomState(fold_seed).permutation(X.shape[0]), len(models))
    estimates = [[] for _ in functions]
    held_out = [[] for _ in functions]
    for model, test in zip(models, folds):
        train = np.ones(X.shape[0], dtype=bool)
        train[test] = False
        model.fit(X[train])
        if fits is not None:
            fits.append((model, X[train]))
        for terms, fold_estimates, fold_rows in zip(functions, estimates, held_out):
            inside, outside = terms(model, X[train]), terms(model, X[test])
            if offset is not None:
                inside, outside = inside + offset[train], outside + offset[test]
            fold_estimates.append(0.5 * (float(np.mean(inside)) + float(np.mean(outside))))
            fold_rows.append(outside)
    # The folds' spread enters in full, not over the number of folds: their
    # models share most of their training rows, so the spread understates
    # how much a fit varies (with it divided by 3, the intervals of the
    # Laplace mix's total correlation held the truth in 7 of 10 samples).
    results = [
        (float(np.mean(e)), _sampling_variance(np.concatenate(rows)) + float(np.var(e, ddof=1)))
        for e, rows in zip(estimates, held_out)
    ]
    return results if several else results[0]


def _dependence_terms(model, X):
    return _row_terms(model, X)[1]


def _log_density_terms(model, X):
    marginal, dependence = _row_terms(model, X)
    return marginal + dependence


def _entropy_terms(model, X):
    return -_log_density_terms(model, X)


def total_correlation(X, *, rbig=None, random_state=None, return_std=False, n_repeats=None, cross_fit=None,
                      **params):
    """Total correlation (multi-information) of a sample, in nats.

    ``TC(X) = sum_j H(X_j) - H(X)``, the Kullback-Leibler divergence between
    the joint density and the product of its marginals; zero exactly when the
    features are independent. It is the sum of the total-correlation
    reductions of the RBIG iterations, corrected for the optimism of held-in
    estimates (see :class:`RBIGDestructor`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Sample of the joint distribution (a 1-D array is one variable,
        whose total correlation is 0).
    rbig : RBIGDestructor or None, default=None
        Template of the estimator; ``None`` uses
        ``RBIGDestructor(unmixing="auto")``.
    random_state : int, RandomState instance or None, default=None
        ``random_state`` of the fit (with ``n_repeats > 1``, the seed from
        which each fit draws its own); ``None`` keeps the template's.
    return_std : bool, default=False
        If True, also return the standard error of the estimate (see the
        module docstring of :mod:`destructors.information`).
    n_repeats : int or None, default=None
        Number of fits with different seeds (drawn from ``random_state``)
        whose estimates are averaged; their spread enters the standard
        error in full. ``None``: 3 with ``return_std=True``, else 1; 1
        with ``cross_fit``.
    cross_fit : int or None, default=None
        Number of folds ``K`` of a cross-fitted estimate, or ``None`` for
        the noise-floor estimate of one fit per repeat. Each of ``K``
        models is fitted without one fold; the estimate is the mean over
        the folds of the midpoint of its held-in and held-out means, whose
        optimism and pessimism cancel to first order whatever the data
        (the noise floor is simulated on Gaussian data and misses the
        optimism of steps on non-Gaussian data). Costs ``K`` fits on
        ``(K - 1) / K`` of the rows; see the user guide for its measured
        bias and coverage.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template, for
        example ``rotation="random"`` or ``max_layers=200``.

    Returns
    -------
    tc : float
        Estimated total correlation, in nats (non-negative).
    std : float
        Its standard error, in nats; only with ``return_std=True``.

    See Also
    --------
    RBIGDestructor : The estimator, whose ``total_correlation_`` this is.

    Notes
    -----
    The standard error is exact to first order for the sampling noise and
    includes the spread between seeds; the bias of the estimator is not in
    it (``benchmarks/bench_rbig.py`` measures bias and coverage).

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import total_correlation
    >>> rng = np.random.default_rng(0)
    >>> cov = [[1.0, 0.8], [0.8, 1.0]]
    >>> X = rng.multivariate_normal([0, 0], cov, size=5000)
    >>> truth = -0.5 * np.log(np.linalg.det(cov))
    >>> round(float(truth), 3)
    0.511
    >>> bool(abs(total_correlation(X, random_state=0) - truth) < 0.05)
    True
    >>> tc, std = total_correlation(X, random_state=0, return_std=True)
    >>> bool(0.005 < std < 0.05), bool(abs(tc - truth) < 3 * std)
    (True, True)
    """
    X = _check_sample(X, "X")
    folds = _check_cross_fit(cross_fit, X.shape[0], "total_correlation")
    n_repeats = _repeats(n_repeats, return_std, folds, "total_correlation")
    fits = []
    if X.shape[1] < 2:
        results = [(0.0, 0.0)] * n_repeats
    elif folds is None:
        models = _estimators(rbig, random_state, params, n_repeats, "total_correlation")
        fits = [(model.fit(X), X) for model in models]
        results = [_tc_estimate(model, X) for model, _ in fits]
    else:
        models = _estimators(rbig, random_state, params, folds * n_repeats, "total_correlation")
        results = [_nonnegative(_cross_fitted(group, X, _dependence_terms, seed, fits=fits))
                   for group, seed in zip(_groups(models, folds), _fold_seeds(random_state, n_repeats))]
    return _combine(results, return_std, fits)


def entropy(X, *, rbig=None, random_state=None, return_std=False, n_repeats=None, cross_fit=None,
            **params):
    """Differential entropy of a sample, in nats.

    ``H(X) = sum_j H(X_j) - TC(X)``: the marginal entropies, estimated from
    the held-in log-likelihood of the first marginal layer of RBIG, minus
    the total correlation that RBIG removes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
        Sample of the distribution; a 1-D array is one variable.
    rbig : RBIGDestructor or None, default=None
        Template of the estimator; ``None`` uses
        ``RBIGDestructor(unmixing="auto")``.
    random_state : int, RandomState instance or None, default=None
        ``random_state`` of the fit (with ``n_repeats > 1``, the seed from
        which each fit draws its own); ``None`` keeps the template's.
    return_std : bool, default=False
        If True, also return the standard error of the estimate (see the
        module docstring of :mod:`destructors.information`).
    n_repeats : int or None, default=None
        Number of fits with different seeds (drawn from ``random_state``)
        whose estimates are averaged; their spread enters the standard
        error in full. ``None``: 3 with ``return_std=True``, else 1; 1
        with ``cross_fit``.
    cross_fit : int or None, default=None
        Number of folds ``K`` of a cross-fitted estimate, or ``None`` for
        the noise-floor estimate of one fit per repeat. Each of ``K``
        models is fitted without one fold; the estimate is the mean over
        the folds of the midpoint of its held-in and held-out means, whose
        optimism and pessimism cancel to first order whatever the data
        (the noise floor is simulated on Gaussian data and misses the
        optimism of steps on non-Gaussian data). Costs ``K`` fits on
        ``(K - 1) / K`` of the rows; see the user guide for its measured
        bias and coverage.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    h : float
        Estimated differential entropy, in nats.
    std : float
        Its standard error, in nats; only with ``return_std=True``.

    Notes
    -----
    Differential entropy depends on units: scaling every feature by ``c``
    adds ``n_features * log(c)``. Held-in estimates of the marginal
    entropies are optimistic (low), by about ``(n_bins - 1) / (2 n)`` per
    feature for histograms (the Miller-Madow bias); with ``tol="auto"`` the
    model measures that optimism on standard normal data of the same shape
    and corrects for it (``RBIGDestructor.marginal_optimism_``).

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import entropy
    >>> X = np.random.default_rng(0).uniform(0, 2, size=(5000, 2))
    >>> truth = 2 * np.log(2.0)
    >>> bool(abs(entropy(X, random_state=0) - truth) < 0.05)
    True
    """
    X = _check_sample(X, "X")
    folds = _check_cross_fit(cross_fit, X.shape[0], "entropy")
    n_repeats = _repeats(n_repeats, return_std, folds, "entropy")
    if folds is None:
        models = _estimators(rbig, random_state, params, n_repeats, "entropy")
        fits = [(model.fit(X), X) for model in models]
        results = [_entropy_estimate(model, X) for model, _ in fits]
    else:
        models, fits = _estimators(rbig, random_state, params, folds * n_repeats, "entropy"), []
        results = [_cross_fitted(group, X, _entropy_terms, seed, fits=fits)
                   for group, seed in zip(_groups(models, folds), _fold_seeds(random_state, n_repeats))]
    return _combine(results, return_std, fits)


def _entropy_estimate(model, X):
    """Entropy of a fitted model and its variance."""
    marginal, dependence = _row_terms(model, X)
    return model.entropy_, _sampling_variance(marginal + dependence) + _floor_variance(model)


def mutual_information(X, Y, *, rbig=None, random_state=None, return_std=False, n_repeats=None, cross_fit=None,
                       **params):
    """Mutual information between two sets of variables, in nats.

    ``I(X; Y) = TC([G_X(X), G_Y(Y)])``: each block is Gaussianized by its own
    RBIG model, which removes the dependence inside the block, and the total
    correlation left between the two Gaussianized blocks is estimated by a
    third RBIG model (Laparra et al. 2020). Sharing the same estimator
    between the blocks makes its biases largely cancel, unlike
    ``H(X) + H(Y) - H(X, Y)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x) or (n_samples,)
        First set of variables; a 1-D array is one variable.
    Y : array-like of shape (n_samples, n_features_y) or (n_samples,)
        Second set, observed on the same rows.
    rbig : RBIGDestructor or None, default=None
        Template of the three estimators; ``None`` uses
        ``RBIGDestructor(unmixing="auto")``.
    random_state : int, RandomState instance or None, default=None
        Seed from which each fit draws its own; ``None`` keeps the
        template's ``random_state`` for every fit.
    return_std : bool, default=False
        If True, also return the standard error of the estimate (see the
        module docstring of :mod:`destructors.information`).
    n_repeats : int or None, default=None
        Number of fits with different seeds (drawn from ``random_state``)
        whose estimates are averaged; their spread enters the standard
        error in full. ``None``: 3 with ``return_std=True``, else 1; 1
        with ``cross_fit``.
    cross_fit : int or None, default=None
        Number of folds ``K`` of a cross-fitted estimate, or ``None`` for
        the noise-floor estimate of one fit per repeat. Each of ``K``
        models is fitted without one fold; the estimate is the mean over
        the folds of the midpoint of its held-in and held-out means, whose
        optimism and pessimism cancel to first order whatever the data
        (the noise floor is simulated on Gaussian data and misses the
        optimism of steps on non-Gaussian data). Costs ``K`` fits on
        ``(K - 1) / K`` of the rows; see the user guide for its measured
        bias and coverage.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    mi : float
        Estimated mutual information, in nats (non-negative).
    std : float
        Its standard error, in nats; only with ``return_std=True``. The
        sampling error is that of the total correlation between the
        Gaussianized blocks, with the Gaussianizations taken as fixed.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import mutual_information
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(5000)
    >>> truth = -0.5 * np.log(1 - 0.81)
    >>> round(float(truth), 3)
    0.83
    >>> bool(abs(mutual_information(x, np.exp(y), random_state=0) - truth) < 0.05)
    True
    """
    X = _check_sample(X, "X")
    Y = _check_sample(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            "mutual_information: X and Y must have the same number of rows "
            f"(paired observations), got {X.shape[0]} and {Y.shape[0]}."
        )
    folds = _check_cross_fit(cross_fit, X.shape[0], "mutual_information")
    n_repeats = _repeats(n_repeats, return_std, folds, "mutual_information")
    per_repeat = 3 if folds is None else 2 + folds
    models = _estimators(rbig, random_state, params, per_repeat * n_repeats, "mutual_information")
    results, fits = [], []
    seeds = _fold_seeds(random_state, n_repeats)
    for (model_x, model_y, *joint_models), seed in zip(_groups(models, per_repeat), seeds):
        joint = np.hstack([_gaussianize(model_x, X), _gaussianize(model_y, Y)])
        if folds is None:
            results.append(_tc_estimate(joint_models[0].fit(joint), joint))
            fits.append((joint_models[0], joint))
        else:
            results.append(_nonnegative(_cross_fitted(joint_models, joint, _dependence_terms, seed, fits=fits)))
    return _combine(results, return_std, fits)


def kl_divergence(X, Y, *, rbig=None, random_state=None, return_std=False, n_repeats=None, cross_fit=None,
                  **params):
    """Kullback-Leibler divergence ``KL(P || Q)`` from samples of P and Q, in nats.

    RBIG fitted on the sample ``Y`` of Q gives a map ``G_Q`` sending Q to the
    standard normal. The divergence is invariant under invertible maps, so
    ``KL(P || Q) = KL(G_Q(P) || N(0, I))``, the negentropy of the mapped
    sample ``W = G_Q(X)`` with respect to the standard normal (Laparra et al.
    2020)::

        KL = E[|W|^2] / 2 + d log(2 pi) / 2 - H(W)

    with ``H(W)`` estimated by a second RBIG model.

    Parameters
    ----------
    X : array-like of shape (n_samples_x, n_features) or (n_samples_x,)
        Sample of P.
    Y : array-like of shape (n_samples_y, n_features) or (n_samples_y,)
        Sample of Q, with the same features.
    rbig : RBIGDestructor or None, default=None
        Template of the two estimators; ``None`` uses
        ``RBIGDestructor(unmixing="auto")``.
    random_state : int, RandomState instance or None, default=None
        Seed from which each fit draws its own; ``None`` keeps the
        template's ``random_state`` for every fit.
    return_std : bool, default=False
        If True, also return the standard error of the estimate (see the
        module docstring of :mod:`destructors.information`).
    n_repeats : int or None, default=None
        Number of fits with different seeds (drawn from ``random_state``)
        whose estimates are averaged; their spread enters the standard
        error in full. ``None``: 3 with ``return_std=True``, else 1; 1
        with ``cross_fit``.
    cross_fit : int or None, default=None
        Number of folds ``K`` of a cross-fitted estimate, or ``None`` for
        the noise-floor estimate of one fit per repeat. Each of ``K``
        models is fitted without one fold; the estimate is the mean over
        the folds of the midpoint of its held-in and held-out means, whose
        optimism and pessimism cancel to first order whatever the data
        (the noise floor is simulated on Gaussian data and misses the
        optimism of steps on non-Gaussian data). Costs ``K`` fits on
        ``(K - 1) / K`` of the rows; see the user guide for its measured
        bias and coverage.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    kl : float
        Estimated divergence, in nats. Negative estimates, possible when P
        and Q are equal up to sampling noise, are returned as 0.
    std : float
        Its standard error, in nats; only with ``return_std=True``. It
        counts the sampling noise of ``X`` with the map ``G_Q`` taken as
        fixed; that of ``Y`` enters only through the seed spread.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import kl_divergence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0.5, 1.0, size=(5000, 1))
    >>> Y = rng.normal(0.0, 1.0, size=(5000, 1))
    >>> truth = 0.5 * 0.5 ** 2
    >>> bool(abs(kl_divergence(X, Y, random_state=0) - truth) < 0.03)
    True
    """
    X = _check_sample(X, "X")
    Y = _check_sample(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            "kl_divergence: X and Y must have the same number of features, "
            f"got {X.shape[1]} and {Y.shape[1]}."
        )
    folds = _check_cross_fit(cross_fit, X.shape[0], "kl_divergence")
    n_repeats = _repeats(n_repeats, return_std, folds, "kl_divergence")
    per_repeat = 2 if folds is None else 1 + folds
    models = _estimators(rbig, random_state, params, per_repeat * n_repeats, "kl_divergence")
    results, fits = [], []
    seeds = _fold_seeds(random_state, n_repeats)
    for (model_q, *w_models), seed in zip(_groups(models, per_repeat), seeds):
        model_q.set_params(output_distribution="normal").fit(Y)
        W = model_q.transform(X)
        # Per row: log q_W(w) - log N(w), whose mean is the divergence.
        cross_entropy = 0.5 * np.sum(np.square(W), axis=1) + 0.5 * W.shape[1] * _LOG_2PI
        if folds is None:
            fits.append((w_models[0].fit(W), W))
            marginal, dependence = _row_terms(w_models[0], W)
            variance = _sampling_variance(cross_entropy + marginal + dependence) + _floor_variance(w_models[0])
            results.append((max(float(np.mean(cross_entropy) - w_models[0].entropy_), 0.0), variance))
            continue

        # Per row, cross-entropy term plus log q_W(w): its mean is the divergence.
        divergence, variance = _cross_fitted(w_models, W, _log_density_terms, seed, offset=cross_entropy, fits=fits)
        results.append(_nonnegative((divergence, variance)))
    return _combine(results, return_std, fits)
