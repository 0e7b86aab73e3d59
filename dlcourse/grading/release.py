"""``dlcourse release``: write ``exercises/NN_topic.ipynb`` from ``solutions/NN_topic.ipynb``.

In every code cell, each region from a ``# BEGIN SOLUTION`` line to the next
``# END SOLUTION`` line is replaced by one ``raise NotImplementedError(...)`` line at the
indentation of the ``BEGIN`` marker, so the signature and docstring (outside the region)
stay. In markdown cells the region becomes ``*Your answer here.*``. Cells tagged
``hidden-tests`` are dropped, outputs and execution counts cleared, the exercise name is
stored in ``metadata.dlcourse.exercise`` (the grader reads it) and cell ids are made
deterministic, so that releasing twice writes identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlcourse.grading.extract import HIDDEN_TAG
from dlcourse.grading.report import write_atomic

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")


def _enclosing_function(lines: list[str], indent: int) -> str | None:
    for line in reversed(lines):
        match = _DEF.match(line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return None


def strip_solutions(source: str, markdown: bool = False, where: str = "cell") -> str:
    """Replace each ``BEGIN``/``END SOLUTION`` region of ``source`` by a stub line."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise ValueError(f"{where}: nested {BEGIN!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if markdown:
                out.append(f"{indent}*Your answer here.*")
            else:
                name = _enclosing_function(out, len(indent))
                what = f"{name}(): " if name else ""
                out.append(
                    f'{indent}raise NotImplementedError("{what}replace this line by your code")'
                )
        elif stripped.startswith(END):
            if not inside:
                raise ValueError(f"{where}: {END!r} without a {BEGIN!r} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN!r} without a matching {END!r}")
    return "\n".join(out)


def _cell_id(exercise: str, index: int, old: str | None) -> str:
    if old and re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", old):
        return old
    return hashlib.sha1(f"{exercise}:{index}".encode()).hexdigest()[:8]


def release_text(solution: Path) -> str:
    """The exercise notebook (as text) released from the solution notebook ``solution``."""
    raw = json.loads(solution.read_text(encoding="utf-8"))  # not nbformat.read: no random ids
    exercise = solution.stem
    cells = []
    for index, cell in enumerate(raw.get("cells", []), start=1):
        meta = dict(cell.get("metadata", {}))
        if HIDDEN_TAG in meta.get("tags", []):
            continue
        meta.pop("execution", None)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        kind = cell.get("cell_type")
        where = f"{solution.name}, cell {index}"
        new = {"cell_type": kind, "id": _cell_id(exercise, index, cell.get("id")), "metadata": meta}
        new["source"] = strip_solutions(source, markdown=kind == "markdown", where=where)
        if kind == "code":
            new.update(execution_count=None, outputs=[])
        elif "attachments" in cell:
            new["attachments"] = cell["attachments"]
        cells.append(new)
    metadata = dict(raw.get("metadata", {}))
    metadata["dlcourse"] = {"exercise": exercise}
    nb = nbformat.from_dict(
        {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    )
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


@dataclass
class ReleaseReport:
    """What ``release`` wrote, or (with ``check``) what differs from ``source``."""

    written: list[Path] = field(default_factory=list)
    differ: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    extra: list[Path] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.differ or self.missing or self.extra)


def release(source: Path, dest: Path, check: bool = False) -> ReleaseReport:
    """Release every ``source/NN_*.ipynb`` into ``dest``; with ``check`` compare only."""
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise FileNotFoundError(f"solutions folder {source} does not exist")
    report = ReleaseReport()
    solutions = sorted(p for p in source.glob("[0-9][0-9]_*.ipynb"))
    for solution in solutions:
        text = release_text(solution)
        target = dest / solution.name
        if check:
            if not target.exists():
                report.missing.append(target)
            elif target.read_text(encoding="utf-8") != text:
                report.differ.append(target)
        elif not target.exists() or target.read_text(encoding="utf-8") != text:
            write_atomic(target, text)
            report.written.append(target)
    names = {p.name for p in solutions}
    report.extra = sorted(p for p in dest.glob("*.ipynb") if p.name not in names)
    return report


STUDENT_README = """# dlcourse exercises

This folder holds the exercises of the dlcourse book for you to solve:

* `exercises/NN_topic.ipynb` -- one notebook per exercise. Fill in each function where it
  says `raise NotImplementedError(...)`.
* `tests/` -- the public tests of each exercise, the same ones `dlcourse.check` runs.

## Set up

    python -m venv .venv
    .venv/bin/pip install dlcourse        # or: pip install dlcourse-*.whl
    .venv/bin/pip install jupyterlab
    .venv/bin/jupyter lab

## Check your work

The last cell of every notebook runs `dlcourse.check("NN")`: it runs the public tests on
the functions defined in your notebook and prints, for each test, the points and what is
wrong. It needs nothing but the installed `dlcourse` package. Each of your functions gets
its own copy of its inputs, so changing an input in place never spoils a test.

When your work is graded, hidden tests (other shapes, edge cases, random inputs) are added.
Their feedback says what kind of case failed, never its values.

## Submit

Submit the notebook file itself (`NN_topic.ipynb`), with its name unchanged. Code in its
code cells is run from top to bottom; cells that fail are reported as "code cell N"
(counting code cells only).
"""


CHECKOUT = Path(__file__).resolve().parents[2]  # dlcourse/grading/release.py -> repository


def _public_files(tests_dir: Path) -> dict[str, str]:
    """The public tests cut from ``tests_dir`` by the build step ``tools/public_tests.py``.

    Releasing for students needs the hidden tests, so it runs in a checkout, whose ``tools``
    folder holds the one copy of that step (``setup.py`` uses it to build the wheel).
    """
    tools = CHECKOUT / "tools"
    if not (tools / "public_tests.py").is_file():
        raise FileNotFoundError(
            f"releasing for students runs in a checkout of dlcourse: {tools} has no public_tests.py"
        )
    if str(tools) not in sys.path:
        sys.path.insert(0, str(tools))
    import public_tests

    return public_tests.public_files(tests_dir)


def release_student(source: Path, tests_dir: Path, dest: Path) -> list[Path]:
    """Write what students get into ``dest``: notebooks, public tests, a README.

    ``dest/exercises/NN_topic.ipynb`` (solutions stripped, hidden-test cells dropped),
    ``dest/tests/test_NN_topic.py`` (hidden tests cut out) with its ``conftest.py``, and
    ``dest/README.md``. Nothing of ``source`` outside the released notebooks is copied;
    a file is rewritten only where its text changed.
    """
    dest = Path(dest)
    public = _public_files(tests_dir)  # first: outside a checkout nothing is written
    report = release(source, dest / "exercises")
    changed = []
    for filename, text in public.items():
        target = dest / "tests" / filename
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            write_atomic(target, text)
            changed.append(target)
    readme = dest / "README.md"
    write_atomic(readme, STUDENT_README)
    return [*report.written, *changed, readme]
