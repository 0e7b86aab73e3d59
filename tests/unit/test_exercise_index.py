"""The exercise index appendix is generated from the exercises and kept up to date."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from exercise_index import _points, build, read_exercise  # noqa: E402


def test_committed_index_is_what_the_exercises_give():
    page = (ROOT / "book" / "exercise_index.md").read_text(encoding="utf-8")
    assert page == build(ROOT), (
        "book/exercise_index.md is out of date: run `python tools/exercise_index.py`"
    )


def test_every_exercise_has_a_row_with_its_notebook():
    page = build(ROOT)
    for solution in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        assert f"exercises/{solution.name})" in page, f"{solution.name} is missing from the index"


def test_points_are_counted_from_the_markers(tmp_path):
    tests = tmp_path / "test_99_demo.py"
    tests.write_text(
        "import pytest\n\n"
        "@pytest.mark.points(3)\ndef test_a(student): pass\n\n"
        "@pytest.mark.hidden\n@pytest.mark.points(2)\ndef test_b(student): pass\n\n"
        "@pytest.mark.points(1)\n@pytest.mark.hidden\ndef test_c(student): pass\n\n"
        "def helper(): pass\n"
    )
    assert _points(tests) == (3, 3)
    entry = read_exercise(ROOT / "solutions" / "06_backprop.ipynb", ROOT / "tests" / "exercises")
    assert (entry.public_points, entry.hidden_points) == (10, 10)  # as its docstring states
    assert entry.chapters[0] == "05_backprop" and "Trust, but verify" not in entry.skills
