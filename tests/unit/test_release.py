"""``dlcourse release``: stubs, hidden cells, determinism, ``--check``."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from dlcourse.cli import main
from dlcourse.grading.release import release, release_text, strip_solutions

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "grading_fixtures" / "course" / "solutions"

TRICKY = '''\
class Net:
    def step(self, x):
        """Docstring stays."""
        if x > 0:
            # BEGIN SOLUTION
            y = x
            for i in range(3):
                y += i
            # END SOLUTION
        else:
            # BEGIN SOLUTION
            y = -x
            # END SOLUTION
        return y


# BEGIN SOLUTION
CONSTANT = 3
# END SOLUTION
'''


def test_stub_keeps_signature_docstring_and_indentation():
    out = strip_solutions(TRICKY)
    ast.parse(out)  # still valid Python
    lines = out.splitlines()
    stubs = [line for line in lines if "NotImplementedError" in line]
    assert [len(s) - len(s.lstrip()) for s in stubs] == [12, 12, 0]
    assert 'raise NotImplementedError("step(): replace this line by your code")' in stubs[0]
    assert '"""Docstring stays."""' in out and "def step(self, x):" in out
    assert "y += i" not in out and "CONSTANT" not in out and "SOLUTION" not in out
    assert "return y" in out


@pytest.mark.parametrize(
    "bad", ["# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n", "# BEGIN SOLUTION\n" * 2]
)
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(ValueError, match="SOLUTION"):
        strip_solutions(bad, where="nb.ipynb, cell 3")


def test_markdown_answers_are_blanked():
    out = strip_solutions("Answer:\n# BEGIN SOLUTION\nforty-two\n# END SOLUTION", markdown=True)
    assert out == "Answer:\n*Your answer here.*"


def test_release_removes_hidden_cells_and_outputs(tmp_path):
    source = tmp_path / "solutions"
    shutil.copytree(FIXTURE, source)
    nb = nbformat.read(source / "00_fixture.ipynb", as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="hello")]
    nb.cells[1].execution_count = 7
    nbformat.write(nb, source / "00_fixture.ipynb")
    report = release(source, tmp_path / "exercises")
    assert [p.name for p in report.written] == ["00_fixture.ipynb"]
    out = nbformat.read(tmp_path / "exercises" / "00_fixture.ipynb", as_version=4)
    assert len(out.cells) == len(nb.cells) - 1
    assert all("hidden-tests" not in c.metadata.get("tags", []) for c in out.cells)
    for cell in out.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            ast.parse(cell.source)
    assert out.metadata["dlcourse"] == {"exercise": "00_fixture"}
    text = (tmp_path / "exercises" / "00_fixture.ipynb").read_text()
    assert text == release_text(source / "00_fixture.ipynb")  # deterministic
    assert release(source, tmp_path / "exercises").written == []  # nothing to rewrite


def test_check_detects_drift_missing_and_extra(tmp_path, capsys):
    dest = tmp_path / "exercises"
    args = ["release", "--source", str(FIXTURE), "--dest", str(dest)]
    assert main([*args, "--check"]) == 1  # missing
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    target = dest / "00_fixture.ipynb"
    data = json.loads(target.read_text())
    data["cells"][0]["source"] = "edited by hand"
    target.write_text(json.dumps(data))
    assert main([*args, "--check"]) == 1
    assert "differ" in capsys.readouterr().out
    main(args)
    (dest / "99_stale.ipynb").write_text("{}")
    assert main([*args, "--check"]) == 1
    assert "extra" in capsys.readouterr().out


def test_committed_exercises_are_what_release_produces():
    report = release(ROOT / "solutions", ROOT / "exercises", check=True)
    assert report.clean, f"run `dlcourse release`: {report}"


def test_student_release_outside_a_checkout_says_why(tmp_path, monkeypatch, capsys):
    """The public tests are cut by the build step tools/public_tests.py, which only a
    checkout has: elsewhere --student stops with a message, not a traceback."""
    from dlcourse.grading import release as release_module

    monkeypatch.setattr(release_module, "CHECKOUT", tmp_path / "installed")
    assert main(["release", "--student", str(tmp_path / "course")]) == 2
    err = capsys.readouterr().err
    assert "releasing for students runs in a checkout" in err and "public_tests.py" in err
    assert not (tmp_path / "course").exists(), "nothing is written when it cannot finish"
