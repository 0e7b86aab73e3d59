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

Precision: the exercises work in float64, NumPy's default, and the tests compare to about
ten significant digits. A float32 (or float16) array or number among the results of a call
would fail those comparisons with a message about the formula; :func:`call` fails it first
with one that names the dtype ("expected float64, got float32").

Feedback names what was expected and what was given, never the code that computes the
expected value: :func:`assert_close` reports the shape, or the entry that differs most
(the values only in visible tests).
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
    float64: bool = True,
    **kwargs,
):
    """Return ``student.name(*args, **kwargs)``, or fail the test with feedback.

    ``hint`` is appended to the message when the call raises; ``recursion_hint`` is shown
    when it recurses without end. ``must_not_modify``: fail when the call changed one of
    its arguments in place (a string replaces the standard advice). ``float64``: fail,
    naming the dtype, when the result holds floats of lower precision (see
    :func:`low_precision`); pass ``False`` where another dtype is part of the exercise.
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
    if float64:
        found = low_precision(result)
        if found:
            _fail_dtype(name, found)
    return result


_FLOAT_NAMES = {"float16": "float16", "float32": "float32"}  # a fixed vocabulary for feedback


def low_precision(value, depth: int = 0) -> str | None:
    """The dtype name of the first float array or number in ``value`` below float64.

    ``value`` is a result as the proxy returns it: an array, a NumPy scalar, or lists,
    tuples and dicts of those (other objects are not looked into). None when there is none.
    """
    if depth > 8:
        return None
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (np.ndarray, np.generic)) and dtype is not None:
        if dtype.kind == "f" and dtype.itemsize < 8:
            return _FLOAT_NAMES.get(dtype.name, "a lower-precision float type")
        return None
    if type(value) in (list, tuple):
        items = value
    elif type(value) is dict:
        items = value.values()
    else:
        return None
    for item in items:
        found = low_precision(item, depth + 1)
        if found:
            return found
    return None


def _fail_dtype(name: str, found: str) -> None:
    pytest.fail(
        f"`{name}` returned {found} values: expected float64, got {found}. This exercise "
        "works in float64 (NumPy's default): do not convert to float32, and create new "
        "arrays without dtype=np.float32 (np.zeros(shape) is float64)"
    )


def as_array(value, name: str, dtype=float, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a NumPy array of ``dtype``, or fail with feedback naming ``name``.

    Lists and tuples of numbers are accepted (the exercises ask for arrays, but a list
    holding the right numbers is not a wrong answer); objects that are not numbers fail.
    """
    found = low_precision(value) if np.dtype(dtype).kind == "f" else None
    if found:
        _fail_dtype(name, found)
    try:
        out = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return a NumPy array of numbers")
    if shape is not None and out.shape != tuple(shape):
        pytest.fail(
            f"`{name}` returned an array of shape {out.shape}: expected shape {tuple(shape)}, "
            f"got {out.shape}"
        )
    return out


def arrays(result, n: int, name: str, float64: bool = True) -> list[np.ndarray]:
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
    found = low_precision(value)
    if found:
        _fail_dtype(name, found)


def _number(x) -> str:
    return f"{float(x):.6g}"


def difference(got, expected) -> str:
    """Where ``got`` differs most from ``expected`` (same shape), in words for feedback.

    ``"at [2, 1] got 0.0724, expected 0.0082"`` for arrays, ``"got 3, expected 4"`` for a
    single number; NaN and inf are named.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
    else:
        with np.errstate(invalid="ignore"):
            gap = np.abs(got - expected)
        gap = np.where(np.isnan(gap), np.inf, gap)
        index = np.unravel_index(int(np.argmax(gap)), got.shape) if got.ndim else ()
        index = tuple(int(i) for i in index)
    where = f"at [{', '.join(map(str, index))}] " if index else ""
    return f"{where}got {_number(got[index])}, expected {_number(expected[index])}"


FLOAT32_BAND = 1e-5  # largest difference, relative to the largest expected value, of float32 work
FLOAT32_HINT = (
    "agrees with the expected values to about six significant digits only, the precision of "
    "float32: if your code converts anything to float32 (astype, dtype=np.float32), work in "
    "float64 throughout; if not, look for a small term that is missing or misplaced"
)


def float32_like(got, expected, rtol: float) -> bool:
    """Whether ``got`` misses ``expected`` by about what a float32 computation would.

    Only where the test asks for more than float32 can give (``rtol`` below 1e-6): the
    largest difference is at most :data:`FLOAT32_BAND` of the largest expected value.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if rtol >= 1e-6 or got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    if not np.all(np.isfinite(expected)):
        return False
    scale = float(np.max(np.abs(expected), initial=0.0))
    return scale > 0 and float(np.max(np.abs(got - expected), initial=0.0)) <= FLOAT32_BAND * scale


def assert_close(
    got,
    expected,
    message: str,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    public: bool = True,
    name: str = "",
) -> None:
    """Fail with ``message`` unless ``got`` equals ``expected`` within the tolerances.

    The tolerances mean what they mean in ``np.allclose`` (and have its defaults).

    The message is completed with what differs, never with how ``expected`` is computed:
    the two shapes when they differ; in a visible test also the entry that differs most
    (:func:`difference`). A hidden test gets ``message`` alone (its values stay hidden).
    A miss of the size that float32 arithmetic causes (:func:`float32_like`) is reported as
    that instead of ``message`` (``name``: what to call the result, e.g. "`dx`").
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        pytest.fail(f"{message}: expected shape {expected.shape}, got {got.shape}")
    if np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return
    if float32_like(got, expected, rtol):
        pytest.fail(f"{name or 'your result'} {FLOAT32_HINT}")
    if public:
        pytest.fail(f"{message}; {difference(got, expected)}")
    pytest.fail(message)
