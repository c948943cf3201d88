"""Markdown reports of the family benchmarks, written beside their JSON results."""

import argparse
import contextlib
import gc
import io
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

# Knots of the np.interp in the floor a layer is compared with.
FLOOR_KNOTS = 100


def printed(function, *args):
    """What ``function(*args)`` prints, as a string (it is printed too)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args)
    text = buffer.getvalue()
    print(text, end="")
    return text


def write_markdown(json_path, text, title):
    """Write ``text`` under ``title`` to the ``.md`` file beside ``json_path``."""
    path = Path(json_path).with_suffix(".md")
    path.write_text(f"{title}\n\n{text.strip()}\n")
    return path


def load(json_path):
    return json.loads(Path(json_path).read_text())


def timed(func, repeats=1):
    """Best wall-clock time of ``repeats`` calls of ``func``, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak(func):
    """Result of ``func()`` and the peak memory (bytes) that tracemalloc saw it allocate."""
    gc.collect()
    tracemalloc.start()
    try:
        result = func()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def skewed_data(n, d, seed=0):
    """Correlated, skewed data: mixed standard normals, one column exponentiated."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    X = X @ (np.eye(d) + 0.5 * np.tri(d, k=-1)).T
    X[:, 0] = np.exp(0.5 * X[:, 0])
    return X


def floor_seconds(X, repeats=3):
    """One n x d matmul plus one np.interp per feature: the least a layer does."""
    d = X.shape[1]
    R = np.linalg.qr(np.random.RandomState(1).standard_normal((d, d)))[0]
    knots = np.linspace(-5.0, 5.0, FLOOR_KNOTS)
    values = np.linspace(0.0, 1.0, FLOOR_KNOTS)

    def layer():
        Z = X @ R.T
        for j in range(d):
            Z[:, j] = np.interp(Z[:, j], knots, values)
        return Z

    return timed(layer, repeats)[0]


def render(json_path, print_tables, title):
    """Rewrite the Markdown report of an earlier run from its JSON results."""
    text = printed(print_tables, load(json_path))
    return write_markdown(json_path, text, title)


def family_parser(doc, results_path):
    """Options every family benchmark takes: ``--quick``, ``--output`` and ``--render``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run of under a minute")
    parser.add_argument("--output", type=Path, default=results_path, help="JSON file to write")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only rewrite the Markdown report from an earlier run's JSON")
    return parser


def save(results, json_path, print_tables, title):
    """Print the tables of ``results``; write them as JSON and as Markdown beside it."""
    text = printed(print_tables, results)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2))
    return write_markdown(json_path, text, title)
