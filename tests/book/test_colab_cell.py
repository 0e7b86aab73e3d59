"""The first code cell of every chapter installs dlcourse on Colab, and does nothing here.

A reader who opens a chapter with the Colab launch button gets a fresh Python without the
course's package; the cell installs it from the repository only when it is not importable.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(ROOT.glob("book/[01][0-9]_*.ipynb"))


def _first_code_cell(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_first_code_cell_installs_dlcourse_only_when_missing(path, monkeypatch):
    cell = _first_code_cell(path)
    source = "".join(cell["source"])
    assert 'find_spec("dlcourse") is None' in source, f"{path.name}: no guarded install"
    assert "git+https://github.com/dlcourse/dlcourse" in source, f"{path.name}: installs what?"
    assert "hide-input" in cell["metadata"].get("tags", []), f"{path.name}: cell not hidden"
    assert cell["outputs"] == [], f"{path.name}: the install cell printed something here"

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(compile(source, path.name, "exec"), {})  # dlcourse is importable: no pip call
    assert calls == [], f"{path.name}: the cell ran pip although dlcourse is installed"


def test_the_install_cell_would_run_pip_where_dlcourse_is_missing(monkeypatch):
    import importlib.util

    source = "".join(_first_code_cell(CHAPTERS[0])["source"])
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a[0]))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "dlcourse" else real(name)
    )
    exec(compile(source, "cell", "exec"), {})
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"], calls
