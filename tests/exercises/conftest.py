"""Fixtures for the grading tests.

Each ``tests/exercises/test_NN_topic.py`` declares ``EXERCISE = "NN_topic"`` and uses
the ``student`` fixture: an object whose attributes are the functions the student
defined. By default they come from ``solutions/NN_topic.ipynb``; ``--submission PATH``
points at another notebook or .py file. The student's code runs in a separate, sandboxed
process (``dlcourse.grading.proxy``); ``--in-process`` runs it here, for debugging only.
Markers: ``@pytest.mark.points(n)`` and ``@pytest.mark.hidden``.
"""

from __future__ import annotations

from dlcourse.grading.plugin import (  # noqa: F401 - pytest finds hooks and fixtures by name
    _student_test_budget,
    pytest_addoption,
    pytest_configure,
    student,
)
