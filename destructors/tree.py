"""Density trees and tree destructors.

:class:`TreeDensity` is a piecewise-constant density on the axis-aligned
leaves of a tree; :class:`TreeDestructor` maps each leaf linearly onto a box
of the unit cube whose volume is the leaf's mass, so that its output is
uniform (Inouye & Ravikumar, "Deep Density Destructors", ICML 2018). The
numerical work (growing, leaf lookup, the per-leaf maps) lives in
``_tree_kernels``.
"""

from math import ceil
from numbers import Integral, Real

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.base import BaseEstimator, DensityMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _tree_kernels as kernels
from .base import CachedParamNames, CanonicalDestructor, check_n_samples, derive_seeds, resolve_random_state

__all__ = ["TreeDensity", "TreeDestructor"]


class TreeDensity(CachedParamNames, DensityMixin, BaseEstimator):
    """Piecewise-constant density on the leaves of a tree over the unit cube.

    The tree splits the cube into axis-aligned boxes (its leaves); the
    density on a leaf is its mass divided by its volume, where the mass is the
    fraction of training rows in the leaf mixed with a small uniform weight::

        q(x) = ((1 - w) n_leaf / n + w V_leaf) / V_leaf     for x in the leaf

    so no leaf has zero density.

    Parameters
    ----------
    splitter : {"best", "random"}, default="best"
        ``"best"`` grows a density estimation tree (Ram & Gray, KDD 2011):
        the leaf whose best split gains the most log-likelihood is split next,
        searched over all features and thresholds. ``"random"`` splits the
        most populated leaf on a random feature at a uniform random threshold
        (as the random trees of Inouye & Ravikumar), much cheaper and meant
        for deep stacks of :class:`TreeDestructor` layers.
    max_leaf_nodes : int or None, default=None
        Largest number of leaves grown. ``None`` grows until no leaf can be
        split.
    min_samples_leaf : int or float, default=1
        Fewest training rows in a leaf; a float in (0, 1) is a fraction of
        the rows used for growing.
    max_depth : int or None, default=None
        Largest depth of a leaf.
    validation_fraction : float in [0, 1), default=0.2
        Fraction of the rows held out to prune the tree. Growth is best node
        first, so the first ``s`` splits form a nested sequence of trees; the
        ``s`` with the highest held-out log-likelihood is kept (this is what
        stops ``splitter="best"`` from overfitting). Growth stops early once
        the tree has ``max(20, s)`` splits more than the best one so far
        ``s`` (on 4 x 4, 8 x 8 and 16 x 16 checkerboards, whose first splits
        gain nothing, the same trees as with ``max(100, s)``, grown in two
        thirds of the time on the 4 x 4 board). The leaf masses are then
        estimated on all rows. ``0`` keeps the fully grown tree.
    uniform_weight : float in [0, 1], default=1e-6
        Weight ``w`` of the uniform density mixed into the tree density.
    random_state : int, RandomState instance or None, default=None
        Seed of the validation split and of the random splits.

    Attributes
    ----------
    feature_ : ndarray of shape (n_nodes,)
        Split feature of each node, ``-1`` at leaves. Nodes are numbered in
        creation order, so parents come before their children.
    threshold_ : ndarray of shape (n_nodes,)
        Split threshold of each node (rows with ``x[feature] <= threshold``
        go left), ``nan`` at leaves.
    children_left_, children_right_ : ndarray of shape (n_nodes,)
        Children of each node, ``-1`` at leaves; the right child is always
        the left child plus one.
    leaves_ : ndarray of shape (n_leaves,)
        Node numbers of the leaves, in increasing order; the ``leaf_*``
        arrays follow this order.
    leaf_lower_, leaf_upper_ : ndarray of shape (n_leaves, n_features)
        Corners of each leaf's box.
    leaf_mass_ : ndarray of shape (n_leaves,)
        Probability mass of each leaf (uniform weight included); sums to one.
    leaf_log_density_ : ndarray of shape (n_leaves,)
        Log density on each leaf.
    n_leaves_ : int
        Number of leaves.
    depth_ : int
        Depth of the deepest leaf.
    validation_scores_ : ndarray of shape (n_splits_grown + 1,) or None
        Mean held-out log-likelihood of the tree made of the first ``s``
        splits, for every ``s``; ``None`` without a validation split.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    TreeDestructor : The destructor built on a tree density.

    Notes
    -----
    The log-likelihood gain of splitting a node of ``m`` rows into ``k`` and
    ``m - k`` rows at a threshold cutting its side into fractions ``f`` and
    ``1 - f`` is ``k log((k/m)/f) + (m-k) log(((m-k)/m)/(1-f))``. For every
    feature the node's values are sorted once and the gains of all midpoints
    between consecutive values follow from the ranks, so a node costs
    ``O(m log m)`` per feature and a tree ``O(n log n x depth)``.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import TreeDensity
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.uniform(0, 0.5, size=(900, 2)), rng.uniform(size=(100, 2))])
    >>> density = TreeDensity(random_state=0).fit(X)
    >>> density.n_leaves_ >= 2
    True

    The true density is 3.7 on the lower-left quarter and 0.1 elsewhere:

    >>> np.round(np.exp(density.score_samples([[0.25, 0.25], [0.75, 0.75]])), 1)
    array([3.5, 0.1])
    """

    _parameter_constraints: dict = {
        "splitter": [StrOptions({"best", "random"})],
        "max_leaf_nodes": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
        ],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0.0, 1.0, closed="left")],
        "uniform_weight": [Interval(Real, 0.0, 1.0, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        splitter="best",
        *,
        max_leaf_nodes=None,
        min_samples_leaf=1,
        max_depth=None,
        validation_fraction=0.2,
        uniform_weight=1e-6,
        random_state=None,
    ):
        self.splitter = splitter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.validation_fraction = validation_fraction
        self.uniform_weight = uniform_weight
        self.random_state = random_state

    # ------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Grow the tree on ``X`` and estimate the leaf masses.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: points of the unit cube.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted density.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self._check_unit(X)
        self._fit_unit(X, resolve_random_state(self.random_state))
        return self

    def _check_unit(self, X):
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(
                f"TreeDensity takes points of the unit cube [0, 1]^d, but X has "
                f"values in [{X.min():.6g}, {X.max():.6g}]. Map the data into the "
                "cube first (for example with a MarginalDestructor), or use a "
                "TreeDestructor with input_distribution='normal'."
            )

    def _resolve_min_samples_leaf(self, n_rows):
        if isinstance(self.min_samples_leaf, Integral):
            return int(self.min_samples_leaf)
        return max(1, ceil(self.min_samples_leaf * n_rows))

    def _fit_unit(self, U, rng):
        n_rows, n_features = U.shape
        n_valid = int(self.validation_fraction * n_rows)
        if n_valid >= 1 and n_rows - n_valid >= 2:
            permutation = rng.permutation(n_rows)
            valid, grow = U[permutation[:n_valid]], U[permutation[n_valid:]]
        else:
            valid, grow = None, U
        tree = kernels.grow_tree(
            grow,
            splitter=self.splitter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self._resolve_min_samples_leaf(grow.shape[0]),
            max_depth=self.max_depth,
            rng=rng,
            valid=valid,
            uniform_weight=self.uniform_weight,
        )
        self.validation_scores_ = None
        if valid is not None:
            self.validation_scores_ = tree["scores"] / n_valid
            tree = kernels.prune_tree(tree, int(np.argmax(tree["scores"])))

        # Leaf masses from all rows.
        lookup = kernels.lookup_arrays(tree)
        depth = int(tree["depth"].max())
        nodes = kernels.find_nodes(lookup, U, (depth, depth))
        is_leaf = tree["left"] < 0
        count = np.bincount(nodes, minlength=is_leaf.size)[is_leaf].astype(np.float64)
        tree["count"] = kernels.node_masses(tree, count)
        lower, upper = kernels.node_boxes(tree, n_features)
        log_volume = np.log(upper[is_leaf] - lower[is_leaf]).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_density = kernels.box_log_density(count, n_rows, log_volume, self.uniform_weight)
        self._tree_ = tree
        self._lookup_ = lookup
        self._levels_ = kernels.lookup_levels(tree, count)
        self.depth_ = depth
        self.leaves_ = np.flatnonzero(is_leaf)
        self.n_leaves_ = self.leaves_.size
        self._leaf_of_node_ = np.cumsum(is_leaf) - 1
        mass = np.exp(log_density + log_volume)
        self.leaf_mass_ = mass / mass.sum()

        self.leaf_lower_ = lower[is_leaf]
        self.leaf_upper_ = upper[is_leaf]
        self.leaf_log_density_ = log_density
        self.feature_ = tree["feature"].copy()
        self.threshold_ = np.where(is_leaf, np.nan, tree["threshold"])
        self.children_left_ = tree["left"].copy()
        self.children_right_ = np.where(is_leaf, -1, tree["left"] + 1)

    # ------------------------------------------------------------- scoring
    def _unit_rows(self, X):
        """Validated rows, points of the unit cube."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        self._check_unit(X)
        return X

    def _apply_unit(self, U):
        """Leaf index (position in ``leaves_``) of rows in unit coordinates."""
        return self._leaf_of_node_.take(kernels.find_nodes(self._lookup_, U, self._levels_))

    def apply(self, X):
        """Leaf of each row, as a position in :attr:`leaves_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points of the unit cube.

        Returns
        -------
        leaf : ndarray of shape (n_samples,)
            Index into ``leaves_`` and the ``leaf_*`` arrays.
        """
        return self._apply_unit(self._unit_rows(X))

    def score_samples(self, X):
        """Log density of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to evaluate the density.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Log density of each row (finite when ``uniform_weight > 0``).
        """
        return self.leaf_log_density_.take(self._apply_unit(self._unit_rows(X)))

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` (the mean of :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean log density of the rows of ``X``, in nats.
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None):
        """Draw samples: a leaf by its mass, then a uniform point of its box.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples from the fitted density.
        """
        check_is_fitted(self)
        check_n_samples(self, n_samples)
        rng = resolve_random_state(random_state)
        cumulative = np.cumsum(self.leaf_mass_)
        leaf = np.searchsorted(cumulative, rng.uniform(size=n_samples) * cumulative[-1], side="right")
        leaf = np.minimum(leaf, self.n_leaves_ - 1)
        lower, upper = self.leaf_lower_[leaf], self.leaf_upper_[leaf]
        return lower + (upper - lower) * rng.uniform(size=lower.shape)


class TreeDestructor(CanonicalDestructor):
    """Map each leaf of a density tree linearly onto a box of volume equal to its mass.

    The fitted :class:`TreeDensity` partitions the unit cube into leaves. The
    same splits, with every threshold moved so that each child gets the
    share of its parent's side equal to its share of the parent's mass,
    partition the output cube into target boxes whose volumes are the leaf
    masses. Each leaf maps linearly onto its target box, so the map is
    invertible, its Jacobian determinant on a leaf is the leaf's density,
    and data from the tree density come out uniform (Inouye & Ravikumar,
    "Deep Density Destructors", ICML 2018). Stacked deeply, tree destructors
    capture sharp, axis-aligned structure that smooth models miss.

    Parameters
    ----------
    tree_density : TreeDensity or None, default=None
        Template of the tree density, cloned and fitted on the unit cube.
        ``None`` uses
        ``TreeDensity()``. Its parameters are reachable as
        ``tree_density__<param>``.
    random_state : int, RandomState instance or None, default=None
        Seed of the tree; when not ``None`` it replaces the template's
        ``random_state``.
    input_distribution : {"uniform", "normal"}, default="uniform"
        Domain of the input: the unit cube, or its Gaussian view.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    tree_density_ : TreeDensity
        The fitted tree density.
    target_lower_, target_upper_ : ndarray of shape (n_leaves, n_features)
        Corners of the box of the output cube that receives each leaf (leaves
        in the order of ``tree_density_.leaves_``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    TreeDensity : The piecewise-constant density.

    Notes
    -----
    On a leaf with box ``[l, h]`` and target box ``[l', h']`` each
    coordinate maps as ``u' = l' + s (u - l)`` with ``s = (h' - l') / (h - l)``,
    so ``log |det J| = sum_j log s_j``, the leaf's log density. The layer
    works in the Gaussian view ``z = Phi^-1(u)``: ``log |dz'/dz| = log s +
    log phi(z) - log phi(z')``. A leaf touching the face ``u = 0`` maps as
    ``u' = s u`` and one touching ``u = 1`` as ``1 - u' = s (1 - u)``, both
    computed from the exact tail ``Phi(-|z|)`` (in log space far out), so
    values many standard deviations out keep their precision. Every row's
    leaf is found by comparing ``z`` with the Gaussian-view images of the
    thresholds, one vectorized step per tree level, so a layer costs
    ``O(n x depth)`` plus one ``ndtr``, one ``ndtri`` and a few elementwise
    passes over ``n x d``.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import TreeDensity, TreeDestructor
    >>> rng = np.random.default_rng(0)
    >>> U = np.vstack([rng.uniform(0, 0.5, size=(900, 2)), rng.uniform(size=(100, 2))])
    >>> destructor = TreeDestructor(TreeDensity(random_state=0)).fit(U)
    >>> V = destructor.transform(U)
    >>> np.round(V.mean(axis=0), 1)
    array([0.5, 0.5])
    >>> np.allclose(destructor.inverse_transform(V), U)
    True
    >>> bool(destructor.score(U) > 0.5)
    True
    """

    _parameter_constraints: dict = {
        **CanonicalDestructor._parameter_constraints,
        "tree_density": [TreeDensity, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        tree_density=None,
        *,
        random_state=None,
        input_distribution="uniform",
        output_distribution="uniform",
    ):
        self.tree_density = tree_density
        self.random_state = random_state
        self.input_distribution = input_distribution
        self.output_distribution = output_distribution

    def _fit(self, X):
        density = TreeDensity() if self.tree_density is None else clone(self.tree_density)
        if self.random_state is not None:
            seed = derive_seeds(self.random_state, 1)[0]
            density.set_params(random_state=seed)
        density.fit(ndtr(X))
        self.tree_density_ = density

        tree, n_features = density._tree_, X.shape[1]
        is_leaf = tree["left"] < 0
        mass = kernels.node_masses(tree, density.leaf_mass_)
        target_lower, target_complement, target_width, target_threshold = kernels.target_boxes(
            tree, mass, n_features
        )
        # The density's leaf boxes are the source boxes: not computed again.
        source_lower, source_upper = density.leaf_lower_, density.leaf_upper_
        self._forward_map_, self._inverse_map_ = kernels.leaf_maps(
            source_lower, source_upper,
            target_lower[is_leaf], target_complement[is_leaf], target_width[is_leaf],
        )
        self._leaf_log_det_ = self._forward_map_["log_scale"].sum(axis=1)
        self.target_lower_ = target_lower[is_leaf]
        self.target_upper_ = 1.0 - target_complement[is_leaf]
        # Leaves are found in the Gaussian view, by the images of the thresholds.
        self._source_lookup_ = kernels.lookup_arrays(tree, ndtri(tree["threshold"]))
        self._target_lookup_ = kernels.lookup_arrays(tree, ndtri(target_threshold))
        # Leaf boxes as each lookup sees them: every mapped row is clipped into
        # the box of its leaf, so that the way back finds the same leaf.
        self._target_bounds_ = kernels.normal_bounds(tree, target_threshold, n_features)
        self._source_bounds_ = kernels.normal_box_bounds(source_lower, source_upper)

    def _forward(self, X):
        density = self.tree_density_
        return kernels.map_normal(
            X, self._source_lookup_, density._levels_, density._leaf_of_node_,
            self._forward_map_, self._leaf_log_det_, bounds=getattr(self, "_target_bounds_", None),
        )

    def _inverse(self, Z):
        density = self.tree_density_
        X, _ = kernels.map_normal(
            Z, self._target_lookup_, density._levels_, density._leaf_of_node_, self._inverse_map_,
            bounds=getattr(self, "_source_bounds_", None),
        )
        return X
