"""Hostile submissions are graded without harm and earn nothing they did not compute.

All of tests/grading_fixtures/hostile/*.py plus a correct submission are graded together
as one folder (``--jobs 2``, 3 s per test) against the fixture exercise 00. The ``leak_*``
submissions try to carry the hidden test's input into any feedback (exception and type
names, exit codes, state kept for a later visible test); they mark what they leak with
the word LEAK, which must appear nowhere in their results.

The attacks on the sandbox itself (tests/grading_fixtures/hostile/isolation/: network,
files in /tmp, a copy of the solutions elsewhere, a daemon, memory across processes, a
symbolic link, a FIFO) are graded in a second folder and checked on the machine; then
delegation to the course package, malformed notebooks (also in Gradescope mode), a crash
of the grader's own process, and the refusal to grade without bubblewrap.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.grading import gradescope, runner, sandbox

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "grading_fixtures"
COURSE = FIXTURES / "course"
SOLUTION = COURSE / "solutions" / "00_fixture.ipynb"
HOSTILE = sorted((FIXTURES / "hostile").glob("*.py"))
ISOLATION = FIXTURES / "hostile" / "isolation"
EXPECTED_FEEDBACK = {  # a substring the feedback of test_add_numbers must contain
    "loop_import": "did not finish within 3 s",
    "loop_function": "did not finish within 3 s",
    "sys_exit": "SystemExit",
    "os_exit": "ended the Python process (exit code 0)",
    "segfault": "segmentation fault, exit code -11",
    "memory_hog": "MemoryError",
    "print_flood": "does not define 'add'",  # the flood was cut off, so add() never got defined
    "fake_results": "should be 5",
    "patch_numpy": "should be 5",
    "long_exception_name": "raised XXXX",
    "forged_array": "should be 5",
}
LEAKS = sorted(p.stem for p in HOSTILE if p.stem.startswith("leak_"))
# everything a hidden test may say when the student's code fails in it (fixed vocabulary)
HIDDEN_VOCABULARY = re.compile(
    r"^(calling sigmoid\(\) (raised an exception|is not implemented yet \(raises "
    r"NotImplementedError\)|recursed without end|ran out of memory) on a hidden test case"
    r"|sigmoid\(\) gave an object that is not data on a hidden test case; expected .*"
    r"|(your code (ended or crashed the Python process|stopped answering|did not finish "
    r"within 3 s( \(an infinite loop\?\))?)|the submission used up its total time limit) "
    r"while (calling sigmoid\(\)|running your notebook's cells)"
    r"|sigmoid is wrong on a 2-D input|a hidden check failed)$"
)
STRONG = sandbox.problem("strong")
needs_bwrap = pytest.mark.skipif(
    STRONG is not None, reason=f"strong isolation is not available here: {STRONG}"
)


@pytest.fixture(scope="module")
def graded(once, tmp_path_factory):
    """Grade the folder once per test run, however many xdist workers run this module."""
    if STRONG is not None:
        pytest.skip(f"strong isolation is not available here: {STRONG}")
    return once("hostile-graded", lambda: _grade(tmp_path_factory))


def _grade(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for path in HOSTILE:
        shutil.copy(path, folder / path.name)
    shutil.copy(SOLUTION, folder / "good.ipynb")
    out = tmp_path_factory.mktemp("out")
    code = main(
        [
            "grade", str(folder), "--exercise", "00", "--jobs", "2",
            "--tests-dir", str(COURSE / "tests"),
            "--test-timeout", "3", "--timeout", "30",
            "--json", str(out / "json"), "--csv", str(out / "summary.csv"),
        ]
    )  # fmt: skip
    rows = {r["student"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    results = {p.stem: json.loads(p.read_text()) for p in (out / "json").glob("*.json")}
    return code, rows, results


def test_grading_completes_and_every_submission_has_a_row(graded):
    code, rows, results = graded
    assert code == 0
    assert set(rows) == {p.stem for p in HOSTILE} | {"good"}
    assert set(results) == set(rows)


def test_the_honest_submission_in_the_same_folder_gets_full_marks(graded):
    _, rows, results = graded
    assert rows["good"]["score"] == rows["good"]["max_score"] == "8"
    assert all(t["status"] == "passed" for t in results["good"]["tests"])


@pytest.mark.parametrize("name", [p.stem for p in HOSTILE])
def test_hostile_submission_earns_nothing(graded, name):
    _, rows, results = graded
    result = results[name]
    assert result["score"] == 0 and rows[name]["score"] == "0", result
    assert result["extra_data"]["max_score"] == 8
    assert all(t["status"] == "failed" and t["score"] == 0 for t in result["tests"])
    if name in EXPECTED_FEEDBACK:
        add = next(t for t in result["tests"] if t["name"] == "test_add_numbers")
        assert EXPECTED_FEEDBACK[name] in add["output"], add["output"]


def test_hidden_feedback_never_shows_values(graded):
    _, _, results = graded
    for result in results.values():
        for t in result["tests"]:
            if t["visibility"] == "after_published":
                assert "assert" not in t["output"] and "array(" not in t["output"], t


@pytest.mark.parametrize("name", LEAKS)
def test_hidden_inputs_do_not_leak_into_any_feedback(graded, name):
    _, rows, results = graded
    text = json.dumps(results[name]) + json.dumps(rows[name])
    assert "LEAK" not in text, text[:3000]
    hidden = next(t for t in results[name]["tests"] if t["visibility"] == "after_published")
    assert HIDDEN_VOCABULARY.match(hidden["output"]), hidden["output"]


def test_hidden_feedback_comes_from_a_fixed_vocabulary(graded):
    _, _, results = graded
    for name, result in results.items():
        for t in result["tests"]:
            if t["visibility"] == "after_published" and t["status"] == "failed":
                assert HIDDEN_VOCABULARY.match(t["output"]), (name, t["output"])


def test_feedback_is_capped_and_without_memory_addresses(graded):
    _, _, results = graded
    for result in results.values():
        for t in result["tests"]:
            assert len(t["output"]) <= 2000, (t["name"], len(t["output"]))
            assert " at 0x" not in t["output"], t["output"]
        assert len(result["output"]) <= 5000
    long = results["long_exception_name"]["tests"][0]["output"]
    assert "X" * 61 not in long and "Y" * 1001 not in long, long


# -- attacks on the sandbox -------------------------------------------------------------
CHILD_MB, MEMORY_MB = 450, 1000  # one child fits the submission's limit, three do not


class Listener(threading.Thread):
    """A TCP server on 127.0.0.1 that records every line it receives."""

    def __init__(self):
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536).decode(errors="replace"))
                except OSError:
                    self.received.append("(a connection)")

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)
        self.server.close()


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if token.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _attack(name: str, **values: str) -> str:
    source = (ISOLATION / "_correct.py").read_text() + "\n\n" + (ISOLATION / name).read_text()
    for key, value in values.items():
        source = source.replace(f"__{key}__", value)
    return source


def _run_plain(source: str, cwd: Path) -> str:
    """Run a submission as a plain Python script (no sandbox): what the attack does there."""
    run = subprocess.run(
        [sys.executable, "-c", source], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return run.stdout + run.stderr


def _grade_attacks(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("attacks")
    folder, out = base / "submissions", base / "out"
    folder.mkdir()
    token, marker = (
        f"dlcourse-daemon-{secrets.token_hex(6)}",
        f"dlcourse-marker-{secrets.token_hex(6)}",
    )
    # copies of the course's solutions elsewhere on the machine, readable by everyone
    elsewhere = [
        base / "course-copy",
        Path(tempfile.mkdtemp(prefix="dlcourse-copy-", dir="/var/tmp")),
    ]
    for copy in elsewhere:
        (copy / "solutions").mkdir(parents=True, exist_ok=True)
        shutil.copy(SOLUTION, copy / "solutions" / "00_fixture.ipynb")
        copy.chmod(0o755)
    stolen = "|".join(str(c / "solutions" / "00_fixture.ipynb") for c in elsewhere)
    listener = Listener()
    listener.start()
    sources = {
        "network": _attack("network.py", PORT=str(listener.port)),
        "marker": _attack("marker.py", MARKER=marker),
        "solution_copy": _attack("solution_copy.py", SOLUTIONS=stolen),
        "daemon": _attack("daemon.py", TOKEN=token),
        "memory_children": _attack("memory_children.py", CHILD_MB=str(CHILD_MB)),
    }
    # what the attacks do without the sandbox: they work (so the checks below can fail)
    control_marker = f"{marker}-control"
    plain = {
        "network": _run_plain(sources["network"], base),
        "marker": _run_plain(sources["marker"].replace(marker, control_marker), base),
        "solution_copy": _run_plain(sources["solution_copy"] + "\nprint('add' in globals())", base),
    }
    time.sleep(0.5)
    control = {
        "received": list(listener.received),
        "marker": os.path.exists(f"/tmp/{control_marker}"),
        "stolen": plain["solution_copy"].strip().endswith("True"),
    }
    for folder_name in ("/tmp", "/var/tmp", "/dev/shm"):
        Path(folder_name, control_marker).unlink(missing_ok=True)
    listener.received.clear()
    for name, source in sources.items():
        (folder / f"{name}.py").write_text(source)
    (folder / "alice.ipynb").symlink_to(SOLUTION)  # a link to the answers
    (folder / "carol").symlink_to(SOLUTION.parent)  # a student's folder that is a link
    os.mkfifo(folder / "bob.ipynb")  # opening it would block
    seen = []

    def watch(stop: threading.Event) -> None:
        while not stop.is_set():
            seen.extend(p for p in _processes_with(token) if p not in seen)
            stop.wait(0.1)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,), daemon=True)
    watcher.start()
    try:
        code = main(
            [
                "grade", str(folder), "--exercise", "00", "--jobs", "2",
                "--tests-dir", str(COURSE / "tests"), "--test-timeout", "15", "--timeout", "90",
                "--memory-mb", str(MEMORY_MB),
                "--json", str(out / "json"), "--csv", str(out / "summary.csv"),
            ]
        )  # fmt: skip
    finally:
        stop.set()
        watcher.join(5)
        time.sleep(0.5)
        listener.stop()
        for copy in elsewhere:
            shutil.rmtree(copy, ignore_errors=True)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    results = {p.stem: json.loads(p.read_text()) for p in (out / "json").glob("*.json")}
    alive = _processes_with(token)
    for pid in alive:  # do not leave it running whatever the result
        os.kill(pid, signal.SIGKILL)
    markers = [f for f in ("/tmp", "/var/tmp", "/dev/shm") if os.path.exists(f"{f}/{marker}")]
    for f in markers:
        os.unlink(f"{f}/{marker}")
    return {
        "code": code, "rows": rows, "results": results, "received": listener.received,
        "control": control, "daemon_seen": len(seen), "daemon_alive": alive, "markers": markers,
    }  # fmt: skip


@pytest.fixture(scope="module")
def attacks(once, tmp_path_factory):
    if STRONG is not None:
        pytest.skip(f"strong isolation is not available here: {STRONG}")
    return once("hostile-attacks", lambda: _grade_attacks(tmp_path_factory))


def test_the_attacks_work_without_the_sandbox(attacks):
    control = attacks["control"]
    assert any("hello from the submission" in r for r in control["received"]), control
    assert control["marker"] and control["stolen"], control


def test_a_listener_on_the_loopback_receives_nothing(attacks):
    assert attacks["received"] == []
    # the attack does not cost a correct submission anything: it is simply cut off
    assert attacks["results"]["network"]["score"] == 8


def test_no_file_appears_in_the_machines_tmp(attacks):
    assert attacks["markers"] == []
    assert attacks["results"]["marker"]["score"] == 8


def test_a_copy_of_the_solutions_elsewhere_cannot_be_read(attacks):
    result = attacks["results"]["solution_copy"]
    assert result["score"] == 0, result
    add = next(t for t in result["tests"] if t["name"] == "test_add_numbers")
    assert "does not define 'add'" in add["output"]


def test_links_and_special_files_are_refused_with_a_reason(attacks):
    rows, results = attacks["rows"], attacks["results"]
    assert rows["alice"]["score"] == "0" and results["alice"]["score"] == 0
    assert "symbolic link" in rows["alice"]["status"]
    assert results["alice"]["extra_data"]["max_score"] == 8
    assert "not a regular file" in rows["bob"]["status"] and results["bob"]["score"] == 0
    assert "symbolic link" in rows["carol"]["status"] and results["carol"]["score"] == 0
    assert attacks["code"] == 1  # three submissions could not be graded


def test_no_process_of_a_submission_outlives_its_grading(attacks):
    assert attacks["daemon_seen"] >= 1, "the daemon never started: the test proves nothing"
    assert attacks["daemon_alive"] == []
    assert attacks["results"]["daemon"]["score"] == 8


def test_memory_is_limited_for_all_processes_together(attacks):
    result = attacks["results"]["memory_children"]
    tests = {t["name"]: t for t in result["tests"]}
    # one child of CHILD_MB MB is within the limit ...
    assert tests["test_sigmoid_values"]["status"] == "passed", tests["test_sigmoid_values"]
    # ... three at once are not, though each is
    add = tests["test_add_numbers"]
    assert add["status"] == "failed", add
    assert f"more than the memory limit ({MEMORY_MB} MB for all its processes" in add["output"]


def test_every_row_says_how_it_was_isolated(attacks):
    assert {r["isolation"] for r in attacks["rows"].values()} == {"strong"}
    assert all(r["extra_data"]["isolation"] == "strong" for r in attacks["results"].values())


# -- a forged array, a crashing grader ---------------------------------------------------
def test_a_forged_array_interface_fails_its_tests_instead_of_crashing_the_grader(graded):
    _, rows, results = graded
    result = results["forged_array"]
    assert rows["forged_array"]["status"] == "graded"
    assert all(t["status"] == "failed" for t in result["tests"])
    assert not any("not run" in t["output"] for t in result["tests"]), result["tests"]
    # NumPy asked the proxy for __array_interface__: refused, so the value is not data
    sigmoid = next(t for t in result["tests"] if t["name"] == "test_sigmoid_values")
    assert "gave an object of type Forged; expected an array" in sigmoid["output"], sigmoid


@needs_bwrap
def test_a_crash_of_the_grading_process_is_a_grader_error_not_a_time_limit(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(COURSE / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "test_00_crash.py").write_text(
        "import os, signal\n\nEXERCISE = '00_crash'\n\n\n"
        "def test_first(student):\n    assert student.add(2, 3) == 5\n\n\n"
        "def test_crash(student):\n    os.kill(os.getpid(), signal.SIGSEGV)\n\n\n"
        "def test_after(student):\n    assert student.add(1, 1) == 2\n"
    )
    settings = runner.Settings(tests_dir=tests, test_timeout=10, timeout=60, exercise="00")
    [result] = runner.grade(SOLUTION, settings)
    assert result.internal_error and result.error.startswith("grader error")
    feedback = {t.name: t.feedback for t in result.tests}
    assert result.tests[0].passed
    assert "grader error" in feedback["test_after"]
    assert not any("time limit" in f for f in feedback.values()), feedback


# -- delegation ---------------------------------------------------------------------------
DELEGATION = FIXTURES / "hostile" / "delegation" / "16_attention.py"


def test_delegation_scores_full_marks_where_the_package_is_importable():
    """The control: run in the grading process itself, the delegating submission passes."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests/exercises/test_16_attention.py"),
               "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--submission", str(DELEGATION),
               "--in-process"]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and " passed" in run.stdout, run.stdout[-2000:]


@needs_bwrap
def test_delegation_to_the_course_package_scores_nothing_and_says_why(capsys):
    [result] = runner.grade(DELEGATION, runner.Settings(exercise="16", test_timeout=30))
    assert result.error is None and result.max_score > 0
    assert result.score == 0, [(t.name, t.feedback) for t in result.tests if t.passed]
    said = "exercise 16 may not import dlcourse.attention: write the computation yourself"
    assert any(said in t.feedback for t in result.tests if not t.hidden)
    assert any(said in n for n in result.notes), result.notes


# -- malformed notebooks ------------------------------------------------------------------
def _malformed() -> dict[str, bytes]:
    nb = json.loads(SOLUTION.read_text())
    cases = {}
    meta = dict(nb, metadata="x")  # metadata of the wrong type: graded as usual
    cases["metadata_string"] = json.dumps(meta).encode()
    bad = json.loads(json.dumps(nb))
    bad["cells"].insert(0, {"cell_type": "code", "source": 5, "metadata": "x"})
    bad["cells"].insert(0, {"cell_type": "code", "source": ["a", 3], "metadata": {"tags": 7}})
    bad["cells"].insert(0, 17)
    cases["int_in_source"] = json.dumps(bad).encode()
    cases["deep_nesting"] = b'{"cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    cases["binary_junk"] = bytes(range(256)) * 64
    cases["empty"] = b""
    cases["cells_not_a_list"] = b'{"cells": {"0": "x"}, "metadata": 3}'
    cases["nul_bytes"] = json.dumps(
        {"cells": [{"cell_type": "code", "source": "def add(a, b):\x00\n    return a + b"}]}
    ).encode()
    return cases


@needs_bwrap
def test_malformed_notebooks_each_get_a_row_and_valid_json(tmp_path, capsys):
    folder, out = tmp_path / "subs", tmp_path / "out"
    folder.mkdir()
    for name, data in _malformed().items():
        (folder / f"{name}.ipynb").write_bytes(data)
    argv = ["grade", str(folder), "--exercise", "00", "--tests-dir", str(COURSE / "tests")]
    argv += ["--jobs", "2", "--json", str(out), "--csv", str(tmp_path / "s.csv")]
    assert main(argv) == 1
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "s.csv"))}
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(rows) == set(results) == set(_malformed())
    assert rows["metadata_string"]["score"] == "8"  # its metadata does not matter
    assert rows["int_in_source"]["score"] == "8"  # the malformed cells are left out ...
    assert "code cell 1 was left out: its source is not text" in results["int_in_source"]["output"]
    for name in ("deep_nesting", "binary_junk", "empty", "cells_not_a_list"):
        assert rows[name]["score"] == "0" and rows[name]["status"].startswith("error:"), rows[name]
        assert results[name]["extra_data"]["max_score"] == 8
        assert "grader error" not in results[name]["output"], results[name]["output"]
    assert "nested too deeply" in results["deep_nesting"]["output"]
    assert "UTF-8" in results["binary_junk"]["output"]
    assert rows["nul_bytes"]["status"] == "graded" and rows["nul_bytes"]["score"] == "0"


def _gradescope_root(base: Path, files: dict[str, bytes]) -> Path:
    root = base / "autograder"
    (root / "source" / "tests").mkdir(parents=True)
    (root / "submission").mkdir()
    for name in ("conftest.py", "test_00_fixture.py"):
        shutil.copy(COURSE / "tests" / name, root / "source" / "tests" / name)
    config = {"exercise": "00_fixture", "timeout": 60, "test_timeout": 10, "memory_mb": 2048}
    (root / "source" / gradescope.CONFIG).write_text(json.dumps(config))
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    return root


def _valid_gradescope(results: dict) -> None:
    assert isinstance(results["score"], (int, float)) and isinstance(results["output"], str)
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert all(t["status"] in ("passed", "failed") for t in results["tests"])


@needs_bwrap
@pytest.mark.parametrize("name", ["deep_nesting", "binary_junk", "int_in_source", "empty"])
def test_gradescope_mode_writes_valid_results_for_a_malformed_notebook(tmp_path, name):
    root = _gradescope_root(tmp_path, {f"00_{name}.ipynb": _malformed()[name]})
    gradescope.run(root)
    results = json.loads((root / "results" / "results.json").read_text())
    _valid_gradescope(results)
    assert results["extra_data"]["max_score"] == 8
    if name == "int_in_source":
        assert results["score"] == 8
    else:
        assert results["score"] == 0 and "Could not be graded" in results["output"]


# -- no bubblewrap ------------------------------------------------------------------------
def _without_bwrap(monkeypatch, tmp_path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_without_bubblewrap_the_grader_refuses_and_names_it(monkeypatch, tmp_path, capsys):
    _without_bwrap(monkeypatch, tmp_path)
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "ann.ipynb")
    argv = ["grade", str(folder), "--exercise", "00", "--tests-dir", str(COURSE / "tests")]
    assert main([*argv, "--json", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bubblewrap (bwrap) not found" in err and "--isolation weak" in err, err
    assert not (tmp_path / "out").exists()  # nothing graded, nothing written


def test_without_bubblewrap_gradescope_gets_score_zero_and_the_reason(monkeypatch, tmp_path):
    _without_bwrap(monkeypatch, tmp_path)
    root = _gradescope_root(tmp_path, {"00_fixture.ipynb": SOLUTION.read_bytes()})
    monkeypatch.setenv(gradescope.ROOT_VARIABLE, str(root))
    assert gradescope.main() == 0
    results = json.loads((root / "results" / "results.json").read_text())
    _valid_gradescope(results)
    assert results["score"] == 0 and results["extra_data"]["max_score"] == 8
    assert "bubblewrap (bwrap) not found" in results["output"], results["output"]


def test_weak_isolation_is_said_in_every_result_or_refused_with_the_reason(
    monkeypatch, tmp_path, capsys
):
    _without_bwrap(monkeypatch, tmp_path)
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "ann.ipynb")
    argv = ["grade", str(folder), "--exercise", "00", "--tests-dir", str(COURSE / "tests")]
    argv += [
        "--isolation",
        "weak",
        "--json",
        str(tmp_path / "out"),
        "--csv",
        str(tmp_path / "s.csv"),
    ]
    code = main(argv)
    output = capsys.readouterr()
    if code == 2:  # a root grader whose Python an unprivileged user cannot run: refused
        assert os.geteuid() == 0
        assert "unprivileged user" in output.err and "cannot run this Python" in output.err
        return
    [row] = csv.DictReader(open(tmp_path / "s.csv"))
    assert row["isolation"] == "weak" and row["score"] == "8"
    result = json.loads((tmp_path / "out" / "ann.json").read_text())
    assert result["extra_data"]["isolation"] == "weak" and "Isolation: weak" in result["output"]
    assert "isolation: weak" in output.out


FORGER = """
import json, os, signal
FAKE = {"score": 100, "output": "forged", "tests": []}
for path in ("/autograder/results/results.json", RESULTS, "results.json"):
    try:
        with open(path, "w") as fh:
            json.dump(FAKE, fh)
    except OSError:
        pass
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
print(json.dumps(FAKE))


def add(a, b):
    return None
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("capsh") is None, reason="needs root")
def test_without_cap_sys_admin_a_stub_that_forges_results_scores_nothing(tmp_path):
    """Gradescope-like: a root grader without CAP_SYS_ADMIN (a container's default)."""
    root = _gradescope_root(tmp_path, {})
    results = root / "results" / "results.json"
    (root / "submission" / "00_fixture.py").write_text(
        FORGER.replace("RESULTS", repr(str(results)))
    )
    env = {**os.environ, gradescope.ROOT_VARIABLE: str(root), "PYTHONPATH": str(ROOT)}
    command = f"{sys.executable} -m dlcourse.grading.gradescope"
    run = subprocess.run(["capsh", "--drop=cap_sys_admin", "--", "-c", command], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(results.read_text())
    _valid_gradescope(data)
    assert data["score"] == 0 and data["extra_data"]["max_score"] == 8
    assert "forged" not in data["output"] and "dlcourse autograder: 0 / 8" in run.stdout
    if "refusing" in run.stdout:  # no sandbox possible here: refused, and said why
        assert "bubblewrap" in data["output"], data["output"]
    else:  # graded in the sandbox, where the results folder does not exist
        assert any("should be 5" in t["output"] for t in data["tests"]), data["tests"]


@needs_bwrap
def test_a_sandbox_that_cannot_start_is_a_grader_error(tmp_path):
    """Too little memory for Python itself: the instructor's setting, not the student's."""
    settings = runner.Settings(tests_dir=COURSE / "tests", test_timeout=10, memory_mb=8)
    [result] = runner.grade(SOLUTION, settings)
    assert result.internal_error and result.error.startswith("grader error"), result.error
    assert all(t.feedback.startswith("grader error") for t in result.tests), result.tests
