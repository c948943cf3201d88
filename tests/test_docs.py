"""The documentation builds without warnings (gallery pages rendered, not executed).

The examples themselves run in tests/test_examples.py; here Sphinx checks
every docstring, cross-reference and page. The build works on a copy, so the
source tree stays clean.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_documentation_builds_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser"):
        pytest.importorskip(module)
    for folder in ("doc", "examples", "benchmarks/results"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("_build", "auto_examples", "generated"))
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-D", "plot_gallery=0", str(tmp_path / "doc"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    pages = {p.name for p in (tmp_path / "html").rglob("*.html")}
    assert {"index.html", "user_guide.html", "api.html", "benchmarks.html"} <= pages
    assert "destructors.DeepDestructor.html" in pages
    assert any(name.startswith("plot_destruction") for name in pages)
