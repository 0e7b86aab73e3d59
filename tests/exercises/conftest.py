"""Fixtures for the grading tests.

Each ``tests/exercises/test_NN_topic.py`` declares ``EXERCISE = "NN_topic"`` and uses
the ``student`` fixture: an object whose attributes are the functions the student
defined. By default they come from ``solutions/NN_topic.ipynb``; ``--submission PATH``
points at another notebook or .py file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    parser.addoption(
        "--submission",
        default=None,
        help="notebook or .py file whose functions the exercise tests grade "
        "(default: the solution notebook)",
    )


def _load_namespace(path: Path) -> dict:
    import nbformat

    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        source = "\n\n".join(
            c.source
            for c in nb.cells
            if c.cell_type == "code" and "hidden-tests" not in c.metadata.get("tags", [])
        )
    else:
        source = path.read_text()
    ns: dict = {"__name__": "submission"}
    exec(compile(source, str(path), "exec"), ns)
    return ns


class _Namespace:
    def __init__(self, ns: dict):
        self.__dict__.update(ns)


@pytest.fixture(scope="module")
def student(request):
    exercise = getattr(request.module, "EXERCISE")
    sub = request.config.getoption("--submission")
    path = Path(sub) if sub else ROOT / "solutions" / f"{exercise}.ipynb"
    return _Namespace(_load_namespace(path))
