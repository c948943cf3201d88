"""Mixed data: discrete and categorical columns beside continuous ones.

Real tables hold integers (ages, counts, flags) and labels (city, colour)
beside measurements. A destructor that maps raw columns (marginal, Gaussian,
mixture, RBIG and deep models) takes ``discrete_features`` and
``categorical_features`` and models the *mixed measure*: its
``score_samples`` is

    log P(discrete and categorical values) + log p(continuous values | those),

the log-probability of the row's cell times the density of its continuous
part. A discrete value ``k`` on a grid of spacing ``s`` (the greatest common
divisor of the gaps between the values seen in ``fit``; 1 for integers)
stands for the cell ``[k, k + s)``; a category, encoded as its index ``c``
among the sorted labels, for ``[c, c + 1)``.

The estimator first maps each discrete or categorical column through the
cell masses of a fitted univariate distribution (this module's
:class:`CellLayer`): every integer has positive mass (half-Cauchy tails
beyond the values seen), a category its smoothed frequency. A value goes to
a point drawn uniformly inside its cell, in the Gaussian view; the rest of
the model sees those points as continuous. The probability of a cell is the
layer's exact cell mass times the mean, over the cell, of the rest of the
model's density ratio, computed at ``N_CELL_POINTS`` scrambled Sobol points
(the same points for every row, fixed when fitting: a deterministic estimate,
and exact when the rest of the model does not depend on those columns, as in
a :class:`~destructors.MarginalDestructor`).

Helpers here validate and encode the columns, and decode model outputs back
to the original kinds (integers, labels, a DataFrame when the model was
fitted on one); :class:`~destructors.base.BaseDestructor` calls them.
"""

import warnings
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from scipy.stats import qmc
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, validate_data

from ._cells import FiniteCells, LatticeCells, gaussian_view_in_cells, james_stein_intensity
from ._normal import norm_logpdf

__all__ = [
    "CellLayer",
    "accepts_mixed_data",
    "MAX_CATEGORIES",
    "N_CELL_POINTS",
    "decode_columns",
    "describe_features",
    "encode_columns",
    "fit_columns",
]

CONTINUOUS, DISCRETE, CATEGORICAL = "continuous", "discrete", "categorical"

# A categorical column with more labels than this is refused: it is an
# identifier or free text rather than a category, and most held-out rows
# would carry labels never seen in fit.
MAX_CATEGORIES = 1000

# The probability of a cell is estimated on the first points of a scrambled
# Sobol sequence (balanced in powers of two): MIN_CELL_POINTS at first, then
# twice as many for the rows whose estimate moved by more than CELL_TOLERANCE
# nats at the last doubling, up to N_CELL_POINTS.
MIN_CELL_POINTS = 64
N_CELL_POINTS = 1024
CELL_TOLERANCE = 0.01

# A discrete column spanning at most this many grid cells gets a mass per
# cell; a wider one gets bins of several cells.
MAX_CELLS = 4096

# A continuous column of at least _FEW_VALUES_ROWS rows with at most this many
# distinct values gets a warning: any density on it is a row of spikes.
_FEW_VALUES = 10
_FEW_VALUES_ROWS = 100

# Integers beyond 2**53 are not all representable: such floats are continuous.
_EXACT_INTEGERS = 2.0**53

# Inside a cell the uniform point keeps this relative distance from the cell's
# ends, so that mapping it back recovers the cell despite rounding.
_CELL_MARGIN = 1e-6


# ------------------------------------------------------------ the contract
_PARAMETERS = """    discrete_features : "auto", array-like of bool, int or str, or None, default="auto"
        Columns of integers, modelled by the probability of their grid cells
        (see :mod:`destructors.mixed`): a boolean mask, column indices or
        column names. ``"auto"``: columns of integer or boolean dtype, and
        float columns holding only integers. ``None``: no such columns.
    categorical_features : "auto", array-like of bool, int or str, or None, default="auto"
        Columns of labels (at most ``MAX_CATEGORIES`` distinct ones), encoded
        inside the estimator; a label not seen in ``fit`` is an error.
        ``"auto"``: pandas ``category``, ``object`` and ``string`` columns,
        and array columns of text. ``None``: no such columns.
"""

_ATTRIBUTES = """    feature_kinds_ : ndarray of shape (`n_features_in_`,)
        Kind of each feature: ``"continuous"``, ``"discrete"`` or
        ``"categorical"``.
    categories_ : list of length `n_features_in_`
        Sorted labels of each categorical feature, None for the others.
    cells_ : CellLayer or None
        Cell distributions of the discrete and categorical features; None
        when every feature is continuous.
"""


def accepts_mixed_data(cls):
    """Class decorator: the estimator's public methods handle discrete and categorical columns.

    The class's ``__init__`` takes ``discrete_features`` and
    ``categorical_features``; this adds their constraints and fills the
    lines ``[mixed data parameters]`` and ``[mixed data attributes]`` of its
    docstring.
    """
    cls._accepts_mixed_data = True
    kind = [StrOptions({"auto"}), "array-like", None]
    cls._parameter_constraints = {
        **cls._parameter_constraints, "discrete_features": kind, "categorical_features": kind,
    }
    cls.__doc__ = cls.__doc__.replace("    [mixed data parameters]\n", _PARAMETERS).replace(
        "    [mixed data attributes]\n", _ATTRIBUTES
    )
    return cls


# ------------------------------------------------------------------ reading
def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _column_name(estimator, j, names=None):
    names = getattr(estimator, "feature_names_in_", None) if names is None else names
    return f"column {names[j]!r}" if names is not None else f"column {j}"


def _label_dtype(dtype):
    import pandas as pd

    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) \
        or pd.api.types.is_string_dtype(dtype)


def refuse_labels(estimator, X):
    """Raise a ValueError naming the label columns of a DataFrame, for estimators that read numbers only."""
    if not _is_dataframe(X):
        return
    import pandas as pd

    numbers = {"integer", "floating", "mixed-integer-float", "decimal", "empty"}
    labels = [
        str(name) for name, column in X.items()
        if _label_dtype(column.dtype)
        # An object column of numbers still converts; only labels are refused.
        and not (pd.api.types.is_object_dtype(column.dtype)
                 and pd.api.types.infer_dtype(column, skipna=True) in numbers)
    ]
    if labels:
        raise ValueError(
            f"{type(estimator).__name__} reads every column as a number, but column(s) "
            f"{', '.join(map(repr, labels))} hold labels (category, object or string dtype). "
            "Encode them first (for example with scikit-learn's OneHotEncoder), or use a "
            "destructor that takes categorical_features (DeepDestructor, MarginalDestructor, "
            "GaussianDestructor, GaussianMixtureDestructor)."
        )


def _read_frame(X):
    """Columns of a pandas DataFrame: ``(values, kind)`` per column, ``kind`` what its dtype says."""
    import pandas as pd

    columns = []
    for j in range(X.shape[1]):
        series = X.iloc[:, j]
        dtype = series.dtype
        if _label_dtype(dtype):
            columns.append((series.to_numpy(dtype=object, na_value=np.nan), CATEGORICAL))
        elif pd.api.types.is_bool_dtype(dtype):
            columns.append((series.to_numpy(dtype=np.float64, na_value=np.nan), "boolean"))
        elif pd.api.types.is_integer_dtype(dtype):
            columns.append((series.to_numpy(dtype=np.float64, na_value=np.nan), DISCRETE))
        elif pd.api.types.is_float_dtype(dtype):
            columns.append((series.to_numpy(dtype=np.float64, na_value=np.nan), None))
        else:
            raise TypeError(f"{dtype} columns are not supported: {series.name!r} (numbers, booleans or labels)")
    return columns


def _read_array(X):
    """Columns of a validated 2-D array: ``(values, kind)`` per column."""
    if X.dtype.kind == "b":
        return [(X[:, j].astype(np.float64), "boolean") for j in range(X.shape[1])]
    if X.dtype.kind in "iu":
        return [(X[:, j].astype(np.float64), DISCRETE) for j in range(X.shape[1])]
    if X.dtype.kind == "f":
        values = np.asarray(X, dtype=np.float64)  # no copy of float64 input
        return [(values[:, j], None) for j in range(X.shape[1])]
    columns = []
    for j in range(X.shape[1]):
        try:
            # float() of a string that is not a number raises ValueError: a
            # label; of anything else (a dict, a list), TypeError.
            columns.append((X[:, j].astype(np.float64), None))
        except ValueError:
            columns.append((X[:, j].astype(object), CATEGORICAL))
    return columns


def _read(estimator, X, reset):
    """Validate ``X`` (names and number of features included); return its columns."""
    if _is_dataframe(X):
        if X.shape[0] < 2 and reset:
            raise ValueError(f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is required "
                             f"by {type(estimator).__name__}.")
        validate_data(estimator, X, skip_check_array=True, reset=reset)
        return _read_frame(X), X
    X = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=2 if reset else 1,
                    input_name="X", estimator=estimator)
    validate_data(estimator, X, skip_check_array=True, reset=reset)
    return _read_array(X), X


_IS_MISSING = np.frompyfunc(lambda value: value is None or value != value, 1, 1)


def _check_all_finite(estimator, X):
    """Check a numeric array in one pass; name the first column at fault."""
    if not np.isfinite(X).all():
        j = int(np.flatnonzero(~np.isfinite(X).all(axis=0))[0])
        _check_finite(estimator, j, X[:, j])


def _check_finite(estimator, j, values):
    numeric = values.dtype != object
    missing = np.isnan(values) if numeric else _IS_MISSING(values).astype(bool)
    if missing.any():
        raise ValueError(
            f"{type(estimator).__name__}: {_column_name(estimator, j)} has missing values (NaN) in "
            f"{int(missing.sum())} of {values.size} rows; impute or drop them first."
        )
    if numeric and np.isinf(values).any():
        raise ValueError(f"{type(estimator).__name__}: {_column_name(estimator, j)} has infinite values (infinity).")


# ------------------------------------------------------------- column kinds
def _declared(estimator, parameter, n_features):
    """Boolean mask of the columns a ``*_features`` parameter names, or None for "auto"."""
    value = getattr(estimator, parameter)
    if isinstance(value, str) and value == "auto":
        return None
    mask = np.zeros(n_features, dtype=bool)
    if value is None:
        return mask
    value = np.asarray(value)
    if value.dtype.kind == "b":
        if value.shape != (n_features,):
            raise ValueError(f"{parameter}: a boolean mask needs {n_features} entries, got shape {value.shape}.")
        return value.copy()
    names = getattr(estimator, "feature_names_in_", None)
    for item in value.ravel().tolist():
        if isinstance(item, str):
            if names is None or item not in names:
                raise ValueError(f"{parameter}: no column named {item!r}"
                                 + ("" if names is None else f"; columns: {list(names)}") + ".")
            mask[list(names).index(item)] = True
        elif isinstance(item, Integral) and -n_features <= item < n_features:
            mask[item] = True
        else:
            raise ValueError(f"{parameter}: {item!r} is not a column index or name (X has {n_features} columns).")
    return mask


def _holds_integers(values):
    return bool(np.all(np.abs(values) < _EXACT_INTEGERS) and np.all(values == np.round(values)))


def _kinds(estimator, columns):
    """The kind of each column: declared, or read off its values and dtype for "auto"."""
    n_features = len(columns)
    discrete = _declared(estimator, "discrete_features", n_features)
    categorical = _declared(estimator, "categorical_features", n_features)
    if discrete is not None and categorical is not None and np.any(discrete & categorical):
        both = np.flatnonzero(discrete & categorical)
        raise ValueError(f"{_column_name(estimator, both[0])} is declared both discrete and categorical.")
    kinds = []
    for j, (values, read) in enumerate(columns):
        if categorical is not None and categorical[j]:
            kinds.append(CATEGORICAL)
            continue
        if read == CATEGORICAL:
            if categorical is None:
                kinds.append(CATEGORICAL)
                continue
            raise ValueError(
                f"{type(estimator).__name__}: {_column_name(estimator, j)} holds labels such as "
                f"{_show(values[0])}, not numbers; declare it in categorical_features or encode it."
            )
        if discrete is not None and discrete[j]:
            if not _holds_integers(values):
                bad = values[values != np.round(values)][0]
                raise ValueError(
                    f"{type(estimator).__name__}: {_column_name(estimator, j)} is declared discrete but holds "
                    f"{_show(bad)}, not an integer; declare it continuous or round it."
                )
            kinds.append(DISCRETE)
        elif discrete is None and (read in (DISCRETE, "boolean") or _holds_integers(values)):
            kinds.append(DISCRETE)
        else:
            kinds.append(CONTINUOUS)
    return np.array(kinds, dtype=object)


def describe_features(estimator, names=None):
    """One line per non-continuous feature of a fitted mixed-data estimator, and a count of the rest.

    ``names`` overrides the feature names the estimator knows (if any).
    """
    kinds = getattr(estimator, "feature_kinds_", None)
    if kinds is None:
        return []
    layer = estimator.cells_
    lines = []
    for j in np.flatnonzero(kinds != CONTINUOUS):
        column = _column_name(estimator, j, names)
        if kinds[j] == CATEGORICAL:
            lines.append(f"{column}: categorical, {len(estimator.categories_[j])} labels")
        else:
            spec = layer.columns[list(layer.indices).index(j)]
            if spec.labels is not None:
                lines.append(f"{column}: boolean")
            else:
                seen = spec.origin + spec.spacing * spec.span
                lines.append(f"{column}: discrete, grid of spacing {spec.spacing:g} (values seen "
                             f"{spec.origin:g}..{seen:g})")
    n_continuous = int(np.sum(kinds == CONTINUOUS))
    if n_continuous:
        lines.append(f"{n_continuous} continuous feature{'s' if n_continuous > 1 else ''}")
    return lines


# ---------------------------------------------------------- the cell layer
class _CellColumn:
    """One discrete or categorical column: its grid (or labels) and its cell distribution."""

    def __init__(self, origin, spacing, span, cells, labels=None):
        self.origin, self.spacing, self.span = origin, spacing, span
        self.cells = cells
        self.labels = labels

    def cell_values(self, values):
        """Cell value ``t`` of each grid value (labels are encoded beforehand)."""
        return (values - self.origin) / self.spacing

    def grid_values(self, t):
        return self.origin + self.spacing * t


def _shrunk_masses(counts, target):
    """Frequencies shrunk towards ``target`` (James-Stein), by at least one observation's weight.

    The floor ``1 / (n + 1)`` keeps every cell's mass positive, also where
    the James-Stein intensity is zero (a column with one value seen).
    """
    n = counts.sum()
    intensity = max(james_stein_intensity(counts, target), 1.0 / (n + 1.0))
    return (1.0 - intensity) * counts / n + intensity * target


def _bin_width(t, n_cells):
    """Cells per bin: NumPy's "auto" bin width (the smaller of Sturges' and Freedman-Diaconis'),
    at least one cell and at most ``n / 2`` bins, as :class:`~destructors.HistogramDensity` does."""
    n = t.size
    q75, q25 = np.percentile(t, [75, 25])
    sturges = n_cells / (np.log2(n) + 1.0)
    fd = 2.0 * (q75 - q25) * n ** (-1.0 / 3.0)
    width = min(fd, sturges) if fd > 0 else sturges
    return max(1, int(round(max(width, n_cells / max(1, n // 2)))))


def _lattice(t):
    """Cell distribution of the cell values ``t`` (integers from 0) of a discrete column.

    Up to ``MAX_CELLS`` cells in the range seen, a mass per cell: the
    frequencies shrunk towards a histogram of bins as wide as NumPy's "auto"
    rule makes them (flat within each bin), so that heaping on some values
    is kept where the data show it and smoothed away where they do not.
    Wider ranges get those bins alone. Half-Cauchy tails of mass
    ``1 / (n + 1)`` on either side give every integer positive mass.
    """
    n = t.size
    n_cells = int(t.max()) + 1
    counts = np.bincount(t.astype(np.intp), minlength=n_cells).astype(np.float64)
    width = _bin_width(t, n_cells)
    edges = np.append(np.arange(0, n_cells, width), n_cells).astype(np.float64)
    bin_counts = np.add.reduceat(counts, edges[:-1].astype(np.intp)) + 1.0
    tail = 1.0 / (n + 1.0)
    if n_cells > MAX_CELLS:
        return LatticeCells.from_bins(edges, bin_counts, tail)
    per_cell = np.repeat(bin_counts / np.diff(edges), np.diff(edges).astype(np.intp))
    masses = _shrunk_masses(counts, per_cell / per_cell.sum())
    return LatticeCells.from_bins(np.arange(n_cells + 1, dtype=np.float64), masses, tail)


def _finite(codes, n_cells):
    counts = np.bincount(codes.astype(np.intp), minlength=n_cells).astype(np.float64)
    return FiniteCells(_shrunk_masses(counts, np.full(n_cells, 1.0 / n_cells)))


def _grid(values):
    """Origin and spacing of integer values: the smallest, and the gcd of the gaps (1 for one value)."""
    seen = np.unique(values)
    gaps = np.diff(seen).astype(np.int64)
    spacing = int(np.gcd.reduce(gaps)) if gaps.size else 1
    return float(seen[0]), float(max(spacing, 1))


class CellLayer:
    """The fitted map of discrete and categorical columns to points of their cells, in the Gaussian view.

    Built by :meth:`fit` from the encoded columns (categories as their
    indices); continuous columns pass through it untouched.

    Attributes
    ----------
    indices : ndarray of int
        The discrete and categorical columns.
    columns : list of _CellColumn
        Their grids and cell distributions.
    points : ndarray of shape (N_CELL_POINTS, len(indices))
        Relative positions inside a cell where cell probabilities are
        estimated: a scrambled Sobol sequence fixed when fitting, of which
        each row uses a prefix (see :meth:`log_probability`).
    noise_seed : int
        Seed of the uniform positions drawn by :meth:`dequantize`.
    """

    def __init__(self, indices, columns, points, noise_seed):
        self.indices = indices
        self.columns = columns
        self.points = points
        self.noise_seed = noise_seed

    @classmethod
    def fit(cls, X, kinds, categories, booleans, rng):
        """Fit the cell distribution of each discrete and categorical column of the encoded rows ``X``."""
        indices = np.flatnonzero(kinds != CONTINUOUS)
        columns = []
        for j in indices:
            values = X[:, j]
            if kinds[j] == CATEGORICAL:
                n_labels = len(categories[j])
                columns.append(_CellColumn(0.0, 1.0, n_labels - 1, _finite(values, n_labels), categories[j]))
            elif booleans[j]:  # the two cells 0 and 1
                columns.append(_CellColumn(0.0, 1.0, 1, _finite(values, 2), np.array([False, True])))
            else:
                origin, spacing = _grid(values)
                t = (values - origin) / spacing
                columns.append(_CellColumn(origin, spacing, float(t.max()), _lattice(t)))
        sobol = qmc.Sobol(d=len(indices), scramble=True, seed=rng.randint(np.iinfo(np.int32).max))
        points = np.clip(sobol.random(N_CELL_POINTS), _CELL_MARGIN, 1.0 - _CELL_MARGIN)
        return cls(indices, columns, points, int(rng.randint(np.iinfo(np.int32).max)))

    def _bounds(self, X):
        """``(log F(t), log S(t + 1), log P(t))`` of each row's cell in each cell column."""
        bounds = [column.cells.log_bounds(column.cell_values(X[:, j])) for j, column in zip(self.indices, self.columns)]
        return tuple(np.column_stack(b) for b in zip(*bounds))

    def dequantize(self, X):
        """``X`` with each cell column replaced by the Gaussian view of a uniform point of its cell.

        The positions come from ``noise_seed``: the same rows give the same
        output, and the point of a row depends on its place in ``X``.
        """
        rng = np.random.RandomState(self.noise_seed)
        v = rng.uniform(_CELL_MARGIN, 1.0 - _CELL_MARGIN, size=(X.shape[0], self.indices.size))
        Z = X.copy()
        Z[:, self.indices] = gaussian_view_in_cells(*self._bounds(X), v)
        return Z

    def log_probability(self, X, log_density, exact=False):
        """Log of each row's cell probability times its continuous density.

        ``log_density`` gives the log density of the rest of the model at
        layer-space rows. The probability is the cell layer's mass times the
        mean, over the cell, of the rest's density relative to the cell
        layer's: the mean over a prefix of ``points``. Each row starts with
        ``MIN_CELL_POINTS`` of them and doubles them while its estimate moves
        by more than ``CELL_TOLERANCE`` nats (comparing the estimates on the
        first half and on all the points), up to ``N_CELL_POINTS``. The
        points are fixed and each row is decided on its own: a deterministic
        estimate, whatever the batch. With ``exact`` the rest is known not to
        vary inside the cells and one point per row suffices.
        """
        bounds = self._bounds(X)
        if exact:
            return bounds[2].sum(axis=1) + self._log_ratios(X, bounds, log_density, 0, 1)[:, 0]
        n_points = min(MIN_CELL_POINTS, len(self.points))
        ratios = self._log_ratios(X, bounds, log_density, 0, n_points)
        sums = logsumexp(ratios, axis=1)
        estimate = sums - np.log(n_points)
        moved = np.abs(estimate - (logsumexp(ratios[:, : n_points // 2], axis=1) - np.log(n_points // 2)))
        active = np.flatnonzero(moved > CELL_TOLERANCE)
        while active.size and 2 * n_points <= len(self.points):
            rows = X[active]
            more = self._log_ratios(rows, tuple(b[active] for b in bounds), log_density, n_points, 2 * n_points)
            previous = estimate[active]
            sums[active] = np.logaddexp(sums[active], logsumexp(more, axis=1))
            n_points *= 2
            estimate[active] = sums[active] - np.log(n_points)
            active = active[np.abs(estimate[active] - previous) > CELL_TOLERANCE]
        return bounds[2].sum(axis=1) + estimate

    def _log_ratios(self, X, bounds, log_density, start, stop):
        """Log density ratio of the rest of the model at points ``start:stop`` of each row's cell."""
        points = self.points[start:stop]
        n_rows, n_points = X.shape[0], points.shape[0]
        rows = np.repeat(X, n_points, axis=0)
        Z = gaussian_view_in_cells(*(np.repeat(b, n_points, axis=0) for b in bounds), np.tile(points, (n_rows, 1)))
        rows[:, self.indices] = Z
        return (log_density(rows) - norm_logpdf(Z).sum(axis=1)).reshape(n_rows, n_points)

    def restore(self, Z):
        """Map the Gaussian views of the cell columns back to their grid values (or label indices)."""
        X = Z.copy()
        for j, column in zip(self.indices, self.columns):
            X[:, j] = column.grid_values(column.cells.cell_of(Z[:, j]))
        return X


# ------------------------------------------------------- encode and decode
def _encode_labels(estimator, j, values):
    """Sorted labels of a categorical column and each row's index among them."""
    try:
        labels, codes = np.unique(values, return_inverse=True)
    except TypeError:
        raise TypeError(
            f"{type(estimator).__name__}: {_column_name(estimator, j)} mixes labels of different types "
            "(for example strings and numbers); make them all strings."
        ) from None
    if labels.size > MAX_CATEGORIES:
        raise ValueError(
            f"{type(estimator).__name__}: {_column_name(estimator, j)} has {labels.size} distinct labels, "
            f"more than the {MAX_CATEGORIES} a categorical column may have: an identifier or free text? "
            "Drop it, group rare labels, or declare it discrete or continuous."
        )
    return labels, codes


def _codes_of_seen_labels(estimator, j, values, labels):
    """Index of each value among the labels seen in fit; an unseen label is an error."""
    try:
        codes = np.clip(np.searchsorted(labels, values), 0, labels.size - 1)
        unseen = labels[codes] != values
    except TypeError:
        unseen = np.array([value not in set(labels.tolist()) for value in values])
        codes = None
    if np.any(unseen):
        value = values[np.flatnonzero(unseen)[0]]
        raise ValueError(
            f"{type(estimator).__name__}: {_column_name(estimator, j)} has the label {_show(value)}, "
            f"not seen in fit (seen: {_preview(labels)})."
        )
    return codes


def _show(value):
    """A cell value as a user wrote it: 15 rather than np.float64(15.0)."""
    value = value.item() if hasattr(value, "item") else value
    return repr(int(value) if isinstance(value, float) and value.is_integer() else value)


def _preview(labels, n=6):
    shown = ", ".join(_show(v) for v in labels[:n])
    return shown + (f", ... ({labels.size} in all)" if labels.size > n else "")


class _InputFormat:
    """How the training input was given, to return samples and inverse transforms in kind.

    ``frame`` holds the column names and pandas dtypes of a DataFrame (None
    for an array); ``dtype`` the dtype of an array.
    """

    def __init__(self, raw):
        if _is_dataframe(raw):
            self.frame = (list(raw.columns), list(raw.dtypes))
            self.dtype = None
        else:
            self.frame = None
            self.dtype = raw.dtype


def _warn_of_few_values(estimator, columns, kinds):
    for j, (values, _) in enumerate(columns):
        if kinds[j] != CONTINUOUS or values.size < _FEW_VALUES_ROWS:
            continue
        n_values = np.unique(values).size
        if 1 < n_values <= _FEW_VALUES:
            warnings.warn(
                f"{type(estimator).__name__}: {_column_name(estimator, j)} is continuous but holds only "
                f"{n_values} distinct values in {values.size} rows: a density on it is a row of spikes and "
                "its log-likelihood grows with the fit; declare it in categorical_features.",
                UserWarning,
                stacklevel=4,
            )


def fit_columns(estimator, X, rng):
    """Validate ``X``, find the kind of each column, fit the cell layer; return the encoded rows.

    Sets the fitted attributes ``feature_kinds_``, ``categories_``,
    ``cells_`` (None when every column is continuous) and the input format.
    Categories are encoded as their indices among the sorted labels.
    """
    columns, raw = _read(estimator, X, reset=True)
    if not _is_dataframe(raw) and raw.dtype.kind == "f":
        _check_all_finite(estimator, np.asarray(raw, dtype=np.float64))
    else:
        for j, (values, _) in enumerate(columns):
            _check_finite(estimator, j, values)
    kinds = _kinds(estimator, columns)
    _warn_of_few_values(estimator, columns, kinds)
    categories, booleans = [None] * len(columns), np.zeros(len(columns), dtype=bool)
    as_given = not _is_dataframe(raw) and raw.dtype.kind == "f" and not np.any(kinds == CATEGORICAL)
    if as_given:
        encoded = np.asarray(raw, dtype=np.float64)  # float input, as scikit-learn's validation returns it
    else:
        encoded = np.empty((columns[0][0].size, len(columns)))
    for j, (values, read) in enumerate(columns):
        if kinds[j] == CATEGORICAL:
            categories[j], encoded[:, j] = _encode_labels(estimator, j, values)
        else:
            if not as_given:
                encoded[:, j] = values
            booleans[j] = read == "boolean" and kinds[j] == DISCRETE
    estimator.feature_kinds_ = kinds
    estimator.categories_ = categories
    estimator._input_format_ = _InputFormat(raw)
    mixed = kinds != CONTINUOUS
    estimator.cells_ = CellLayer.fit(encoded, kinds, categories, booleans, rng) if mixed.any() else None
    return encoded


def encode_columns(estimator, X):
    """Validate rows for a fitted estimator and encode them as in :func:`fit_columns`.

    A float array without categorical columns comes back as it is (checked,
    not copied), as scikit-learn's validation would return it.
    """
    columns, raw = _read(estimator, X, reset=False)
    layer = estimator.cells_
    kinds = estimator.feature_kinds_
    if not _is_dataframe(raw) and raw.dtype.kind == "f" and not np.any(kinds == CATEGORICAL):
        encoded = np.asarray(raw, dtype=np.float64)
        _check_all_finite(estimator, encoded)
        for j in np.flatnonzero(kinds == DISCRETE):
            _check_on_grid(estimator, j, encoded[:, j], layer)
        return encoded
    encoded = np.empty((columns[0][0].size if columns else 0, len(columns)))
    for j, (values, read) in enumerate(columns):
        _check_finite(estimator, j, values)
        kind = kinds[j]
        if kind == CATEGORICAL:
            encoded[:, j] = _codes_of_seen_labels(estimator, j, values, estimator.categories_[j])
            continue
        if read == CATEGORICAL:
            raise ValueError(
                f"{type(estimator).__name__}: {_column_name(estimator, j)} holds labels such as {_show(values[0])}, "
                f"but it was {kind} in fit."
            )
        encoded[:, j] = values
        if kind == DISCRETE:
            _check_on_grid(estimator, j, values, layer)
    return encoded


def _check_on_grid(estimator, j, values, layer):
    column = layer.columns[list(layer.indices).index(j)]
    t = column.cell_values(values)
    off = (t != np.round(t)) | (column.labels is not None) & ((t < 0) | (t > 1))
    if np.any(off):
        raise ValueError(
            f"{type(estimator).__name__}: {_column_name(estimator, j)} has the value "
            f"{_show(values[np.flatnonzero(off)[0]])}, not on its grid (values {column.origin:g} + "
            f"{column.spacing:g} k seen in fit" + (", booleans" if column.labels is not None else "")
            + ")."
        )


def decode_columns(estimator, X):
    """Rows of the layer input (categories as indices) in the kinds and container of the training input."""
    layer = getattr(estimator, "cells_", None)
    fmt = getattr(estimator, "_input_format_", None)
    if layer is not None:
        X = layer.restore(X)
    if fmt is None or (fmt.frame is None and layer is None):
        return X
    if fmt.frame is None:
        return _decode_array(estimator, X, fmt.dtype)
    return _decode_frame(estimator, X, *fmt.frame)


def _decoded_column(estimator, X, j):
    kind = estimator.feature_kinds_[j]
    if kind == CATEGORICAL:
        return estimator.categories_[j][X[:, j].astype(np.intp)]
    if kind == DISCRETE:
        column = estimator.cells_.columns[list(estimator.cells_.indices).index(j)]
        if column.labels is not None:
            return X[:, j] > 0.5
        return X[:, j].astype(np.int64) if np.all(np.abs(X[:, j]) < _EXACT_INTEGERS) else X[:, j]
    return X[:, j]


def _decode_array(estimator, X, dtype):
    if dtype.kind in "biuf":
        return X.astype(dtype) if dtype.kind in "biu" else X
    out = np.empty(X.shape, dtype=object)
    for j in range(X.shape[1]):
        out[:, j] = _decoded_column(estimator, X, j)
    return out


def _decode_frame(estimator, X, names, dtypes):
    import pandas as pd

    data = {}
    for j, (name, dtype) in enumerate(zip(names, dtypes)):
        values = _decoded_column(estimator, X, j)
        if isinstance(dtype, pd.CategoricalDtype):
            data[name] = pd.Categorical(values, dtype=dtype)
        else:
            data[name] = pd.Series(values).astype(dtype)
    return pd.DataFrame(data, columns=names)
