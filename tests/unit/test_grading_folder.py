"""Grading a folder: one row per submission, every other file listed, honest exit status.

Each case failed before: ``zoe.ipynb`` and ``zoe.py`` shared one row name and one result
file (the second overwrote the first), files that were not graded were not mentioned,
subfolders were reported by their name only, and the exit status was 0 when a submission
could not be graded.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.grading import sandbox

COURSE = Path(__file__).resolve().parents[1] / "grading_fixtures" / "course"
SOLUTION = COURSE / "solutions" / "00_fixture.ipynb"
WRONG = "def add(a, b):\n    return a - b\n"
STRONG = sandbox.problem("strong")
pytestmark = pytest.mark.skipif(
    STRONG is not None, reason=f"the grader's sandbox cannot run here: {STRONG}"
)


def _grade(folder: Path, out: Path, capsys) -> tuple[int, dict, dict, str]:
    argv = ["grade", str(folder), "--exercise", "00", "--tests-dir", str(COURSE / "tests")]
    argv += ["--jobs", "2", "--test-timeout", "5", "--timeout", "60"]
    code = main([*argv, "--json", str(out / "json"), "--csv", str(out / "summary.csv")])
    rows = {r["student"]: r for r in csv.DictReader(open(out / "summary.csv"))}
    results = {
        p.name[: -len(".json")]: json.loads(p.read_text()) for p in (out / "json").glob("*.json")
    }
    return code, rows, results, capsys.readouterr().out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copy(SOLUTION, folder / "zoe.ipynb")
    (folder / "zoe.py").write_text(WRONG)
    (folder / "notes.txt").write_text("not a submission\n")
    shutil.copy(SOLUTION, folder / ".hidden.ipynb")
    work = folder / "alice" / "hw"
    (work / ".ipynb_checkpoints").mkdir(parents=True)
    shutil.copy(SOLUTION, work / "00_fixture.ipynb")
    shutil.copy(SOLUTION, work / ".ipynb_checkpoints" / "00_fixture-checkpoint.ipynb")
    (folder / "alice" / "readme.md").write_text("hello\n")
    (folder / "bob").mkdir()
    (folder / "bob" / "data.csv").write_text("1,2\n")
    return folder


def test_same_stem_different_extension_gives_two_rows_and_two_files(mixed, tmp_path, capsys):
    code, rows, results, output = _grade(mixed, tmp_path, capsys)
    assert set(rows) == {"zoe.ipynb", "zoe.py", "alice", "bob"}
    assert set(results) == set(rows)  # one result file each: nothing overwritten
    assert rows["zoe.ipynb"]["score"] == "8" and results["zoe.ipynb"]["score"] == 8
    assert rows["zoe.py"]["score"] == "0" and results["zoe.py"]["score"] == 0
    # subfolders by their real path; the one notebook found at any depth is graded
    assert rows["alice"]["file"] == "alice/hw/00_fixture.ipynb"
    assert rows["alice"]["score"] == "8"
    assert rows["zoe.py"]["file"] == "zoe.py"
    # every file not graded is listed with its reason
    for name, reason in [
        ("notes.txt", "not a .ipynb notebook or a .py file"),
        (".hidden.ipynb", "hidden file"),
        ("00_fixture-checkpoint.ipynb", "Jupyter checkpoint"),
        ("readme.md", "not a .ipynb notebook"),
        ("data.csv", "not a .ipynb notebook"),
    ]:
        line = next(
            (x for x in output.splitlines() if x.startswith("not graded:") and name in x), ""
        )
        assert reason in line, (name, output[-2000:])
    # bob's folder holds no submission: the run says so and exits with status 1
    assert "no .ipynb notebook or .py file found in bob/" in results["bob"]["output"]
    assert results["bob"]["score"] == 0 and results["bob"]["extra_data"]["max_score"] == 8
    assert code == 1
    last = output.strip().splitlines()[-1]
    assert last.startswith("graded 3 of 4 submissions; 1 could not be graded (bob)"), last
    assert "5 file(s) not graded" in last


def test_exit_status_is_zero_when_everything_was_graded_whatever_the_scores(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ann.py").write_text(WRONG)
    shutil.copy(SOLUTION, folder / "ben.ipynb")
    code, rows, _, output = _grade(folder, tmp_path, capsys)
    assert code == 0 and rows["ann"]["score"] == "0" and rows["ben"]["score"] == "8"
    assert output.strip().splitlines()[-1] == "graded 2 of 2 submissions"


def test_names_never_collide_and_nothing_printed_carries_escapes(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("x.py", "Y.py", "y.py"):
        (folder / name).write_text(WRONG)
    for name in ("x.py.ipynb", "x.ipynb"):
        shutil.copy(SOLUTION, folder / name)
    escape = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, retitle the terminal
    (folder / f"eve{escape}.py").write_text(
        f"def add(a, b):\n    raise ValueError({escape!r} + 'N' * 3000)\n"
    )
    cells = [{"cell_type": "code", "source": f"raise ValueError('cell {i}')", "metadata": {}}
             for i in range(40)]  # fmt: skip
    (folder / "many.ipynb").write_text(json.dumps({"cells": cells}))
    code, rows, results, output = _grade(folder, tmp_path, capsys)
    assert len(rows) == len(results) == 7  # seven submissions, seven rows, seven result files
    assert rows["x.py"]["file"] == "x.py" and rows["x.py"]["score"] == "0"
    assert rows["x.py (2)"]["file"] == "x.py.ipynb" and rows["x.py (2)"]["score"] == "8"
    assert rows["x.ipynb"]["file"] == "x.ipynb" and rows["x.ipynb"]["score"] == "8"
    assert rows["Y"]["file"] == "Y.py" and rows["y (2)"]["file"] == "y.py"  # case-insensitive
    assert "\x1b" not in output and "\x07" not in output
    assert "\x1b" not in (tmp_path / "summary.csv").read_text()
    assert all("\x1b" not in json.dumps(r) for r in results.values())
    eve = next(name for name in rows if name.startswith("eve"))
    assert eve == "eve"  # the whole sequences are removed, not just their escape bytes
    add = next(t for t in results[eve]["tests"] if t["name"] == "test_add_numbers")
    assert "raised ValueError: NNN" in add["output"] and len(add["output"]) <= 2000
    many = results["many"]["output"].splitlines()
    assert len(many) == 21 and many[-1] == "... and 20 more notes", many[-3:]
    assert all(len(line) <= 500 for line in many)


def test_the_csv_has_a_column_per_test_and_each_student_a_feedback_page(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ann.py").write_text(WRONG)
    shutil.copy(SOLUTION, folder / "ben.ipynb")
    _grade(folder, tmp_path, capsys)
    with open(tmp_path / "summary.csv") as fh:
        header = next(csv.reader(fh))
    tests = ["test_add_numbers", "test_sigmoid_values", "test_scale_in_place",
             "test_counter_object", "test_sigmoid_random_shapes",
             "test_apply_twice_calls_back"]  # fmt: skip
    fixed = ["student", "exercise", "score", "max_score", "status", "isolation", "file"]
    assert header == fixed + tests
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "summary.csv"))}
    assert [rows["ben"][t] for t in tests] == ["1", "2", "1", "1", "2", "1"]
    assert [rows["ann"][t] for t in tests] == ["0", "0", "0", "0", "0", "0"]
    page = (tmp_path / "json" / "ann.md").read_text()
    assert page.startswith("# Feedback: ann\n") and "**0 / 8** points" in page
    assert "| test\\_add\\_numbers | 0 / 1 | failed |" in page
    assert "### test\\_add\\_numbers" in page and "add(2, 3) should be 5" in page
    assert "**8 / 8** points" in (tmp_path / "json" / "ben.md").read_text()
