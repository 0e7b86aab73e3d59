"""The same fixtures as tests/exercises/conftest.py, for the small fixture course."""

from __future__ import annotations

from dlcourse.grading.plugin import (  # noqa: F401
    _student_test_budget,
    pytest_addoption,
    pytest_configure,
    student,
)
