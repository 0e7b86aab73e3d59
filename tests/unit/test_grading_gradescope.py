"""``dlcourse release --gradescope NN OUT.zip``: an autograder that follows Gradescope's spec.

The zip is unpacked into a temporary root laid out as Gradescope's (``source/``,
``submission/``, ``results/``; the root given by ``DLCOURSE_GRADESCOPE_ROOT``) and its own
``run_autograder`` grades a correct and a wrong submission of the fixture exercise 00.
``setup.sh`` is not run (it installs packages as root); the grading uses this environment.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.grading import sandbox
from dlcourse.grading.report import GRADESCOPE_KEYS, GRADESCOPE_TEST_KEYS

COURSE = Path(__file__).resolve().parents[1] / "grading_fixtures" / "course"
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
STRONG = sandbox.problem("strong")
pytestmark = pytest.mark.skipif(
    STRONG is not None, reason=f"the grader's sandbox cannot run here: {STRONG}"
)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "autograder.zip"
    argv = ["release", "--gradescope", "00", str(out), "--tests-dir", str(COURSE / "tests")]
    assert main(argv) == 0
    return out


def test_zip_has_the_gradescope_layout(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        pins = zf.read("requirements.txt").decode().split()
    assert {"setup.sh", "run_autograder", "requirements.txt", "tests/test_00_fixture.py"} <= names
    assert any(n.startswith("dlcourse-") and n.endswith(".whl") for n in names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert "pip install -r requirements.txt" in setup and "dlcourse-*.whl" in setup
    assert any(p.startswith("numpy==") for p in pins) and any(
        p.startswith("pytest==") for p in pins
    )


def _run(autograder: Path, root: Path, files: dict[str, Path | str]) -> dict:
    """Lay out a Gradescope root, run run_autograder, return results.json."""
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(root / "source")
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    for name, content in files.items():
        target = root / "submission" / name
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_text(content)
    env = {**os.environ, "DLCOURSE_GRADESCOPE_ROOT": str(root)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    run = subprocess.run(
        [str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text())


def validate(results: dict) -> None:
    """The Gradescope autograder specification of results.json."""
    assert set(results) <= GRADESCOPE_KEYS, set(results) - GRADESCOPE_KEYS
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], (int, float)) and results["execution_time"] > 0
    assert results["stdout_visibility"] in VISIBILITY
    assert isinstance(results["output"], str)
    for t in results["tests"]:
        assert set(t) <= GRADESCOPE_TEST_KEYS, set(t) - GRADESCOPE_TEST_KEYS
        assert t["status"] in ("passed", "failed") and t["visibility"] in VISIBILITY
        assert 0 <= t["score"] <= t["max_score"] and isinstance(t["name"], str)
        assert isinstance(t["output"], str)
    assert results["score"] == sum(t["score"] for t in results["tests"])


def test_correct_submission_scores_full_marks(autograder, tmp_path):
    results = _run(
        autograder, tmp_path, {"00_fixture.ipynb": COURSE / "solutions" / "00_fixture.ipynb"}
    )
    validate(results)
    assert results["score"] == 8 and results["extra_data"]["max_score"] == 8
    assert all(t["status"] == "passed" for t in results["tests"])


def test_wrong_submission_gets_partial_marks_and_feedback(autograder, tmp_path):
    wrong = (
        "import numpy as np\n\n"
        "def add(a, b):\n    return a - b\n\n"
        "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n"
    )
    results = _run(autograder, tmp_path, {"my_work.py": wrong, "notes.txt": "hello"})
    validate(results)
    assert results["score"] == 4  # the two sigmoid tests (2 + 2 points), nothing else
    feedback = {t["name"]: t["output"] for t in results["tests"]}
    assert "add(2, 3) should be 5" in feedback["test_add_numbers"]
    hidden = [t for t in results["tests"] if t["visibility"] == "after_published"]
    assert hidden and all(t["status"] == "passed" for t in hidden)


def test_no_submission_scores_zero_with_a_reason(autograder, tmp_path):
    results = _run(autograder, tmp_path, {"readme.txt": "forgot it"})
    validate(results)
    assert results["score"] == 0 and "no .ipynb notebook or .py file" in results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == 8
