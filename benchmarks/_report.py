"""Markdown reports of the family benchmarks, written beside their JSON results."""

import contextlib
import io
import json
import time
from pathlib import Path


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


def render(json_path, print_tables, title):
    """Rewrite the Markdown report of an earlier run from its JSON results."""
    text = printed(print_tables, load(json_path))
    return write_markdown(json_path, text, title)
