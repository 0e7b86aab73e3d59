"""Helpers for writing grading tests (``tests/exercises/test_NN_topic.py``).

Grading tests call student functions through :func:`call`, which turns anything the
student's code does wrong (a missing name, a stub that still raises
``NotImplementedError``, an exception, endless recursion) into a test failure whose
message is feedback a student can act on, instead of a traceback into the grader.
Hidden tests pass ``public=False`` so that the student's exception text, which might
echo the hidden inputs, is not shown.
"""

from __future__ import annotations

import numpy as np
import pytest


def call(student, name: str, *args, public: bool = True, hint: str = "", recursion_hint: str = ""):
    """Return ``student.name(*args)``, or fail the test with feedback naming what went wrong.

    ``hint`` is appended to the message when the call raises; ``recursion_hint`` is shown
    when it recurses without end.
    """
    fn = getattr(student, name, None)
    if fn is None:
        pytest.fail(f"`{name}` is not defined: keep the function name used in the notebook")
    try:
        return fn(*args)
    except NotImplementedError:
        pytest.fail(
            f"`{name}` is not implemented yet (it, or a method it uses, still raises "
            "NotImplementedError)"
        )
    except RecursionError:
        why = f": {recursion_hint}" if recursion_hint else ""
        pytest.fail(f"`{name}` recursed without end{why}")
    except Exception as exc:  # student code may raise anything
        detail = f": {str(exc)[:200]}" if public else ""
        pytest.fail(f"`{name}` raised {type(exc).__name__}{detail}{hint}")


def arrays(result, n: int, name: str) -> list[np.ndarray]:
    """Check that ``result`` is a tuple of ``n`` array-likes and return them as float arrays."""
    try:
        out = [np.asarray(r, dtype=float) for r in result]
    except (TypeError, ValueError):
        pytest.fail(f"`{name}` must return a tuple of {n} arrays")
    if len(out) != n:
        pytest.fail(f"`{name}` must return a tuple of {n} arrays")
    return out
