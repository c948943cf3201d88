"""The command-line interface."""

import contextlib
import io
import re
import subprocess
import sys

import joblib
import numpy as np
import pytest

from destructors.cli import UsageError, _Progress, main, read_data


@pytest.fixture
def files(tmp_path):
    X = np.random.RandomState(0).gamma(2.0, size=(400, 3))
    np.savetxt(tmp_path / "data.csv", X, delimiter=",", header="a,b,c", comments="")
    np.savetxt(tmp_path / "plain.tsv", X, delimiter="\t")
    np.save(tmp_path / "data.npy", X)
    np.savez(tmp_path / "data.npz", X=X)
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "text.csv").write_text("1,2,3\n4,five,6\n")
    (tmp_path / "empty_cell.csv").write_text("a,b,c\n1,2,\n")
    (tmp_path / "nan.csv").write_text("1,2,3\n4,nan,6\n")
    (tmp_path / "header_only.csv").write_text("a,b,c\n")
    return tmp_path, X


def test_read_data_formats(files):
    path, X = files
    for name in ("data.csv", "plain.tsv", "data.npy", "data.npz"):
        values, names = read_data(path / name)
        np.testing.assert_allclose(values, X, rtol=1e-15)
    assert read_data(path / "data.csv")[1] == ["a", "b", "c"]
    assert read_data(path / "plain.tsv")[1] is None


def test_text_columns_are_labels_and_integers_stay_numbers(files):
    values, names = read_data(files[0] / "text.csv")
    assert names is None and values.dtype == object
    assert list(values[:, 1]) == ["2", "five"] and list(values[:, 0]) == [1.0, 4.0]


def test_a_table_with_labels_and_integers_round_trips_through_fit_sample_and_score(tmp_path, capsys):
    rng = np.random.RandomState(0)
    lines = ["age,income,city"] + [
        f"{age},{income:.2f},{city}"
        for age, income, city in zip(rng.randint(18, 90, 500), np.exp(rng.normal(10, 0.5, 500)),
                                     rng.choice(["oslo", '"new york, ny"', "rome"], 500))
    ]
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n")
    assert main(["fit", str(tmp_path / "people.csv"), "-o", str(tmp_path / "m.joblib"), "--param", "max_layers=2"]) == 0
    err = capsys.readouterr().err
    assert "column 'age': discrete, grid of spacing 1" in err and "column 'city': categorical, 3 labels" in err
    assert main(["sample", str(tmp_path / "m.joblib"), "-n", "50", "--random-state", "0",
                 "-o", str(tmp_path / "s.csv")]) == 0
    samples, _ = read_data(tmp_path / "s.csv")
    assert set(samples[:, 2]) <= {"oslo", "new york, ny", "rome"}
    assert all(float(v).is_integer() for v in samples[:, 0])
    assert main(["score", str(tmp_path / "m.joblib"), str(tmp_path / "people.csv")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 500
    assert main(["info", str(tmp_path / "m.joblib")]) == 0
    assert "column 2: categorical, 3 labels" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.csv", "no such file"),
        ("ragged.csv", "line 2 has 2 fields, expected 3"),
        ("nan.csv", "line 2, column 2 is nan"),
        ("empty_cell.csv", "line 2, column 3 is empty"),
        ("header_only.csv", "only a header"),
    ],
)
def test_read_data_errors_are_one_line(files, name, message):
    with pytest.raises(UsageError, match=message):
        read_data(files[0] / name)


def test_fit_score_sample_transform_info(files, capsys):
    path, X = files
    model_path = path / "model.joblib"
    assert main(["fit", str(path / "data.csv"), "-o", str(model_path), "--model", "copula",
                 "--param", "max_layers=3"]) == 0
    captured = capsys.readouterr()
    # The result alone on stdout; messages on stderr.
    assert captured.out.startswith("held-out mean log-likelihood:") and len(captured.out.splitlines()) == 1
    assert "fit on 320 rows in" in captured.err and "saved to" in captured.err
    model = joblib.load(model_path)
    assert model.max_layers == 3 and model.n_features_in_ == 3

    assert main(["score", str(model_path), str(path / "data.npy")]) == 0
    captured = capsys.readouterr()
    scores = np.loadtxt(captured.out.splitlines())
    np.testing.assert_allclose(scores, model.score_samples(X))
    assert f"mean log-likelihood: {scores.mean():.6f}" in captured.err

    assert main(["sample", str(model_path), "-n", "5", "--random-state", "1", "-o", str(path / "s.npy")]) == 0
    # Exact: the same seed and operations on the same inputs, in one process.
    np.testing.assert_array_equal(np.load(path / "s.npy"), model.sample(5, random_state=1))

    assert main(["transform", str(model_path), str(path / "data.csv"), "--output-distribution", "normal",
                 "-o", str(path / "z.csv")]) == 0
    Z, names = read_data(path / "z.csv")
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(Z, model.set_params(output_distribution="normal").transform(X), rtol=1e-12)

    assert main(["info", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "model: DeepDestructor" in out and "saved with destructors" in out and "layers:" in out


def _fit_lines(path, capsys, *flags):
    assert main(["fit", str(path / "data.csv"), "-o", str(path / "m.joblib"), "--param", "max_layers=4",
                 *flags]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and "held-out" in captured.out
    return captured.err.splitlines()


def test_fit_shows_a_short_display_by_default_and_the_layer_trace_with_v(files, capsys):
    path, _ = files
    short = _fit_lines(path, capsys)
    trace = _fit_lines(path, capsys, "-v")
    quiet = _fit_lines(path, capsys, "-q")
    layer_lines = [line for line in trace if re.match(r"\[DeepDestructor\] .* layer +\d+", line)]
    # Two fits (held-out, then all rows), each of every candidate's layers.
    assert len(layer_lines) >= 2 * 4
    # The short display is the command's own lines: none of the model's trace.
    assert not [line for line in short if line.startswith("[DeepDestructor]")]
    assert len(short) <= 8 and len(trace) > len(short) + len(layer_lines) - 1
    assert any("fit on 320 rows in" in line and "DeepDestructor:" in line for line in short)
    assert quiet == []


def test_short_display_shows_the_model_trace_in_one_status_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    progress = _Progress("short", terminal)
    with contextlib.redirect_stdout(progress):
        print("[DeepDestructor] MarginalDestructor layer   1 TreeDestructor  validation -1.0  0.10 s")
        print("[DeepDestructor] MarginalDestructor layer   2 TreeDestructor  validation -0.9  0.10 s")
        print("[DeepDestructor] MarginalDestructor stack: 2 layers, validation -0.9, 0.20 s")
        print("[RBIGDestructor] iteration 3: TC reduction 0.01 nats")
    progress.clear()
    text = terminal.getvalue()
    # Each model line overwrites the status line; the status line is erased at the end.
    shown = text.split("\r")
    assert all(part.startswith("\x1b[K") or part.startswith("[") for part in shown[1:])
    assert shown[-2] == "[RBIGDestructor] iteration 3: TC reduction 0.01 nats\x1b[K"
    assert "\n" not in text and shown[-1] == "\x1b[K"
    not_a_terminal = io.StringIO()
    with contextlib.redirect_stdout(_Progress("short", not_a_terminal)):
        print("[DeepDestructor] MarginalDestructor layer   1 TreeDestructor  validation -1.0  0.10 s")
        print("[DeepDestructor] MarginalDestructor stack: 1 layers, validation -1.0, 0.10 s")
        print("fit on 10 rows in 0.10 s")
    assert not_a_terminal.getvalue() == "fit on 10 rows in 0.10 s\n"


def test_a_closed_pipe_ends_quietly(tmp_path):
    """``destructors score ... | head -3``: no traceback, the status of a process stopped by SIGPIPE."""
    X = np.random.RandomState(0).standard_normal((60000, 2))
    np.save(tmp_path / "data.npy", X)
    joblib.dump(__import__("destructors").GaussianDestructor().fit(X[:100]), tmp_path / "m.joblib")
    reader = subprocess.Popen(
        [sys.executable, "-m", "destructors", "score", str(tmp_path / "m.joblib"), str(tmp_path / "data.npy")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = [reader.stdout.readline() for _ in range(3)]
    reader.stdout.close()  # like head after three lines
    _, err = reader.communicate(timeout=120)
    assert all(float(line) < 0 for line in first)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()
    assert reader.returncode == 141


def test_fit_without_held_out_rows(files, capsys):
    path, _ = files
    assert main(["fit", str(path / "data.npy"), "-o", str(path / "g.joblib"), "--model", "gaussian",
                 "--test-fraction", "0"]) == 0
    assert "held-out" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{data}", "-o", "{out}", "--param", "nope=1"], "Invalid parameter 'nope'"),
        (["fit", "{data}", "-o", "{out}", "--param", "novalue"], "--param takes key=value"),
        (["score", "{missing}", "{data}"], "no such model file"),
        (["score", "{data}", "{data}"], "not a saved model"),
        (["sample", "{model}", "-n", "0"], "positive number of samples"),
        (["score", "{model}", "{two_columns}"], "X has 2 features"),
    ],
)
def test_bad_usage_exits_2_with_one_line(files, capsys, argv, message):
    path, X = files
    model = path / "model.joblib"
    joblib.dump(__import__("destructors").GaussianDestructor().fit(X), model)
    np.save(path / "two.npy", X[:, :2])
    values = {"data": path / "data.csv", "out": path / "o.joblib", "missing": path / "none.joblib",
              "model": model, "two_columns": path / "two.npy"}
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(**values) for a in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_argparse_errors_exit_2(capsys):
    for argv in (["no-such-command"], ["fit"], ["fit", "x.csv", "-o", "m", "--model", "nope"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2


@pytest.mark.parametrize("command", ["fit", "score", "sample", "transform", "info", "demo"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: destructors " + command in capsys.readouterr().out


def test_demo_prints_a_comparison_table(tmp_path, capsys):
    picture = tmp_path / "demo.png"
    assert main(["demo", "--n-samples", "800", "--plot", str(picture)]) == 0
    out = capsys.readouterr().out
    rows = {line.rsplit(None, 3)[0].strip(): line.split()[-3:] for line in out.splitlines()
            if line.startswith(("destructors", "GaussianMixture", "KernelDensity"))}
    assert set(rows) == {"destructors DeepDestructor()", "GaussianMixture, tuned", "KernelDensity, tuned"}
    assert all(np.isfinite(float(v[0])) for v in rows.values())
    assert "true density" in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert not picture.exists()
    else:
        assert picture.stat().st_size > 10000


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "destructors", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
