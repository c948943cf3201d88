"""Numerical kernels of density trees: growing, leaf lookup, per-leaf linear maps.

A tree lives in flat arrays over its nodes, numbered in creation order, so
that a parent always comes before its children:

``feature``
    Split feature of each node, ``-1`` at leaves.
``threshold``
    Split threshold; rows with ``x[feature] <= threshold`` go left.
``left``
    Left child of each node, ``-1`` at leaves. The right child is always
    ``left + 1``: children are created in pairs.
``depth``
    Depth of each node, 0 at the root.

Trees are grown on the unit cube. Growth loops over nodes, but each node's
work is vectorized over its rows and candidate thresholds; everything done
with a fitted tree (leaf lookup, boxes, maps) is vectorized over rows and
loops at most over tree levels. These kernels know nothing about estimators.
"""

import heapq

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp

from ._normal import _U_MAX, _U_MIN

# Smallest width a split may leave on either side of its threshold, so that
# every leaf has a finite log volume and finite per-coordinate scales.
_MIN_WIDTH = 1e-280
# Tail probabilities below this are mapped in log space (a linear map of a
# number this small could underflow).
_FAR_TAIL = 1e-100
# Upper bound on candidate thresholds x features evaluated at once.
_CANDIDATE_BLOCK = 2**20


# --------------------------------------------------------------------- growth
def _best_split(values, lower, upper, min_samples_leaf):
    """Split of one node maximizing the log-likelihood gain, or ``None``.

    With ``m`` rows, ``k`` of them left of the threshold and the threshold
    cutting the node's side into fractions ``f`` and ``1 - f``, the gain in
    total log-likelihood of the piecewise-constant density is (Ram & Gray 2011)::

        k log((k / m) / f) + (m - k) log(((m - k) / m) / (1 - f))

    Thresholds are midpoints between consecutive distinct sorted values; all
    of them, on all features, are scored with one sort per feature block.
    """
    m, n_features = values.shape
    s = min_samples_leaf
    if m < 2 * s:
        return None
    n_left = np.arange(s, m - s + 1, dtype=np.float64)[:, None]
    n_right = m - n_left
    best = (-np.inf, -1, 0.0)
    block = max(1, _CANDIDATE_BLOCK // n_left.size)
    for start in range(0, n_features, block):
        cols = slice(start, min(start + block, n_features))
        ordered = np.sort(values[:, cols], axis=0)
        # Candidate k lies between the k-th and (k + 1)-th sorted values.
        below, above = ordered[s - 1 : m - s], ordered[s : m - s + 1]
        lo, hi = lower[cols], upper[cols]
        threshold = below + above
        threshold *= 0.5
        left_width, right_width = threshold - lo, hi - threshold
        invalid = below >= above
        invalid |= left_width <= _MIN_WIDTH
        invalid |= right_width <= _MIN_WIDTH
        width = hi - lo
        # Same operations, in the same order, as the formula above; in place.
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = n_left * width
            gain /= m * left_width
            np.log(gain, out=gain)
            gain *= n_left
            right = n_right * width
            right /= m * right_width
            np.log(right, out=right)
            right *= n_right
            gain += right
        np.copyto(gain, -np.inf, where=invalid)
        # First maximum in (candidate, feature) order; all -inf means no valid split.
        row, col = divmod(int(gain.argmax()), gain.shape[1])
        if gain[row, col] > best[0]:
            best = (float(gain[row, col]), start + col, float(threshold[row, col]))
    if best[1] < 0:
        return None
    return best


def _random_split(values, lower, upper, min_samples_leaf, rng):
    """A random feature and a uniform random threshold, or ``None``.

    The threshold is drawn between the ``min_samples_leaf``-th smallest and
    largest values of the feature, so both children keep enough rows; only
    features where that range is not empty are eligible.
    """
    m = values.shape[0]
    if m < 2 * min_samples_leaf:
        return None
    kth = [min_samples_leaf - 1, m - min_samples_leaf]
    part = np.partition(values, kth, axis=0)
    a, b = part[kth[0]], part[kth[1]]
    eligible = np.flatnonzero(b > a)
    if eligible.size == 0:
        return None
    feature = int(eligible[rng.randint(eligible.size)])
    lo, hi = a[feature], b[feature]
    threshold = lo + (hi - lo) * rng.uniform()
    if not (threshold < hi and threshold - lower[feature] > _MIN_WIDTH and upper[feature] - threshold > _MIN_WIDTH):
        threshold = 0.5 * (lo + hi)
        if not (threshold < hi and threshold - lower[feature] > _MIN_WIDTH and upper[feature] - threshold > _MIN_WIDTH):
            return None
    return 0.0, feature, float(threshold)


def box_log_density(count, n_rows, log_volume, uniform_weight):
    """Log density of a box holding ``count`` of ``n_rows`` rows, uniform mixed in."""
    mass = (1.0 - uniform_weight) * count / n_rows + uniform_weight * np.exp(log_volume)
    return np.log(mass) - log_volume


def grow_tree(
    U, *, splitter, max_leaf_nodes, min_samples_leaf, max_depth, rng,
    valid=None, uniform_weight=0.0, min_patience=20,
):
    """Grow a density tree on rows ``U`` of the unit cube, best node first.

    With ``splitter="best"`` the leaf whose best split gains the most
    log-likelihood is split next; with ``"random"`` the most populated leaf
    gets a random split. Growth stops at ``max_leaf_nodes`` leaves or when no
    leaf can be split (``min_samples_leaf``, ``max_depth``, ties).

    The first ``s`` splits form a nested sequence of trees. With held-out
    rows ``valid``, the log-likelihood of the tree after every split is
    tracked (leaf densities from ``U``, mixed with ``uniform_weight``), and
    growth also stops once the grown tree has ``max(min_patience, s*)``
    splits more than the best tree so far, ``s*`` splits: twice the size of
    the best tree, and at least ``min_patience`` splits past it, so a split
    that pays off only after a few more (as on a checkerboard) is still found.

    Returns
    -------
    tree : dict
        ``feature``, ``threshold``, ``left``, ``depth`` and ``count`` (rows of
        ``U`` in each node) arrays; ``order``, the rank of each internal node
        in the growth sequence (``n_splits`` at leaves); and ``scores``, the
        total held-out log-likelihood after ``s = 0, 1, ...`` splits (``None``
        without ``valid``).
    """
    n_samples, n_features = U.shape
    max_leaf_nodes = np.inf if max_leaf_nodes is None else max_leaf_nodes
    max_depth = np.inf if max_depth is None else max_depth
    feature, threshold, left, depth, count = [-1], [0.0], [-1], [0], [n_samples]
    lower, upper, log_volume, value = [np.zeros(n_features)], [np.ones(n_features)], [0.0], [0.0]
    order = []
    rows, valid_rows = {}, {}
    heap = []

    def consider(node, idx, valid_idx):
        if depth[node] >= max_depth:
            return
        values = U[idx]
        if splitter == "best":
            split = _best_split(values, lower[node], upper[node], min_samples_leaf)
            priority = None if split is None else -split[0]
        else:
            split = _random_split(values, lower[node], upper[node], min_samples_leaf, rng)
            priority = -idx.size
        if split is not None:
            rows[node], valid_rows[node] = idx, valid_idx
            heapq.heappush(heap, (priority, node, split[1], split[2]))

    everything = np.arange(n_samples)
    consider(0, everything, None if valid is None else np.arange(valid.shape[0]))
    scores = None if valid is None else [0.0]
    best = 0
    n_leaves = 1
    while heap and n_leaves < max_leaf_nodes:
        _, node, f, t = heapq.heappop(heap)
        idx, valid_idx = rows.pop(node), valid_rows.pop(node)
        go_left = U[idx, f] <= t
        child = len(feature)
        feature[node], threshold[node], left[node] = f, t, child
        order.append(node)
        left_upper, right_lower = upper[node].copy(), lower[node].copy()
        left_upper[f] = right_lower[f] = t
        side = upper[node][f] - lower[node][f]
        parts = (
            (idx[go_left], lower[node], left_upper, np.log((t - lower[node][f]) / side)),
            (idx[~go_left], right_lower, upper[node], np.log((upper[node][f] - t) / side)),
        )
        for part, lo, hi, log_share in parts:
            feature.append(-1)
            threshold.append(0.0)
            left.append(-1)
            depth.append(depth[node] + 1)
            count.append(part.size)
            lower.append(lo)
            upper.append(hi)
            log_volume.append(log_volume[node] + log_share)
            value.append(float(box_log_density(part.size, n_samples, log_volume[-1], uniform_weight)))
        n_leaves += 1
        if valid is None:
            consider(child, idx[go_left], None)
            consider(child + 1, idx[~go_left], None)
            continue
        valid_left = valid[valid_idx, f] <= t
        n_left = int(valid_left.sum())
        n_right = valid_idx.size - n_left
        scores.append(scores[-1] + n_left * (value[child] - value[node]) + n_right * (value[child + 1] - value[node]))
        if scores[-1] > scores[best]:
            best = len(scores) - 1
        if len(scores) - 1 - best > max(min_patience, best):
            break
        consider(child, idx[go_left], valid_idx[valid_left])
        consider(child + 1, idx[~go_left], valid_idx[~valid_left])

    n_nodes = len(feature)
    rank = np.full(n_nodes, len(order), dtype=np.intp)
    rank[np.asarray(order, dtype=np.intp)] = np.arange(len(order))
    return {
        "feature": np.asarray(feature, dtype=np.intp),
        "threshold": np.asarray(threshold, dtype=np.float64),
        "left": np.asarray(left, dtype=np.intp),
        "depth": np.asarray(depth, dtype=np.intp),
        "count": np.asarray(count, dtype=np.float64),
        "order": rank,
        "scores": None if scores is None else np.asarray(scores),
    }


def prune_tree(tree, n_splits):
    """Keep the first ``n_splits`` splits of the growth sequence.

    Node numbering stays in creation order and children stay in pairs.
    """
    split = tree["order"] < n_splits
    keep = np.zeros(split.size, dtype=bool)
    keep[0] = True
    keep[tree["left"][split]] = True
    keep[tree["left"][split] + 1] = True
    new_id = np.cumsum(keep) - 1
    left = np.where(split, new_id[np.maximum(tree["left"], 0)], -1)
    pruned = {
        "feature": np.where(split, tree["feature"], -1)[keep],
        "threshold": np.where(split, tree["threshold"], 0.0)[keep],
        "left": left[keep],
        "depth": tree["depth"][keep],
        "count": tree["count"][keep],
    }
    pruned["order"] = np.where(split, tree["order"], n_splits)[keep]
    return pruned


# -------------------------------------------------------------------- lookup
def lookup_arrays(tree, threshold=None):
    """Arrays for :func:`find_nodes`: leaves point to themselves and never go right.

    ``threshold`` replaces the tree's thresholds (for example by their images
    in another space); returns ``(feature, threshold, next, is_leaf)``.
    """
    is_leaf = tree["left"] < 0
    threshold = tree["threshold"] if threshold is None else threshold
    feature = np.where(is_leaf, 0, tree["feature"])
    threshold = np.where(is_leaf, np.inf, threshold)
    nxt = np.where(is_leaf, np.arange(is_leaf.size), tree["left"])
    return feature, threshold, nxt, is_leaf


def lookup_levels(tree, leaf_weight, coverage=0.95):
    """Levels for :func:`find_nodes`: all of them, and how many to run on every row.

    After the first levels, which bring a ``coverage`` fraction of the
    weight (for example training rows) to its leaves, only the rows still
    at an internal node keep descending.
    """
    depth = tree["depth"][tree["left"] < 0]
    n_levels = int(depth.max())
    weight = np.bincount(depth, weights=leaf_weight, minlength=n_levels + 1).cumsum()
    n_full = int(np.searchsorted(weight, coverage * weight[-1]))
    return n_levels, min(n_full, n_levels)


def find_nodes(lookup, X, levels):
    """Leaf node of every row of ``X``, one vectorized step per tree level.

    Each step gathers every row's split feature and threshold and moves it
    to ``left`` or ``left + 1``; rows already at a leaf stay there because
    leaves point to themselves with an infinite threshold. The first
    ``levels[1]`` steps run on all rows in reused buffers; the remaining
    ``levels[0] - levels[1]`` run only on rows not yet at a leaf. Cost is
    ``O(n_rows x depth)``.
    """
    feature, threshold, nxt, is_leaf = lookup
    n_levels, n_full = levels
    n_rows, n_features = X.shape
    flat = np.ascontiguousarray(X).ravel()
    offsets = np.arange(0, n_rows * n_features, n_features)
    node = np.zeros(n_rows, dtype=np.intp)
    index = np.empty(n_rows, dtype=np.intp)
    values, cut = np.empty(n_rows), np.empty(n_rows)
    right = np.empty(n_rows, dtype=bool)
    for _ in range(n_full):
        np.take(feature, node, out=index, mode="wrap")
        np.add(index, offsets, out=index)
        np.take(flat, index, out=values, mode="wrap")
        np.take(threshold, node, out=cut, mode="wrap")
        np.greater(values, cut, out=right)
        np.take(nxt, node, out=index, mode="wrap")
        np.add(index, right, out=node)
    if n_levels > n_full:
        active = np.flatnonzero(~is_leaf.take(node))
        sub, base = node[active], offsets[active]
        for _ in range(n_levels - n_full):
            values = flat.take(base + feature.take(sub))
            sub = nxt.take(sub) + (values > threshold.take(sub))
        node[active] = sub
    return node


# --------------------------------------------------------------------- boxes
def _levels(tree):
    internal = tree["left"] >= 0
    depth = tree["depth"]
    return [np.flatnonzero(internal & (depth == k)) for k in range(int(depth.max()) + 1)]


def node_boxes(tree, n_features):
    """Lower and upper corners of every node's box in the unit cube."""
    n_nodes = tree["left"].size
    lower = np.zeros((n_nodes, n_features))
    upper = np.ones((n_nodes, n_features))
    for parents in _levels(tree):
        if not parents.size:
            continue
        f, t = tree["feature"][parents], tree["threshold"][parents]
        left = tree["left"][parents]
        for child in (left, left + 1):
            lower[child] = lower[parents]
            upper[child] = upper[parents]
        upper[left, f] = t
        lower[left + 1, f] = t
    return lower, upper


def node_masses(tree, leaf_mass):
    """Masses of all nodes from the masses of the leaves (summed level by level)."""
    mass = np.zeros(tree["left"].size)
    is_leaf = tree["left"] < 0
    mass[is_leaf] = leaf_mass
    for parents in reversed(_levels(tree)):
        left = tree["left"][parents]
        mass[parents] = mass[left] + mass[left + 1]
    return mass


def target_boxes(tree, mass, n_features):
    """Boxes that receive each node when leaf masses become volumes.

    The same splits are applied to the output cube, but every threshold
    moves so that each child gets a share of its parent's side equal to its
    share of the parent's mass. Returns the lower corners, the complements
    ``1 - upper`` and the widths, each tracked by its own recursion so that
    none is computed as a small difference of large numbers; and the
    thresholds of the target tree.
    """
    n_nodes = tree["left"].size
    lower = np.zeros((n_nodes, n_features))
    complement = np.zeros((n_nodes, n_features))
    width = np.ones((n_nodes, n_features))
    threshold = np.zeros(n_nodes)
    for parents in _levels(tree):
        if not parents.size:
            continue
        f = tree["feature"][parents]
        left = tree["left"][parents]
        right = left + 1
        share_left = mass[left] / mass[parents]
        share_right = mass[right] / mass[parents]
        side = width[parents, f]
        for child in (left, right):
            lower[child] = lower[parents]
            complement[child] = complement[parents]
            width[child] = width[parents]
        width[left, f] = side * share_left
        width[right, f] = side * share_right
        complement[left, f] = complement[parents, f] + side * share_right
        lower[right, f] = lower[parents, f] + side * share_left
        threshold[parents] = lower[right, f]
    return lower, complement, width, threshold


def leaf_maps(source_lower, source_upper, target_lower, target_complement, target_width):
    """Per-leaf linear maps from source boxes onto target boxes, both ways.

    Each coordinate maps as ``u' = s u + b`` and, equivalently, as
    ``1 - u' = s (1 - u) + e``. A leaf touching the lower face has ``b = 0``
    exactly and one touching the upper face ``e = 0`` exactly, so tails map
    multiplicatively without cancellation.

    When ``u`` and ``u'`` lie on different sides of 1/2 the small one of
    ``u'`` and ``1 - u'`` is computed from the box bounds instead, as
    ``1 - u' = c_out + s (upper_in - u)`` or ``u' = l_out + s (u - l_in)``:
    sums of non-negative terms, so a value in one tail mapped to the other
    keeps its precision both ways.

    Returns
    -------
    forward, inverse : dict
        ``scale`` (``s``), ``shift`` of shape (n_leaves, 2, n_features)
        holding ``e`` and ``b``, ``cross_offset`` and ``cross_bound`` of the
        same shape (for ``1 - u >= 1/2``: ``l_out`` and ``1 - l_in``; for
        ``u < 1/2``: ``c_out`` and ``upper_in``), ``log_scale``, and the
        masks ``face_low`` (``b == 0``) and ``face_high`` (``e == 0``). The
        inverse map has scale ``1 / s``.
    """
    source_width = source_upper - source_lower
    source_complement = 1.0 - source_upper
    scale = target_width / source_width
    log_scale = np.log(target_width) - np.log(source_width)
    maps = []
    for s, log_s, lo_in, co_in, lo_out, co_out in (
        (scale, log_scale, source_lower, source_complement, target_lower, target_complement),
        (1.0 / scale, -log_scale, target_lower, target_complement, source_lower, source_complement),
    ):
        low, high = lo_out - s * lo_in, co_out - s * co_in
        maps.append({
            "scale": s,
            "shift": np.ascontiguousarray(np.stack([high, low], axis=1)),
            "cross_offset": np.ascontiguousarray(np.stack([lo_out, co_out], axis=1)),
            "cross_bound": np.ascontiguousarray(np.stack([1.0 - lo_in, 1.0 - co_in], axis=1)),
            "log_scale": log_s,
            "face_low": low == 0.0,
            "face_high": high == 0.0,
        })
    return maps[0], maps[1]


# ----------------------------------------------------------- Gaussian view
def _row_sum(A):
    """Sum over the columns; a loop over few columns beats a strided reduction."""
    if A.shape[1] > 16:
        return A.sum(axis=1)
    total = A[:, 0].copy()
    for j in range(1, A.shape[1]):
        total += A[:, j]
    return total


def normal_bounds(tree, threshold, n_features):
    """Gaussian-view bounds ``(lower, upper)`` of every leaf, as the lookup sees them.

    A row belongs to a leaf when each coordinate ``z`` satisfies
    ``lower < z <= upper`` against the Gaussian-view images of the
    ``threshold`` of the splits above it. ``lower`` is returned already moved
    to the next float up, so that clipping a row into ``[lower, upper]``
    keeps it in the leaf.
    """
    lower, upper = node_boxes({**tree, "threshold": threshold}, n_features)
    is_leaf = tree["left"] < 0
    return normal_box_bounds(lower[is_leaf], upper[is_leaf])


def normal_box_bounds(lower, upper):
    """:func:`normal_bounds` of boxes ``[lower, upper]`` already known."""
    with np.errstate(divide="ignore"):
        return np.nextafter(ndtri(lower), np.inf), ndtri(upper)


def map_normal(Z, lookup, levels, leaf_of_node, linear_map, leaf_log_det=None, bounds=None):
    """Apply per-leaf linear maps of the unit cube to Gaussian-view rows.

    Every row's leaf is found by comparing ``Z`` with the Gaussian-view images
    of the thresholds (``lookup``). With ``p = Phi(-|z|)``, the smaller tail
    of ``u = Phi(z)`` and exact, each coordinate maps as ``p' = s p + b``
    where ``z < 0`` (there ``p = u``) and as ``p' = s p + e`` elsewhere
    (there ``p = 1 - u``); then ``z' = Phi^-1(p')`` or ``-Phi^-1(p')``
    respectively. Where ``p'`` exceeds 1/2 (the image is on the other side
    of the middle) its small complement is computed from the leaf's box
    bounds instead (see :func:`leaf_maps`), and the sign flips: the
    representation follows the output's side, so a tail value mapped to
    the other half round-trips to full relative precision. Coordinates
    more than about 21 standard deviations out in a leaf touching that face
    of the cube are mapped in log space, ``log p' = log s + log p``.

    Returns
    -------
    Z_out : ndarray of shape (n_rows, n_features)
        Gaussian view of the mapped rows.
    log_det : ndarray of shape (n_rows,) or None
        ``log |det dZ_out/dZ|`` when ``leaf_log_det`` (``sum_j log s_j`` per
        leaf) is given: ``leaf_log_det + sum_j (z'_j^2 - z_j^2) / 2``.

    ``bounds`` (from :func:`normal_bounds` for the output tree) clips every
    mapped row into the output box of its leaf. A row on a split of the
    input tree, or in a leaf so thin in the output that rounding moves its
    image across a face of the box, then still maps back through the same
    leaf: without it the inverse would find the neighbouring leaf and apply
    that leaf's map to every other coordinate.
    """
    n_rows, n_features = Z.shape
    negative = Z < 0
    p = np.abs(Z)
    np.negative(p, out=p)
    ndtr(p, out=p)
    leaf = leaf_of_node.take(find_nodes(lookup, Z, levels))

    # Shift b (z < 0) or e (z >= 0) of every element, in one gather.
    index = np.multiply(negative, n_features, dtype=np.intp)
    index += (leaf * (2 * n_features))[:, None]
    index += np.arange(n_features)
    shift = np.take(linear_map["shift"].ravel(), index, mode="wrap")
    scale = np.take(linear_map["scale"], leaf, axis=0, mode="wrap")
    Z_out = scale * p
    Z_out += shift
    # Where the image crosses 1/2 its small side comes from the box bounds.
    crossed = Z_out > 0.5
    if crossed.any():
        index, scale = index[crossed], scale[crossed]
        bound = np.take(linear_map["cross_bound"].ravel(), index, mode="wrap")
        other = np.take(linear_map["cross_offset"].ravel(), index, mode="wrap")
        other += scale * np.maximum(bound - p[crossed], 0.0)
        Z_out[crossed] = other
    np.maximum(Z_out, _U_MIN, out=Z_out)
    np.minimum(Z_out, _U_MAX, out=Z_out)
    ndtri(Z_out, out=Z_out)
    sign = shift
    np.multiply(negative, 2.0, out=sign)
    sign -= 1.0
    sign[crossed] *= -1.0
    Z_out *= sign

    if p.min() < _FAR_TAIL:
        rows, cols = np.nonzero(p < _FAR_TAIL)
        neg = negative[rows, cols]
        face = np.where(neg, linear_map["face_low"][leaf[rows], cols], linear_map["face_high"][leaf[rows], cols])
        rows, cols, neg = rows[face], cols[face], neg[face]
        log_p = linear_map["log_scale"][leaf[rows], cols] + log_ndtr(-np.abs(Z[rows, cols]))
        # A leaf so narrow that the mapped tail is no longer small keeps the
        # linear result, which is accurate there.
        small = log_p < -1.0
        rows, cols, neg, far = rows[small], cols[small], neg[small], ndtri_exp(log_p[small])
        Z_out[rows, cols] = np.where(neg, far, -far)

    if bounds is not None:
        np.maximum(Z_out, np.take(bounds[0], leaf, axis=0, mode="wrap"), out=Z_out)
        np.minimum(Z_out, np.take(bounds[1], leaf, axis=0, mode="wrap"), out=Z_out)

    if leaf_log_det is None:
        return Z_out, None
    difference = np.subtract(Z_out, Z, out=shift)
    total = np.add(Z_out, Z, out=p)
    difference *= total
    log_det = _row_sum(difference)
    log_det *= 0.5
    log_det += leaf_log_det.take(leaf)
    return Z_out, log_det
