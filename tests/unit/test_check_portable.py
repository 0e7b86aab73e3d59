"""``dlcourse.check`` runs where the grader's sandbox cannot: Windows and macOS laptops.

The self-check runs the public tests in the student's own kernel; it needs neither the
``resource`` module (POSIX only) nor the signals that Windows lacks (``SIGXFSZ``, ``SIGKILL``,
...), which only the grader's sandboxed worker uses. The test runs the check in a fresh
interpreter where those are missing, as on Windows: ``resource`` and the other POSIX-only
modules cannot be imported and every signal Windows does not define is deleted from
``signal``. A solution must still get full marks, and a stub none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

# the signal names Python defines on Windows (everything else is deleted below)
WINDOWS_SIGNALS = ["SIGABRT", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM", "SIGBREAK"]
POSIX_ONLY_MODULES = ["resource", "fcntl", "grp", "pwd", "termios"]

SCRIPT = """
import json, signal, sys

notebook = sys.argv[1]
windows_signals, posix_only = json.loads(sys.argv[2]), json.loads(sys.argv[3])
for name in [n for n in dir(signal) if n.startswith("SIG") and not n.startswith("SIG_")]:
    if name not in windows_signals:
        delattr(signal, name)
for module in posix_only:
    sys.modules[module] = None  # "import resource" now raises ImportError
assert not hasattr(signal, "SIGXFSZ") and not hasattr(signal, "SIGKILL")

from dlcourse.grading.check import run_check

namespace = {"__name__": "__main__"}
for cell in json.load(open(notebook, encoding="utf-8"))["cells"]:
    source = "".join(cell["source"])
    hidden = "hidden-tests" in cell["metadata"].get("tags", [])
    if cell["cell_type"] == "code" and not hidden and "dlcourse.check" not in source:
        try:  # as in a kernel: a cell that raises (a stub) stops, the next one runs
            exec(compile(source, notebook, "exec"), namespace)
        except NotImplementedError:
            pass
result = run_check(notebook.rsplit("/", 1)[-1][:2], namespace)
print(json.dumps({
    "error": result.error,
    "score": result.score,
    "max_score": result.max_score,
    "failed": [t.feedback for t in result.tests if not t.passed],
    "resource": sys.modules.get("resource", "absent"),
}, default=repr))
"""


def run_without_posix(notebook: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DLCOURSE_GRADING", None)  # inside the grader the check does nothing
    args = [json.dumps(WINDOWS_SIGNALS), json.dumps(POSIX_ONLY_MODULES)]
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(notebook), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["13_residual_sets", "16_attention"])
def test_check_grades_a_solution_without_resource_or_posix_signals(name):
    result = run_without_posix(SOLUTIONS / f"{name}.ipynb")
    assert result["error"] is None
    assert result["max_score"] > 0
    assert result["score"] == result["max_score"], result["failed"]
    assert result["resource"] is None  # it stayed unimportable: nothing needed it


def test_check_without_posix_still_fails_a_stub():
    result = run_without_posix(EXERCISES / "13_residual_sets.ipynb")
    assert result["error"] is None and result["max_score"] == 10
    assert result["score"] == 0
    assert all("not implemented yet" in text for text in result["failed"])
