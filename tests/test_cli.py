"""The command-line interface."""

import subprocess
import sys

import pytest

from destructors.cli import main


def test_demo_prints_held_out_log_likelihood(capsys):
    assert main(["demo", "--n-samples", "800"]) == 0
    out = capsys.readouterr().out
    assert "held-out mean log-likelihood" in out
    rows = [line for line in out.splitlines() if "gaussian" in line]
    scores = [float(line.split()[-2]) for line in rows]
    assert len(scores) == 2 and all(-5 < s < 1 for s in scores)
    assert scores[1] > scores[0]


def test_bad_usage_exits_with_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "destructors", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
