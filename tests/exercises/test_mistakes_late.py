"""The catalogued mistakes of exercises 14 onwards lose exactly their points (those of 01-13
are in test_mistakes.py, which holds the catalogue and the grading; a file of its own lets
pytest-xdist grade the two halves on two cores at once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_mistakes import LATE, check_mistake


@pytest.mark.slow
@pytest.mark.parametrize("mistake", LATE, ids=[p.stem for p in LATE])
def test_mistake_loses_exactly_its_points(mistake: Path):
    check_mistake(mistake)
