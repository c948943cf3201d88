"""Scale out with Dask: lazy transforms of dask arrays, fitting on a cluster, grid search.

This module needs the optional dependencies ``dask[array]`` and
``distributed`` (``pip install "destructors[dask]"``); it imports them only
when one of its functions is called, so ``import destructors.dask`` always
works.

**Applying a fitted model.** :func:`transform`, :func:`inverse_transform`,
:func:`score_samples` and :func:`sample` return lazy dask arrays, computed
block by block of rows with ``map_blocks``. The fitted model enters the task
graph once, as a single task that each worker fetches once, not once per
block. A block's result is the in-memory result of the same rows: the public
method of the model runs on each block. Transforms are row-independent, so
the blocks agree with the in-memory result of the whole array to rounding;
bit for bit unless the model multiplies matrices (rotations, Gaussian
layers), whose BLAS rounding can depend on how many rows are multiplied at
once.

**Fitting on a cluster.** :func:`fit` fits a destructor from a dask array
that need not fit in the memory of the client, layer by layer, as
map-reduce: statistics are computed on each block on the workers and summed
there, the fitted layer (a few numbers) comes back to the client, the
layer's transform is applied blockwise and its output persisted on the
workers before the next layer is fitted, and the layer's input is released.
The data are never gathered to the client; the cluster holds at most two
copies of them (a layer's input and output, the output with two more
columns for the log-likelihood terms). Supported
destructors and how the result compares with the in-memory fit on the same
rows:

- :class:`~destructors.MarginalDestructor` with
  :class:`~destructors.HistogramDensity` marginals (the default): a pass for
  the range of each feature, then one for the bin counts with fixed edges,
  summed over blocks. The fitted densities are *identical* to the in-memory
  ones. Bin rules ``"sqrt"`` and ``"sturges"`` need only the number of rows;
  ``"fd"`` and ``"auto"`` need the interquartile range, found exactly by
  narrowing histograms (a pass or two) and gathering the few rows around
  each quartile. With :class:`~destructors.GaussianDensity` marginals, each
  feature's mean and standard deviation from per-block sums, equal to the
  in-memory fit to rounding.
- :class:`~destructors.RotationDestructor` with ``rotation="random"``
  (identical: the Haar draw needs no data) or ``"pca"`` (eigenvectors of the
  covariance from per-block centred cross-products, equal to the in-memory
  rotation to rounding, about ``1e-12``). Directions without spread
  (duplicated or collinear features) are found and snapped as in memory,
  their value being the exact median of their outputs.
- :class:`~destructors.GaussianDestructor`: mean and covariance from
  per-block sums, equal to the in-memory fit to rounding.
- :class:`~destructors.IdentityDestructor`,
  :class:`~destructors.CompositeDestructor` of supported steps, and
  :class:`~destructors.RBIGDestructor` with supported templates (the RBIG and
  marginal/rotation stacks) whose depth is fixed or set by the
  total-correlation rule (``validation_fraction=None``; the default depth
  search on held-out rows and the default sliced rotations are in-memory
  only, so pass ``rotation="pca"`` or ``"random"``). With a numeric ``tol`` an RBIG fit draws its
  random rotations exactly as the in-memory fit does; its total-correlation
  reductions are means of per-block sums, equal to rounding (its default
  first layer standardizes each feature from per-block sums, so its
  histograms see values equal to the in-memory ones to rounding). With
  ``tol="auto"`` the noise-floor data are drawn on the workers from a seed of
  ``random_state``, so the noise floor, and the seeds of later layers,
  differ from the in-memory fit (which draws the same data from its own
  generator): the model is as good, not the same.

With PCA rotations or Gaussian layers, the rounding differences propagate: a
later histogram can put its edges ``1e-12`` elsewhere, so distributed and
in-memory fits agree closely in held-out log-likelihood rather than bit for
bit. Other destructors (trees, mixtures, deep destructors, KDE or spline
marginals, ICA or sliced rotations) are not supported by :func:`fit`: fit
them in memory, on a subsample if need be, then apply them to the dask
array with the functions above.

**Hyper-parameter search on the cluster.** scikit-learn's searches run their
fits through joblib, whose ``"dask"`` backend sends them to the cluster of
the active :class:`distributed.Client`::

    from distributed import Client
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV
    from destructors import HistogramDensity, MarginalDestructor

    client = Client()  # or Client("scheduler-address:8786")
    search = GridSearchCV(
        MarginalDestructor(HistogramDensity()),
        {"density__bins": [10, 20, 50, 100]},
        n_jobs=-1,
    )
    with parallel_config(backend="dask"):
        search.fit(X)  # X in memory; each fold's fit runs on a worker

Example of the rest of the module, on a local cluster::

    import dask.array as da
    from distributed import Client, LocalCluster
    from destructors import RBIGDestructor
    from destructors import dask as ddask

    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    X = da.random.default_rng(0).standard_normal((10_000_000, 5), chunks=(250_000, 5))
    model = ddask.fit(RBIGDestructor(n_layers=10, tol=0.0, random_state=0), X)
    log_density = ddask.score_samples(model, X)   # lazy, shape (10_000_000,)
    mean_log_likelihood = log_density.mean().compute()
    Z = ddask.transform(model, X)                 # lazy, chunked like X
    X_new = ddask.sample(model, 1_000_000, chunk_size=100_000, random_state=0)
"""

import uuid
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from . import rotation as _rotation_module
from ._normal import norm_logpdf, z_from_uniform
from ._rotation_kernels import haar_rotation, pca_rotation_from_covariance
from .base import BaseDestructor, make_layer, resolve_random_state
from .composite import CompositeDestructor, IdentityDestructor
from .gaussian import GaussianDestructor
from .marginal import MarginalDestructor
from .rbig import _N_NOISE_LAYERS, RBIGDestructor
from .rotation import RotationDestructor
from .univariate import GaussianDensity, HistogramDensity, spread_floor

__all__ = ["fit", "inverse_transform", "sample", "score_samples", "transform"]

_SEED_MAX = np.iinfo(np.int32).max
# Exact quartiles: bins of each narrowing pass, and the number of rows around
# a quartile below which they are gathered to the client and sorted.
_SELECT_BINS = 1024
_SELECT_GATHER = 4096
_SELECT_MAX_PASSES = 32


def _import_dask():
    """Import ``dask`` and ``dask.array``, or explain which extra to install."""
    try:
        import dask
        import dask.array as da
    except ImportError as error:  # pragma: no cover - exercised without dask
        raise ImportError(
            "destructors.dask needs the optional dependencies dask[array] and "
            "distributed. Install them with: pip install 'destructors[dask]'"
        ) from error
    return dask, da


def _rows(X, n_features=None, function="destructors.dask"):
    """``X`` as a 2-D float64 dask array chunked by rows only."""
    _, da = _import_dask()
    if not isinstance(X, da.Array):
        X = da.asarray(np.asarray(X, dtype=np.float64))
    if X.ndim != 2:
        raise ValueError(
            f"{function}: expected a 2-D dask array of shape (n_samples, n_features), "
            f"got {X.ndim} dimension(s)."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{function}: X has {X.shape[1]} features, but the model was fitted "
            f"with {n_features} features."
        )
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    if X.dtype != np.float64:
        X = X.astype(np.float64)
    return X


def _ship(obj):
    """Wrap ``obj`` as one task of the graph, so that it is sent once per worker."""
    dask, _ = _import_dask()
    return dask.delayed(obj, pure=True, traverse=False)


def _name(what, *parts):
    dask, _ = _import_dask()
    token = dask.base.tokenize(*parts) if parts else uuid.uuid4().hex
    return f"destructors-{what}-{token}"


# ------------------------------------------------------------- lazy apply
def _transform_block(block, model):
    return model.transform(block)


def _inverse_transform_block(block, model):
    return model.inverse_transform(block)


def _score_samples_block(block, model):
    return model.score_samples(block)


def _sample_block(seeds, sizes, model):
    return model.sample(int(sizes[0]), random_state=int(seeds[0]))


def _map_model(model, X, block_function, what, one_column):
    check_is_fitted(model)
    X = _rows(X, model.n_features_in_, f"destructors.dask.{what}")
    shipped = _ship(model)
    name = _name(what, X, shipped.key)
    if one_column:
        return X.map_blocks(
            block_function, shipped, name=name, dtype=np.float64,
            drop_axis=1, meta=np.empty((0,), dtype=np.float64),
        )
    return X.map_blocks(
        block_function, shipped, name=name, dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    )


def transform(model, X):
    """Lazy ``model.transform(X)`` of a dask array, block by block of rows.

    Parameters
    ----------
    model : fitted destructor
        Any fitted destructor (or transformer with ``n_features_in_``).
    X : dask array of shape (n_samples, n_features)
        Input rows. Column chunks are merged so that each block holds whole
        rows; an in-memory array is wrapped as a dask array of one block.

    Returns
    -------
    U : dask array of shape (n_samples, n_features)
        Lazy result, chunked like the rows of ``X``: block ``i`` is
        ``model.transform`` of block ``i`` of ``X``.

    Examples
    --------
    ::

        import dask.array as da
        X = da.from_array(X_numpy, chunks=(100_000, -1))
        U = destructors.dask.transform(model, X).compute()
    """
    return _map_model(model, X, _transform_block, "transform", one_column=False)


def inverse_transform(model, X):
    """Lazy ``model.inverse_transform(X)`` of a dask array, block by block of rows.

    Parameters
    ----------
    model : fitted destructor
        Any fitted destructor.
    X : dask array of shape (n_samples, n_features)
        Destroyed data: points of the unit cube, or of ``R^d`` if the model's
        ``output_distribution`` is ``"normal"``.

    Returns
    -------
    X_original : dask array of shape (n_samples, n_features)
        Lazy preimage, chunked like the rows of ``X``.

    Examples
    --------
    ::

        X_back = destructors.dask.inverse_transform(model, U)
    """
    return _map_model(model, X, _inverse_transform_block, "inverse_transform", one_column=False)


def score_samples(model, X):
    """Lazy ``model.score_samples(X)`` of a dask array, block by block of rows.

    Parameters
    ----------
    model : fitted destructor
        Any fitted density estimator with ``score_samples``.
    X : dask array of shape (n_samples, n_features)
        Points at which to evaluate the density.

    Returns
    -------
    log_density : dask array of shape (n_samples,)
        Lazy log density of each row, in nats, chunked like the rows of ``X``.

    Examples
    --------
    ::

        mean_log_likelihood = destructors.dask.score_samples(model, X).mean().compute()
    """
    return _map_model(model, X, _score_samples_block, "score_samples", one_column=True)


def sample(model, n_samples, *, chunk_size=100_000, random_state=None):
    """Lazy samples of a fitted destructor, drawn block by block on the workers.

    Block ``i`` of the result is ``model.sample(rows_i, random_state=seeds[i])``
    with ``seeds = resolve_random_state(random_state).randint(2**31 - 1,
    size=n_blocks)``: the same ``random_state`` gives the same samples, and
    each block is exactly what the in-memory :meth:`sample` returns for its
    seed.

    Parameters
    ----------
    model : fitted destructor
        Any fitted destructor.
    n_samples : int
        Number of samples.
    chunk_size : int, default=100_000
        Rows per block (the last block may be shorter).
    random_state : int, RandomState instance or None, default=None
        Seed of the block seeds. ``None`` uses fresh operating-system
        entropy.

    Returns
    -------
    X : dask array of shape (n_samples, n_features)
        Lazy samples from the fitted density.

    Examples
    --------
    ::

        X_new = destructors.dask.sample(model, 10_000_000, random_state=0)
        X_new.to_zarr("samples.zarr")
    """
    _, da = _import_dask()
    check_is_fitted(model)
    for value, name, low in ((n_samples, "n_samples", 1), (chunk_size, "chunk_size", 1)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise ValueError(
                f"destructors.dask.sample: {name} must be a positive integer, got {value!r}."
            )
    sizes = [chunk_size] * (n_samples // chunk_size)
    if n_samples % chunk_size:
        sizes.append(n_samples % chunk_size)
    seeds = resolve_random_state(random_state).randint(_SEED_MAX, size=len(sizes))
    shipped = _ship(model)
    seed_blocks = da.from_array(seeds, chunks=1)
    size_blocks = da.from_array(np.array(sizes), chunks=1)
    return da.map_blocks(
        _sample_block, seed_blocks, size_blocks, shipped,
        name=_name("sample", seeds, sizes, shipped.key), dtype=np.float64,
        chunks=(tuple(sizes), (model.n_features_in_,)), new_axis=1,
        meta=np.empty((0, 0), dtype=np.float64),
    )


# ------------------------------------------------ map-reduce on row blocks
class _Rows:
    """Rows persisted on the workers; the first ``n_features`` columns are the data.

    Further columns carry per-row log-likelihood terms of the layer that
    produced them. ``summary`` caches the number of rows and the sum,
    minimum and maximum of each feature, computed in the pass that made the
    rows.
    """

    def __init__(self, array, n_features, summary=None):
        self.array = array
        self.n_features = n_features
        self.summary = summary

    def release(self):
        """Drop the reference to the persisted blocks, so the workers can free them.

        A fitter owns the rows it is given and releases them once the next
        layer's rows are persisted; the cluster then holds two copies of the
        data at most (a layer's input and its output).
        """
        self.array = None

    @property
    def n_samples(self):
        return self._summary()[0]

    def _summary(self):
        if self.summary is None:
            self.summary = _finish_summary(*_compute(*_lazy_summary(self)), self.n_features)
        return self.summary


def _block_statistic(rows, function, width, dtype=np.float64, **kwargs):
    """Lazy (n_blocks, width) array of one statistic per block, computed on the workers."""
    return rows.array.map_blocks(
        function, rows.n_features, name=_name(function.__name__.strip("_")),
        chunks=(1, width), dtype=dtype, meta=np.empty((0, 0), dtype=dtype), **kwargs,
    )


def _compute(*lazy):
    dask, _ = _import_dask()
    return dask.compute(*lazy)


def _summary_block(block, n_features):
    data = block[:, :n_features]
    return np.concatenate(([data.shape[0]], data.sum(axis=0), data.min(axis=0), -data.max(axis=0)))[None]


def _lazy_summary(rows):
    """Lazy per-feature totals (count, sums) and extremes (minima, negated maxima)."""
    d = rows.n_features
    stats = _block_statistic(rows, _summary_block, 1 + 3 * d)
    return stats[:, : 1 + d].sum(axis=0), stats[:, 1 + d :].min(axis=0)


def _finish_summary(totals, extremes, n_features):
    """``(n_samples, sums, minima, maxima)``; a NaN shows in the sums and extremes."""
    d = n_features
    return int(totals[0]), totals[1:], extremes[:d], -extremes[d:]


def _ranges(rows):
    """Minimum and maximum of each feature (NaN if any value is NaN)."""
    _, _, lo, hi = rows._summary()
    return lo, hi


def _sum_block(block, n_features, shift):
    centered = block[:, :n_features] - shift
    return np.concatenate((centered.sum(axis=0), (centered.T @ centered).ravel()))[None]


def _moments(rows):
    """Mean and centred cross-product matrix ``sum (x - mean)(x - mean)^T``.

    Two passes (the first one shared with the pass that made the rows): the
    sum gives the mean, then the per-block cross-products of the centred rows
    are summed, with the corrected two-pass formula removing what is left of
    the mean. Stable whatever the offset of the data.
    """
    d = rows.n_features
    n, total, _, _ = rows._summary()
    mean = total / n
    (sums,) = _compute(_block_statistic(rows, _sum_block, d + d * d, shift=_ship(mean)).sum(axis=0))
    residual = sums[:d]
    scatter = sums[d:].reshape(d, d) - np.outer(residual, residual) / n
    return mean + residual / n, scatter


def _forward_block(block, n_features, layer):
    """Layer output, then the layer's Gaussian-view log-likelihood and ``log N`` of its input."""
    data = np.ascontiguousarray(block[:, :n_features])
    Z, log_det = layer._forward(data)
    return np.column_stack((Z, norm_logpdf(Z).sum(axis=1) + log_det, norm_logpdf(data).sum(axis=1)))


def _forward(layer, rows):
    """Apply a fitted layer blockwise and persist its output on the workers.

    Returns the new rows and the sums over rows of the layer's log-likelihood
    ``log N(z) + log|det|`` and of its gain over the input, ``log N(z) +
    log|det| - log N(x)``. The same computation summarizes the new rows
    (count, sums, ranges) for the next layer.
    """
    d = rows.n_features
    out = rows.array.map_blocks(
        _forward_block, d, _ship(layer), name=_name("forward"),
        chunks=(rows.array.chunks[0], (d + 2,)), dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    ).persist()
    new = _Rows(out, d)
    totals, extremes, log_likelihood, gain = _compute(
        *_lazy_summary(new), out[:, d].sum(), (out[:, d] - out[:, d + 1]).sum()
    )
    new.summary = _finish_summary(totals, extremes, d)
    return new, float(log_likelihood), float(gain)


# -------------------------------------------------------- histograms
def _interval_counts_block(block, n_features, edges):
    """Counts of each feature's values in the bins of ``edges`` (d, m, B + 1) per target.

    Bins are ``[e_i, e_i+1)``, the last one closed; values outside are left out.
    """
    d, m, n_edges = edges.shape
    counts = np.zeros((d, m, n_edges - 1), dtype=np.int64)
    for j in range(d):
        column = block[:, j]
        for t in range(m):
            e = edges[j, t]
            inside = column[(column >= e[0]) & (column <= e[-1])]
            index = np.minimum(np.searchsorted(e, inside, side="right") - 1, n_edges - 2)
            counts[j, t] = np.bincount(index, minlength=n_edges - 1)
    return counts.reshape(1, -1)


def _candidates_block(block, n_features, lower, upper):
    """Values of each feature inside each target's interval [lower, upper]."""
    d, m = lower.shape
    return [
        [block[:, j][(block[:, j] >= lower[j, t]) & (block[:, j] <= upper[j, t])] for t in range(m)]
        for j in range(d)
    ]


def _order_statistics(rows, ranks):
    """Exact order statistics (0-based ``ranks`` of shape (d, m)) of each feature.

    Each pass counts, on the workers, the values of each feature in
    ``_SELECT_BINS`` bins spanning the interval known to hold the wanted rank
    and keeps the bin holding it; once at most ``_SELECT_GATHER`` values are
    left in the interval, they are gathered and sorted. Ties are handled
    because a bin of equal values ends the narrowing.
    """
    dask, _ = _import_dask()
    lo, hi = _ranges(rows)
    d, m = ranks.shape
    lower = np.repeat(lo[:, None], m, axis=1)
    upper = np.repeat(hi[:, None], m, axis=1)
    below = np.zeros((d, m), dtype=np.int64)  # values < lower
    inside = np.full((d, m), rows.n_samples, dtype=np.int64)  # values in [lower, upper]
    for _ in range(_SELECT_MAX_PASSES):
        if not np.any((inside > _SELECT_GATHER) & (lower < upper)):
            break
        edges = np.linspace(lower, upper, _SELECT_BINS + 1, axis=-1)
        counts = _block_statistic(
            rows, _interval_counts_block, d * m * _SELECT_BINS, dtype=np.int64, edges=_ship(edges),
        )
        (hist,) = _compute(counts.sum(axis=0))
        hist = hist.reshape(d, m, _SELECT_BINS)
        for j in range(d):
            for t in range(m):
                if inside[j, t] <= _SELECT_GATHER or lower[j, t] == upper[j, t]:
                    continue
                cumulative = below[j, t] + np.cumsum(hist[j, t])
                i = int(np.searchsorted(cumulative, ranks[j, t], side="right"))
                below[j, t] = cumulative[i] - hist[j, t, i]
                inside[j, t] = hist[j, t, i]
                lower[j, t] = edges[j, t, i]
                if i < _SELECT_BINS - 1:
                    upper[j, t] = max(np.nextafter(edges[j, t, i + 1], -np.inf), lower[j, t])
    # Gather the values around each rank still unresolved (an interval of
    # one value needs none).
    resolved = lower == upper
    gather_lower = np.where(resolved, np.inf, lower)
    gather_upper = np.where(resolved, -np.inf, upper)
    blocks = rows.array.to_delayed().ravel()
    gathered = dask.compute(*[
        dask.delayed(_candidates_block, pure=True)(block, d, gather_lower, gather_upper)
        for block in blocks
    ])
    values = np.empty((d, m))
    for j in range(d):
        for t in range(m):
            if resolved[j, t]:
                values[j, t] = lower[j, t]
                continue
            candidates = np.sort(np.concatenate([part[j][t] for part in gathered]))
            values[j, t] = candidates[ranks[j, t] - below[j, t]]
    return values


def _quartile_spread(rows):
    """``q75 - q25`` of each feature, as ``np.percentile`` (linear) computes them."""
    n = rows.n_samples
    ranks, weights = [], []
    for q in (0.75, 0.25):
        virtual = (n - 1) * q
        k = int(np.floor(virtual))
        ranks += [k, min(k + 1, n - 1)]
        weights.append(virtual - k)
    values = _order_statistics(rows, np.tile(ranks, (rows.n_features, 1)))
    quantiles = []
    for column, gamma in zip((0, 2), weights):
        a, b = values[:, column], values[:, column + 1]
        # numpy's _lerp, which is exact at both ends.
        quantiles.append(np.where(gamma >= 0.5, b - (b - a) * (1 - gamma), a + (b - a) * gamma))
    return quantiles[0], quantiles[1]


def _histogram_counts_block(block, n_features, edges):
    return np.concatenate([
        np.bincount(
            np.clip(np.searchsorted(e, block[:, j], side="right") - 1, 0, e.size - 2),
            minlength=e.size - 1,
        )
        for j, e in enumerate(edges)
    ])[None]


def _fitted_histogram(template, lo, hi, counts, n_samples):
    """The fitted :class:`HistogramDensity` of a feature from its range and summed bin counts."""
    density = clone(template)
    density._validate_params()
    density._fit_counts(lo, hi, counts, n_samples)
    return density


def _fit_marginal(layer, rows):
    template = HistogramDensity() if layer.density is None else layer.density
    template._validate_params()
    if type(template) is GaussianDensity:
        _fit_gaussian_marginals(layer, template, rows)
        return
    lo, hi = _ranges(rows)
    n = rows.n_samples
    supports = [template._support(np.array([a, b])) for a, b in zip(lo, hi)]
    if template._needs_quartiles():
        q75, q25 = _quartile_spread(rows)
    else:
        q75 = q25 = np.zeros(rows.n_features)
    n_bins = [template._n_bins(n, b - a, q75[j], q25[j]) for j, (a, b) in enumerate(supports)]
    edges = [np.linspace(a, b, k + 1) for (a, b), k in zip(supports, n_bins)]
    counts = _block_statistic(
        rows, _histogram_counts_block, sum(n_bins), dtype=np.int64, edges=_ship(edges),
    )
    (total,) = _compute(counts.sum(axis=0))
    splits = np.cumsum(n_bins)[:-1]
    layer.densities_ = [
        _fitted_histogram(template, a, b, c, n)
        for (a, b), c in zip(supports, np.split(total, splits))
    ]


def _fit_gaussian_marginals(layer, template, rows):
    """:class:`GaussianDensity` marginals from per-block sums: each feature's mean and standard deviation."""
    mean, scatter = _moments(rows)
    lo, hi = _ranges(rows)
    stds = np.sqrt(np.maximum(np.diag(scatter), 0.0) / rows.n_samples)
    floors = spread_floor(np.vstack((lo, hi)), axis=0)
    layer.densities_ = []
    for m, s, f in zip(mean, stds, floors):
        density = clone(template)
        density._fit_moments(m, s, f)
        layer.densities_.append(density)


# -------------------------------------------------- rotation and Gaussian
def _fit_rotation(layer, rows):
    d = rows.n_features
    if layer.rotation == "random":
        # As RotationDestructor._fit: the Haar draw needs only the seed and d.
        layer.rotation_ = haar_rotation(d, resolve_random_state(layer.random_state))
    else:  # "pca", as _check_supported ensured
        _, scatter = _moments(rows)
        layer.rotation_ = pca_rotation_from_covariance(scatter / rows.n_samples)
    layer.n_iter_ = 1
    _fit_flat_directions(layer, rows)


def _flat_block(block, n_features, rotation):
    data = np.ascontiguousarray(block[:, :n_features])
    Y = data @ rotation.T
    level = np.sqrt(np.einsum("ij,ij->i", data, data)).max()
    return np.concatenate(([-level], Y.min(axis=0), -Y.max(axis=0)))[None]


def _rotated_block(block, n_features, rotation):
    return np.ascontiguousarray(block[:, :n_features]) @ rotation.T


def _fit_flat_directions(layer, rows):
    """The directions without spread that ``RotationDestructor._fit`` snaps.

    A rotated direction whose training outputs spread less than
    ``_FLAT_SPREAD`` times the largest row norm gets the median of its
    outputs as its value: one pass for the norms and ranges, and exact
    order statistics of the flat directions only.
    """
    flat_spread = getattr(_rotation_module, "_FLAT_SPREAD", None)
    if flat_spread is None:
        return
    d, n, R = rows.n_features, rows.n_samples, layer.rotation_
    (stats,) = _compute(_block_statistic(rows, _flat_block, 1 + 2 * d, rotation=R).min(axis=0))
    level, y_min, y_max = float(-stats[0]), stats[1 : 1 + d], -stats[1 + d :]
    flat = y_max - y_min <= flat_spread * level
    value = np.full(d, np.nan)
    if flat.any():
        k = int(flat.sum())
        rotated = rows.array.map_blocks(
            _rotated_block, d, R[flat], name=_name("rotated"), chunks=(rows.array.chunks[0], (k,)),
            dtype=np.float64, meta=np.empty((0, 0), dtype=np.float64),
        )
        summary = (n, None, y_min[flat], y_max[flat])
        middle = _order_statistics(_Rows(rotated, k, summary), np.tile([(n - 1) // 2, n // 2], (k, 1)))
        value[flat] = (middle[:, 0] + middle[:, 1]) / 2  # np.median
    layer._flat_value_ = value
    layer._flat_level_ = level


def _fit_gaussian(layer, rows):
    """``GaussianDestructor`` from the mean and centred cross-products summed over blocks."""
    mean, scatter = _moments(rows)
    lo, hi = _ranges(rows)
    layer._fit_moments(mean, scatter, rows.n_samples, spread_floor(np.vstack((lo, hi)), axis=0))


# ---------------------------------------------------------------- stacks
def _fit_composite(layer, rows, keep_input=False):
    """Fit the steps in turn, each on the previous step's output, releasing each output once used.

    The input ``rows`` are released after the first step too, so that the
    workers hold two copies of the data at most, unless ``keep_input`` (a
    caller that applies the fitted composite to them next).
    """
    layer._validate_steps()
    layer.layers_ = []
    step_rows = rows
    for k, (_, step) in enumerate(layer.steps):
        fitted = make_layer(step)
        _fit_layer(fitted, step_rows)
        layer.layers_.append(fitted)
        if k + 1 < len(layer.steps):
            step_rows, previous = _forward(fitted, step_rows)[0], step_rows
            if previous is not rows or not keep_input:
                previous.release()
    if step_rows is not rows:
        step_rows.release()


def _rbig_iteration(rows, rotation, marginal, rng):
    """Fit one (rotation, marginal) iteration; return its layers, output and total gain."""
    rotation_layer = make_layer(rotation, rng)
    _fit_layer(rotation_layer, rows)
    rotated, _, rotation_gain = _forward(rotation_layer, rows)
    rows.release()
    marginal_layer = make_layer(marginal, rng)
    _fit_layer(marginal_layer, rotated)
    rows, _, marginal_gain = _forward(marginal_layer, rotated)
    rotated.release()
    return rotation_layer, marginal_layer, rows, rotation_gain + marginal_gain


def _rbig_noise_floor(rows, first_template, rotation, marginal, rng):
    """Reductions of RBIG iterations on standard normal data drawn on the workers, and the first layer's optimism."""
    _, da = _import_dask()
    n, d = rows.n_samples, rows.n_features
    draws = _Rows(
        da.random.default_rng(rng.randint(_SEED_MAX))
        .standard_normal((n, d), chunks=(rows.array.chunks[0], d))
        .persist(),
        d,
    )
    first = make_layer(first_template, rng)
    _fit_layer(first, draws, keep_input=True)
    Z, _, optimism = _forward(first, draws)
    draws.release()
    reductions = []
    for _ in range(_N_NOISE_LAYERS):
        *_, Z, gain = _rbig_iteration(Z, rotation, marginal, rng)
        reductions.append(gain / n)
    Z.release()
    return np.array(reductions), optimism / n


def _fit_rbig(layer, rows):
    """``RBIGDestructor._fit_forward`` with each layer fitted by map-reduce."""
    first_template, marginal, rotation = layer._templates()
    rng = resolve_random_state(layer.random_state)
    n, d = rows.n_samples, rows.n_features
    first = make_layer(first_template, rng)
    _fit_layer(first, rows, keep_input=True)
    Z, log_likelihood, _ = _forward(first, rows)
    rows.release()
    current = {"Z": Z}
    layer._set_tolerance(
        lambda: _rbig_noise_floor(Z, first_template, rotation, marginal, rng),
        held_in_entropy=-log_likelihood / n,
    )

    def iterate():
        rotation_layer, marginal_layer, current["Z"], gain = _rbig_iteration(current["Z"], rotation, marginal, rng)
        return rotation_layer, marginal_layer, gain / n

    layer.unmixing_ = None
    layer.marginal_layer_ = first
    layer._iterate(first, d, iterate)
    current["Z"].release()


_FITTERS = {
    MarginalDestructor: _fit_marginal,
    RotationDestructor: _fit_rotation,
    GaussianDestructor: _fit_gaussian,
    IdentityDestructor: lambda layer, rows: None,
    CompositeDestructor: _fit_composite,
    RBIGDestructor: _fit_rbig,
}


_FIT_IN_MEMORY = (
    "Fit it in memory (on a subsample if need be) and apply it with destructors.dask.transform."
)


def _check_supported(layer):
    """Raise a ValueError, before any data is read, if ``layer`` cannot be fitted by map-reduce."""
    if type(layer) not in _FITTERS:
        supported = ", ".join(sorted(cls.__name__ for cls in _FITTERS))
        raise ValueError(
            f"destructors.dask.fit cannot fit a {type(layer).__name__} by map-reduce; it "
            f"supports {supported} (see the destructors.dask module docstring). {_FIT_IN_MEMORY}"
        )
    layer._validate_params()
    if isinstance(layer, CompositeDestructor):
        layer._validate_steps()
        for _, step in layer.steps:
            _check_supported(step)
    elif isinstance(layer, RBIGDestructor):
        if layer.n_layers == "auto" and layer.validation_fraction is not None:
            raise ValueError(
                "destructors.dask.fit chooses the depth of an RBIGDestructor by its "
                "total-correlation rule only: pass validation_fraction=None (or a fixed "
                f"n_layers), and rotation='pca' or 'random'. {_FIT_IN_MEMORY}"
            )
        if layer.unmixing is not None:
            raise ValueError(
                "destructors.dask.fit fits an RBIGDestructor without an unmixing only: pass "
                f"unmixing=None. {_FIT_IN_MEMORY}"
            )
        for template in layer._templates():
            _check_supported(template)
    elif isinstance(layer, MarginalDestructor):
        density = HistogramDensity() if layer.density is None else layer.density
        if type(density) not in (HistogramDensity, GaussianDensity):
            raise ValueError(
                "destructors.dask.fit fits MarginalDestructor with HistogramDensity or "
                f"GaussianDensity marginals only, got density={type(density).__name__}. "
                f"{_FIT_IN_MEMORY}"
            )
    elif isinstance(layer, RotationDestructor) and layer.rotation not in ("pca", "random"):
        raise ValueError(
            "destructors.dask.fit fits RotationDestructor with rotation='pca' or 'random' "
            f"only, got rotation={layer.rotation!r}. {_FIT_IN_MEMORY}"
        )


def _fit_layer(layer, rows, keep_input=False):
    """Fit ``layer`` on persisted rows of its layer space (as ``_fit_layer``, without the forward pass).

    A composite releases ``rows`` once its first step is fitted, unless
    ``keep_input`` (see :func:`_fit_composite`).
    """
    layer._validate_params()
    layer.n_features_in_ = rows.n_features
    if isinstance(layer, CompositeDestructor):
        _fit_composite(layer, rows, keep_input=keep_input)
    else:
        _FITTERS[type(layer)](layer, rows)


def fit(estimator, X, y=None):
    """Fit a destructor on a dask array by map-reduce on the workers.

    The layers are fitted one after the other from statistics computed block
    by block on the workers (ranges, bin counts, cross-products); each
    fitted layer transforms the blocks, whose output is persisted on the
    workers for the next layer. Only small summaries reach the client. The
    module docstring lists the supported destructors and how the result
    compares with the in-memory fit.

    Parameters
    ----------
    estimator : destructor
        An unfitted (or fitted, to refit) supported destructor; it is fitted
        in place, as by ``estimator.fit(X)``.
    X : dask array of shape (n_samples, n_features)
        Training rows, at least two, finite. Column chunks are merged so that
        each block holds whole rows; the cluster must hold about two copies of
        ``X`` in float64 (see the module docstring).
    y : None
        Ignored; present for API consistency.

    Returns
    -------
    estimator : destructor
        The fitted estimator: an ordinary in-memory model, ready for its own
        methods, for pickling, or for the lazy functions of this module.

    Raises
    ------
    ValueError
        If ``X`` has fewer than two rows or non-finite values, or if the
        estimator (or one of its layers) is not supported.

    Examples
    --------
    ::

        from destructors import RBIGDestructor
        model = destructors.dask.fit(RBIGDestructor(rotation="pca", validation_fraction=None, tol=0.0, random_state=0), X_dask)
        model.score(X_small_in_memory)
    """
    if not isinstance(estimator, BaseDestructor):
        raise TypeError(
            f"destructors.dask.fit takes a destructor, got {type(estimator).__name__}."
        )
    _check_supported(estimator)
    X = _rows(X, function="destructors.dask.fit")
    d = X.shape[1]
    if d < 1:
        raise ValueError("destructors.dask.fit: X has no features; at least one is required.")
    rows = _Rows(X.persist(), d)
    lo, hi = _ranges(rows)
    name = type(estimator).__name__
    if rows.n_samples < 2:
        raise ValueError(
            f"Found array with {rows.n_samples} sample(s) while a minimum of 2 is "
            f"required by {name}."
        )
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"Input X contains NaN or infinity; {name} needs finite values.")
    if estimator._unit_input():
        estimator._to_layer_space(np.vstack((lo, hi)))  # raises if outside the cube
        layer_space = rows.array.map_blocks(z_from_uniform, dtype=np.float64).persist()
        rows.release()
        rows = _Rows(layer_space, d)
    if hasattr(estimator, "feature_names_in_"):  # from an earlier fit
        del estimator.feature_names_in_
    _fit_layer(estimator, rows)
    rows.release()
    return estimator
