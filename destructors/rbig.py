"""Rotation-Based Iterative Gaussianization (RBIG) as a destructor."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._normal import norm_logpdf
from .base import BaseDestructor, make_layer, resolve_random_state
from .composite import CompositeDestructor, LayerStack
from .marginal import MarginalDestructor
from .rotation import RotationDestructor, UnmixingDestructor
from .univariate import GaussianDensity, HistogramDensity

__all__ = ["RBIGDestructor", "default_first_layer"]

# Number of RBIG layers fitted on standard normal data of the training shape
# to measure the noise floor of the total-correlation reductions.
_N_NOISE_LAYERS = 4

# Rotations found by an iterative search over the data; with ``max_samples``
# they search on a random subsample of the rows.
_SEARCHED_ROTATIONS = ("sliced", "ica")

# Gradient steps of the sliced-direction search behind ``rotation="sliced"``:
# on the 8-D Student-t and 10-D mixture of the benchmarks, 40 steps came within
# 0.01 nats of the held-out log-likelihood of 100, at 2.5 times less time.
_SLICED_MAX_ITER = 40


def default_first_layer():
    """First layer of the default RBIG: each feature standardized, then histograms shrunk towards the normal.

    The histograms see standardized features and shrink towards the
    standard normal by the James-Stein intensity, with smooth bins
    (``HistogramDensity(shrinkage="auto", smooth=True)``, half-Cauchy
    tails), so a feature that is nearly Gaussian gets nearly the fitted
    normal itself instead of a map carrying the noise and the steps of its
    bins, and a clearly non-Gaussian one keeps its histogram. Measured when
    it was introduced (commit 6f3159a, straight bins), standardizing and
    shrinking took the held-out KL gap of the default RBIG on 20,000 rows of
    an 8-D Gaussian from 0.048 to 0.034 nats, and on wine (124 rows) raised
    the held-out log-likelihood by 0.35 nats; the smooth bins took the
    Gaussian's gap on to 0.0036 (``benchmarks/results/rbig.md``, with the
    later layers' changes).

    Examples
    --------
    >>> import numpy as np
    >>> from destructors.rbig import default_first_layer
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([rng.normal(5.0, 2.0, 2000), rng.exponential(size=2000)])
    >>> layer = default_first_layer().fit(X)
    >>> standardize, histograms = layer.layers_
    >>> [round(float(d.shrinkage_), 1) for d in histograms.densities_]  # normal, then skewed
    [1.0, 0.0]
    """
    return CompositeDestructor(
        [
            ("standardize", MarginalDestructor(GaussianDensity())),
            ("histogram", MarginalDestructor(HistogramDensity(shrinkage="auto", smooth=True))),
        ]
    )


def _first_layer(marginal, unmixing):
    """Template of the first layer: the ``marginal`` template, after an ICA unmixing if ``unmixing="ica"``."""
    if unmixing is None:
        return marginal
    return CompositeDestructor([("unmixing", UnmixingDestructor()), ("marginal", marginal)])


def _mean_gain(Z_in, Z_out, log_det):
    """Mean log-likelihood gain of a Gaussian-view layer on its training rows.

    It is the mean of ``log N(Z_out) + log_det - log N(Z_in)``: the mean log
    density that the layer, seen as a density on its input, gives to the
    rows it was fitted on.
    """
    return float(np.mean(norm_logpdf(Z_out).sum(axis=1) + log_det - norm_logpdf(Z_in).sum(axis=1)))


class RBIGDestructor(LayerStack):
    """Rotation-Based Iterative Gaussianization (Laparra et al. 2011).

    A first marginal layer maps each feature through its own CDF; then
    rotation and marginal Gaussianization layers alternate until the data
    are jointly Gaussian. Every layer is a destructor exchanging Gaussian
    views, the log-determinants add up, and ``score_samples`` is the exact
    log density of the fitted model. Alongside the density, fitting measures
    how much total correlation each layer removes, which gives the total
    correlation and entropy of the training data (the information measures
    of Laparra et al. 2020, see :func:`total_correlation`).

    Parameters
    ----------
    marginal : destructor or None, default=None
        Template of the marginal layers, cloned for the first layer and for
        every Gaussianization step; it must act on each feature separately.
        ``None`` uses histograms shrunk towards the normal by the James-Stein
        intensity, so that a feature or a step that is nearly Gaussian gets
        nearly the normal instead of a map fitted to the noise of its bins.
        All have smooth bins (``smooth=True``): fully shrunk, they are the
        normal itself rather than its binned version.
        The first layer standardizes each feature, then fits such histograms
        with half-Cauchy tails (:func:`~destructors.rbig.default_first_layer`); the later
        layers, whose input is Gaussianized, fit them with the standard
        normal's tails beyond their data and shrink them towards the normal
        with their own mean and deviation, since a rotated coordinate of
        Gaussianized data is normal but not of unit variance; their
        ``sqrt(n)`` bins are finer than NumPy's rule, as the shrinkage keeps
        the noise of fine bins down where a step is nearly the identity
        (``HistogramDensity(bins="sqrt", tails="normal", shrinkage="auto",
        shrinkage_target="fitted_normal", smooth=True)``). A template
        is used as given for every marginal layer (``MarginalDestructor()``
        gives the plain histograms of the original RBIG). Its parameters are reachable as
        ``marginal__<param>``, for example ``marginal__density__bins`` with
        ``marginal=MarginalDestructor(HistogramDensity())``.
    rotation : {"sliced", "pca", "random", "ica"} or destructor, default="sliced"
        Rotation between marginal layers: a :class:`RotationDestructor`
        method, or a destructor template whose clones act on the Gaussian
        view (for example ``RotationDestructor("sliced", n_directions=2)``,
        reachable as ``rotation__n_directions``). ``"sliced"`` turns the
        least Gaussian directions (max-sliced Wasserstein, as in GIS, Dai &
        Seljak 2021) onto the axes, with 40 steps of its search
        (``RotationDestructor("sliced", max_iter=40)``); ``"pca"`` suits
        nearly Gaussian data, which it decorrelates in one iteration.
    n_layers : int or "auto", default="auto"
        Number of (rotation, marginal) iterations after the first marginal
        layer. ``"auto"`` chooses it on held-out rows (see
        ``validation_fraction``), or, with ``validation_fraction=None``,
        stops once ``patience`` iterations in a row remove less total
        correlation than ``tol`` and drops those iterations.
    validation_fraction : float or None, default=0.1
        With ``n_layers="auto"``, the fraction of rows held out to choose
        the depth: iterations are fitted on the other rows until
        ``patience`` of them in a row fail to raise the validation
        log-likelihood, the best depth is kept, and the model is refitted
        on all rows with that many iterations. ``None`` stops on the
        total-correlation rule instead (one fit, no held-out rows).
    tol : float or "auto", default="auto"
        Total-correlation reduction, in nats, below which an iteration is
        not significant (the stopping rule of ``validation_fraction=None``).
        ``"auto"`` measures it on standard normal data of the training
        shape, which costs about five extra layer fits, and corrects the
        reductions for the same noise (see Notes).
    patience : int, default=10
        Number of consecutive iterations without progress (validation
        log-likelihood, or reductions above ``tol``) that stop
        ``n_layers="auto"``.
    max_layers : int, default=100
        Largest number of iterations with ``n_layers="auto"``.
    max_samples : int or None, default=4096
        Rows on which the searched rotations (``"sliced"`` and ``"ica"``,
        also as templates) look for their directions: a random subsample
        when there are more rows. The rotation is then applied to all rows.
        ``None`` searches on all rows.
    unmixing : {None, "ica", "auto"}, default=None
        A linear map of the raw features before the first marginal layer.
        ``"ica"`` puts a maximum-likelihood linear ICA unmixing there
        (:class:`UnmixingDestructor`), so that the marginal layers start
        from the most independent linear combinations of the features;
        ``"auto"`` fits the depth search both without and with it and keeps
        the one with the higher validation log-likelihood (without a depth
        search, as with a fixed ``n_layers`` or ``validation_fraction=None``,
        it is ``None``). Linearly mixed sources with hard edges (bounded
        support) need it: rotations of the Gaussian view remove their
        dependence only slowly, and on 10,000 rows of five mixed uniform
        sources RBIG without it overestimated the entropy by about 0.1
        nats, with it by less than 0.01 (see the user guide). The
        information functions (:func:`entropy` and the others) use
        ``"auto"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the layers (random rotations, ICA and
        sliced searches, subsamples) and the noise-floor simulation of
        ``tol="auto"``.
    verbose : int, default=0
        If positive, print one line per iteration while fitting.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data; ``"normal"`` returns the
        Gaussianized data.

    Attributes
    ----------
    layers_ : list of destructors
        Fitted layers in order: the first marginal layer (by default a
        :class:`CompositeDestructor` of the standardization and the
        histograms), then a rotation and a marginal layer per iteration
        (``1 + 2 * n_layers_`` in all).
    n_layers_ : int
        Number of (rotation, marginal) iterations kept.
    unmixing_ : {None, "ica"}
        The unmixing used: ``unmixing``, or the choice of ``"auto"``.
    marginal_layer_ : destructor
        The marginal layer fitted to the raw features: ``layers_[0]``
        without an unmixing; with one, a separate fit of the first marginal
        layer's template, which gives ``marginal_entropy_``.
    validation_scores_ : ndarray of shape (n_searched + 1,) or None
        Validation mean log-likelihood after 0, 1, ... iterations of the
        depth search; ``None`` when the depth was not chosen on held-out
        rows.
    tc_reductions_ : ndarray of shape (`n_layers_`,)
        Total correlation removed by each iteration, in nats, measured on
        the training data.
    tol_ : float
        Significance threshold of the reductions.
    noise_floor_ : float
        Mean reduction of an iteration on standard normal data of the
        training shape (``tol="auto"``; 0 with a numeric ``tol``).
    noise_floor_std_ : float
        Standard deviation of those simulated reductions (0 with a numeric
        ``tol``); the standard error of ``noise_floor_`` is this over 2.
    total_correlation_ : float
        Total correlation of the training data, in nats: the sum of the
        reductions of the kept iterations, each less ``noise_floor_`` (0 for
        a single feature); with an unmixing, ``marginal_entropy_ -
        entropy_`` (at least 0). :func:`total_correlation` gives it with a
        standard error.
    marginal_entropy_ : float
        Sum of the differential entropies of the features, in nats, from the
        first marginal layer: its held-in negative mean log-likelihood plus
        ``marginal_optimism_``.
    marginal_optimism_ : float
        With ``tol="auto"``, how much the first layer's held-in mean
        log-likelihood exceeds the true one on the standard normal data of
        the noise-floor simulation (see Notes); 0 with a numeric ``tol``.
    first_entropy_ : float
        Entropy of the model of the first layer alone, in nats: its held-in
        negative mean log-likelihood plus its optimism measured as
        ``marginal_optimism_`` is. Without an unmixing it is
        ``marginal_entropy_``; with one, the entropy of the unmixed
        coordinates taken as independent.
    entropy_ : float
        Differential entropy of the training data, in nats:
        ``first_entropy_`` less the total correlation removed by the
        iterations (without an unmixing, ``marginal_entropy_ -
        total_correlation_``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    RotationDestructor : The rotation step.
    MarginalDestructor : The marginal Gaussianization step.
    total_correlation, entropy, mutual_information, kl_divergence :
        Information measures estimated with RBIG.

    Notes
    -----
    Marginal layers leave the total correlation
    ``TC(x) = sum_j H(x_j) - H(x)`` unchanged and rotations leave the joint
    entropy unchanged, so an iteration taking Gaussian-marginal data ``x`` to
    ``w`` removes ``TC(x) - TC(w) = sum_j H(x_j) - sum_j H(y_j) + E log|det|``
    with ``y`` the rotated data. Estimating ``H(x_j)`` by ``E[-log phi(x_j)]``
    (the model's own belief that ``x_j`` is standard normal) and ``H(y_j)``
    by the held-in log-likelihood of the marginal density fitted to ``y_j``,
    the reduction is the mean over the training rows of the iteration's log
    density ``log N(w) + log|det dw/dx| - log N(x)``. Marginal entropies are
    estimated the same way, from the held-in log-likelihood of the first
    layer. Without the corrections below, ``entropy_`` would be the negative
    mean training log-likelihood of the model.

    Held-in estimates are optimistic, so an iteration on data that are
    already Gaussian still shows a small positive reduction that shrinks
    with the sample size. ``tol="auto"`` measures this noise as Laparra et
    al. (2020) do, on standard normal data of the training shape: it runs
    four iterations of the same templates there, sets ``noise_floor_`` to
    the mean of their reductions and ``tol_`` to the mean plus three
    standard deviations. ``tol_`` decides when to stop; ``noise_floor_`` is
    subtracted from every kept reduction in ``total_correlation_``, a bias
    correction in the spirit of Miller-Madow measured for the marginal
    density actually used. (Laparra et al. instead count reductions below
    the tolerance as zero. On Gaussian, Laplace-mixture and uniform-mixture
    samples of 10,000 rows the two differ by a few hundredths of a nat; the
    correction is the more accurate on Gaussians.) The first layer's held-in
    marginal entropies are optimistic in the same way (a histogram's by about
    ``(n_bins - 1) / (2 n)`` nats per feature, Miller-Madow's bias): the same
    simulation fits the first layer to its normal data, whose true density
    is known, and ``marginal_optimism_``, the mean of the fitted log-density
    less the true one there, is added to ``marginal_entropy_``.

    Every iteration fits its histograms to the training rows, so each adds
    a little overfitting (about ``(n_bins - 1) / (2 n)`` nats per feature
    without shrinkage), and the held-out log-likelihood peaks long before
    the reductions fall below the noise floor: on 20,000 rows of an 8-D
    Student-t it peaked after 2 PCA iterations and lost 1.0 nat by the
    84th, where the total-correlation rule stopped. Hence the defaults:
    shrunk histograms, which barely move on Gaussian noise; sliced
    rotations, which put each iteration's effort where the data are least
    Gaussian; and a depth chosen on held-out rows, whose choice is then
    refitted on all rows. Beyond the chosen depth the held-out curve is
    flat, so the depth itself varies with the seed, but the density and the
    total correlation barely do.

    References
    ----------
    V. Laparra, G. Camps-Valls and J. Malo, "Iterative Gaussianization: from
    ICA to random rotations", IEEE Trans. Neural Networks, 2011.

    V. Laparra, J. E. Johnson, G. Camps-Valls, R. Santos-Rodriguez and
    J. Malo, "Information theory measures via multidimensional
    Gaussianization", arXiv:2010.03807, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import RBIGDestructor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, size=2000)
    >>> X = np.column_stack([x, x ** 2 + 0.1 * rng.standard_normal(2000)])
    >>> rbig = RBIGDestructor(output_distribution="normal", random_state=0).fit(X)
    >>> rbig.n_layers_ > 1
    True
    >>> Z = rbig.transform(X)
    >>> bool(abs(np.corrcoef(Z.T)[0, 1]) < 0.05)
    True
    >>> np.allclose(rbig.inverse_transform(Z), X)
    True
    >>> bool(rbig.score(X) > RBIGDestructor(n_layers=0).fit(X).score(X))
    True
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "marginal": [HasMethods(["fit", "transform"]), None],
        "rotation": [StrOptions({"pca", "random", "ica", "sliced"}), HasMethods(["fit", "transform"])],
        "n_layers": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "tol": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [Interval(Integral, 2, None, closed="left"), None],
        "unmixing": [StrOptions({"ica", "auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        marginal=None,
        rotation="sliced",
        *,
        n_layers="auto",
        validation_fraction=0.1,
        tol="auto",
        patience=10,
        max_layers=100,
        max_samples=4096,
        unmixing=None,
        random_state=None,
        verbose=0,
        output_distribution="uniform",
    ):
        self.marginal = marginal
        self.rotation = rotation
        self.n_layers = n_layers
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.patience = patience
        self.max_layers = max_layers
        self.max_samples = max_samples
        self.unmixing = unmixing
        self.random_state = random_state
        self.verbose = verbose
        self.output_distribution = output_distribution

    def __setstate__(self, state):
        # Models pickled before the ``unmixing`` parameter had none: their
        # first layer is the marginal layer and gives the marginal entropies.
        state.setdefault("unmixing", None)
        if "layers_" in state:
            state.setdefault("unmixing_", None)
            state.setdefault("marginal_layer_", state["layers_"][0])
            if "marginal_entropy_" in state:
                state.setdefault("first_entropy_", state["marginal_entropy_"])
        super().__setstate__(state)

    # ------------------------------------------------------------ templates
    def _templates(self):
        """Templates of the first marginal layer, of the later marginal layers and of the rotations."""
        if self.marginal is None:
            first = default_first_layer()
            marginal = MarginalDestructor(
                HistogramDensity(
                    bins="sqrt", tails="normal", shrinkage="auto", shrinkage_target="fitted_normal", smooth=True,
                )
            )
        else:
            first = marginal = self.marginal
        if self.rotation == "sliced":
            rotation = RotationDestructor("sliced", max_iter=_SLICED_MAX_ITER)
        elif isinstance(self.rotation, str):
            rotation = RotationDestructor(self.rotation)
        else:
            rotation = self.rotation
        for name, template in (("marginal", marginal), ("rotation", rotation)):
            if not isinstance(template, BaseDestructor):
                raise ValueError(
                    f"RBIGDestructor: the {name!r} parameter must be a destructor "
                    f"(a BaseDestructor), got {type(template).__name__}."
                )
        return first, marginal, rotation

    def _search_rows(self, rotation, n_samples, rng):
        """Rows on which to fit a rotation: a random subsample for searched rotations, else all (None)."""
        if (
            self.max_samples is None
            or n_samples <= self.max_samples
            or getattr(rotation, "rotation", None) not in _SEARCHED_ROTATIONS
        ):
            return None
        return np.sort(rng.choice(n_samples, self.max_samples, replace=False))

    def _iteration(self, Z, rotation, marginal, rng):
        """Fit one (rotation, marginal) iteration on ``Z``; return layers, output, log-det."""
        rotation_layer = make_layer(rotation, rng)
        rows = self._search_rows(rotation, Z.shape[0], rng)
        if rows is None:
            Y, log_det = rotation_layer._fit_layer(Z)
        else:
            rotation_layer._fit_layer(Z[rows])
            Y, log_det = rotation_layer._forward(Z)
        marginal_layer = make_layer(marginal, rng)
        W, marginal_log_det = marginal_layer._fit_layer(Y)
        return rotation_layer, marginal_layer, W, log_det + marginal_log_det

    def _noise_floor(self, shape, first, rotation, marginal, rng, marginal_first=None):
        """Simulation of ``tol="auto"`` on standard normal data of ``shape``.

        Returns the reductions found there by RBIG iterations, the optimism
        of the first layer (its held-in mean log-likelihood less the true
        one, the mean of its gain over the normal density) and that of the
        marginal layer ``marginal_first`` fitted to the raw features, if it
        is not the first layer itself (with an unmixing).
        """
        X = rng.standard_normal(shape)
        Z, log_det = make_layer(first, rng)._fit_layer(X)
        optimism = marginal_optimism = _mean_gain(X, Z, log_det)
        if marginal_first is not None:
            marginal_optimism = _mean_gain(X, *make_layer(marginal_first, rng)._fit_layer(X))
        reductions = []
        for _ in range(_N_NOISE_LAYERS):
            *_, W, log_det = self._iteration(Z, rotation, marginal, rng)
            reductions.append(_mean_gain(Z, W, log_det))
            Z = W
        return np.array(reductions), optimism, marginal_optimism

    def _total_correlation(self, reductions):
        """Sum of the reductions, each less the noise floor, and at least 0."""
        return max(float(np.sum(np.asarray(reductions) - self.noise_floor_)), 0.0)

    # ---------------------------------------------------------------- hooks
    def _fit(self, X):
        self._fit_forward(X)

    def _set_tolerance(self, noise_floor, held_in_entropy, marginal_held_in_entropy=None):
        """Set ``noise_floor_``, ``noise_floor_std_``, ``tol_``, the optimisms and the first entropies.

        ``noise_floor()`` runs the simulation of ``tol="auto"`` and returns
        the reductions found there, the first layer's optimism and,
        optionally, that of the separate marginal layer;
        ``held_in_entropy`` is the first layer's negative mean
        log-likelihood on the training rows, which the optimism corrects,
        and ``marginal_held_in_entropy`` that of the separate marginal layer
        (``None``: the first layer is the marginal layer).
        """
        optimism = marginal_optimism = 0.0
        if self.tol == "auto":
            floor, optimism, *marginal = noise_floor()
            marginal_optimism = marginal[0] if marginal else optimism
            self.noise_floor_ = float(floor.mean())
            self.noise_floor_std_ = float(floor.std(ddof=1))
            self.tol_ = float(floor.mean() + 3.0 * floor.std(ddof=1))
        else:
            self.noise_floor_ = 0.0
            self.noise_floor_std_ = 0.0
            self.tol_ = float(self.tol)
        if marginal_held_in_entropy is None:
            marginal_held_in_entropy, marginal_optimism = held_in_entropy, optimism
        self.marginal_optimism_ = float(marginal_optimism)
        self.marginal_entropy_ = float(marginal_held_in_entropy) + self.marginal_optimism_
        self.first_entropy_ = float(held_in_entropy) + float(optimism)

    def _iterate(self, first, n_features, iterate, keep=None, n_iterations=None):
        """Add iterations after the ``first`` layer until the stopping rule holds; store the stack.

        The loop of the in-memory and the Dask fits (:mod:`destructors.dask`):
        ``iterate()`` fits the next iteration and returns its rotation layer,
        its marginal layer and the total correlation it removed; ``keep()``,
        if given, is called after each iteration the stack keeps, so that the
        caller can remember its output there. ``n_iterations``, if given,
        fixes the number of iterations (a depth chosen on validation rows).
        """
        auto = self.n_layers == "auto" and n_iterations is None
        if n_iterations is not None:
            max_iterations = n_iterations
        elif auto:
            max_iterations = self.max_layers if n_features > 1 else 0
        else:
            max_iterations = self.n_layers
        layers, reductions = [first], []
        kept = (1, 0)  # layers and reductions kept
        below = 0
        for iteration in range(max_iterations):
            rotation_layer, marginal_layer, reduction = iterate()
            layers += [rotation_layer, marginal_layer]
            reductions.append(reduction)
            below = below + 1 if reduction <= self.tol_ else 0
            if below == 0 or not auto:
                kept = (len(layers), len(reductions))
                if keep is not None:
                    keep()
            if self.verbose > 0:
                print(
                    f"[RBIGDestructor] iteration {iteration + 1}: TC reduction "
                    f"{reduction:.5f} nats (tol {self.tol_:.5f}), total "
                    f"{self._total_correlation(reductions):.5f} nats"
                )
            if auto and below >= self.patience:
                break

        n_layers, n_reductions = kept
        self.layers_ = layers[:n_layers]
        self.tc_reductions_ = np.array(reductions[:n_reductions])
        self.n_layers_ = n_reductions
        removed = self._total_correlation(self.tc_reductions_) if n_features > 1 else 0.0
        self.entropy_ = self.first_entropy_ - removed
        if getattr(self, "unmixing_", None) is None:
            self.total_correlation_ = removed
        else:
            self.total_correlation_ = max(self.marginal_entropy_ - self.entropy_, 0.0)

    def _searches_depth(self, n_samples, n_features):
        """Whether the depth is chosen on held-out rows (``n_layers="auto"`` with a validation fraction)."""
        if self.n_layers != "auto" or self.validation_fraction is None or n_features < 2:
            return False
        n_validation = int(round(self.validation_fraction * n_samples))
        return n_validation >= 1 and n_samples - n_validation >= 2

    def _validation_split(self, n_samples, rng):
        """Training and validation row indices of the depth search."""
        n_validation = int(round(self.validation_fraction * n_samples))
        order = rng.permutation(n_samples)
        return np.sort(order[n_validation:]), np.sort(order[:n_validation])

    def _validated_depth(self, X_train, X_val, first_template, rotation, marginal, rng):
        """Number of iterations whose model, fitted on ``X_train``, scores ``X_val`` best, and the scores.

        Iterations are added until ``patience`` of them in a row fail to
        raise the best validation log-likelihood, or until ``max_layers``.
        """
        first = make_layer(first_template, rng)
        Z, _ = first._fit_layer(X_train)
        Z_val, log_det_val = first._forward(X_val)
        scores = [float(np.mean(norm_logpdf(Z_val).sum(axis=1) + log_det_val))]
        best = 0
        for iteration in range(1, self.max_layers + 1):
            rotation_layer, marginal_layer, Z, _ = self._iteration(Z, rotation, marginal, rng)
            for layer in (rotation_layer, marginal_layer):
                Z_val, layer_log_det = layer._forward(Z_val)
                log_det_val = log_det_val + layer_log_det
            scores.append(float(np.mean(norm_logpdf(Z_val).sum(axis=1) + log_det_val)))
            if scores[-1] > scores[best]:
                best = iteration
            if self.verbose > 0:
                print(
                    f"[RBIGDestructor] depth search, iteration {iteration}: validation "
                    f"log-likelihood {scores[-1]:.5f} (best {scores[best]:.5f} at {best})"
                )
            if iteration - best >= self.patience:
                break
        return best, np.array(scores)

    def _fit_forward(self, X):
        marginal_template, marginal, rotation = self._templates()
        rng = resolve_random_state(self.random_state)
        n_iterations = None
        unmixing = None if self.unmixing == "auto" else self.unmixing
        self.validation_scores_ = None
        if self._searches_depth(*X.shape):
            # The search draws from its own stream, so that the final fit
            # consumes the seeds as a fit of a fixed depth does.
            search_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            train, validation = self._validation_split(X.shape[0], search_rng)
            choices = (None, "ica") if self.unmixing == "auto" else (unmixing,)
            for choice in choices:
                depth, scores = self._validated_depth(
                    X[train], X[validation], _first_layer(marginal_template, choice), rotation, marginal, search_rng
                )
                if self.validation_scores_ is None or scores[depth] > self.validation_scores_[n_iterations]:
                    unmixing, n_iterations, self.validation_scores_ = choice, depth, scores
        self.unmixing_ = unmixing

        first_template = _first_layer(marginal_template, unmixing)
        first = make_layer(first_template, rng)
        Z, log_det = first._fit_layer(X)
        marginal_held_in = None
        self.marginal_layer_ = first
        if unmixing is not None:
            # The marginal entropies are those of the raw features, not of
            # the unmixed ones: fit the marginal layer to them as well.
            self.marginal_layer_ = make_layer(marginal_template, rng)
            marginal_held_in = -float(np.mean(self.marginal_layer_._fit_layer_log_density(X)))
        # Held-in log-likelihood of the first layer: with no unmixing, that
        # of the marginal densities, sum_j log f_j(x_j).
        self._set_tolerance(
            lambda: self._noise_floor(
                X.shape, first_template, rotation, marginal, rng,
                marginal_first=None if unmixing is None else marginal_template,
            ),
            held_in_entropy=-np.mean(norm_logpdf(Z).sum(axis=1) + log_det),
            marginal_held_in_entropy=marginal_held_in,
        )

        current = {"Z": Z, "log_det": log_det}
        kept = dict(current)

        def iterate():
            Z = current["Z"]
            rotation_layer, marginal_layer, W, layer_log_det = self._iteration(Z, rotation, marginal, rng)
            current.update(Z=W, log_det=current["log_det"] + layer_log_det)
            return rotation_layer, marginal_layer, _mean_gain(Z, W, layer_log_det)

        self._iterate(first, X.shape[1], iterate, keep=lambda: kept.update(current), n_iterations=n_iterations)
        return kept["Z"], kept["log_det"]
