"""Command-line interface: ``destructors <command>`` or ``python -m destructors``.

Commands: ``fit``, ``score``, ``sample``, ``transform``, ``info`` and ``demo``;
``destructors <command> --help`` describes each. Results go to standard
output, in a form other programs can read; messages and progress go to
standard error. Bad usage and unreadable data exit with code 2 and a
one-line message; a reader that closes the pipe early (``| head``) ends the
command quietly with the status of a process stopped by SIGPIPE, as Unix
tools do.
"""

import argparse
import ast
import contextlib
import csv
import io
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "read_data"]

MODELS = {
    "deep": "DeepDestructor() - the adaptive default",
    "rbig": "RBIGDestructor() - rotation-based iterative Gaussianization",
    "deep-rbig": "deep_rbig() - marginal layers alternated with random rotations",
    "copula": "deep_copula() - stacked Gaussian copulas",
    "tree": "deep_trees() - marginal layer, then density trees",
    "mixture": 'GaussianMixtureDestructor("auto", n_average=5)',
    "gaussian": "GaussianDestructor() - one full-covariance Gaussian",
    "marginal": "MarginalDestructor() - independent histogram marginals",
}


class UsageError(Exception):
    """A problem with the command line or its input files, reported in one line."""


# ------------------------------------------------------------------- input
def read_data(path):
    """Read a table from CSV, TSV, ``.npy`` or ``.npz``.

    A CSV or TSV file may start with a header row: a first row that holds no
    number, or text where the rows below hold numbers. Columns of numbers
    are read as numbers; a column with any other text is a column of labels
    (the models treat it as categorical, and integer columns as discrete).
    Missing files, ragged rows, empty cells and NaN raise
    :class:`UsageError` with a one-line message.

    Parameters
    ----------
    path : str or Path
        File to read. A ``.npz`` archive must hold one array, or one named
        ``X``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The data: float64, or an object array (floats and strings) when a
        text file has columns of labels.
    names : list of str or None
        Column names from a header row.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        return _read_text(path, "\t" if suffix in (".tsv", ".tab") else ",")
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    else:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if "X" in keys:
                X = archive["X"]
            elif len(keys) == 1:
                X = archive[keys[0]]
            else:
                raise UsageError(f"{path}: an .npz file must hold one array or one named 'X', found {keys}")
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise UsageError(f"{path}: expected a non-empty 2-D table of numbers, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise UsageError(f"{path}: expected real numbers, got dtype {X.dtype}")
    return _finite(X.astype(np.float64), path, header=False), None


def _finite(X, path, header):
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = f"line {row + (2 if header else 1)}" if path.suffix.lower() not in (".npy", ".npz") else f"row {row + 1}"
        raise UsageError(f"{path}: {where}, column {col + 1} is {X[row, col]}; remove or impute missing values")
    return X


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_text(path, delimiter):
    with open(path, newline="") as file:
        rows = [[cell.strip() for cell in row] for row in csv.reader(file, delimiter=delimiter)
                if any(cell.strip() for cell in row)]
    if not rows:
        raise UsageError(f"{path}: the file is empty")
    numeric = [[_is_number(cell) for cell in row] for row in rows]
    below = [all(column) for column in zip(*numeric[1:])] if len(rows) > 1 else []
    header = not any(numeric[0]) or any(b and not top for b, top in zip(below, numeric[0]))
    names, rows, numeric = (rows[0], rows[1:], numeric[1:]) if header else (None, rows, numeric)
    if not rows:
        raise UsageError(f"{path}: only a header, no data rows")
    width = len(names) if names else len(rows[0])
    for i, row in enumerate(rows):
        line = i + (2 if header else 1)
        if len(row) != width:
            raise UsageError(f"{path}: line {line} has {len(row)} fields, expected {width}")
        if "" in row:
            raise UsageError(f"{path}: line {line}, column {row.index('') + 1} is empty; remove or impute missing values")
    labels = [not all(column) for column in zip(*numeric)]
    if not any(labels):
        return _finite(np.array(rows, dtype=np.float64), path, header), names
    X = np.array(rows, dtype=object)
    for j in np.flatnonzero(~np.array(labels)):
        X[:, j] = _finite(X[:, j].astype(np.float64)[:, None], path, header)[:, 0]
    return X, names


def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.17g}"
    return str(value)


def _write(array, path, names=None):
    """Write an array to a file (by suffix) or, without a path, as CSV to stdout.

    A table of labels (an object array) is written cell by cell with the csv
    module, numbers at full precision.
    """
    suffix = Path(path).suffix.lower() if path is not None else ".csv"
    if suffix == ".npy":
        if array.dtype == object:
            raise UsageError(f"{path}: .npy holds numbers only; these rows have labels, write a .csv")
        np.save(path, array)
        return
    delimiter = "\t" if suffix == ".tsv" else ","
    if array.dtype != object and path is None:
        if names:
            print(delimiter.join(names))
        np.savetxt(sys.stdout, array, delimiter=delimiter, fmt="%.17g")
        return
    if array.dtype != object:
        np.savetxt(path, array, delimiter=delimiter, fmt="%.17g", header=delimiter.join(names) if names else "",
                   comments="")
        return
    with contextlib.ExitStack() as stack:
        file = sys.stdout if path is None else stack.enter_context(open(path, "w", newline=""))
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\n")
        if names:
            writer.writerow(names)
        writer.writerows([_format_cell(value) for value in row] for row in array)


def _load_model(path):
    import joblib

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such model file: {path}")
    try:
        return joblib.load(path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is a usage error here
        raise UsageError(f"{path}: not a saved model ({type(error).__name__}: {error})") from None


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def make_model(name, params=(), random_state=0, verbose=0):
    """Build the named model, with ``k=v`` parameters applied by ``set_params``."""
    from . import (
        DeepDestructor,
        GaussianDestructor,
        GaussianMixtureDestructor,
        MarginalDestructor,
        RBIGDestructor,
        deep_copula,
        deep_rbig,
        deep_trees,
    )

    factories = {
        "deep": lambda: DeepDestructor(random_state=random_state, verbose=verbose),
        "rbig": lambda: RBIGDestructor(random_state=random_state, verbose=verbose),
        "deep-rbig": lambda: deep_rbig(random_state=random_state, verbose=verbose),
        "copula": lambda: deep_copula(random_state=random_state, verbose=verbose),
        "tree": lambda: deep_trees(random_state=random_state, verbose=verbose),
        "mixture": lambda: GaussianMixtureDestructor("auto", n_average=5, random_state=random_state),
        "gaussian": GaussianDestructor,
        "marginal": MarginalDestructor,
    }
    model = factories[name]()
    settings = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param takes key=value, got {item!r}")
        settings[key] = _parse_value(value)
    try:
        model.set_params(**settings)
    except ValueError as error:
        raise UsageError(str(error).splitlines()[0]) from None
    return model


# ----------------------------------------------------------------- progress
# A line of the model's own trace ("[DeepDestructor] ... layer 12 ...",
# "[RBIGDestructor] iteration 12: ...", a candidate's stack summary). The short
# display shows these in the status line only: the fit's result is the
# command's own line ("fit on 320 rows in ..."), and a deep model writes a
# dozen summaries on the way there.
_MODEL_LINE = re.compile(r"^\[\w+\] ")


class _Progress(io.TextIOBase):
    """Where a model's verbose lines go while ``fit`` runs: to standard error, condensed.

    ``"trace"`` writes every line. ``"short"`` writes the command's own
    lines and, on a terminal, shows the model's latest line in a single
    status line that the next one overwrites. ``"quiet"`` writes nothing.
    """

    def __init__(self, mode, stream=None):
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.live = mode == "short" and self.stream.isatty()
        self._pending = ""
        self._status = False

    def writable(self):
        return True

    def write(self, text):
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._show(line)
        return len(text)

    def _show(self, line):
        if self.mode == "quiet" or not line.strip():
            return
        if self.mode == "short" and _MODEL_LINE.match(line):
            if self.live:
                width = shutil.get_terminal_size().columns - 1
                self.stream.write("\r" + line[:width] + "\x1b[K")
                self.stream.flush()
                self._status = True
            return
        self.clear()
        self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self):
        """Erase the status line, if one is shown."""
        if self._status:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._status = False


def _timed_fit(model, X, mode):
    """Fit ``model`` with its progress lines routed through :class:`_Progress`; return the seconds."""
    progress = _Progress(mode)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(progress):
            model.fit(X)
    finally:
        progress.flush()
        progress.clear()
    return time.perf_counter() - start


def _report_kinds(model, names, say):
    """Say which columns the model treated as discrete or categorical."""
    from .mixed import describe_features

    lines = describe_features(model, names)
    if lines:
        say("columns: " + "; ".join(lines))


def _describe(model):
    """One line on what was fitted: the first layer and the kinds of the layers after it."""
    layers = getattr(model, "layers_", None)
    if not layers:
        return type(model).__name__
    kinds = {}
    for layer in layers[1:]:
        kinds[type(layer).__name__] = kinds.get(type(layer).__name__, 0) + 1
    counts = ", ".join(f"{n} {name}" for name, n in sorted(kinds.items(), key=lambda item: -item[1]))
    more = f" then {len(layers) - 1} layers ({counts})" if kinds else ""
    return f"{type(model).__name__}: {type(layers[0]).__name__}{more}"


# ----------------------------------------------------------------- commands
def fit(args):
    """Fit a model, report its held-out log-likelihood, save it with joblib."""
    import joblib
    from sklearn.model_selection import train_test_split

    X, names = read_data(args.data)
    mode = "quiet" if args.quiet else "trace" if args.verbose else "short"
    say = (lambda message: None) if args.quiet else _echo
    model = make_model(args.model, args.param, args.random_state, verbose=0 if args.quiet else 1)
    say(f"{args.data}: {X.shape[0]} rows, {X.shape[1]} features; model {type(model).__name__}")
    if args.test_fraction > 0:
        X_train, X_test = train_test_split(X, test_size=args.test_fraction, random_state=args.random_state)
        seconds = _timed_fit(model, X_train, mode)
        say(f"fit on {len(X_train)} rows in {seconds:.2f} s: {_describe(model)}")
        _report_kinds(model, names, say)
        print(f"held-out mean log-likelihood: {model.score(X_test):.6f} nats per row ({len(X_test)} rows)",
              flush=True)
        if args.refit:
            say("refitting on all rows")
    if args.test_fraction == 0 or args.refit:
        seconds = _timed_fit(model, X, mode)
        say(f"fit on {len(X)} rows in {seconds:.2f} s: {_describe(model)}")
        if args.test_fraction == 0:
            _report_kinds(model, names, say)
    joblib.dump(model, args.output)
    say(f"saved to {args.output}")
    return 0


def score(args):
    """Per-row log-likelihood (stdout or a file) and their mean (stderr)."""
    model = _load_model(args.model)
    X, _ = read_data(args.data)
    scores = _call(model.score_samples, X)
    _write(scores[:, None], args.output)
    _echo(f"mean log-likelihood: {scores.mean():.6f} nats per row ({len(scores)} rows)")
    return 0


def sample(args):
    """Draw rows from a saved model."""
    model = _load_model(args.model)
    if args.n_samples < 1:
        raise UsageError(f"-n takes a positive number of samples, got {args.n_samples}")
    _write(model.sample(args.n_samples, random_state=args.random_state), args.output)
    return 0


def transform(args):
    """Destroy data with a saved model: uniform or standard normal features."""
    model = _load_model(args.model)
    X, names = read_data(args.data)
    if args.output_distribution:
        model.set_params(output_distribution=args.output_distribution)
    _write(_call(model.transform, X), args.output, names)
    return 0


def info(args):
    """Describe a saved model: class, version, features, layers, parameters, scores."""
    model = _load_model(args.model)
    state = model.__getstate__() if hasattr(model, "__getstate__") else {}
    print(f"model: {type(model).__name__}")
    print(f"saved with destructors {state.get('_destructors_version', 'unknown')}")
    print(f"features: {getattr(model, 'n_features_in_', 'unknown')}")
    from .mixed import describe_features

    for line in describe_features(model):
        print(f"  {line}")
    layers = getattr(model, "layers_", None)
    if layers is not None:
        print(f"layers: {len(layers)}")
        for k, layer in enumerate(layers):
            print(f"  {k:3d} {type(layer).__name__}")
    for attribute in ("train_scores_", "validation_scores_", "init_scores_"):
        values = getattr(model, attribute, None)
        if values is not None:
            print(f"{attribute}: {np.array2string(np.asarray(values), precision=4, max_line_width=100)}")
    print("parameters:")
    for key, value in sorted(model.get_params(deep=False).items()):
        print(f"  {key} = {value!r}")
    return 0


def demo(args):
    """Fit the default model on bundled two-moons data; compare with scikit-learn."""
    from sklearn.mixture import GaussianMixture
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KernelDensity

    from . import DeepDestructor
    from .datasets import TwoMoons

    moons = TwoMoons(n_grid=args.n_samples, noise=0.05)
    X = moons.sample(args.n_samples, random_state=args.random_state)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=args.random_state)
    truth = float(np.mean(moons.log_density(X_test)))
    print(f"two moons (make_moons, noise 0.05): {len(X_train)} training rows, {len(X_test)} held-out rows")
    print(f"true density: {truth:.4f} nats per row on the held-out rows\n")
    models = {
        "destructors DeepDestructor()": lambda: DeepDestructor(random_state=args.random_state),
        "GaussianMixture, tuned": lambda: _tuned(
            [GaussianMixture(k, random_state=args.random_state) for k in (2, 4, 8, 16, 32, 64)], X_train
        ),
        "KernelDensity, tuned": lambda: _tuned(
            [KernelDensity(bandwidth=b) for b in np.geomspace(0.01, 0.3, 10)], X_train
        ),
    }
    print(f"{'model':<30} {'held-out log-lik':>17} {'KL gap':>8} {'fit s':>7}")
    fitted = {}
    for name, make in models.items():
        start = time.perf_counter()
        model = make().fit(X_train) if name.startswith("destructors") else make()
        seconds = time.perf_counter() - start
        held_out = float(np.mean(model.score_samples(X_test)))
        print(f"{name:<30} {held_out:>17.4f} {truth - held_out:>8.4f} {seconds:>7.2f}")
        fitted[name] = model
    if not args.no_plot:
        _demo_plot(fitted["destructors DeepDestructor()"], X_train, args.plot)
    return 0


def _tuned(candidates, X):
    """The candidate with the best mean log-likelihood on the last 20% of ``X``, refitted on all of it."""
    from sklearn.base import clone

    cut = int(0.8 * len(X))
    scores = [np.mean(clone(c).fit(X[:cut]).score_samples(X[cut:])) for c in candidates]
    return clone(candidates[int(np.argmax(scores))]).fit(X)


def _demo_plot(model, X, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _echo("matplotlib is not installed: no picture (pip install 'destructors[plot]')")
        return
    grid = np.linspace(-1.5, 2.5, 200), np.linspace(-1.0, 1.5, 150)
    mesh = np.stack(np.meshgrid(*grid), axis=-1).reshape(-1, 2)
    density = np.exp(model.score_samples(mesh)).reshape(150, 200)
    samples = model.sample(len(X), random_state=0)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharex=True, sharey=True)
    axes[0].scatter(*X.T, s=1, alpha=0.5)
    axes[0].set_title("training data")
    axes[1].pcolormesh(*grid, density, shading="auto", cmap="viridis")
    axes[1].set_title("learned density")
    axes[2].scatter(*samples.T, s=1, alpha=0.5, color="tab:orange")
    axes[2].set_title("samples from the model")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    _echo(f"wrote {path}")


# ------------------------------------------------------------------ plumbing
def _echo(message):
    print(message, file=sys.stderr, flush=True)


def _call(method, X):
    try:
        return method(X)
    except ValueError as error:
        raise UsageError(str(error).splitlines()[0]) from None


def _parser():
    parser = argparse.ArgumentParser(
        prog="destructors",
        description="Density destructors: fit, score, sample and transform density models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser("fit", help="fit a model to a data file and save it",
                            description=fit.__doc__ + " Data: CSV (header detected), TSV, .npy or .npz.")
    p.add_argument("data", help="training data file")
    p.add_argument("-o", "--output", required=True, help="where to save the fitted model (joblib)")
    p.add_argument("--model", choices=list(MODELS), default="deep",
                   help="; ".join(f"{k}: {v}" for k, v in MODELS.items()))
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="model parameter, e.g. --param max_layers=20 (repeatable)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="rows held out to report the log-likelihood (0: skip; default 0.2)")
    p.add_argument("--no-refit", dest="refit", action="store_false",
                   help="save the model fitted without the held-out rows instead of refitting on all")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("-v", "--verbose", action="store_true",
                       help="show the full trace: one line per layer of every stack tried (on stderr)")
    noise.add_argument("-q", "--quiet", action="store_true", help="no progress display, only the result")
    p.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    p.set_defaults(handler=fit)

    p = commands.add_parser("score", help="per-row log-likelihood of data under a saved model",
                            description=score.__doc__)
    p.add_argument("model", help="saved model (from `destructors fit`)")
    p.add_argument("data", help="data file")
    p.add_argument("-o", "--output", help="write the scores here instead of stdout")
    p.set_defaults(handler=score)

    p = commands.add_parser("sample", help="draw rows from a saved model", description=sample.__doc__)
    p.add_argument("model", help="saved model")
    p.add_argument("-n", "--n-samples", type=int, default=10, help="number of rows (default 10)")
    p.add_argument("-o", "--output", help="write here (.csv, .tsv or .npy) instead of stdout")
    p.add_argument("--random-state", type=int, default=None, help="seed")
    p.set_defaults(handler=sample)

    p = commands.add_parser("transform", help="map data to uniform or Gaussian features",
                            description=transform.__doc__)
    p.add_argument("model", help="saved model")
    p.add_argument("data", help="data file")
    p.add_argument("--output-distribution", choices=["uniform", "normal"], help="override the model's setting")
    p.add_argument("-o", "--output", help="write here (.csv, .tsv or .npy) instead of stdout")
    p.set_defaults(handler=transform)

    p = commands.add_parser("info", help="describe a saved model", description=info.__doc__)
    p.add_argument("model", help="saved model")
    p.set_defaults(handler=info)

    p = commands.add_parser("demo", help="fit the default model on bundled two-moons data",
                            description=demo.__doc__)
    p.add_argument("--n-samples", type=int, default=4000, help="rows to generate (default 4000)")
    p.add_argument("--plot", default="destructors-demo.png", help="picture to write (default destructors-demo.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the picture")
    p.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    p.set_defaults(handler=demo)
    return parser


# Exit status of a process stopped by SIGPIPE, as a shell reports it.
_BROKEN_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def _silence_stdout():
    """Point standard output at the null device, so that the interpreter's final flush cannot fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is not a file descriptor (captured by a test): nothing will be flushed to it


def main(argv=None):
    """Entry point of the ``destructors`` console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        parser.exit(2, f"destructors {args.command}: error: {error}\n")
    except BrokenPipeError:
        # The reader has gone (``destructors score ... | head``): nothing more to say.
        _silence_stdout()
        return _BROKEN_PIPE_STATUS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
