"""tools/execution_times.py sums the execution times recorded in a notebook's cells."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    path = ROOT / "tools" / "execution_times.py"
    spec = importlib.util.spec_from_file_location("execution_times", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(start: str, end: str) -> dict:
    timing = {"iopub.execute_input": start, "shell.execute_reply": end}
    return {"cell_type": "code", "metadata": {"execution": timing}, "source": ""}


def test_the_times_of_the_code_cells_add_up(tmp_path, capsys):
    cells = [
        _cell("2026-12-07T10:00:00.000000Z", "2026-12-07T10:00:02.500000Z"),
        {"cell_type": "markdown", "metadata": {}, "source": "text"},
        _cell("2026-12-07T10:00:03.000000Z", "2026-12-07T10:00:04.000000Z"),
        {"cell_type": "code", "metadata": {}, "source": "never run"},
    ]
    path = tmp_path / "99_x.ipynb"
    path.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    tool = _tool()
    assert tool.execution_seconds(path) == 3.5
    assert tool.main([str(path)]) == 0
    assert "total" in capsys.readouterr().out.splitlines()[-1]
