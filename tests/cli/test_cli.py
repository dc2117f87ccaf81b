"""The `stability` command: subcommands run, bad input exits 2 with one line, writes are atomic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stability.cli import build_parser, main

SMALL_RECIPE = 'title = "CLI test"\nsections = ["segmentation"]\n[segmentation]\ncharacters = 40\n'


@pytest.fixture
def small_recipe(tmp_path) -> Path:
    """A recipe with only section (b): fast to run."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL_RECIPE, encoding="utf-8")
    return path


def _run(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def _assert_one_line_error(status, out, err):
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stability: error: ")
    assert "Traceback" not in err


# --------------------------------------------------------------------------- help


def test_help_in_subprocess():
    """`stability --help` in a fresh process exits 0, lists the subcommands, writes nothing to stderr."""
    script = shutil.which("stability")
    command = [script, "--help"] if script else [sys.executable, "-m", "stability.cli", "--help"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for name in ("report", "derive", "spectrum", "compare"):
        assert name in proc.stdout
    assert proc.stderr == ""


def test_bad_argument_in_subprocess():
    """A bad argument in a real process: exit status 2, one stderr line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "stability.cli", "report", "--format", "docx"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("stability: error: ")


def test_help_does_not_import_heavy_modules():
    """--help imports none of matplotlib, SymPy, WeasyPrint, Jinja2, ziamath, tqdm or the report layer."""
    code = (
        "import sys\n"
        "from stability.cli import main\n"
        "main(['--help'])\n"
        "heavy = [m for m in ('matplotlib', 'sympy', 'weasyprint', 'jinja2', 'ziamath', 'tqdm', 'stability.report') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.parametrize("command", ["report", "derive", "spectrum", "compare"])
def test_subcommand_help(capsys, command):
    """Each subcommand has its own --help, exit status 0."""
    status, out, _ = _run(capsys, [command, "--help"])
    assert status == 0 and out.startswith(f"usage: stability {command}")


def test_version(capsys):
    """--version prints the package version."""
    status, out, _ = _run(capsys, ["--version"])
    assert status == 0 and out.startswith("stability ")


# --------------------------------------------------------------------------- report


def test_report_writes_fixed_names(capsys, tmp_path, small_recipe):
    """`report --recipe R --out DIR` writes DIR/report.html, DIR/report.pdf and prints their paths."""
    out_dir = tmp_path / "out" / "nested"
    status, out, err = _run(capsys, ["report", "--recipe", str(small_recipe), "--out", str(out_dir)])
    assert status == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.html", "report.pdf"]
    assert out.splitlines() == [str(out_dir / "report.html"), str(out_dir / "report.pdf")]
    assert "CLI test" in (out_dir / "report.html").read_text(encoding="utf-8")
    assert (out_dir / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert "stability report" in err  # the progress bar went to stderr


def test_report_quiet_and_json(capsys, tmp_path, small_recipe):
    """--quiet prints nothing; --format json writes report.json with the raw table values."""
    status, out, err = _run(
        capsys, ["report", "--recipe", str(small_recipe), "--out", str(tmp_path), "--format", "json", "--quiet"]
    )
    assert (status, out, err) == (0, "", "")
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    rows = data["sections"][0]["tables"][0]["rows"]
    assert rows[-1]["strategy"] == "full" and rows[-1]["longest"] == 40
    assert not (tmp_path / "report.html").exists()


def test_report_default_out_dir(capsys, tmp_path, small_recipe, monkeypatch):
    """Without --out the report goes to ./stability-report."""
    monkeypatch.chdir(tmp_path)
    status, _, _ = _run(capsys, ["report", "--recipe", str(small_recipe), "--format", "html", "--quiet"])
    assert status == 0 and (tmp_path / "stability-report" / "report.html").is_file()


def test_report_seed_override(capsys, tmp_path, small_recipe):
    """--seed overrides the recipe's seed and is stated in the report."""
    _run(capsys, ["report", "--recipe", str(small_recipe), "--out", str(tmp_path), "--format", "json", "--quiet",
                  "--seed", "123"])
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["meta"]["Seed"] == "123"


# --------------------------------------------------------------------------- derive, spectrum, compare


def test_derive_prints_expansion_and_proof(capsys):
    """`derive` prints eq. (7) at t and the symbolic layer's verdict; --latex prints its LaTeX."""
    from stability import symbolic

    status, out, err = _run(capsys, ["derive", "--t", "4"])
    assert status == 0 and err == ""
    assert out.splitlines()[-1] == str(symbolic.expand(4).verify()) and out.splitlines()[-1].startswith("proved")
    status, out, _ = _run(capsys, ["derive", "--t", "5", "--form", "chunked", "--tau", "2", "--kind", "matrix", "--latex"])
    assert status == 0
    assert out.splitlines()[0] == symbolic.truncated(5, 2, mode="chunked", kind="matrix").latex()
    assert out.splitlines()[1].startswith("% proved")


@pytest.mark.parametrize("form", ["window", "randomized", "lemma", "induction"])
def test_derive_forms(capsys, form):
    """Every form of `derive` runs and ends with a proved verdict."""
    status, out, _ = _run(capsys, ["derive", "--t", "3", "--form", form])
    assert status == 0 and out.splitlines()[-1].startswith("proved")


def test_spectrum_prints_the_prediction(capsys):
    """`spectrum` prints predict().summary() for the cell it builds: same λ₁ as the spectra layer."""
    from stability.cells import TanhRNN
    from stability.spectra import lyapunov_spectrum

    status, out, err = _run(capsys, ["spectrum", "--hidden", "6", "--inputs", "3", "--gain", "0.5", "--T", "400",
                                     "--seed", "4", "--exponents", "2"])
    assert status == 0 and err == ""
    cell = TanhRNN.random(6, 3, gain=0.5, rng=4)
    ref = lyapunov_spectrum(cell, np.random.default_rng(4).normal(size=(400, 3)), k=2, rng=4)
    assert f"λ₁ = {ref.top:.4g}" in out and "regime: VANISHING" in out


def test_spectrum_from_weights(capsys, tmp_path):
    """`spectrum --weights` builds the cell from the .npz arrays (here a contracting tanh cell)."""
    path = tmp_path / "w.npz"
    np.savez(path, W=0.3 * np.eye(4), U=np.ones((4, 2)), b=np.zeros(4))
    status, out, _ = _run(capsys, ["spectrum", "--weights", str(path), "--T", "300"])
    assert status == 0 and "hidden=4, inputs=2" in out and "vanishing guaranteed" in out


def test_compare_json_matches_the_estimators(capsys):
    """`compare --format json` holds the exact statistics of stability.estimators for the same problem."""
    from stability.estimators import ProblemSpec, Randomized, Truncated, exact

    status, out, _ = _run(capsys, ["compare", "--format", "json", "--hidden", "4", "--inputs", "2", "--T", "12",
                                   "--gain", "1.5", "--seed", "3", "--taus", "2,4", "--pis", "0.5"])
    assert status == 0
    rows = json.loads(out)["rows"]
    problem = ProblemSpec(hidden=4, inputs=2, T=12, gain=1.5, seed=3).build()
    chunked = next(r for r in rows if r["form"] == "chunked" and r["tau"] == 4)
    assert chunked["relative_bias"] == exact(problem, Truncated(4, mode="chunked")).relative_bias
    randomized = next(r for r in rows if r["strategy"] == "randomized")
    ref = exact(problem, Randomized(0.5))
    assert randomized["relative_variance"] == ref.variance / ref.gradient.norm() ** 2
    assert [r["strategy"] for r in rows].count("truncated") == 4 and rows[-1]["strategy"] == "full"


def test_compare_table_and_csv(capsys):
    """`compare` prints an aligned table by default and CSV with --format csv."""
    status, out, _ = _run(capsys, ["compare", "--hidden", "3", "--T", "10"])
    assert status == 0 and "Rel. MSE" in out and out.splitlines()[-1].startswith("full")
    status, out, _ = _run(capsys, ["compare", "--hidden", "3", "--T", "10", "--format", "csv"])
    assert status == 0 and out.splitlines()[0].startswith("strategy,form,tau,pi,relative_bias")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["report", "--format", "html,docx"],
        ["report", "--format", ""],
        ["report", "--seed", "-1"],
        ["report", "--seed", "abc"],
        ["report", "--recipe", "/nonexistent/recipe.toml"],
        ["report", "--no-such-option"],
        ["derive", "--t", "0"],
        ["spectrum", "--hidden", "0"],
        ["spectrum", "--gain", "nan"],
        ["spectrum", "--cell", "rnn"],
        ["compare", "--pis", "0,1"],
        ["compare", "--taus", "1,x"],
        ["compare", "--taus", "1,100", "--T", "16"],
        ["compare", "--format", "xml"],
        ["derive", "--t", "500"],
        ["derive", "--form", "chunked", "--tau", "0"],
        ["derive", "--form", "sideways"],
        ["derive", "--kind", "tensor"],
        ["spectrum", "--T", "50"],
        ["spectrum", "--exponents", "0"],
        ["compare", "--cell", "gru", "--gain", "-1"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv):
    """Bad arguments exit 2 with exactly one 'stability: error:' line on stderr, nothing on stdout."""
    _assert_one_line_error(*_run(capsys, argv))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("title = ", "not valid TOML"),
        ("[model]\nhiden = 3\n", "`model.hiden`"),
        ("[model]\nhidden = true\n", "`model.hidden`"),
        ("[strategies]\npis = [2.0]\n", "2.0"),
        ('sections = ["nope"]\n', "'nope'"),
    ],
)
def test_bad_recipes_exit_2_with_one_line(capsys, tmp_path, text, needle):
    """An invalid recipe exits 2 with one line naming the key or the value."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    status, out, err = _run(capsys, ["report", "--recipe", str(path), "--out", str(tmp_path / "o")])
    _assert_one_line_error(status, out, err)
    assert needle in err
    assert not (tmp_path / "o").exists()  # nothing created before the recipe is valid


def test_out_is_a_file(capsys, tmp_path, small_recipe):
    """--out naming an existing file exits 2."""
    target = tmp_path / "file"
    target.write_text("x")
    status, out, err = _run(capsys, ["report", "--recipe", str(small_recipe), "--out", str(target)])
    _assert_one_line_error(status, out, err)
    assert "directory" in err


def test_weights_file_checks(capsys, tmp_path):
    """--weights: pickled arrays and non-npz files are refused in one line; sizes may not be given too."""
    pickled = tmp_path / "w.npz"
    np.savez(pickled, W=np.array([object(), 1], dtype=object))
    _assert_one_line_error(*_run(capsys, ["spectrum", "--weights", str(pickled)]))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    _assert_one_line_error(*_run(capsys, ["spectrum", "--weights", str(broken)]))
    _assert_one_line_error(*_run(capsys, ["spectrum", "--weights", str(tmp_path / "w.txt")]))
    good = tmp_path / "good.npz"
    np.savez(good, W_hh=np.eye(3))
    status, out, err = _run(capsys, ["spectrum", "--weights", str(good), "--gain", "2"])
    _assert_one_line_error(status, out, err)
    assert "--gain" in err


def test_load_weights_refuses_pickle(tmp_path):
    """load_weights uses allow_pickle=False: object arrays are refused, numeric arrays returned."""
    from stability.cli.commands import UsageProblem, load_weights

    good = tmp_path / "good.npz"
    np.savez(good, W_hh=np.eye(2), b=np.zeros(2))
    arrays = load_weights(str(good))
    assert sorted(arrays) == ["W_hh", "b"] and arrays["W_hh"].shape == (2, 2)
    bad = tmp_path / "bad.npz"
    np.savez(bad, W=np.array([{}], dtype=object))
    with pytest.raises(UsageProblem, match="without pickle"):
        load_weights(str(bad))


# --------------------------------------------------------------------------- atomic writes


def _interrupt_after_half(monkeypatch, exc):
    from stability.report import output

    real = output._write_all

    def half_then_fail(fh, data):
        real(fh, data[: len(data) // 2])
        raise exc

    monkeypatch.setattr(output, "_write_all", half_then_fail)


def test_interrupted_write_leaves_no_partial_file(capsys, tmp_path, small_recipe, monkeypatch):
    """A write that fails midway (disk full) exits 2 and leaves neither a partial report nor a temp file."""
    _interrupt_after_half(monkeypatch, OSError(28, "No space left on device"))
    status, out, err = _run(capsys, ["report", "--recipe", str(small_recipe), "--out", str(tmp_path), "--quiet"])
    _assert_one_line_error(status, out, err)
    assert "No space left" in err
    assert list(tmp_path.iterdir()) == [small_recipe]


def test_interrupted_write_keeps_previous_report(capsys, tmp_path, small_recipe, monkeypatch):
    """Interrupting a rewrite (Ctrl-C) keeps the previous report.html and report.pdf intact."""
    out_dir = tmp_path / "out"
    assert main(["report", "--recipe", str(small_recipe), "--out", str(out_dir), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    _interrupt_after_half(monkeypatch, KeyboardInterrupt())
    status = main(["report", "--recipe", str(small_recipe), "--out", str(out_dir), "--quiet", "--seed", "9"])
    _, err = capsys.readouterr()
    assert status == 130 and err.strip() == "stability: interrupted"
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before


def test_write_atomic_only_fixed_names(tmp_path):
    """The writer accepts only the fixed output names, so nothing lands outside --out."""
    from stability.errors import InputValueError
    from stability.report import write_atomic

    for name in ("../escape.html", "/tmp/x.html", "report.exe"):
        with pytest.raises(InputValueError, match="file name"):
            write_atomic(tmp_path, {name: b"x"})
    written = write_atomic(tmp_path, {"report.html": b"<html></html>"})
    assert written == {"report.html": tmp_path / "report.html"}
    mode = (tmp_path / "report.html").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_write_atomic_replaces_symlink_not_target(tmp_path):
    """An existing report.html symlink is replaced, never written through."""
    from stability.report import write_atomic

    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "report.html").symlink_to(outside)
    write_atomic(out_dir, {"report.html": b"new"})
    assert outside.read_text() == "keep me"
    assert not (out_dir / "report.html").is_symlink() and (out_dir / "report.html").read_bytes() == b"new"


def test_parser_is_cheap_to_build():
    """The parser knows the four subcommands and builds without importing the package's layers."""
    parser = build_parser()
    text = parser.format_help()
    assert all(c in text for c in ("report", "derive", "spectrum", "compare"))


def test_weights_with_wrong_names_exit_2(capsys, tmp_path):
    """Weights whose names do not fit the cell kind exit 2 with one line."""
    path = tmp_path / "w.npz"
    np.savez(path, weight_hh=np.eye(3))
    _assert_one_line_error(*_run(capsys, ["spectrum", "--weights", str(path)]))


def test_blas_threads_default_to_one():
    """The CLI sets OPENBLAS_NUM_THREADS/OMP_NUM_THREADS to 1 before NumPy loads, unless the user set them."""
    code = (
        "import os, sys\n"
        "import stability.cli\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'], 'numpy' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.split() == ["1", "1", "False"]
    env["OPENBLAS_NUM_THREADS"] = "2"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.split() == ["2", "1", "False"]
    script = shutil.which("stability")
    command = [script, "--help"] if script else [sys.executable, "-m", "stability.cli", "--help"]
    assert "OPENBLAS_NUM_THREADS" in subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
