"""Fair to correct answers: inputs copied for every call, in-place rules, dtype, cell names.

Each case failed before the harness copied inputs generically: a correct solution that
changes its inputs in place lost the hidden points of exercise 06, because the tests
computed the expected answer from arrays the student's code had changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlcourse.grading import extract, proxy, runner, sandbox
from dlcourse.grading.testing import InPlace, call

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "tests" / "grading_fixtures" / "course"
SOLUTION_06 = ROOT / "solutions" / "06_backprop.ipynb"
SETTINGS = runner.Settings(test_timeout=30, timeout=240)
STRONG = sandbox.problem("strong")
needs_bwrap = pytest.mark.skipif(
    STRONG is not None, reason=f"the grader's sandbox cannot run here: {STRONG}"
)


def _code(notebook: Path) -> str:
    cells = extract.read_submission(notebook).cells
    return "\n\n".join(c["source"] for c in cells if "dlcourse.check" not in c["source"])


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@needs_bwrap
def test_correct_answers_that_change_their_inputs_in_place_get_full_marks(tmp_path):
    code = _code(SOLUTION_06)
    code = _edit(
        code,
        "    return (a_L - y) * sigmoid_prime(z_L)\n",
        "    d = (a_L - y) * sigmoid_prime(z_L)\n    a_L[...] = 0.0\n    z_L[...] = 7.0\n"
        "    return d\n",
    )
    code = _edit(
        code,
        "    return (delta_next @ W_next) * sigmoid_prime(z)\n",
        "    d = (delta_next @ W_next) * sigmoid_prime(z)\n    z[...] = 0.0\n    return d\n",
    )
    code = _edit(
        code,
        "    return delta.T @ a_prev / delta.shape[0]\n",
        "    g = delta.T @ a_prev / delta.shape[0]\n    a_prev *= 3.0\n    return g\n",
    )
    path = tmp_path / "06_backprop.py"
    path.write_text(code)
    [result] = runner.grade(path, SETTINGS)
    failed = {t.name: t.feedback for t in result.tests if not t.passed}
    assert result.error is None and not failed, failed
    assert result.score == result.max_score == 20


@needs_bwrap
def test_a_float32_result_gets_feedback_that_names_the_dtype(tmp_path):
    code = _edit(
        _code(SOLUTION_06),
        "    return (a_L - y) * sigmoid_prime(z_L)\n",
        "    return ((a_L - y) * sigmoid_prime(z_L)).astype(np.float32)\n",
    )
    path = tmp_path / "06_backprop.py"
    path.write_text(code)
    [result] = runner.grade(path, SETTINGS)
    feedback = {t.name: t.feedback for t in result.tests}
    assert "float32" in feedback["test_output_error"] and "float64" in feedback["test_output_error"]
    assert "BP1" not in feedback["test_output_error"]
    assert "float32" in feedback["test_output_error_random"]  # a hidden test may name a dtype


@needs_bwrap
def test_feedback_counts_code_cells_only(tmp_path):
    nb = json.loads((COURSE / "solutions" / "00_fixture.ipynb").read_text())
    for cell in nb["cells"]:
        if "def add(" in "".join(cell["source"]):
            cell["source"] = "def add(a, b):\n    raise ValueError('no')\n"
    path = tmp_path / "00_fixture.ipynb"
    path.write_text(json.dumps(nb))
    settings = runner.Settings(tests_dir=COURSE / "tests", test_timeout=5, timeout=60)
    [result] = runner.grade(path, settings)
    add = next(t for t in result.tests if t.name == "test_add_numbers")
    # the notebook's third cell is its second code cell (the first cell is markdown)
    assert '"<code cell 2>", line 2, in add' in add.feedback, add.feedback
    assert "<cell 3>" not in add.feedback


# -- the in-process path (dlcourse.check in the student's kernel) follows the same rules --
def _namespace() -> dict:
    namespace: dict = {}
    exec(
        "import numpy as np\n"
        "def scale_(x, c):\n    x *= c\n"
        "def total(x):\n    s = x.sum()\n    x[...] = 0\n    return s\n",
        namespace,
    )
    return namespace


def test_in_process_calls_get_copies_and_report_changes():
    student = proxy.LocalStudent(_namespace())
    x = np.arange(4.0)
    assert student.total(x) == 6.0
    assert np.array_equal(x, np.arange(4.0))  # the caller's array is untouched
    assert proxy.changed_arguments(student) == [0]
    y = np.arange(3.0)
    student.scale_(InPlace(y), 2.0)
    assert np.array_equal(y, [0.0, 2.0, 4.0])  # InPlace receives the update


def test_must_not_modify_fails_with_the_advice():
    student = proxy.LocalStudent(_namespace())
    with pytest.raises(pytest.fail.Exception, match="changed its first argument in place"):
        call(student, "total", np.ones(3), must_not_modify=True)
    assert call(student, "total", np.ones(3)) == 3.0  # allowed where the exercise is silent


def test_changed_positions_compares_nested_values():
    before = [np.zeros(2), [np.ones(2)], {"v": 1.0}, 3]
    after = [np.zeros(2), [np.array([1.0, 2.0])], {"v": 1.0}, 3]
    assert proxy.changed_positions(before, {}, after, {}) == [1]
    assert proxy.changed_positions([np.array([np.nan])], {}, [np.array([np.nan])], {}) == []


@needs_bwrap
def test_a_hanging_or_crashing_cell_is_skipped_and_the_rest_still_graded(tmp_path):
    nb = json.loads((COURSE / "solutions" / "00_fixture.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    hang = {"cell_type": "code", "metadata": {}, "source": "while True:\n    pass\n"}
    crash = {"cell_type": "code", "metadata": {}, "source": "import os\nos._exit(3)\n"}
    nb["cells"] = [code[0], hang, *code[1:], crash]  # hang is code cell 2
    path = tmp_path / "00_fixture.ipynb"
    path.write_text(json.dumps(nb))
    settings = runner.Settings(tests_dir=COURSE / "tests", test_timeout=5, cell_timeout=2)
    [result] = runner.grade(path, settings)
    assert result.error is None
    assert result.score == result.max_score == 8, [t.feedback for t in result.tests]
    notes = "\n".join(result.notes)
    assert "code cell 2 was skipped: it did not finish within 2 s" in notes, notes
    last = len(code) + 2
    assert f"code cell {last} was skipped: it ended the Python process (exit code 3)" in notes


def test_the_exercise_comes_from_the_grader_never_from_the_notebook(tmp_path):
    nb = json.loads((COURSE / "solutions" / "00_fixture.ipynb").read_text())
    nb["metadata"] = {"dlcourse": {"exercise": "05_autodiff"}}
    path = tmp_path / "16_attention" / "notes.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb))
    assert extract.read_submission(path).exercise is None  # the metadata is not read
    given = runner.Settings(exercise="06")
    assert runner.exercise_for(path, given, path.parent) == "06"  # --exercise first
    assert runner.exercise_for(path, runner.Settings(), path.parent) == "16"  # the folder
    assert runner.exercise_for(tmp_path / "01_x.py", runner.Settings(), tmp_path) == "01"
