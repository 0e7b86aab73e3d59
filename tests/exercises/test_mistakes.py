"""The mistake catalogue: each known-wrong submission loses exactly the points meant to catch it.

Every file ``mistakes/NN_<what>.txt`` describes one typical bug as an edit of the code of
``solutions/NN_*.ipynb``: three header lines, then one or more blocks in the style of a merge
conflict (the solution's lines, then what the mistake writes instead)::

    # MISTAKE: <what is wrong>
    # LOSES: test_a, test_b        (the exact tests that must fail; all others must pass)
    # FEEDBACK: <text that the feedback of at least one failing test must contain>

            return (delta_next @ W_next.T) * sigmoid_prime(z)
            return (delta_next @ W_next) * sigmoid_prime(z)

The lines of each ``solution`` side must occur exactly once in the solution's code, so an
edit never lands in the wrong place, and a solution change that breaks an edit fails
``test_mistake_edits_apply``. The submission (a ``.py`` file: the solution's code cells with
the edits made) is graded by the exercise's own test module (as ``--submission``) in a
pytest process separate from this one (one per exercise); outcomes are read back from JUnit
XML. This module also checks that the points of every exercise add up to what the notebooks
state.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dlcourse.grading import sandbox
from dlcourse.grading.extract import read_submission

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE.parents[1] / "solutions"
MISTAKES = sorted((HERE / "mistakes").glob("[0-9][0-9]_*.txt"))
_EDIT = re.compile(r"^<{7} solution\n(.*?)^={7}\n(.*?)^>{7} mistake\n", re.MULTILINE | re.DOTALL)

# exercise -> (public points, hidden points), as stated in each solution notebook's introduction
EXPECTED_POINTS = {
    "01": (6, 5),
    "02": (6, 5),
    "03": (6, 6),
    "04": (5, 5),
    "05": (5, 5),
    "06": (10, 10),
    "07": (6, 6),
    "08": (6, 6),
    "09": (6, 6),
    "10": (6, 6),
    "11": (7, 7),
    "12": (6, 6),
    "13": (10, 10),
    "14": (12, 10),
    "15": (10, 10),
    "16": (7, 7),
    "17": (7, 7),
    "18": (7, 7),
    "19": (7, 7),
    "20": (7, 7),
}
NEEDS_TORCH = {"10"}


def parse_header(path: Path) -> dict[str, str]:
    """Read the ``# MISTAKE:``, ``# LOSES:`` and ``# FEEDBACK:`` lines of a mistake file.

    A long value may continue on following comment lines indented by three spaces (``#   ``).
    """
    header: dict[str, str] = {}
    key = None
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#   ") and key:
            header[key] += " " + line[1:].strip()
            continue
        name, sep, value = line[1:].partition(":")
        if sep:
            key = name.strip().upper()
            header[key] = value.strip()
    missing = {"MISTAKE", "LOSES", "FEEDBACK"} - header.keys()
    if missing:
        raise ValueError(f"{path.name}: header lacks {sorted(missing)}")
    return header


def parse_edits(path: Path) -> list[tuple[str, str]]:
    """The ``(solution lines, mistake lines)`` blocks of a mistake file (each ends in a newline)."""
    text = path.read_text()
    edits = [(m.group(1), m.group(2)) for m in _EDIT.finditer(text)]
    if not edits:
        raise ValueError(f"{path.name}: no '<<<<<<< solution' ... '>>>>>>> mistake' block")
    rest = _EDIT.sub("", text)
    if "<<<<<<<" in rest or ">>>>>>>" in rest:
        raise ValueError(f"{path.name}: a block is not closed as '=======' ... '>>>>>>> mistake'")
    return edits


def solution_code(number: str) -> str:
    """The code cells of ``solutions/NN_*.ipynb`` as one Python source."""
    notebooks = sorted(SOLUTIONS.glob(f"{number}_*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(
            f"expected one notebook solutions/{number}_*.ipynb, found {len(notebooks)}"
        )
    cells = read_submission(notebooks[0]).cells
    return "\n\n".join(cell["source"].rstrip("\n") for cell in cells) + "\n"


def build_submission(mistake: Path, directory: Path) -> Path:
    """Write the solution with the mistake's edits made to ``directory/<mistake>.py``."""
    code = solution_code(mistake.name[:2])
    for i, (old, new) in enumerate(parse_edits(mistake), 1):
        found = code.count(old)
        if found != 1:
            raise ValueError(
                f"{mistake.name}, block {i}: its solution lines occur {found} times in the "
                f"solution's code (expected exactly once):\n{old}"
            )
        code = code.replace(old, new)
    target = directory / f"{mistake.stem}.py"
    target.write_text(code)
    return target


def exercise_test_module(number: str) -> Path:
    files = sorted(HERE.glob(f"test_{number}_*.py"))
    if len(files) != 1:
        raise ValueError(f"expected one test module test_{number}_*.py, found {len(files)}")
    return files[0]


# Runs in the child process: grade each submission in turn with pytest.main, one JUnit
# report each. One process per exercise (instead of one per mistake) keeps start-up costs low.
_DRIVER = """
import sys, pytest
test_file, report_dir, *submissions = sys.argv[1:]
for i, sub in enumerate(submissions):
    pytest.main([test_file, "--submission", sub, "-q", "-p", "no:cacheprovider",
                 "--junitxml", f"{report_dir}/{i}.xml"])
"""


def read_junit(report: Path) -> dict[str, tuple[str, str]]:
    """``{test name: (status, message)}`` from a JUnit XML report.

    Only the failure's message, the text that becomes feedback: the report's traceback also
    quotes the test's source, where any hint text can be found whether it was shown or not.
    """
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        status, text = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag
                text = child.get("message") or ""
        outcomes[case.get("name").split("[")[0]] = (status, text)
    return outcomes


@functools.cache
def graded(number: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Grade every mistake of exercise ``number``; ``{mistake file name: outcomes}``."""
    test_file = exercise_test_module(number)
    report_dir = Path(tempfile.mkdtemp(prefix=f"mistakes{number}-"))
    mistakes = [p for p in MISTAKES if p.name[:2] == number]
    subs = [build_submission(p, report_dir) for p in mistakes]
    cmd = [sys.executable, "-c", _DRIVER, str(test_file), str(report_dir), *map(str, subs)]
    proc = subprocess.run(cmd, cwd=HERE.parents[1], capture_output=True, text=True, timeout=600)
    results = {}
    for i, mistake in enumerate(mistakes):
        report = report_dir / f"{i}.xml"
        if not report.exists():
            pytest.fail(
                f"no report for {mistake.name} (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
            )
        results[mistake.name] = read_junit(report)
    shutil.rmtree(report_dir, ignore_errors=True)
    return results


def test_catalogue_covers_every_exercise():
    counts = {nn: 0 for nn in EXPECTED_POINTS}
    for path in MISTAKES:
        counts[path.name[:2]] = counts.get(path.name[:2], 0) + 1
    need = {nn: 4 if nn == "06" else 2 for nn in EXPECTED_POINTS}
    short = {nn: n for nn, n in counts.items() if n < need.get(nn, 2)}
    assert not short, f"too few mistakes for exercises {short}"


# exercises 14 onwards are graded from test_mistakes_late.py: pytest-xdist runs a file in one
# worker, so the two halves of the catalogue can be graded on two cores at once
EARLY = [p for p in MISTAKES if p.name[:2] <= "13"]
LATE = [p for p in MISTAKES if p.name[:2] > "13"]


@pytest.mark.slow
@pytest.mark.parametrize("mistake", EARLY, ids=[p.stem for p in EARLY])
def test_mistake_loses_exactly_its_points(mistake: Path):
    check_mistake(mistake)


def check_mistake(mistake: Path) -> None:
    """Grade the mistake's submission: exactly the tests its header names fail, with its
    feedback."""
    header = parse_header(mistake)
    number = mistake.name[:2]
    if number in NEEDS_TORCH and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    why = sandbox.problem()
    if why is not None:  # the hidden tests run student code only inside the sandbox
        pytest.skip(f"the grader's sandbox cannot run here: {why}")
    expected = {name.strip() for name in header["LOSES"].split(",") if name.strip()}
    outcomes = graded(number)[mistake.name]
    unknown = expected - outcomes.keys()
    assert not unknown, f"LOSES names tests that do not exist: {sorted(unknown)}"
    skipped = sorted(n for n, (s, _) in outcomes.items() if s == "skipped")
    assert not skipped, f"tests were skipped: {skipped}"
    failed = {n for n, (s, _) in outcomes.items() if s != "passed"}
    assert failed == expected, (
        f"{mistake.name}: expected exactly {sorted(expected)} to fail, "
        f"but these failed: {sorted(failed)}"
    )
    feedback = "\n".join(outcomes[n][1] for n in failed)
    assert header["FEEDBACK"] in feedback, (
        f"{mistake.name}: no failing test's feedback mentions {header['FEEDBACK']!r}"
    )


def _points(test_file: Path) -> tuple[int, int]:
    """(public, hidden) points declared by the ``@pytest.mark.points(n)`` decorators."""
    public = hidden = 0
    for node in ast.parse(test_file.read_text()).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        points, is_hidden = None, False
        for dec in node.decorator_list:
            text = ast.unparse(dec)
            if text.startswith("pytest.mark.points("):
                points = int(ast.literal_eval(dec.args[0]))
            elif text == "pytest.mark.hidden":
                is_hidden = True
        assert points is not None, f"{test_file.name}::{node.name} has no points marker"
        if is_hidden:
            hidden += points
        else:
            public += points
    return public, hidden


@pytest.mark.parametrize("number", sorted(EXPECTED_POINTS))
def test_points_match_documentation(number: str):
    test_file = exercise_test_module(number)
    assert _points(test_file) == EXPECTED_POINTS[number]
    public, hidden = EXPECTED_POINTS[number]
    notebook = HERE.parents[1] / "solutions" / f"{test_file.stem[5:]}.ipynb"
    documented = f"**Points:** {public} public + {hidden} hidden = {public + hidden}"
    assert documented in notebook.read_text().replace("\\n", "\n"), (
        f"{notebook.name} should state '{documented}'"
    )


@pytest.mark.parametrize("mistake", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_mistake_header_is_well_formed(mistake: Path):
    header = parse_header(mistake)
    assert header["MISTAKE"] and header["FEEDBACK"], "empty MISTAKE or FEEDBACK line"
    names = [n.strip() for n in header["LOSES"].split(",") if n.strip()]
    assert names and all(n.startswith("test_") for n in names)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_mistake_edits_apply(mistake: Path, tmp_path: Path):
    built = build_submission(mistake, tmp_path).read_text()
    assert built != solution_code(mistake.name[:2]), "the edits change nothing"
    compile(built, f"{mistake.stem}.py", "exec")  # a mistake is a wrong program, not a syntax error
