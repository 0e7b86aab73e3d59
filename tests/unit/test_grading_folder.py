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

COURSE = Path(__file__).resolve().parents[1] / "grading_fixtures" / "course"
SOLUTION = COURSE / "solutions" / "00_fixture.ipynb"
WRONG = "def add(a, b):\n    return a - b\n"


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
