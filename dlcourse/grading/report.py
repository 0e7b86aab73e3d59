"""Grading results and their forms: a text table, Gradescope JSON, a CSV summary with a
column per test, and a Markdown feedback file per student.

Everything a submission can influence (its file name, its feedback, notes naming its
exceptions) is passed through :func:`clean` before it is printed or written: ANSI escape
sequences and control characters are removed, so a submission cannot rewrite the
instructor's terminal; notes are capped in number and length.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

NOTE_LIMIT = 500  # characters per note
NOTES_LIMIT = 20  # notes per submission
# ANSI/VT escape sequences (CSI, OSC, other ESC sequences), then any control character
# except newline and tab (C0, DEL, C1)
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erasing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one C1 byte
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: object) -> str:
    """``text`` without escape sequences and control characters (newline and tab kept)."""
    return _CONTROL.sub("", _ESCAPES.sub("", str(text)))


@dataclass
class TestResult:
    """One grading test of one submission."""

    name: str
    points: float
    hidden: bool
    passed: bool
    feedback: str = ""

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


@dataclass
class SubmissionResult:
    """All tests of one submission; ``error`` says why it could not be graded at all."""

    student: str
    path: str
    exercise: str | None = None
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    internal_error: bool = False  # the grader (not the submission) failed
    isolation: str = "strong"  # how the student's code was isolated ("strong", "weak")

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def status(self) -> str:
        return f"error: {self.error}" if self.error else "graded"


def _fmt(x: float) -> str:
    return f"{x:g}"


def notes_of(result: SubmissionResult) -> list[str]:
    """The notes of ``result``, cleaned, without repeats, capped in number and length."""
    notes = []
    for note in dict.fromkeys(clean(n).strip() for n in result.notes):
        if note:
            notes.append(note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 9] + " ... (cut)")
    if len(notes) > NOTES_LIMIT:
        notes = notes[:NOTES_LIMIT] + [f"... and {len(notes) - NOTES_LIMIT} more notes"]
    return notes


def table(result: SubmissionResult, width: int = 100) -> str:
    """A readable table: one line per test (name, points, status) and its feedback below."""
    head = f"== {clean(result.student)}"
    if result.exercise:
        head += f" (exercise {result.exercise})"
    head += f": {_fmt(result.score)} / {_fmt(result.max_score)}"
    if result.isolation != "strong":
        head += f"  [isolation: {result.isolation}]"
    lines = [head, f"   file: {clean(result.path)}"] if result.path else [head]
    if result.error:
        lines.append(f"   could not be graded: {clean(result.error)}")
    name_width = max([len(t.name) for t in result.tests] + [4])
    lines.append(f"   {'test':<{name_width}}  {'points':>7}  status")
    for t in result.tests:
        status = "passed" if t.passed else "FAILED"
        kind = " (hidden)" if t.hidden else ""
        points = f"{_fmt(t.score)}/{_fmt(t.points)}"
        lines.append(f"   {clean(t.name):<{name_width}}  {points:>7}  {status}{kind}")
        if t.feedback and not t.passed:
            for paragraph in clean(t.feedback).splitlines()[:12]:
                lines.extend(
                    textwrap.wrap(
                        paragraph, width, initial_indent="      ", subsequent_indent="      "
                    )
                    or [""]
                )
    for note in notes_of(result):
        lines.append(f"   note: {note}")
    return "\n".join(lines)


# the top-level keys of Gradescope's results.json (the autograder specification)
GRADESCOPE_KEYS = {
    "score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
GRADESCOPE_TEST_KEYS = {
    "score", "max_score", "status", "name", "name_format", "number", "output",
    "output_format", "tags", "visibility", "extra_data",
}  # fmt: skip
OUTPUT_LIMIT = 5000  # characters of the submission-wide output


def gradescope(result: SubmissionResult) -> dict:
    """The Gradescope ``results.json`` object of one submission.

    Only keys of the specification are used; what has no key there (the maximum score,
    the student and exercise) goes into ``extra_data``.
    """
    lines = [f"Could not be graded: {clean(result.error)}"] if result.error else []
    if result.isolation != "strong":
        lines.append(f"Isolation: {result.isolation}")
    output = "\n".join(lines + notes_of(result))
    if len(output) > OUTPUT_LIMIT:
        output = output[: OUTPUT_LIMIT - 20] + " ... (cut)"
    return {
        "score": result.score,
        "output": output,
        "extra_data": {
            "max_score": result.max_score,
            "student": clean(result.student),
            "exercise": result.exercise,
            "isolation": result.isolation,
        },
        "tests": [
            {
                "name": clean(t.name),
                "score": t.score,
                "max_score": t.points,
                "status": "passed" if t.passed else "failed",
                "output": clean(t.feedback),
                "visibility": "after_published" if t.hidden else "visible",
            }
            for t in result.tests
        ],
    }


def _relative(path: str, base: Path | None) -> str:
    if base is None:
        return path
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return path


def test_names(results: list[SubmissionResult]) -> list[str]:
    """The names of the tests of ``results``, each once, in the order first met."""
    return list(dict.fromkeys(t.name for r in results for t in r.tests))


def csv_summary(results: list[SubmissionResult], base: Path | None = None) -> str:
    """``student,exercise,score,max_score,status,isolation,file`` and then one column per
    test (the points earned; empty where a submission has no such test), one row per
    submission. ``file`` is the graded file's path (relative to ``base``, the folder
    graded)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = test_names(results)
    head = ["student", "exercise", "score", "max_score", "status", "isolation", "file"]
    writer.writerow(head + [clean(n) for n in names])
    for r in results:
        earned = {t.name: _fmt(t.score) for t in r.tests}
        row = [clean(r.student), r.exercise or "", _fmt(r.score), _fmt(r.max_score)]
        row += [clean(r.status), r.isolation, clean(_relative(r.path, base))]
        writer.writerow(row + [earned.get(n, "") for n in names])
    return buffer.getvalue()


def _fence(text: str) -> str:
    """``text`` in a Markdown code block whose fence no line of it can close."""
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _md(text: str) -> str:
    """``text`` safe inside a Markdown line (no markup, no HTML)."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", clean(text).replace("\n", " "))


def markdown(result: SubmissionResult) -> str:
    """A feedback page for the student: score, a table of the tests, what failed and why."""
    title = f"# Feedback: {_md(result.student)}"
    lines = [title, ""]
    if result.exercise:
        lines.append(f"Exercise {result.exercise}: **{_fmt(result.score)} / "
                     f"{_fmt(result.max_score)}** points.")  # fmt: skip
    else:
        lines.append(f"**{_fmt(result.score)} / {_fmt(result.max_score)}** points.")
    if result.error:
        lines += ["", f"This submission could not be graded: {_md(result.error)}"]
    if result.isolation != "strong":
        lines += ["", f"Graded with isolation: {_md(result.isolation)}."]
    if result.tests:
        lines += ["", "| test | points | result |", "| --- | ---: | --- |"]
        for t in result.tests:
            kind = "passed" if t.passed else "failed"
            hidden = " (hidden test)" if t.hidden else ""
            lines.append(f"| {_md(t.name)} | {_fmt(t.score)} / {_fmt(t.points)} | {kind}{hidden} |")
    failed = [t for t in result.tests if not t.passed and t.feedback]
    if failed:
        lines += ["", "## What to fix"]
        for t in failed:
            lines += ["", f"### {_md(t.name)}", "", _fence(clean(t.feedback))]
    notes = notes_of(result)
    if notes:
        lines += ["", "## Notes", ""] + [f"- {_md(n)}" for n in notes]
    return "\n".join(lines) + "\n"


def summary_line(results: list[SubmissionResult], skipped: list) -> str:
    """One line for the end of a run: how many were graded, which could not be, skipped files."""
    failed = [r for r in results if r.error]
    text = f"graded {len(results) - len(failed)} of {len(results)} submissions"
    if failed:
        names = ", ".join(clean(r.student) for r in failed[:10])
        names += ", ..." if len(failed) > 10 else ""
        text += f"; {len(failed)} could not be graded ({names})"
    if skipped:
        text += f"; {len(skipped)} file(s) not graded (listed above)"
    weak = sum(r.isolation == "weak" for r in results)
    if weak:
        text += f"; isolation: weak for {weak} (--isolation weak)"
    return text


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(results: list[SubmissionResult], target: Path, folder: bool) -> list[Path]:
    """One Gradescope file (single submission) or ``target/<student>.json`` per submission,
    each with its Markdown feedback beside it (``results.md``, ``<student>.md``)."""
    if not folder:
        pairs = [(results[0], target)]
    else:
        pairs = [(r, target / f"{r.student}.json") for r in results]
    paths = []
    for r, path in pairs:
        write_atomic(path, json.dumps(gradescope(r), indent=2) + "\n")
        write_atomic(path.with_suffix(".md"), markdown(r))
        paths.append(path)
    return paths
