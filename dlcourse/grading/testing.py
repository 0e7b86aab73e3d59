"""Helpers for writing grading tests (``tests/exercises/test_NN_topic.py``).

Grading tests call student functions through :func:`call`, which turns anything the
student's code does wrong (a missing name, a stub that still raises
``NotImplementedError``, an exception, endless recursion) into a test failure whose
message is feedback a student can act on, instead of a traceback into the grader.
Hidden tests pass ``public=False``: the message then uses a fixed vocabulary ("raised an
exception"), never the student's exception type or text, which might echo hidden inputs.

Inputs: the harness gives the student's code its own copy of every argument, so a test
may compute the expected answer from its arrays after the call. ``call(...,
must_not_modify=True)`` fails the test when the function changed an argument in place
(only for exercises whose instructions say so); ``InPlace(x)`` marks an argument the
function is meant to update (the changes are copied into ``x``).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.proxy import (  # noqa: F401 - re-exported for the grading tests
    HIDDEN_KINDS,
    GraderError,
    InPlace,
    StudentCodeError,
    StudentError,
    changed_arguments,
)

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _argument(position) -> str:
    if isinstance(position, str):
        return f"the argument {position}="
    if position < len(_ORDINALS):
        return f"its {_ORDINALS[position]} argument"
    return f"argument {position + 1}"


def call(
    student,
    name: str,
    *args,
    public: bool = True,
    hint: str = "",
    recursion_hint: str = "",
    must_not_modify: bool | str = False,
    **kwargs,
):
    """Return ``student.name(*args, **kwargs)``, or fail the test with feedback.

    ``hint`` is appended to the message when the call raises; ``recursion_hint`` is shown
    when it recurses without end. ``must_not_modify``: fail when the call changed one of
    its arguments in place (a string replaces the standard advice).
    """
    fn = getattr(student, name, None)
    if fn is None:
        pytest.fail(f"`{name}` is not defined: keep the function name used in the notebook")
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        pytest.fail(
            f"`{name}` is not implemented yet (it, or a method it uses, still raises "
            "NotImplementedError)"
        )
    except RecursionError:
        why = f": {recursion_hint}" if recursion_hint else ""
        pytest.fail(f"`{name}` recursed without end{why}")
    except StudentCodeError as exc:
        if public:
            pytest.fail(f"`{name}` raised {exc.kind}: {str(exc)[:600]}{hint}")
        pytest.fail(f"`{name}` raised an exception on a hidden test case{hint}")
    except GraderError:  # the grader's own failure: reported as such, not as feedback
        raise
    except StudentError as exc:  # a crash, a timeout, a value that is not data
        pytest.fail(f"`{name}`: {str(exc)[:600]}")
    except Exception as exc:  # noqa: BLE001 - in-process checks: the student's own exception
        if public:
            pytest.fail(f"`{name}` raised {type(exc).__name__[:60]}: {str(exc)[:600]}{hint}")
        pytest.fail(f"`{name}` raised an exception on a hidden test case{hint}")
    if must_not_modify:
        changed = changed_arguments(student)
        if changed:
            advice = (
                must_not_modify
                if isinstance(must_not_modify, str)
                else "the exercise asks you to leave the inputs unchanged and return new "
                "arrays (write `w = w + ...`, not `w += ...`)"
            )
            pytest.fail(f"`{name}` changed {_argument(changed[0])} in place: {advice}")
    return result


def as_array(value, name: str, dtype=float, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a NumPy array of ``dtype``, or fail with feedback naming ``name``.

    Lists and tuples of numbers are accepted (the exercises ask for arrays, but a list
    holding the right numbers is not a wrong answer); objects that are not numbers fail.
    """
    try:
        out = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return a NumPy array of numbers")
    if shape is not None and out.shape != tuple(shape):
        pytest.fail(f"`{name}` returned an array of shape {out.shape}; expected {tuple(shape)}")
    return out


def arrays(result, n: int, name: str, float64: bool = False) -> list[np.ndarray]:
    """Check that ``result`` is a tuple of ``n`` array-likes and return them as float arrays.

    ``float64``: fail with a message naming the dtype when one of them is float32/float16.
    """
    if float64 and isinstance(result, (list, tuple)):
        for value in result:
            float64_precision(value, name)
    try:
        out = [np.asarray(r, dtype=float) for r in result]
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return a tuple of {n} arrays")
    if len(out) != n:
        pytest.fail(f"`{name}` must return a tuple of {n} arrays")
    return out


def float64_precision(value, name: str) -> None:
    """Fail with feedback naming the dtype when ``value`` (an array) is not float64.

    For exercises whose instructions require float64: a float32 result of the right
    formula then gets "compute in float64" instead of "the formula is wrong".
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8:
        pytest.fail(
            f"`{name}` returned {np.dtype(dtype).name} values; this exercise works in float64 "
            "(NumPy's default): do not convert to float32"
        )
