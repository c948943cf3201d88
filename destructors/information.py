"""Information measures estimated with RBIG (Laparra et al. 2020).

Every function fits :class:`RBIGDestructor` models and reads the total
correlation they remove. Results are in nats. The estimator is set by an
``rbig`` template, by keyword parameters of :class:`RBIGDestructor`, or both
(keywords override the template), so that for example
``entropy(X, marginal=MarginalDestructor(SplineDensity()))`` changes the
marginal density.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_array

from .base import resolve_random_state
from .rbig import RBIGDestructor

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
        rbig = RBIGDestructor()
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


def total_correlation(X, *, rbig=None, random_state=None, **params):
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
        Template of the estimator; ``None`` uses ``RBIGDestructor()``.
    random_state : int, RandomState instance or None, default=None
        ``random_state`` of the fit; ``None`` keeps the template's.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template, for
        example ``rotation="random"`` or ``max_layers=200``.

    Returns
    -------
    tc : float
        Estimated total correlation, in nats (non-negative).

    See Also
    --------
    RBIGDestructor : The estimator, whose ``total_correlation_`` this is.

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
    """
    X = _check_sample(X, "X")
    (model,) = _estimators(rbig, random_state, params, 1, "total_correlation")
    return model.fit(X).total_correlation_


def entropy(X, *, rbig=None, random_state=None, **params):
    """Differential entropy of a sample, in nats.

    ``H(X) = sum_j H(X_j) - TC(X)``: the marginal entropies, estimated from
    the held-in log-likelihood of the first marginal layer of RBIG, minus
    the total correlation that RBIG removes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
        Sample of the distribution; a 1-D array is one variable.
    rbig : RBIGDestructor or None, default=None
        Template of the estimator; ``None`` uses ``RBIGDestructor()``.
    random_state : int, RandomState instance or None, default=None
        ``random_state`` of the fit; ``None`` keeps the template's.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    h : float
        Estimated differential entropy, in nats.

    Notes
    -----
    Differential entropy depends on units: scaling every feature by ``c``
    adds ``n_features * log(c)``. Held-in estimates of the marginal
    entropies are slightly optimistic (low), by about
    ``(n_bins - 1) / (2 n)`` per feature for histograms (the Miller-Madow
    bias).

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
    (model,) = _estimators(rbig, random_state, params, 1, "entropy")
    return model.fit(X).entropy_


def mutual_information(X, Y, *, rbig=None, random_state=None, **params):
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
        Template of the three estimators; ``None`` uses ``RBIGDestructor()``.
    random_state : int, RandomState instance or None, default=None
        Seed from which each fit draws its own; ``None`` keeps the
        template's ``random_state`` for every fit.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    mi : float
        Estimated mutual information, in nats (non-negative).

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
    model_x, model_y, model_xy = _estimators(rbig, random_state, params, 3, "mutual_information")
    joint = np.hstack([_gaussianize(model_x, X), _gaussianize(model_y, Y)])
    return model_xy.fit(joint).total_correlation_


def kl_divergence(X, Y, *, rbig=None, random_state=None, **params):
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
        Template of the two estimators; ``None`` uses ``RBIGDestructor()``.
    random_state : int, RandomState instance or None, default=None
        Seed from which each fit draws its own; ``None`` keeps the
        template's ``random_state`` for every fit.
    **params : dict
        Parameters of :class:`RBIGDestructor` set on the template.

    Returns
    -------
    kl : float
        Estimated divergence, in nats. Negative estimates, possible when P
        and Q are equal up to sampling noise, are returned as 0.

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
    model_q, model_w = _estimators(rbig, random_state, params, 2, "kl_divergence")
    model_q.set_params(output_distribution="normal").fit(Y)
    W = model_q.transform(X)
    cross_entropy = 0.5 * np.mean(np.sum(np.square(W), axis=1)) + 0.5 * W.shape[1] * _LOG_2PI
    return max(float(cross_entropy - model_w.fit(W).entropy_), 0.0)
