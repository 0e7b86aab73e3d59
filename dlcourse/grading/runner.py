"""``dlcourse grade``: grade one submission or a folder of them.

Each submission is graded by its own ``pytest`` subprocess (in a new session, killed as a
group at the end or when its total time is up) running the exercise's grading tests with
the :mod:`~dlcourse.grading.recorder` plugin. The results file lies in a fresh private
directory whose path only the grader knows, carries a random nonce the student's worker
cannot read, and is the only thing the grader reads back; the student's output never is.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dlcourse.grading import extract, report, sandbox
from dlcourse.grading.recorder import NONCE_VARIABLE
from dlcourse.grading.report import SubmissionResult, TestResult

ROOT = Path(__file__).resolve().parents[2]
STARTUP_GRACE = 60.0  # seconds for pytest itself to start and collect, on a busy machine


@dataclass(frozen=True)
class Settings:
    """How to grade: where the tests are, time and resource limits, parallelism, isolation."""

    tests_dir: Path = ROOT / "tests" / "exercises"
    exercise: str | None = None  # "06" or "06_backprop": what every submission is graded as
    timeout: float = 300.0  # seconds for a whole submission
    test_timeout: float = 10.0  # seconds per test
    cell_timeout: float | None = None  # seconds per notebook cell (default: test_timeout)
    memory_mb: int = 4096  # all the processes of one submission together
    output_limit: int = 1_000_000
    jobs: int = 1
    isolation: str = "strong"  # "strong" (bubblewrap) or "weak" (--isolation weak)


SUFFIXES = (".ipynb", ".py")
NAME_LIMIT = 100  # characters of a student's name (taken from file names)


def _clean_name(name: str) -> str:
    text = report.clean(name).replace("\n", " ").strip()[:NAME_LIMIT]
    return text if text and not text.startswith(".") else "submission"


def _unique(names: list[str]) -> list[str]:
    """``names`` made unique, ignoring case (result files must not overwrite each other,
    on case-insensitive file systems either): later duplicates get `` (2)``, `` (3)``..."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def _folder_files(folder: Path) -> list[Path]:
    """Every entry below ``folder`` that is not a folder (links are not followed)."""
    found = []
    for base, dirs, files in os.walk(folder, followlinks=False):
        found.extend(Path(base) / f for f in files)
        found.extend(Path(base) / d for d in dirs if os.path.islink(os.path.join(base, d)))
    return sorted(found)


def _student_folder(entry: Path, skipped: list) -> Path:
    """The file to grade in a student's subfolder (``entry`` itself when there is none)."""
    files = _folder_files(entry)
    ignored = [p for p in files if any(x.startswith(".") for x in p.relative_to(entry).parts)]
    for p in ignored:
        skipped.append((p, "a hidden file or a Jupyter checkpoint"))
    candidates = [p for p in files if p.suffix in SUFFIXES and p not in ignored]
    for p in files:
        if p not in ignored and p.suffix not in SUFFIXES:
            problem = extract.file_problem(p)
            skipped.append(
                (p, f"refused: {problem}" if problem else "not a .ipynb notebook or a .py file")
            )
    if not candidates:
        return entry  # graded as "no submission found"
    regular = [p for p in candidates if extract.file_problem(p) is None] or candidates
    notebooks = [p for p in regular if p.suffix == ".ipynb"] or regular
    chosen = notebooks[0]
    for p in candidates:
        if p != chosen:
            problem = extract.file_problem(p)
            why = f"refused: {problem}" if problem else f"a second file in {entry.name}/"
            skipped.append((p, f"{why} (only {chosen.name} is graded)"))
    return chosen


def find_submissions(path: Path, skipped: list | None = None) -> list[tuple[str, Path]]:
    """``(student, file)`` pairs: the file itself, or each entry of a folder.

    In a folder, each ``.ipynb``/``.py`` file is one submission, named by its stem (by its
    whole name when two files share a stem, e.g. ``zoe.ipynb`` and ``zoe.py``), and each
    subfolder is one student's submission: the one notebook or .py file found in it (at
    any depth). Names are unique (``x.py`` and ``x.py.ipynb`` get two rows, two result
    files). A symbolic link or a special file with a submission's name gets a row saying
    it was refused; every other file that is not graded is appended to ``skipped`` as
    ``(path, reason)``.
    """
    skipped = [] if skipped is None else skipped
    if not path.is_dir():  # the folder itself may be a link: the instructor chose it
        return [(_clean_name(path.stem), path)]
    entries: list[tuple[str, Path]] = []
    for entry in sorted(path.iterdir()):
        problem = extract.file_problem(entry)
        if entry.name.startswith("."):
            skipped.append((entry, "a hidden file or folder (its name starts with a dot)"))
        elif problem is None and entry.is_dir():
            entries.append((entry.name, _student_folder(entry, skipped)))
        elif entry.suffix in SUFFIXES or (problem and entry.is_dir()):
            # graded, or refused with its reason (a link to a student's folder too)
            entries.append((entry.stem if entry.suffix in SUFFIXES else entry.name, entry))
        elif problem:
            skipped.append((entry, f"refused: {problem}"))
        else:
            skipped.append((entry, "not a .ipynb notebook or a .py file"))
    stems = [student for student, _ in entries]
    # two files whose names differ only in extension (zoe.ipynb, zoe.py): named in full
    names = [
        file.name if stems.count(student) > 1 and file.parent == path else student
        for student, file in entries
    ]
    names = _unique([_clean_name(n) for n in names])
    return [(name, file) for name, (_, file) in zip(names, entries)]


def _exercise_number(text: str | None) -> str | None:
    match = re.match(r"^(\d{2})", text or "")
    return match.group(1) if match else None


def test_file_for(number: str, tests_dir: Path) -> Path | None:
    """``tests_dir/test_NN_*.py`` for exercise ``NN``."""
    found = sorted(tests_dir.resolve().glob(f"test_{number}_*.py"))
    return found[0] if found else None


def _pytest_command(test_file: Path, results: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(test_file), "-q", "--no-header", "-p",
        "no:cacheprovider", "-p", "dlcourse.grading.recorder", "--grading-results", str(results),
        *(["-p", "pytest_timeout"] if importlib.util.find_spec("pytest_timeout") else []),
        *extra,
    ]  # fmt: skip


@dataclass
class PytestRun:
    """What one pytest run left: its recorded results (None if none), its output tail,
    whether the grader stopped it at its time limit, and its exit code."""

    data: dict | None
    output: str
    timed_out: bool
    code: int | None


def _run_pytest(test_file: Path, extra: list[str], timeout: float) -> PytestRun:
    """Run pytest on ``test_file`` (see :class:`PytestRun`)."""
    private = Path(tempfile.mkdtemp(prefix="dlcourse-grade-"))
    # others may pass through (a weakly isolated worker's files lie below) but not list it
    private.chmod(0o711)
    results = private / f"{secrets.token_hex(16)}.json"
    nonce = secrets.token_hex(16)
    # No plugin auto-loading: entry-point plugins (nbval, ...) cost seconds per submission.
    # The workers' folders go below ``private``: removed with it, even when pytest crashed.
    env = {**os.environ, NONCE_VARIABLE: nonce, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env["TMPDIR"] = str(private)
    process = subprocess.Popen(
        _pytest_command(test_file, results, extra),
        cwd=private,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output, timed_out = b"(stopped: total time limit)", True
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and anything it left behind
        except ProcessLookupError:
            pass
        code = process.wait()
    data = None
    try:
        data = json.loads(results.read_text())
        if data.get("nonce") != nonce:
            data = None
    except (OSError, ValueError):
        pass
    shutil.rmtree(private, ignore_errors=True)
    return PytestRun(data, output.decode("utf-8", "replace")[-2000:], timed_out, code)


def _max_score_tests(test_file: Path) -> list[TestResult]:
    """The tests of an exercise with 0 points earned (for submissions that cannot run)."""
    data = _run_pytest(test_file, ["--collect-only"], STARTUP_GRACE).data
    tests = (data or {}).get("tests", [])
    return [TestResult(t["name"], t["points"], t["hidden"], False, "not graded") for t in tests]


def exercise_for(path: Path, settings: Settings, folder: Path | None = None) -> str | None:
    """The exercise ``path`` is graded as: ``--exercise``, else the folder graded (when
    its name starts with NN), else the file's own name; never the notebook's metadata."""
    for text in (settings.exercise, folder.name if folder else None):
        number = _exercise_number(text)
        if number:
            return number
    return extract.exercise_from_name(path.name)


def grade_one(
    student: str, path: Path, settings: Settings, folder: Path | None = None
) -> SubmissionResult:
    """Grade one submission; never raises for problems of the submission itself.

    ``folder``: the folder of submissions ``path`` came from (its name may give the
    exercise, see :func:`exercise_for`).
    """
    result = SubmissionResult(student=student, path=str(path), isolation=settings.isolation)
    if settings.isolation == "weak":
        result.notes.append(f"isolation: {sandbox.describe('weak')}")
    try:
        if os.path.isdir(path) and not os.path.islink(path):  # a subfolder without a notebook
            raise extract.SubmissionError(f"no .ipynb notebook or .py file found in {path.name}/")
        submission = extract.read_submission(path)
        result.notes.extend(submission.notes)
    except extract.SubmissionError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever the bytes, a row with a reason
        result.error = f"{path.name} cannot be read ({type(exc).__name__})"
    number = exercise_for(path, settings, folder)
    result.exercise = number
    named = extract.exercise_from_name(path.name)
    if number and named and named != number:
        result.notes.append(
            f"the file's name says exercise {named}; it was graded as exercise {number}"
        )
    if number is None:
        result.error = result.error or (
            "cannot tell which exercise this is: name the file NN_topic.ipynb or pass --exercise"
        )
        return result
    test_file = test_file_for(number, settings.tests_dir)
    if test_file is None:
        result.error = f"there is no exercise {number} (no test_{number}_*.py in the tests)"
        return result
    if result.error:
        result.tests = _max_score_tests(test_file)
        return result
    extra = [
        "--submission", str(path.absolute()), "--test-timeout", str(settings.test_timeout),
        "--submission-timeout", str(settings.timeout), "--memory-mb", str(settings.memory_mb),
        "--output-limit", str(settings.output_limit), "--isolation", settings.isolation,
    ]  # fmt: skip
    if settings.cell_timeout is not None:
        extra += ["--cell-timeout", str(settings.cell_timeout)]
    run = _run_pytest(test_file, extra, settings.timeout + STARTUP_GRACE)
    data = run.data
    if not data or not data.get("tests"):
        result.error = "grader error: the grading tests could not run (see the log)"
        result.internal_error = True
        result.notes.append(run.output.strip()[-1000:])
        return result
    stopped = sandbox_failed = False
    for t in data["tests"]:
        passed = t["status"] == "passed"
        feedback = t["feedback"]
        if t["status"] == "not run":
            if run.timed_out:
                feedback = "not run: the submission used up its total time limit"
            else:
                feedback = "not run: the grader stopped before this test (grader error)"
                stopped = True
        sandbox_failed = sandbox_failed or bool(t.get("grader_error"))
        result.tests.append(
            TestResult(t["name"], float(t["points"]), t["hidden"], passed, feedback)
        )
    result.notes.extend(dict.fromkeys(str(n)[:500] for n in data.get("notes", [])))
    if stopped or sandbox_failed:
        result.internal_error = True
        if stopped:
            why = f"the grading process ended before every test ran (exit code {run.code})"
        else:
            why = "the sandbox could not run the student's code (see the tests' feedback)"
        result.error = f"grader error: {why}; grade it again"
        result.notes.append(run.output.strip()[-1000:])
    return result


def grade(path: Path, settings: Settings, skipped: list | None = None) -> list[SubmissionResult]:
    """Grade ``path`` (a file or a folder), ``settings.jobs`` submissions at a time.

    Raises :class:`~dlcourse.grading.sandbox.IsolationUnavailable` (before grading
    anything) when the isolation asked for cannot be set up here. Files of the folder
    that are not graded are appended to ``skipped`` as ``(path, reason)``.
    """
    sandbox.check(settings.isolation)
    submissions = find_submissions(path, skipped)
    folder = path if path.is_dir() else None

    def one(item):
        student, file = item
        try:
            return grade_one(student, file, settings, folder)
        except Exception as exc:  # noqa: BLE001 - one submission must not stop the others
            r = SubmissionResult(student, str(file), error=f"grader error: {exc!r}")
            r.internal_error = True
            r.isolation = settings.isolation
            return r

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        return list(pool.map(one, submissions))
