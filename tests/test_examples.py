"""The example gallery: every ``examples/plot_*.py`` runs, and is in sphinx-gallery form.

Each example runs as a script in a fresh interpreter, in an empty temporary
working directory, with the non-interactive Agg backend and the repository
root first on ``PYTHONPATH`` (so the examples use this checkout). The test
skips when matplotlib, which the examples need, is not installed.
"""

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
TIMEOUT = 180  # seconds per example; each is meant to take well under a minute


def _example_env():
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # OpenMP worker threads (scikit-learn's k-means, used to initialize
    # Gaussian mixtures) spin while waiting; on a machine whose cores are
    # busy with other work that made the mixture-based examples several
    # times slower with no change in results. A value set by the caller wins.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_examples_found():
    assert len(EXAMPLES) >= 5, [path.name for path in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs(path, tmp_path):
    start = time.perf_counter()
    try:
        result = subprocess.run(
            [sys.executable, str(path)], cwd=tmp_path, env=_example_env(),
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"{path.name} did not finish within {TIMEOUT} s; last output:\n{output[-2000:]}")
    seconds = time.perf_counter() - start
    print(f"{path.name}: {seconds:.1f} s")
    assert result.returncode == 0, (
        f"{path.name} exited with code {result.returncode}\n"
        f"--- stdout (end) ---\n{result.stdout[-3000:]}\n--- stderr (end) ---\n{result.stderr[-3000:]}"
    )
    # Examples save nothing into the working directory (only into temporary
    # directories they clean up themselves).
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [], f"{path.name} wrote {written} into its working directory"


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_is_a_gallery_script(path):
    """A docstring with an RST title first, then ``# %%`` cells; no blocking or saving calls."""
    source = path.read_text()
    module = ast.parse(source)
    docstring = ast.get_docstring(module, clean=False)
    assert docstring is not None, f"{path.name}: no module docstring first"
    lines = [line.rstrip() for line in docstring.strip("\n").splitlines()]
    if re.fullmatch(r"=+", lines[0]):  # an overline
        assert lines[0] == lines[2], f"{path.name}: overline and underline of the title differ"
        lines = lines[1:]
    title, underline = lines[0].strip(), lines[1]
    assert title and re.fullmatch(r"=+", underline), f"{path.name}: the docstring must open with a title"
    assert len(underline) >= len(title), f"{path.name}: the title underline is shorter than the title"
    assert re.search(r"^# %%$", source, flags=re.MULTILINE), f"{path.name}: no '# %%' cells"
    # Sections inside cells are underlined to their full length too.
    for match in re.finditer(r"^# (\S.*)\n# ([-~^]+)$", source, flags=re.MULTILINE):
        heading, underline = match.groups()
        assert len(underline) >= len(heading), f"{path.name}: short underline of {heading!r}"
    assert "savefig(" not in source, f"{path.name}: examples must not write figures"
    assert "plt.show(block=True)" not in source
