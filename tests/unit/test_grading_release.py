"""What students get holds no answers, and dlcourse.check works from a plain pip install.

``dlcourse release --student DIR`` writes the released notebooks, the public tests and a
README; the wheel ships the same public tests as package data. Both are searched for every
hidden test (its name and its body) and every solution region of solutions/*.ipynb. The
wheel is installed into a fresh virtual environment, away from the repository, where the
check cell of a notebook runs the public tests.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from dlcourse.grading.gradescope import build_wheel, copy_build_sources
from dlcourse.grading.release import release_student

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import public_tests as public  # noqa: E402  (the build step that cuts the hidden tests)

TESTS = ROOT / "tests" / "exercises"
SOLUTIONS = ROOT / "solutions"


def hidden_tests() -> dict[str, str]:
    """name -> source of every hidden grading test."""
    found = {}
    for module in sorted(TESTS.glob("test_[0-9][0-9]_*.py")):
        text = module.read_text()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and public._is_hidden(node):
                found[node.name] = ast.get_source_segment(text, node)
    return found


def solution_regions() -> list[str]:
    """The code between BEGIN/END SOLUTION of every solution notebook (2+ lines), and the
    instructor's hidden-test cells, whitespace-normalised."""
    regions = []
    for notebook in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if "hidden-tests" in cell["metadata"].get("tags", []):
                regions.append(" ".join(source.split()))
            for block in re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", source, re.DOTALL):
                lines = [line.strip() for line in block.splitlines() if line.strip()]
                if len(lines) >= 2:
                    regions.append(" ".join(" ".join(lines).split()))
    return regions


def assert_no_answers(texts: dict[str, str]) -> None:
    hidden = hidden_tests()
    regions = solution_regions()
    assert len(hidden) >= 20 and len(regions) >= 20  # the search is not vacuous
    for where, text in texts.items():
        flat = " ".join(text.split())
        for name in hidden:
            assert name not in text, f"hidden test {name} in {where}"
        for region in regions:
            assert region not in flat, f"solution text in {where}: {region[:80]}"


def test_public_source_cuts_exactly_the_hidden_tests():
    text = (TESTS / "test_06_backprop.py").read_text()
    out = public.public_source(text, "test_06_backprop.py")
    names = {n.name for n in ast.parse(out).body if isinstance(n, ast.FunctionDef)}
    assert {"test_output_error", "test_backprop_small", "check_backprop"} <= names
    assert not names & set(hidden_tests())
    assert "default_rng(63)" not in out and "mark.hidden" not in out


def test_a_checkout_checks_against_tests_exercises_and_holds_no_copy_of_it():
    from dlcourse.grading.check import PACKAGE_TESTS, default_tests_dir

    assert default_tests_dir() == TESTS
    tracked = subprocess.run(
        ["git", "ls-files", str(PACKAGE_TESTS)], cwd=ROOT, capture_output=True, text=True
    )
    assert not tracked.stdout.strip(), "the public tests are generated at build time, not kept"


def test_student_release_holds_notebooks_public_tests_and_no_answers(tmp_path):
    written = release_student(SOLUTIONS, TESTS, tmp_path / "course")
    course = tmp_path / "course"
    assert (course / "README.md").exists() and written
    notebooks = sorted(p.name for p in (course / "exercises").glob("*.ipynb"))
    assert notebooks == sorted(p.name for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    assert (course / "tests" / "conftest.py").exists()
    assert (course / "tests" / "test_06_backprop.py").exists()
    texts = {str(p): p.read_text() for p in course.rglob("*") if p.is_file()}
    assert_no_answers(texts)


def fresh_venv(venv: Path, wheel: Path) -> Path:
    """A new virtual environment at ``venv`` with the wheel installed and no link to the
    repository; returns its python.

    Its dependencies (numpy, pytest, ...) come from this environment's site-packages,
    added by a .pth file; the editable install of dlcourse there is not activated.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    subprocess.run([*command, "--target", purelib, str(wheel)], check=True)
    (Path(purelib) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def wheel(once, tmp_path_factory) -> Path:
    """Built once per test run, however many xdist workers run this module."""
    return Path(once("wheel", lambda: str(build_wheel(ROOT, tmp_path_factory.mktemp("wheel")))))


def test_wheel_ships_public_tests_but_no_hidden_test_or_solution(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        texts = {n: zf.read(n).decode("utf-8", "replace") for n in names}
    shipped = {
        n.rsplit("/", 1)[1]: texts[n]
        for n in names
        if n.startswith("dlcourse/grading/public_tests/") and not n.endswith("__init__.py")
    }
    assert shipped == public.public_files(TESTS), "the wheel must ship the current public tests"
    assert not any(n.startswith(("solutions/", "tests/")) or n.endswith(".ipynb") for n in names)
    assert_no_answers(texts)


def test_sdist_ships_public_tests_not_tests_and_builds_the_same_wheel(wheel, tmp_path):
    """PyPI gets an sdist: it holds the generated public tests instead of tests/ (the hidden
    tests), and a wheel built from it ships the same public tests as one from the checkout."""
    source = tmp_path / "src"
    copy_build_sources(ROOT, source)
    build = [sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
             "print(getattr(b, sys.argv[1])(sys.argv[2]))"]  # fmt: skip
    run = subprocess.run([*build, "build_sdist", str(tmp_path / "dist")], cwd=source,
                         capture_output=True, text=True, check=True)  # fmt: skip
    sdist = tmp_path / "dist" / run.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1]: m for m in tf.getmembers() if m.isfile()}
        texts = {n: tf.extractfile(m).read().decode() for n, m in members.items()}
        tf.extractall(tmp_path / "unpacked", filter="data")
    assert not any(n.startswith("tests/") for n in texts)
    assert "dlcourse/grading/public_tests/test_06_backprop.py" in texts
    assert_no_answers(texts)
    [unpacked] = (tmp_path / "unpacked").iterdir()
    run = subprocess.run([*build, "build_wheel", str(tmp_path / "dist")], cwd=unpacked,
                         capture_output=True, text=True, check=True)  # fmt: skip
    again = tmp_path / "dist" / run.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as first, zipfile.ZipFile(again) as second:
        for name in first.namelist():
            if name.startswith("dlcourse/grading/public_tests/"):
                assert first.read(name) == second.read(name), name


def test_check_runs_from_the_wheel_in_a_fresh_venv(wheel, tmp_path):
    python = fresh_venv(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "student"
    elsewhere.mkdir()
    release_student(SOLUTIONS, TESTS, elsewhere / "course")
    notebook = json.loads((elsewhere / "course" / "exercises" / "06_backprop.ipynb").read_text())
    stubs = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    check_cell = "".join(stubs[-1]["source"])
    assert 'dlcourse.check("06")' in check_cell
    solved = [
        "".join(c["source"])
        for c in json.loads((SOLUTIONS / "06_backprop.ipynb").read_text())["cells"]
        if c["cell_type"] == "code" and "hidden-tests" not in c["metadata"].get("tags", [])
    ][:-1]
    for name, cells in (("solved", solved), ("stubs", ["".join(c["source"]) for c in stubs[:-1]])):
        script = elsewhere / f"{name}.py"
        script.write_text("\n\n".join([*cells, check_cell, "print('FROM', dlcourse.__file__)\n"]))
        run = subprocess.run(
            [str(python), str(script)], cwd=elsewhere, capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"FROM {tmp_path / 'venv'}" in run.stdout, run.stdout[-500:]
        if name == "solved":
            assert ": 10 / 10" in run.stdout, run.stdout[-3000:]
        else:
            assert ": 0 / 10" in run.stdout and "not implemented yet" in run.stdout, run.stdout


@pytest.mark.parametrize(
    "notebook", sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem
)
def test_check_gives_every_solution_full_public_marks_in_process(notebook):
    """dlcourse.check runs the shipped public tests on the kernel's own functions (each call
    on copies of its inputs); every solution must pass all of them."""
    from dlcourse.grading.check import run_check

    if notebook.stem.startswith("10"):
        pytest.importorskip("torch")
    namespace: dict = {"__name__": "__main__"}
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        hidden = "hidden-tests" in cell["metadata"].get("tags", [])
        if cell["cell_type"] == "code" and not hidden and "dlcourse.check" not in source:
            exec(compile(source, notebook.name, "exec"), namespace)
    result = run_check(notebook.stem[:2], namespace)
    assert result.error is None and result.max_score > 0
    assert result.score == result.max_score, [t.feedback for t in result.tests if not t.passed]
