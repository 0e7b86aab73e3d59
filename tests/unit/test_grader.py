"""The grader: pickle-free wire format, extraction, feedback, scores, bad input, check()."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcourse.cli import main
from dlcourse.grading import codec, extract, runner, sandbox
from dlcourse.grading.check import run_check
from dlcourse.grading.recorder import feedback_for
from dlcourse.grading.release import release

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "tests" / "grading_fixtures" / "course"
SOLUTION = COURSE / "solutions" / "00_fixture.ipynb"
SETTINGS = runner.Settings(tests_dir=COURSE / "tests", test_timeout=5, timeout=60)


# -- wire format ------------------------------------------------------------------------
def test_codec_round_trips_data_without_pickle():
    value = {
        "W": [np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int32)],
        3: (1, 2.5, None, True, "s", float("nan")),
        "scalar": np.float32(1.5),
    }
    back = codec.decode(json.loads(json.dumps(codec.encode(value))))
    assert back["W"][0].dtype == np.float64 and np.array_equal(back["W"][0], value["W"][0])
    assert back["W"][1].dtype == np.int32
    assert back[3][:5] == (1, 2.5, None, True, "s") and math.isnan(back[3][5])
    assert back["scalar"] == np.float32(1.5) and isinstance(back["scalar"], np.float32)


STRONG = sandbox.problem("strong")
needs_bwrap = pytest.mark.skipif(
    STRONG is not None, reason=f"the grader's sandbox cannot run here: {STRONG}"
)


def test_codec_refuses_objects_and_object_arrays():
    with pytest.raises(TypeError, match="object"):
        codec.encode(object())
    with pytest.raises(TypeError):
        codec.encode(np.array([{}, 1], dtype=object))


# -- extraction -------------------------------------------------------------------------
def test_magics_are_dropped_and_indentation_kept():
    src = "%matplotlib inline\nimport numpy as np\nfor i in range(2):\n    !ls\nx = !pwd\n"
    out = extract.clean_source(src)
    assert out.splitlines() == [
        "pass",
        "import numpy as np",
        "for i in range(2):",
        "    pass",
        "pass",
    ]
    assert extract.clean_source("%%timeit\nx = 1\n") == ""


def test_read_submission_skips_hidden_cells_and_finds_exercise(tmp_path):
    sub = extract.read_submission(SOLUTION)
    assert sub.exercise == "00"
    assert all("assert add(2, 3) == 5" not in c["source"] for c in sub.cells)
    with pytest.raises(extract.SubmissionError, match="does not exist"):
        extract.read_submission(tmp_path / "nope.ipynb")
    (tmp_path / "07_x.ipynb").write_text('{"cells": 3}')
    with pytest.raises(extract.SubmissionError, match="not a Jupyter notebook"):
        extract.read_submission(tmp_path / "07_x.ipynb")


# -- feedback ---------------------------------------------------------------------------
def test_feedback_hides_values_for_hidden_tests():
    exc = AssertionError("BP1 is missing the sigma' factor\nassert False\n +  where x = [1, 2]")
    assert feedback_for(exc, hidden=True) == "BP1 is missing the sigma' factor"
    # pytest's explanation shows how the expected value is computed: never in feedback
    assert feedback_for(exc, hidden=False) == "BP1 is missing the sigma' factor"
    assert feedback_for(AssertionError("assert 3 == 4"), hidden=True) == "a hidden check failed"
    assert "ValueError" in feedback_for(ValueError("shape (7, 3)"), hidden=True)
    assert "(7, 3)" not in feedback_for(ValueError("shape (7, 3)"), hidden=True)


# -- grading ----------------------------------------------------------------------------
@needs_bwrap
def test_solution_scores_full_marks():
    [result] = runner.grade(SOLUTION, SETTINGS)
    assert result.error is None and result.max_score == 8
    assert result.score == result.max_score, [t.feedback for t in result.tests]
    assert {t.name: t.hidden for t in result.tests}["test_sigmoid_random_shapes"]


@needs_bwrap
def test_released_stubs_score_zero(tmp_path):
    release(COURSE / "solutions", tmp_path)
    [result] = runner.grade(tmp_path / "00_fixture.ipynb", SETTINGS)
    assert result.score == 0 and result.max_score == 8
    assert all("NotImplementedError" in t.feedback for t in result.tests)


@needs_bwrap
@pytest.mark.skipif(
    not list(ROOT.glob("solutions/01_*.ipynb")), reason="exercise 01 not yet written"
)
def test_exercise_01_solution_scores_full_marks_through_the_grader():
    path = next(ROOT.glob("solutions/01_*.ipynb"))
    [result] = runner.grade(path, runner.Settings(test_timeout=30, timeout=120))
    assert result.error is None and result.max_score > 0
    assert result.score == result.max_score, [t.feedback for t in result.tests if not t.passed]


@needs_bwrap
def test_bad_input_gives_zero_with_a_message_and_never_crashes(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "00_broken.ipynb").write_text("{not json")
    (folder / "no_number.py").write_text("def add(a, b):\n    return a + b\n")
    (folder / "99_unknown.py").write_text("x = 1\n")
    (folder / "05_other.py").write_text("x = 1\n")
    out = tmp_path / "out"
    argv = ["grade", str(folder), "--tests-dir", str(COURSE / "tests"), "--jobs", "2"]
    # exit status 1: some submissions could not be graded at all
    assert main([*argv, "--json", str(out), "--csv", str(tmp_path / "s.csv")]) == 1
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert "invalid JSON" in results["00_broken"]["output"]
    # the exercise's points, none earned
    assert results["00_broken"]["extra_data"]["max_score"] == 8
    assert "cannot tell which exercise" in results["no_number"]["output"]
    assert "no exercise 99" in results["99_unknown"]["output"].replace("there is ", "")
    assert all(r["score"] == 0 for r in results.values())
    # a submission whose name says another exercise: graded as the one asked for, and said
    [wrong] = runner.grade(
        folder / "05_other.py", runner.Settings(**{**SETTINGS.__dict__, "exercise": "00"})
    )
    assert wrong.exercise == "00" and wrong.max_score == 8 and wrong.score == 0
    assert "name says exercise 05; it was graded as exercise 00" in " ".join(wrong.notes)
    assert main(["grade", str(tmp_path / "missing.ipynb")]) == 2


# -- student check ----------------------------------------------------------------------
def _solution_namespace() -> dict:
    namespace: dict = {}
    for cell in extract.read_submission(SOLUTION).cells:
        if "check(" not in cell["source"]:
            exec(cell["source"], namespace)
    return namespace


def test_check_runs_public_tests_on_the_kernel_namespace(capsys):
    result = run_check("00", _solution_namespace(), tests_dir=COURSE / "tests")
    assert result.score == result.max_score == 6  # the hidden test (2 points) is not run
    namespace = _solution_namespace()
    namespace["sigmoid"] = lambda z: z
    result = run_check("00", namespace, tests_dir=COURSE / "tests")
    failed = [t for t in result.tests if not t.passed]
    assert [t.name for t in failed] == ["test_sigmoid_values"]
    assert "1 / (1 + exp(-z))" in failed[0].feedback


def test_check_does_nothing_inside_the_grader(monkeypatch, capsys):
    import dlcourse

    monkeypatch.setitem(os.environ, "DLCOURSE_GRADING", "1")
    assert dlcourse.check("00") is None
    assert capsys.readouterr().out == ""


@needs_bwrap
def test_submission_budget_starts_with_its_module_not_the_session(tmp_path):
    """One pytest session may run other tests before a grading module (as ``make test`` does);
    the submission's ``--submission-timeout`` budget counts from its own start."""
    waiting = tmp_path / "test_0_wait.py"
    waiting.write_text("import time\n\n\ndef test_wait():\n    time.sleep(4)\n")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               str(waiting), str(COURSE / "tests" / "test_00_fixture.py"),
               "--submission-timeout", "3"]  # fmt: skip
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "7 passed" in run.stdout, run.stdout[-3000:]
