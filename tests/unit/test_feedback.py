"""Fair feedback: what a student reads names what was expected and what was given.

* A float32 result fails with a message naming the dtype, whatever function returned it
  (``call``), instead of a message about the formula; a float64 result computed in float32
  says so too (``assert_close``).
* Feedback never contains pytest's explanation of a failed assertion (its "where" lines
  show how the test computes the expected value), so every assertion in a grading test
  carries its own message.
* Every exercise says which dtype it works in and what may be imported.

The mistake catalogue (``tests/exercises/test_mistakes.py``) shows each of these on the
real exercises; here the helpers are checked on their own.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dlcourse.grading.proxy import LocalStudent
from dlcourse.grading.recorder import feedback_for
from dlcourse.grading.testing import (
    FLOAT32_HINT,
    as_array,
    assert_close,
    call,
    difference,
    low_precision,
)

ROOT = Path(__file__).resolve().parents[2]
GRADING_TESTS = sorted((ROOT / "tests" / "exercises").glob("test_[0-9][0-9]_*.py"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
Failed = pytest.fail.Exception


def failure(function, *args, **kwargs) -> str:
    with pytest.raises(Failed) as info:
        function(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "value, found",
    [
        (np.zeros(3, dtype=np.float32), "float32"),
        (np.float32(1.5), "float32"),
        ((np.zeros(2), [np.ones(2, dtype=np.float16)]), "float16"),
        ({"W": np.zeros(2, dtype=np.float32)}, "float32"),
        (np.zeros(3), None),
        (np.arange(3), None),  # integer results are not a precision problem
        ([1.0, 2.0], None),
        ("text", None),
    ],
)
def test_low_precision_finds_float32_anywhere_in_a_result(value, found):
    assert low_precision(value) == found


def test_call_names_the_dtype_of_a_float32_result():
    student = LocalStudent({"f": lambda x: x.astype(np.float32), "g": lambda x: 2 * x})
    message = failure(call, student, "f", np.ones(3))
    assert "expected float64, got float32" in message and "`f`" in message
    assert np.array_equal(call(student, "g", np.ones(3)), [2.0, 2.0, 2.0])
    assert call(student, "f", np.ones(3), float64=False).dtype == np.float32
    assert "expected float64, got float32" in failure(as_array, np.ones(2, np.float32), "h")


def test_assert_close_names_the_entry_not_the_formula():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 3.5
    message = failure(assert_close, got, expected, "h is wrong", rtol=1e-10)
    assert message == "h is wrong; at [1, 0] got 3.5, expected 3"
    hidden = failure(assert_close, got, expected, "h is wrong", rtol=1e-10, public=False)
    assert hidden == "h is wrong"  # no values in a hidden test
    shape = failure(assert_close, expected[0], expected, "h is wrong")
    assert shape == "h is wrong: expected shape (2, 2), got (2,)"
    assert_close(expected * (1 + 1e-12), expected, "never", rtol=1e-10)


def test_assert_close_says_float32_when_the_miss_is_float32_sized():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    w = rng.normal(size=(5, 3))
    in_float32 = (x.astype(np.float32) @ w.astype(np.float32)).astype(np.float64)
    message = failure(assert_close, in_float32, x @ w, "z is wrong", rtol=1e-10, name="`z`")
    assert message == f"`z` {FLOAT32_HINT}"
    # a real mistake is not float32-sized; a loose tolerance never reports float32
    wrong = failure(assert_close, 2 * (x @ w), x @ w, "z is wrong", rtol=1e-10)
    assert wrong.startswith("z is wrong; at ")
    loose = failure(assert_close, in_float32 + 1e-3, x @ w, "z is wrong", rtol=1e-6)
    assert FLOAT32_HINT not in loose


def test_difference_names_nan():
    assert difference(np.array([1.0, np.nan]), np.array([1.0, 2.0])) == "at [1] got nan, expected 2"
    assert difference(np.float64(3.0), np.float64(4.0)) == "got 3, expected 4"


def test_feedback_never_shows_how_the_expected_value_is_computed():
    def grading_test():
        got, x, w = np.ones(2), np.ones((2, 2)), np.eye(2)
        assert np.allclose(got, 3 * (x @ w).sum(axis=0)), "the output is wrong"

    with pytest.raises(AssertionError) as info:
        grading_test()
    assert "x @ w" in str(info.value) or "where" in str(info.value)  # pytest's explanation
    for hidden in (False, True):
        assert feedback_for(info.value, hidden=hidden) == "the output is wrong"


@pytest.mark.parametrize("module", GRADING_TESTS, ids=lambda p: p.stem)
def test_every_assertion_of_a_grading_test_has_a_message(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and not node.msg]
    assert not bare, f"{module.name}: assert without a message on lines {bare}"


def _introduction(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join(cells[0]["source"])


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=lambda p: p.stem)
def test_every_exercise_states_its_dtype_and_its_imports(notebook):
    text = " ".join(_introduction(notebook).split())
    assert re.search(r"\*\*(Arrays|Conventions)\.\*\* .*?float64", text), (
        f"{notebook.name}: the introduction must say that the exercise works in float64"
    )
    imports = re.search(r"\*\*Imports\.\*\* (.*?)(\*\*|$)", text)
    assert imports, f"{notebook.name}: the introduction must say what may be imported"
    assert "NumPy" in imports.group(1) and "Do not import from `dlcourse`" in imports.group(1)
