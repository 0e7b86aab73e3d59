"""Numbers in the prose: ``{eval}`` roles with stored values, the same on the website and in
JupyterLab, checked against a fresh execution.

``book/_ext/inline_eval.py`` renders the stored values on the website, ``tools/
execute_chapters.py`` stores them, ``plugins/nbval_inline_eval.py`` compares them with a fresh
run inside each notebook's nbval test (``test_notebooks.py``). Here: every expression has a
stored value, no ``{glue}`` is left, the website shows the stored values, and the nbval check
really fails on a stale value.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from inline_eval import METADATA_KEY, _Document, expressions, prose_of, shown_text  # noqa: E402

sys.path.pop(0)


def _ok(text: str) -> dict:
    return {"status": "ok", "data": {"text/plain": text}, "metadata": {}}


def test_every_eval_has_a_stored_value_and_no_glue_is_left(notebook):
    nb = nbformat.read(notebook, as_version=4)
    missing, glue = [], []
    for i, cell in enumerate(nb.cells):
        stored = {e["expression"]: e["result"] for e in cell.metadata.get(METADATA_KEY, [])}
        for expression in expressions(prose_of(cell)):
            result = stored.get(expression)
            if result is None or result.get("status") != "ok":
                missing.append(f"cell {i}: {{eval}}`{expression}`")
        if "{glue" in prose_of(cell):
            glue.append(f"cell {i} (prose)")
        if cell.cell_type == "code" and re.search(
            r"^\s*from myst_nb import glue|\bglue\(", cell.source, re.M
        ):
            glue.append(f"cell {i} (code)")
    assert not missing, (
        f"{notebook.name}: expressions without a stored value (run "
        f"`python tools/execute_chapters.py book/{notebook.name}`):\n" + "\n".join(missing)
    )
    assert not glue, f"{notebook.name} still uses myst-nb's glue: {glue}"


def test_the_shown_text_strips_a_string_s_quotes_as_jupyterlab_myst_does():
    assert shown_text(_ok("0.15")) == "0.15"
    assert shown_text(_ok("'85.2 %'")) == "85.2 %"
    assert shown_text(_ok('"it\'s"')) == "it's"
    assert shown_text(_ok("'a' and 'b'")) == "a' and 'b"  # the same regex as Lab's
    with pytest.raises(ValueError, match="NameError: name 'x' is not defined"):
        shown_text({"status": "error", "ename": "NameError", "evalue": "name 'x' is not defined"})


def test_a_repeated_expression_takes_the_value_of_its_own_cell(tmp_path):
    """``acc`` quoted in two cells with different values: the role of the second cell shows
    the second value (the renderer hands stored entries out in document order)."""
    nb = nbformat.v4.new_notebook()
    for value in ("0.5", "0.9"):
        cell = nbformat.v4.new_markdown_cell("accuracy {eval}`acc`")
        cell.metadata[METADATA_KEY] = [{"expression": "acc", "result": _ok(value)}]
        nb.cells.append(cell)
    path = tmp_path / "two.ipynb"
    nbformat.write(nb, path)
    stored = _Document(path)
    assert [shown_text(stored.take("acc")) for _ in range(2)] == ["0.5", "0.9"]
    with pytest.raises(KeyError):
        stored.take("loss")


def _text(page: Path) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def test_the_website_shows_every_stored_value(built_book, notebook):
    page = built_book.html / notebook.relative_to(ROOT).with_suffix(".html")
    shown = re.findall(
        r'<span class="pasted-text">(.*?)</span>', page.read_text(encoding="utf-8"), re.S
    )
    shown = [html.unescape(s) for s in shown]
    nb = nbformat.read(notebook, as_version=4)
    expected = []
    for cell in nb.cells:
        stored = {e["expression"]: e["result"] for e in cell.metadata.get(METADATA_KEY, [])}
        quoted = re.findall(r"\{eval\}`([^`]+)`", prose_of(cell))
        expected += [shown_text(stored[e]) for e in quoted]
    # the rendered spans are the stored values, role for role (exercise solutions included)
    assert sorted(shown) == sorted(expected), (
        f"{notebook.name}: the page shows other values than those stored"
    )
    assert "{eval}" not in _text(page) and "{glue" not in _text(page)


STALE = """\
import nbformat, sys
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
code = nbformat.v4.new_code_cell("x = 21 * 2", execution_count=1)
text = nbformat.v4.new_markdown_cell("The answer is {eval}`x`.")
text.metadata["user_expressions"] = [
    {"expression": "x", "result": {"status": "ok", "data": {"text/plain": sys.argv[2]},
                                   "metadata": {}}}]
nb.cells = [code, text]
nbformat.write(nb, sys.argv[1])
"""


@pytest.mark.parametrize(("stored", "passes"), [("42", True), ("41", False)])
def test_nbval_fails_on_a_stale_stored_value(tmp_path, stored, passes):
    notebook = tmp_path / "quote.ipynb"
    subprocess.run([sys.executable, "-c", STALE, str(notebook), stored], check=True)
    plugins = str(Path(__file__).parent / "plugins")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(notebook), "-p", "nbval_inline_eval",
         "-p", "no:cacheprovider", "-q", "-o", "addopts="],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=plugins),
    )  # fmt: skip
    assert (proc.returncode == 0) is passes, proc.stdout[-3000:]
    assert "Eval before Cell 1" in proc.stdout or passes
    assert ("2 passed" in proc.stdout) is passes, proc.stdout[-3000:]
