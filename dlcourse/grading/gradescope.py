"""A Gradescope autograder for one exercise: ``dlcourse release --gradescope NN OUT.zip``.

The zip follows Gradescope's autograder specification. At its root:

* ``setup.sh`` -- run once when the image is built: installs the Python the pinned
  dependencies need when the base image lacks it, then those dependencies
  (``requirements.txt``, the versions of the instructor's environment) and the dlcourse
  wheel shipped in the zip (see :mod:`dlcourse.grading.gradescope_image`);
* ``run_autograder`` -- run once per submission (one container each): grades the notebook
  or ``.py`` file found in ``/autograder/submission`` with the exercise's public and hidden
  tests (``tests/``) and writes ``/autograder/results/results.json``;
* ``dlcourse-autograder.json`` -- the exercise, the limits, the Python and base image.

``run_autograder`` calls :func:`main`, which reads the root from ``DLCOURSE_GRADESCOPE_ROOT``
(default ``/autograder``), so the same script runs in a temporary folder laid out like
Gradescope's for the tests. The results carry ``execution_time`` and ``stdout_visibility``
besides the score and the tests, and only keys of the specification.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from dlcourse.grading import extract, gradescope_image, report, runner, sandbox

ROOT_VARIABLE = "DLCOURSE_GRADESCOPE_ROOT"
CONFIG = "dlcourse-autograder.json"

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this once per submission: grade /autograder/submission into
# /autograder/results/results.json. DLCOURSE_GRADESCOPE_ROOT replaces /autograder (tests).
set -uo pipefail
root="${DLCOURSE_GRADESCOPE_ROOT:-/autograder}"
python="$root/venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
exec "$python" -m dlcourse.grading.gradescope
"""


def copy_build_sources(project: Path, dest: Path) -> Path:
    """Copy what building dlcourse needs from the checkout ``project`` into ``dest``.

    That is the package, ``pyproject.toml``, ``setup.py``, README and licence, and the grading
    modules ``tests/exercises/test_NN_*.py`` from which ``setup.py`` cuts the public tests the
    wheel ships with ``tools/public_tests.py`` (neither goes into the wheel). Returns ``dest``.
    """
    project, dest = Path(project), Path(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "public_tests")
    shutil.copytree(project / "dlcourse", dest / "dlcourse", ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        if (project / name).exists():
            shutil.copy(project / name, dest / name)
    (dest / "tools").mkdir(parents=True)
    shutil.copy(project / "tools" / "public_tests.py", dest / "tools" / "public_tests.py")
    (dest / "tests" / "exercises").mkdir(parents=True)
    for module in (project / "tests" / "exercises").glob("test_[0-9][0-9]_*.py"):
        shutil.copy(module, dest / "tests" / "exercises" / module.name)
    return dest


def build_wheel(project: Path, out_dir: Path) -> Path:
    """Build the dlcourse wheel of the checkout ``project`` into ``out_dir``.

    The build runs on a copy (:func:`copy_build_sources`), so the checkout gets no
    ``build/`` or ``*.egg-info`` folders.
    """
    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_build_sources(project, Path(tmp) / "src")
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        command += ["--quiet", "-w", str(out_dir), str(copy)]
        subprocess.run(command, check=True, capture_output=True, cwd=tmp)
    [wheel] = sorted(Path(out_dir).glob("dlcourse-*.whl"))
    return wheel


def build_autograder(
    exercise: str,
    out: Path,
    tests_dir: Path,
    project: Path | None,
    wheel: Path | None = None,
    settings: runner.Settings | None = None,
) -> Path:
    """Write the autograder zip of ``exercise`` ("06") to ``out``; returns ``out``.

    The wheel: ``wheel`` if given, else built from the checkout ``project``, else (no
    checkout: ``project`` None) packed from the installed dlcourse. ``settings`` gives the
    limits (time per submission and per test, memory); their defaults otherwise.
    """
    number = str(exercise)[:2]
    test_file = runner.test_file_for(number, Path(tests_dir))
    if test_file is None:
        raise ValueError(f"no grading tests for exercise {exercise!r} in {tests_dir}")
    conftest = Path(tests_dir) / "conftest.py"
    settings = settings or runner.Settings()
    python = gradescope_image.required_python()
    config = {
        "exercise": test_file.stem[len("test_") :],
        "test_timeout": settings.test_timeout,
        "timeout": settings.timeout,
        "memory_mb": settings.memory_mb,
        "python": python,
        "base_image": gradescope_image.BASE_IMAGE,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            built = build_wheel(project, Path(tmp)) if project else None
            wheel = built or gradescope_image.wheel_from_installed(Path(tmp))
        partial = out.with_name(f".{out.name}.partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            setup = gradescope_image.setup_script(python)
            for name, text in (("setup.sh", setup), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16
                zf.writestr(info, text)
            lock = Path(project, "requirements", "lock.txt") if project else None
            lock = lock if lock is not None and lock.is_file() else None
            zf.writestr("requirements.txt", gradescope_image.requirements(python, lock))
            zf.writestr(CONFIG, json.dumps(config, indent=2) + "\n")
            zf.write(wheel, wheel.name)
            zf.write(test_file, f"tests/{test_file.name}")
            if conftest.exists():
                zf.write(conftest, "tests/conftest.py")
        os.replace(partial, out)
    return out


def find_submission(folder: Path, number: str) -> tuple[Path | None, str]:
    """The file to grade in ``folder`` and, when there is none, why.

    Links are not followed; a symbolic link or special file is still chosen when it is
    all there is, so that the results say it was refused.
    """
    files = [
        p
        for p in runner._folder_files(folder)
        if p.suffix in runner.SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    if not files:
        return None, f"no .ipynb notebook or .py file was submitted (upload {number}_....ipynb)"
    files = [p for p in files if extract.file_problem(p) is None] or files
    named = [p for p in files if p.name.startswith(number)]
    notebooks = [p for p in named or files if p.suffix == ".ipynb"]
    return (notebooks or named or files)[0], ""


def _write(root: Path, data: dict, start: float) -> dict:
    data["execution_time"] = round(max(time.monotonic() - start, 0.1), 1)
    data["stdout_visibility"] = "hidden"  # the grader's log is for the instructor
    report.write_atomic(root / "results" / "results.json", json.dumps(data, indent=2) + "\n")
    return data


def run(root: Path) -> dict:
    """Grade ``root/submission`` into ``root/results/results.json``; the results.

    Always writes a valid results file: a submission that cannot be read, a sandbox that
    cannot be set up (the message says what is missing) or a failure of the grader give
    score 0 with the reason in ``output``.
    """
    start = time.monotonic()
    source = root / "source"
    config = json.loads((source / CONFIG).read_text())
    number = str(config["exercise"])[:2]
    settings = runner.Settings(
        tests_dir=source / "tests",
        exercise=number,
        timeout=float(config["timeout"]),
        test_timeout=float(config["test_timeout"]),
        memory_mb=int(config["memory_mb"]),
        isolation=str(config.get("isolation", "strong")),
    )
    test_file = runner.test_file_for(number, settings.tests_dir)
    result = report.SubmissionResult("submission", "", number, isolation=settings.isolation)
    try:
        sandbox.check(settings.isolation, number)
    except sandbox.IsolationUnavailable as exc:
        print(f"dlcourse autograder: refusing to run the submission: {exc}")
        result.error = f"the autograder refused to run the submission: {exc}"
        result.internal_error = True
    if result.error is None:
        path, why = find_submission(root / "submission", number)
        if path is None:
            result.error = why
        else:
            result = runner.grade_one("submission", path, settings)
    if result.error and not result.tests and test_file:
        result.tests = runner._max_score_tests(test_file)
    return _write(root, report.gradescope(result), start)


def _failure(root: Path, why: str, start: float) -> dict:
    """A valid results file with score 0 when grading itself failed."""
    data = {"score": 0, "output": report.clean(why)[: report.OUTPUT_LIMIT], "tests": []}
    data["extra_data"] = {"max_score": 0, "student": "submission", "exercise": None}
    try:
        return _write(root, data, start)
    except OSError:
        return data


def main() -> int:
    """Entry point of ``run_autograder``; the root comes from ``DLCOURSE_GRADESCOPE_ROOT``."""
    root = Path(os.environ.get(ROOT_VARIABLE, "/autograder"))
    start = time.monotonic()
    try:
        data = run(root)
    except Exception as exc:  # noqa: BLE001 - Gradescope must always get a results file
        print(f"dlcourse autograder: grader error: {exc!r}")
        data = _failure(root, f"The autograder failed (grader error: {type(exc).__name__}); "
                        "the instructor has to look at it.", start)  # fmt: skip
    score = data["score"]
    print(f"dlcourse autograder: {score:g} / {data['extra_data']['max_score']:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
