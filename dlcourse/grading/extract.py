"""Read a submission (a notebook or a .py file) into the student's code, cell by cell.

Only code cells are kept; cells tagged ``hidden-tests`` are skipped; IPython-only lines
(``%magic``, ``!shell``, ``%%cell-magic`` cells) become ``pass`` so that the rest still
compiles. Reading only parses JSON: nothing of the submission is executed here.

Whatever the bytes, reading either succeeds or raises :class:`SubmissionError` with a
reason: a file that is not a regular file (a symbolic link, a FIFO, a device) is refused
without being opened; a malformed cell (its source not text, its metadata not an object)
is left out and named in :attr:`Submission.notes`. Which exercise a submission is for is
decided by the grader (``--exercise``, the folder), never by the notebook's metadata: the
file name is only a last resort (:func:`exercise_from_name`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 20 * 2**20
MAX_NOTES = 10
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
    exercise: str | None = None  # "06" from the file name (never from the metadata)
    notes: list[str] = field(default_factory=list)  # cells left out, and why


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
    match = _EXERCISE_NAME.match(Path(str(name)).name)
    return match.group(1) if match else None


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a submission file (a link, not a regular file), or None.

    Looks at the entry itself (``lstat``): a symbolic link is refused whatever it points
    to, so that a link to ``solutions/`` is never graded.
    """
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link (submissions must be regular files)"
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file (a FIFO, socket or device)"
    return None


def _source_text(source) -> str | None:
    """A cell's source as text: a string or a list of strings; None otherwise."""
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return None


def _tags(cell: dict) -> list:
    meta = cell.get("metadata")
    tags = meta.get("tags") if isinstance(meta, dict) else None
    return tags if isinstance(tags, list) else []


def _notebook_cells(path: Path, text: str) -> tuple[list[dict], list[str]]:
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else f"{exc}"
        raise SubmissionError(
            f"{path.name} is not a valid notebook (invalid JSON: {reason[:200]})"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    cells, notes = [], []
    code_index = 0
    for index, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_index += 1
        if HIDDEN_TAG in _tags(cell):
            continue
        source = _source_text(cell.get("source", ""))
        if source is None:
            if len(notes) < MAX_NOTES:
                notes.append(f"code cell {code_index} was left out: its source is not text")
            continue
        cells.append({"index": index, "code_index": code_index, "source": clean_source(source)})
    return cells, notes


def _read_text(path: Path) -> str:
    """The file's text, opened without following links; SubmissionError otherwise."""
    problem = file_problem(path)
    if problem is None and path.is_dir():
        problem = "it is a folder"
    if problem:
        raise SubmissionError(f"{path.name} is refused: {problem}")
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as exc:
        raise SubmissionError(f"{path.name} cannot be opened ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{path.name} is refused: it is not a regular file")
        if info.st_size > MAX_BYTES:
            raise SubmissionError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB")
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} cannot be read as UTF-8 text ({exc})") from None


def read_submission(path: str | Path) -> Submission:
    """Parse ``path`` (.ipynb or .py); SubmissionError with a readable reason otherwise."""
    path = Path(path)
    if not os.path.lexists(path):
        raise SubmissionError(f"{path} does not exist or is not a file")
    problem = file_problem(path)
    if problem:
        raise SubmissionError(f"{path.name} is refused: {problem}")
    if path.suffix not in (".ipynb", ".py"):
        raise SubmissionError(f"{path.name}: expected a .ipynb notebook or a .py file")
    text = _read_text(path)
    if path.suffix == ".py":
        cells = [{"index": 1, "code_index": 1, "source": text}]
        return Submission(path, cells, exercise_from_name(path.name))
    cells, notes = _notebook_cells(path, text)
    return Submission(path, cells, exercise_from_name(path.name), notes)
