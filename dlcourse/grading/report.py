"""Grading results and their three forms: a text table, Gradescope JSON, a CSV summary."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path


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


def table(result: SubmissionResult, width: int = 100) -> str:
    """A readable table: one line per test (name, points, status) and its feedback below."""
    head = f"== {result.student}"
    if result.exercise:
        head += f" (exercise {result.exercise})"
    head += f": {_fmt(result.score)} / {_fmt(result.max_score)}"
    lines = [head, f"   file: {result.path}"] if result.path else [head]
    if result.error:
        lines.append(f"   could not be graded: {result.error}")
    name_width = max([len(t.name) for t in result.tests] + [4])
    lines.append(f"   {'test':<{name_width}}  {'points':>7}  status")
    for t in result.tests:
        status = "passed" if t.passed else "FAILED"
        kind = " (hidden)" if t.hidden else ""
        points = f"{_fmt(t.score)}/{_fmt(t.points)}"
        lines.append(f"   {t.name:<{name_width}}  {points:>7}  {status}{kind}")
        if t.feedback and not t.passed:
            for paragraph in t.feedback.splitlines()[:12]:
                lines.extend(
                    textwrap.wrap(
                        paragraph, width, initial_indent="      ", subsequent_indent="      "
                    )
                    or [""]
                )
    for note in result.notes:
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
    output = "\n".join(
        ([f"Could not be graded: {result.error}"] if result.error else []) + result.notes
    )
    if len(output) > OUTPUT_LIMIT:
        output = output[: OUTPUT_LIMIT - 20] + " ... (cut)"
    return {
        "score": result.score,
        "output": output,
        "extra_data": {
            "max_score": result.max_score,
            "student": result.student,
            "exercise": result.exercise,
        },
        "tests": [
            {
                "name": t.name,
                "score": t.score,
                "max_score": t.points,
                "status": "passed" if t.passed else "failed",
                "output": t.feedback,
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


def csv_summary(results: list[SubmissionResult], base: Path | None = None) -> str:
    """``student,exercise,score,max_score,status,file`` with one row per submission.

    ``file`` is the graded file's path (relative to ``base``, the folder graded).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "exercise", "score", "max_score", "status", "file"])
    for r in results:
        row = [r.student, r.exercise or "", _fmt(r.score), _fmt(r.max_score), r.status]
        writer.writerow([*row, _relative(r.path, base)])
    return buffer.getvalue()


def summary_line(results: list[SubmissionResult], skipped: list) -> str:
    """One line for the end of a run: how many were graded, which could not be, skipped files."""
    failed = [r for r in results if r.error]
    text = f"graded {len(results) - len(failed)} of {len(results)} submissions"
    if failed:
        names = ", ".join(r.student for r in failed[:10]) + (", ..." if len(failed) > 10 else "")
        text += f"; {len(failed)} could not be graded ({names})"
    if skipped:
        text += f"; {len(skipped)} file(s) not graded (listed above)"
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
    """One Gradescope file (single submission) or ``target/<student>.json`` per submission."""
    if not folder:
        write_atomic(target, json.dumps(gradescope(results[0]), indent=2) + "\n")
        return [target]
    paths = []
    for r in results:
        path = target / f"{r.student}.json"
        write_atomic(path, json.dumps(gradescope(r), indent=2) + "\n")
        paths.append(path)
    return paths
