"""Toy distributions with exact densities, and the benchmark data sets.

Each :class:`KnownDensity` can be sampled and evaluated exactly, so a model's
*KL gap* on held-out rows, ``mean(log p_true - log q)``, is measurable (0 is
the limit). :func:`load_benchmark` returns the fixed splits used by the
benchmark suite, including real tables bundled with scikit-learn;
:func:`load_mixed_benchmark` the real tables of integer, categorical and
continuous columns that optional packages ship.
"""

import numpy as np
from scipy import stats
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch, check_array, check_random_state

from .base import resolve_random_state

__all__ = [
    "dequantize",
    "KnownDensity",
    "Banana",
    "Checkerboard",
    "CorrelatedGaussian",
    "GaussianMixture",
    "GaussianRing",
    "StudentT",
    "TwoMoons",
    "BENCHMARKS",
    "load_benchmark",
    "OPTIONAL_BENCHMARKS",
    "MIXED_BENCHMARKS",
    "load_mixed_benchmark",
]


def dequantize(X, random_state=None, *, width=1.0):
    """Spread discrete data uniformly over their grid cells: ``X + width * U``.

    Destructors model continuous densities. Fitted to integer data (pixel
    values, counts) they give finite log-likelihoods, but those are log
    densities of a continuous relaxation, not log-probabilities, and they
    change with the units. Adding uniform noise on ``[0, width)`` to every
    value makes the comparison meaningful: a density ``q`` fitted to the
    result gives the cell of ``k`` the probability
    ``P(k) = width^d E_U[q(k + width U)]``, so by Jensen's inequality the mean
    of ``log q`` on dequantized rows plus ``d log(width)`` is a lower bound on
    the discrete log-probability (in nats). This is the protocol behind
    published density-estimation numbers on digits.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data on a grid of spacing ``width``.
    random_state : int, RandomState instance or None, default=None
        Seed of the noise (``None``: fresh entropy, not NumPy's global
        generator).
    width : float, default=1.0
        Grid spacing.

    Returns
    -------
    X_dequantized : ndarray of shape (n_samples, n_features)
        The data plus uniform noise.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors.datasets import dequantize
    >>> X = np.array([[0, 3], [1, 2]])
    >>> Y = dequantize(X, random_state=0)
    >>> bool(np.all((Y >= X) & (Y < X + 1)))
    True
    """
    X = check_array(X, dtype=np.float64)
    if not np.isfinite(width) or width <= 0:
        raise ValueError(f"dequantize: width must be a positive number, got {width!r}.")
    return X + width * resolve_random_state(random_state).uniform(size=X.shape)


def _mixture_log_density(X, centers, scale, chunk_rows=2000):
    """Log density of an equal-weight mixture of isotropic Gaussians."""
    out = np.empty(len(X))
    log_norm = np.log(len(centers)) + centers.shape[1] * (np.log(scale) + 0.5 * np.log(2 * np.pi))
    for start in range(0, len(X), chunk_rows):
        rows = X[start : start + chunk_rows]
        sq = ((rows[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        out[start : start + chunk_rows] = logsumexp(-0.5 * sq / scale**2, axis=1) - log_norm
    return out


class KnownDensity:
    """A distribution that can be sampled and whose log density is exact."""

    name = "known density"
    n_features = 2

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` rows."""
        return self._sample(n_samples, check_random_state(random_state))

    def log_density(self, X):
        """Exact log density of each row of ``X`` (nats)."""
        return self._log_density(np.asarray(X, dtype=np.float64))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Banana(KnownDensity):
    """A bent Gaussian: ``x1 ~ N(0, 1)``, ``x2 | x1 ~ N(b (x1^2 - 1), s^2)``.

    Examples
    --------
    >>> from destructors.datasets import Banana
    >>> X = Banana().sample(1000, random_state=0)
    >>> X.shape, bool(abs(Banana().log_density(X).mean() + 2.11) < 0.1)
    ((1000, 2), True)
    """

    name = "banana"

    def __init__(self, bend=1.0, scale=0.5):
        self.bend = bend
        self.scale = scale

    def _sample(self, n, rng):
        x1 = rng.standard_normal(n)
        return np.column_stack([x1, self.bend * (x1**2 - 1) + self.scale * rng.standard_normal(n)])

    def _log_density(self, X):
        residual = X[:, 1] - self.bend * (X[:, 0] ** 2 - 1)
        return stats.norm.logpdf(X[:, 0]) + stats.norm.logpdf(residual, scale=self.scale)


class GaussianRing(KnownDensity):
    """Equal-weight mixture of ``n_components`` Gaussians on a circle.

    Examples
    --------
    >>> from destructors.datasets import GaussianRing
    >>> GaussianRing().sample(5, random_state=0).shape
    (5, 2)
    """

    name = "ring of 8 Gaussians"

    def __init__(self, n_components=8, radius=2.0, scale=0.2):
        self.n_components = n_components
        self.radius = radius
        self.scale = scale

    def _centers(self):
        angles = 2 * np.pi * np.arange(self.n_components) / self.n_components
        return self.radius * np.column_stack([np.cos(angles), np.sin(angles)])

    def _sample(self, n, rng):
        centers = self._centers()[rng.randint(self.n_components, size=n)]
        return centers + self.scale * rng.standard_normal((n, 2))

    def _log_density(self, X):
        return _mixture_log_density(X, self._centers(), self.scale)


class Checkerboard(KnownDensity):
    """Uniform on the dark squares of a ``size`` x ``size`` board on [-2, 2]^2.

    The density is ``2 / 16`` on dark squares and zero on light ones: hard
    edges that smooth models blur.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors.datasets import Checkerboard
    >>> X = Checkerboard().sample(4, random_state=0)
    >>> np.exp(Checkerboard().log_density(X))
    array([0.125, 0.125, 0.125, 0.125])
    """

    name = "checkerboard"

    def __init__(self, size=4):
        self.size = size

    def _sample(self, n, rng):
        cells = rng.randint(self.size, size=(n, 2))
        # Dark cells have an even sum of indices: flip the column of odd ones.
        cells[:, 1] = np.where(cells.sum(axis=1) % 2 == 0, cells[:, 1], (cells[:, 1] + 1) % self.size)
        return -2.0 + (cells + rng.uniform(size=(n, 2))) * (4.0 / self.size)

    def _log_density(self, X):
        cells = np.floor((X + 2.0) * self.size / 4.0)
        inside = np.all((cells >= 0) & (cells < self.size), axis=1)
        dark = inside & (cells.sum(axis=1) % 2 == 0)
        with np.errstate(divide="ignore"):
            return np.where(dark, np.log(2.0 / 16.0), -np.inf)


class CorrelatedGaussian(KnownDensity):
    """A Gaussian with a fixed random correlated covariance.

    Examples
    --------
    >>> from destructors.datasets import CorrelatedGaussian
    >>> CorrelatedGaussian().sample(3, random_state=0).shape
    (3, 8)
    """

    name = "8-D correlated Gaussian"

    def __init__(self, n_features=8, seed=0):
        self.n_features = n_features
        self.seed = seed

    def _distribution(self):
        rng = np.random.RandomState(self.seed)
        factor = rng.standard_normal((self.n_features, self.n_features))
        covariance = factor @ factor.T / self.n_features + 0.1 * np.eye(self.n_features)
        return stats.multivariate_normal(np.zeros(self.n_features), covariance)

    def _sample(self, n, rng):
        return self._distribution().rvs(n, random_state=rng).reshape(n, self.n_features)

    def _log_density(self, X):
        return np.atleast_1d(self._distribution().logpdf(X))


def _correlated_covariance(n_features, seed):
    """The fixed random covariance of :class:`CorrelatedGaussian`: ``F F^T / d + 0.1 I``."""
    rng = np.random.RandomState(seed)
    factor = rng.standard_normal((n_features, n_features))
    return factor @ factor.T / n_features + 0.1 * np.eye(n_features)


class StudentT(KnownDensity):
    """A multivariate Student-t with a fixed random correlated scale matrix.

    Heavy tails in every direction and dependence that no rotation removes:
    ``x = z / sqrt(w / dof)`` with ``z ~ N(0, S)`` and ``w ~ chi2(dof)``, so
    the features share one random scale. ``S`` is the covariance of
    :class:`CorrelatedGaussian` with the same ``n_features`` and ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors.datasets import StudentT
    >>> t = StudentT()
    >>> X = t.sample(2000, random_state=0)
    >>> X.shape, bool(np.all(np.isfinite(t.log_density(X))))
    ((2000, 8), True)
    """

    name = "8-D Student-t, 3 dof"

    def __init__(self, n_features=8, dof=3.0, seed=0):
        self.n_features = n_features
        self.dof = dof
        self.seed = seed

    def _distribution(self):
        shape = _correlated_covariance(self.n_features, self.seed)
        return stats.multivariate_t(np.zeros(self.n_features), shape, df=self.dof)

    def _sample(self, n, rng):
        return self._distribution().rvs(n, random_state=rng).reshape(n, self.n_features)

    def _log_density(self, X):
        return np.atleast_1d(self._distribution().logpdf(X))


class GaussianMixture(KnownDensity):
    """An equal-weight mixture of Gaussians with fixed random means and covariances.

    Each component has its mean drawn from ``N(0, spread^2 I)`` and a
    covariance ``F F^T / d + 0.05 I`` with a standard normal ``F``, all from
    ``seed``: separated, elongated clusters in random orientations, the
    multimodal case of the benchmarks.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors.datasets import GaussianMixture
    >>> mixture = GaussianMixture()
    >>> X = mixture.sample(2000, random_state=0)
    >>> X.shape, bool(np.all(np.isfinite(mixture.log_density(X))))
    ((2000, 10), True)
    """

    name = "10-D mixture of 5 Gaussians"

    def __init__(self, n_features=10, n_components=5, spread=2.0, seed=0):
        self.n_features = n_features
        self.n_components = n_components
        self.spread = spread
        self.seed = seed

    def _components(self):
        rng = np.random.RandomState(self.seed)
        d = self.n_features
        means = self.spread * rng.standard_normal((self.n_components, d))
        factors = rng.standard_normal((self.n_components, d, d))
        covariances = factors @ factors.transpose(0, 2, 1) / d + 0.05 * np.eye(d)
        return means, covariances

    def _sample(self, n, rng):
        means, covariances = self._components()
        labels = rng.randint(self.n_components, size=n)
        noise = rng.standard_normal((n, self.n_features))
        cholesky = np.linalg.cholesky(covariances)
        return means[labels] + np.einsum("nij,nj->ni", cholesky[labels], noise)

    def _log_density(self, X):
        means, covariances = self._components()
        log_components = np.column_stack([
            stats.multivariate_normal(mean, covariance).logpdf(X)
            for mean, covariance in zip(means, covariances)
        ])
        return logsumexp(np.atleast_2d(log_components), axis=1) - np.log(self.n_components)


class TwoMoons(KnownDensity):
    """scikit-learn's two moons, with the exact density of its generator.

    ``make_moons(n_grid, noise)`` places ``n_grid`` points on two half circles
    and adds Gaussian noise; a row of it is a draw from the equal-weight
    mixture of ``N(g, noise^2 I)`` over those grid points, which is the exact
    density used here. Sampling draws rows of ``make_moons`` itself.

    Examples
    --------
    >>> from destructors.datasets import TwoMoons
    >>> moons = TwoMoons(n_grid=1000)
    >>> X = moons.sample(1000, random_state=0)
    >>> bool(moons.log_density(X).mean() > -0.5)
    True
    """

    name = "two moons"

    def __init__(self, n_grid=25000, noise=0.05):
        self.n_grid = n_grid
        self.noise = noise

    def _sample(self, n, rng):
        if n != self.n_grid:
            X = make_moons(self.n_grid, noise=self.noise, random_state=rng)[0]
            return X[rng.choice(self.n_grid, size=n, replace=n > self.n_grid)]
        return make_moons(n, noise=self.noise, random_state=rng)[0]

    def _log_density(self, X):
        grid = make_moons(self.n_grid, noise=0.0, shuffle=False)[0]
        return _mixture_log_density(X, grid, self.noise)


def _synthetic(density, n_train, n_test, random_state):
    X = density.sample(n_train + n_test, random_state=random_state)
    return Bunch(
        X_train=X[:n_train], X_test=X[n_train:], log_density=density.log_density, description=density.name
    )


def _digits(random_state):
    X = dequantize(load_digits().data, random_state) / 17.0
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=random_state)
    return Bunch(X_train=X_train, X_test=X_test, log_density=None,
                 description="digits, dequantized with uniform noise, divided by 17, 70/30 split")


def _standardized(loader, name, random_state):
    X = loader().data
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=random_state)
    scaler = StandardScaler().fit(X_train)
    return Bunch(X_train=scaler.transform(X_train), X_test=scaler.transform(X_test), log_density=None,
                 description=f"{name}, standardized on the training rows, 70/30 split")


def _randhie(random_state):
    """The RAND Health Insurance Experiment table shipped with statsmodels (public domain)."""
    try:
        from statsmodels.datasets import randhie
    except ImportError as error:
        raise ImportError(
            "the 'randhie' benchmark reads the table statsmodels ships (no network): "
            "pip install 'destructors[benchmarks]'"
        ) from error
    X = randhie.load_pandas().data.to_numpy(dtype=np.float64)
    rng = resolve_random_state(random_state)
    for j in range(X.shape[1]):
        values = np.unique(X[:, j])
        if values.size < 0.05 * X.shape[0]:
            # A discrete column (counts, indicators, a few coinsurance levels):
            # spread each value uniformly up to the next distinct value.
            gaps = np.diff(values)
            width = np.append(gaps, gaps[-1] if gaps.size else 1.0)
            X[:, j] += width[np.searchsorted(values, X[:, j])] * rng.uniform(size=X.shape[0])
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=random_state)
    scaler = StandardScaler().fit(X_train)
    return Bunch(X_train=scaler.transform(X_train), X_test=scaler.transform(X_test), log_density=None,
                 description="RAND health insurance experiment (statsmodels), discrete columns dequantized, "
                             "standardized, 70/30 split")


BENCHMARKS = {
    "banana": lambda n, rs: _synthetic(Banana(), n, n // 4, rs),
    "ring": lambda n, rs: _synthetic(GaussianRing(), n, n // 4, rs),
    "checkerboard": lambda n, rs: _synthetic(Checkerboard(), n, n // 4, rs),
    "gaussian8": lambda n, rs: _synthetic(CorrelatedGaussian(), n, n // 4, rs),
    "two_moons": lambda n, rs: _synthetic(TwoMoons(n_grid=n + n // 4), n, n // 4, rs),
    "digits": lambda n, rs: _digits(rs),
    "breast_cancer": lambda n, rs: _standardized(load_breast_cancer, "breast cancer", rs),
    "wine": lambda n, rs: _standardized(load_wine, "wine", rs),
    "randhie": lambda n, rs: _randhie(rs),
}

# Benchmarks that need an optional package; the runner skips them when it is missing.
OPTIONAL_BENCHMARKS = {"randhie": "statsmodels"}


def load_benchmark(name, n_train=20000, random_state=0):
    """Fixed train/test split of a benchmark data set.

    Parameters
    ----------
    name : str
        One of ``BENCHMARKS``: "banana", "ring", "checkerboard", "gaussian8"
        and "two_moons" (known densities: ``n_train`` training rows and
        ``n_train // 4`` test rows), "digits", "breast_cancer", "wine"
        (scikit-learn's bundled tables; ``n_train`` is ignored), or
        "randhie" (20,190 x 10, shipped with statsmodels, an optional
        package: ``pip install 'destructors[benchmarks]'``).
    n_train : int, default=20000
        Training rows of the synthetic data sets.
    random_state : int, default=0
        Seed of the draw and of the split.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test``, ``log_density`` (the exact log density as a
        function of rows, or None for real data) and ``description``.

    Examples
    --------
    >>> from destructors.datasets import load_benchmark
    >>> data = load_benchmark("two_moons", n_train=2000)
    >>> data.X_train.shape, data.X_test.shape
    ((2000, 2), (500, 2))
    >>> round(float(data.log_density(data.X_test).mean()), 2)
    -0.29
    """
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[name](n_train, random_state)


# ----------------------------------------------------------- mixed tables
def _import_table_package(name, package):
    try:
        return __import__(package)
    except ImportError as error:
        raise ImportError(
            f"the {name!r} mixed benchmark reads the table {package} ships (no network): "
            "pip install 'destructors[benchmarks]'"
        ) from error


def _levels(values):
    """Index of each value among the sorted distinct values: a coded variable as integers."""
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


def _mixed_anes96():
    """American National Election Studies 1996 (statsmodels' ``anes96``; public domain), 944 rows.

    Every column holds integers: population of the respondent's place in
    thousands, TV news days a week, three left-right scales (1-7), party
    identification (0-6), age, education (1-7), income bracket (1-24) and
    the expected vote (0/1). All ten are discrete (``int64``). ``logpopul``
    is dropped: it is ``log(popul + 0.1)``, a function of ``popul``, so the
    table has no density with it.
    """
    _import_table_package("anes96", "statsmodels")
    from statsmodels.datasets import anes96

    frame = anes96.load_pandas().data.drop(columns=["logpopul"])
    return frame.astype(np.int64), "American National Election Studies 1996 (statsmodels)"


def _mixed_randhie():
    """RAND Health Insurance Experiment (statsmodels' ``randhie``; public domain), 20,190 rows.

    Every column takes few values. ``mdvis`` (outpatient visits, a count)
    and the indicators ``idp``, ``hlthg``, ``hlthf``, ``hlthp`` are integers:
    discrete. ``lncoins``, the log of one plus the coinsurance rate, takes 5
    values, the insurance plans of the experiment (rates 0, 25, 50, 95 and
    100%): categorical, so that no model fits a spiky density to five points
    of a line. The other float columns are ordered quantities with many ties
    and atoms: ``physlm`` (physical limitation, 11 values, 83% of rows at
    0), ``disea`` (an index of chronic diseases, 31 values), ``lpi`` (619
    values, 24% at 0) and ``fmde`` (345 values, 41% at 0). Left continuous,
    they would reward whichever model spikes highest on the atoms (a
    continuous density is unbounded there); categorical, they would lose
    their order and expand into 1,002 dummies for the baselines that need
    dummies. They are replaced by their *levels*, the index of each value
    among the table's sorted distinct values (``int64``, discrete). A level
    stands for one value, so its probability is the value's: the counting
    measure is unchanged, and the order of the values is kept.

    The rows are person-years (people followed over several years) and no
    person identifier is shipped, so a split by rows puts the same people on
    both sides: 97% of the held-out rows repeat the covariates (every column
    but ``mdvis``) of some training row. Held-out scores here reward
    memorizing the rows seen more than on the other tables.
    """
    _import_table_package("randhie", "statsmodels")
    import pandas as pd
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data
    for name in ("physlm", "disea", "lpi", "fmde"):
        frame[name] = _levels(frame[name].to_numpy())
    frame["lncoins"] = pd.Categorical(frame["lncoins"])
    for name in ("mdvis", "idp", "hlthg", "hlthf", "hlthp"):
        frame[name] = frame[name].astype(np.int64)
    return frame, "RAND Health Insurance Experiment (statsmodels), float codes as levels"


def _mixed_penguins():
    """Palmer penguins (PyPI ``palmerpenguins``; data CC0), 333 complete rows of 344.

    Species, island and sex are categorical (pandas ``category``); bill
    length and depth (mm, one decimal) continuous; flipper length (whole mm),
    body mass (grams, multiples of 25) and year (2007-2009) discrete
    (``int64``). The 11 rows with a missing value are dropped.
    """
    _import_table_package("penguins", "palmerpenguins")
    import pandas as pd
    from palmerpenguins import load_penguins

    frame = load_penguins().dropna().reset_index(drop=True)
    for name in ("species", "island", "sex"):
        frame[name] = pd.Categorical(frame[name].astype(str))
    for name in ("flipper_length_mm", "body_mass_g", "year"):
        frame[name] = frame[name].astype(np.int64)
    return frame, "Palmer penguins (palmerpenguins), complete rows"


# Name: (loader, package that ships the table). Every table needs its package
# and pandas; the runner skips a table whose package is missing.
MIXED_BENCHMARKS = {
    "anes96": (_mixed_anes96, "statsmodels"),
    "randhie": (_mixed_randhie, "statsmodels"),
    "penguins": (_mixed_penguins, "palmerpenguins"),
}


def load_mixed_benchmark(name, random_state=0):
    """Fixed 70/30 split of a real table of discrete, categorical and continuous columns.

    The tables come from optional packages that ship them (no download at
    run time): ``pip install 'destructors[benchmarks]'``. Column kinds are
    set by the dtypes: ``int64`` columns are discrete, ``category`` columns
    categorical, ``float64`` columns continuous, which is what the
    estimators' ``"auto"`` reads; each loader's docstring says what was
    recoded and why.

    Parameters
    ----------
    name : str
        One of ``MIXED_BENCHMARKS``: "anes96" (944 x 10, all discrete, from
        statsmodels), "randhie" (20,190 x 10, discrete and categorical, from
        statsmodels) or "penguins" (333 x 8, categorical, discrete and
        continuous, from palmerpenguins).
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    data : Bunch
        ``X_train`` and ``X_test`` (pandas DataFrames, index reset),
        ``discrete``, ``categorical`` and ``continuous`` (column names) and
        ``description``.

    Examples
    --------
    >>> from destructors.datasets import MIXED_BENCHMARKS, load_mixed_benchmark
    >>> sorted(MIXED_BENCHMARKS)
    ['anes96', 'penguins', 'randhie']
    >>> import pytest; _ = pytest.importorskip("palmerpenguins")
    >>> data = load_mixed_benchmark("penguins")
    >>> data.X_train.shape, data.X_test.shape
    ((233, 8), (100, 8))
    >>> data.categorical
    ['species', 'island', 'sex']
    """
    if name not in MIXED_BENCHMARKS:
        raise ValueError(f"unknown mixed benchmark {name!r}; choose one of {sorted(MIXED_BENCHMARKS)}")
    import pandas as pd

    frame, description = MIXED_BENCHMARKS[name][0]()
    kinds = {
        column: "categorical" if isinstance(dtype, pd.CategoricalDtype)
        else "discrete" if pd.api.types.is_integer_dtype(dtype) else "continuous"
        for column, dtype in frame.dtypes.items()
    }
    X_train, X_test = train_test_split(frame, test_size=0.3, random_state=random_state)
    return Bunch(
        X_train=X_train.reset_index(drop=True), X_test=X_test.reset_index(drop=True),
        **{kind: [c for c, k in kinds.items() if k == kind] for kind in ("discrete", "categorical", "continuous")},
        description=f"{description}, 70/30 split",
    )
