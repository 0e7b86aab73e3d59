"""The ``dlcourse`` command itself: help, version, a closed output pipe, and ``bench``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dlcourse import __version__
from dlcourse.cli import bench, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlcourse {__version__}"


def test_help_lists_every_subcommand(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in ("train", "data", "release", "grade", "bench"):
        assert name in out


def test_console_script_runs_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "usage: dlcourse" in out


def _fake_checkout(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bench_ok.py").write_text("import sys\nprint('table', sys.argv[1:])\n")
    (folder / "bench_bad.py").write_text("raise SystemExit(3)\n")
    return folder


def test_bench_lists_and_runs_scripts(tmp_path, capfd, monkeypatch):
    folder = _fake_checkout(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert set(bench.available(folder)) == {"ok", "bad"}
    assert main(["bench", "--list"]) == 0
    assert "ok" in capfd.readouterr().out
    assert main(["bench", "ok", "--", "--quick"]) == 0
    assert "table ['--quick']" in capfd.readouterr().out
    assert main(["bench", "ok", "bad"]) == 3  # the first failure's status is returned


def test_bench_unknown_name_is_a_clear_error(tmp_path, capsys, monkeypatch):
    _fake_checkout(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'nope'" in err and "bad, ok" in err


def test_repository_benchmarks_are_found():
    names = set(bench.available(bench.find_benchmarks()))
    assert {"epoch", "gpu", "grading"} <= names


@pytest.mark.parametrize("command", ["train", "data", "release", "grade", "bench"])
def test_help_is_plain_text(command, capsys):
    """--help prints plain text: no reStructuredText backticks."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "usage: dlcourse " + command in out
    assert "`" not in out, out


TRAIN = [sys.executable, "-m", "dlcourse", "train", "--sizes", "64,8,10", "--epochs", "3",
         "--no-progress"]  # fmt: skip


PIPES = pytest.mark.skipif(sys.platform == "win32", reason="Windows reports EINVAL, not EPIPE")


@PIPES
def test_output_into_a_closed_pipe_stops_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        done = subprocess.run(TRAIN, stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=120)  # fmt: skip
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")  # no BrokenPipeError traceback


@PIPES
def test_reader_that_stops_after_one_line_like_head():
    with subprocess.Popen(TRAIN, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        first = child.stdout.readline()
        child.stdout.close()  # `| head -1`
        err = child.stderr.read().decode()
        status = child.wait(timeout=120)
    assert first.startswith(b"training Network(sizes=[64, 8, 10]")
    assert (status, err) == (141, "")
