"""Print how long each committed chapter took to execute, and the sum.

The times are those recorded in the notebooks' cell metadata by the last
``tools/execute_chapters.py`` run (``iopub.execute_input`` to ``shell.execute_reply`` of
every code cell), so they describe the machine and the load of that run; the README's
first-run estimate quotes this sum.

Usage: ``python tools/execution_times.py [book/NN_topic.ipynb ...]`` (default: every
notebook of ``book/``).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def execution_seconds(path: Path) -> float:
    """Seconds the code cells of one notebook spent executing (0 for a notebook never run)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    total = 0.0
    for cell in notebook.get("cells", []):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = timing["iopub.execute_input"], timing["shell.execute_reply"]
            total += (_time(end) - _time(start)).total_seconds()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execution_seconds(path)
        total += seconds
        print(f"{path.name:32s} {seconds:7.1f} s")
    print(f"{'total':32s} {total:7.1f} s ({total / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
