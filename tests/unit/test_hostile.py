"""Hostile submissions are graded without harm and earn nothing they did not compute.

All of tests/grading_fixtures/hostile/*.py plus a correct submission are graded together
as one folder (``--jobs 2``, 3 s per test) against the fixture exercise 00. The ``leak_*``
submissions try to carry the hidden test's input into any feedback (exception and type
names, exit codes, state kept for a later visible test); they mark what they leak with
the word LEAK, which must appear nowhere in their results.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.grading import sandbox

FIXTURES = Path(__file__).resolve().parents[1] / "grading_fixtures"
HOSTILE = sorted((FIXTURES / "hostile").glob("*.py"))
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


def _answers_can_be_hidden() -> bool:
    """Root hides them with a mount namespace; another user needs a user namespace."""
    if os.geteuid() == 0:
        return True
    try:
        subprocess.run(["/bin/true"], preexec_fn=lambda: sandbox.isolate_user([], []), check=True)
    except (subprocess.SubprocessError, OSError):
        return False
    return True


@pytest.fixture(scope="module")
def graded(once, tmp_path_factory):
    """Grade the folder once per test run, however many xdist workers run this module."""
    return once("hostile-graded", lambda: _grade(tmp_path_factory))


def _grade(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for path in HOSTILE:
        shutil.copy(path, folder / path.name)
    shutil.copy(FIXTURES / "course" / "solutions" / "00_fixture.ipynb", folder / "good.ipynb")
    out = tmp_path_factory.mktemp("out")
    code = main(
        [
            "grade", str(folder), "--exercise", "00", "--jobs", "2",
            "--tests-dir", str(FIXTURES / "course" / "tests"),
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
    if name == "read_tests" and not _answers_can_be_hidden():
        pytest.skip("hiding the tests needs root or user namespaces, and neither is available")
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
