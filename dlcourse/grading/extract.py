"""Read a submission (a notebook or a .py file) into the student's code, cell by cell.

Only code cells are kept; cells tagged ``hidden-tests`` are skipped; IPython-only lines
(``%magic``, ``!shell``, ``%%cell-magic`` cells) become ``pass`` so that the rest still
compiles. Reading only parses JSON: nothing of the submission is executed here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 20 * 2**20
HIDDEN_TAG = "hidden-tests"
_EXERCISE_NAME = re.compile(r"^(\d{2})(?:[_\-. ]|$)")


class SubmissionError(ValueError):
    """The submission cannot be graded (its message goes into the report)."""


@dataclass
class Submission:
    """The student's code and what the file says about its exercise."""

    path: Path
    # {"index": position among all cells, "code_index": position among code cells (what
    # feedback calls "code cell N"), "source": text}
    cells: list[dict] = field(default_factory=list)
    exercise: str | None = None  # "06" from the metadata or the file name


def clean_source(source: str) -> str:
    """Replace IPython magics and shell escapes by ``pass`` (keeping the indentation)."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or re.match(r"^\w+\s*=\s*[!%]", stripped):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def exercise_from_name(name: str) -> str | None:
    """``"06_backprop.ipynb"`` -> ``"06"``; None when the name does not start with NN."""
    match = _EXERCISE_NAME.match(Path(name).name)
    return match.group(1) if match else None


def _notebook_cells(path: Path, text: str) -> tuple[list[dict], str | None]:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not a valid notebook (invalid JSON: {exc})"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    info = meta.get("dlcourse") if isinstance(meta.get("dlcourse"), dict) else {}
    exercise = exercise_from_name(str(info.get("exercise", "")))
    cells = []
    code_index = 0
    for index, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_index += 1
        tags = (cell.get("metadata") or {}).get("tags") or []
        if HIDDEN_TAG in tags:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        cells.append({"index": index, "code_index": code_index, "source": clean_source(source)})
    return cells, exercise


def read_submission(path: str | Path) -> Submission:
    """Parse ``path`` (.ipynb or .py); SubmissionError with a readable reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path} does not exist or is not a file")
    if path.suffix not in (".ipynb", ".py"):
        raise SubmissionError(f"{path.name}: expected a .ipynb notebook or a .py file")
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path.name} cannot be read as UTF-8 text ({exc})") from None
    if path.suffix == ".py":
        cells = [{"index": 1, "code_index": 1, "source": text}]
        return Submission(path, cells, exercise_from_name(path.name))
    cells, exercise = _notebook_cells(path, text)
    return Submission(path, cells, exercise or exercise_from_name(path.name))
