"""A code cell a reader sees teaches; the book's bookkeeping sits in hidden cells.

The website shows a code cell in full unless it carries one of the tags ``hide-input``,
``hide-cell`` (collapsed behind a toggle), ``remove-input`` or ``remove-cell`` (not shown).
A chapter also needs code that teaches nothing: the lines that store the numbers its prose
quotes (``prose["key"] = value``, read by the ``{eval}`` roles), helpers written only for
them, reading benchmark result files just to quote them, and comments addressed to the
book's maintainers. This test fails when such a line stands in a cell a reader sees, with
the notebook, the cell, the line and the reason.

What counts as bookkeeping:

- the name ``prose`` (the dict the ``{eval}`` roles read) or ``glue`` (the old mechanism);
- a call of, or a definition of, a function whose body writes into ``prose`` (a helper such
  as ``quote4``), and a class or function defined in a visible cell that only hidden cells
  use;
- result-file bookkeeping: a string naming a ``.json`` file or the ``benchmarks`` folder, or
  the names ``RESULTS``, ``results_dir``, ``find_results``;
- a comment that speaks of the build rather than of the subject (the tests, nbval, the text
  or its sentences, "stop if a change breaks them").
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
HIDDEN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
NAMES = {
    "prose": "stores a number for the prose",
    "glue": "stores a number for the prose (glue)",
    "RESULTS": "result-file bookkeeping",
    "results_dir": "result-file bookkeeping",
    "find_results": "result-file bookkeeping",
}
BUILD_COMMENT = re.compile(
    r"stop if a change|not compared|\bnbval\b|\bthe tests\b|\{eval\}|\bglue\b"
    r"|\b(the|this) (text|prose|sentences?|caption|paragraph)\b"
    r"|as printed in|quoted? (in|by) the",
    re.IGNORECASE,
)


def is_hidden(cell: dict) -> bool:
    return bool(HIDDEN & set(cell.get("metadata", {}).get("tags", [])))


def source(cell: dict) -> str:
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else text
    # IPython magics and shell escapes are not Python: blank them, keeping line numbers
    return "\n".join("" if line.lstrip()[:1] in "%!" else line for line in text.splitlines())


def tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def defined_names(tree: ast.AST) -> list[ast.FunctionDef | ast.ClassDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def parse(text: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def prose_helpers(cells: list[dict]) -> set[str]:
    """Functions (anywhere in the notebook) whose body mentions ``prose`` or ``glue``."""
    found = set()
    for cell in cells:
        for node in defined_names(parse(source(cell))):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if names & {"prose", "glue"}:
                found.add(node.name)
    return found


def used_names(cells: list[dict]) -> set[str]:
    """Names loaded in these cells, outside the definitions of the names themselves."""
    used = set()
    for cell in cells:
        for node in ast.walk(parse(source(cell))):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
    return used


def findings(cells: list[dict]) -> list[tuple[int, int, str, str]]:
    """``(cell index, line number, line, reason)`` for every bookkeeping line that a reader
    would see among ``cells`` (the cells of one notebook)."""
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    helpers = prose_helpers([c for _, c in code])
    # names used by the code a reader sees, each definition's own body aside
    visible_use: dict[str, int] = {}
    hidden_use = used_names([c for _, c in code if is_hidden(c)])
    for _, cell in code:
        if is_hidden(cell):
            continue
        tree = parse(source(cell))
        own = {
            id(n)
            for d in defined_names(tree)
            for n in ast.walk(d)
            if isinstance(n, ast.Name) and n.id == d.name
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and id(node) not in own:
                visible_use[node.id] = visible_use.get(node.id, 0) + 1
            elif isinstance(node, ast.Attribute):
                visible_use[node.attr] = visible_use.get(node.attr, 0) + 1
    found = []
    for index, cell in code:
        if is_hidden(cell):
            continue
        text = source(cell)
        lines = text.splitlines()
        for tok in tokens(text):
            row = tok.start[0]
            line = lines[row - 1].strip() if row <= len(lines) else ""
            if tok.type == tokenize.NAME and tok.string in NAMES:
                found.append((index, row, line, NAMES[tok.string]))
            elif tok.type == tokenize.NAME and tok.string in helpers:
                found.append((index, row, line, f"{tok.string} stores numbers for the prose"))
            elif tok.type == tokenize.STRING and re.search(r"\.json\b|\bbenchmarks\b", tok.string):
                found.append((index, row, line, "result-file bookkeeping"))
            elif tok.type == tokenize.COMMENT and BUILD_COMMENT.search(tok.string):
                found.append((index, row, line, "a comment about the build, not the subject"))
        for node in parse(text).body:  # the cell's own functions and classes, not methods
            if not isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            only_hidden = node.name in hidden_use and not visible_use.get(node.name)
            if node.name not in helpers and only_hidden:
                found.append(
                    (index, node.lineno, lines[node.lineno - 1].strip(),
                     f"{node.name} is defined here but used only by hidden cells")
                )  # fmt: skip
    # one report per line
    unique = {}
    for item in found:
        unique.setdefault(item[:2], item)
    return sorted(unique.values())


def _cell(text: str, tags=()) -> dict:
    return {"cell_type": "code", "source": text, "metadata": {"tags": list(tags)}}


def test_the_check_finds_bookkeeping_in_visible_cells_only():
    teaching = "x = 2 + 2\nprint(x)  # four\n"
    cells = [
        _cell("import numpy as np\nprose = {}\n", ["remove-cell"]),
        _cell(teaching),
        _cell('prose["four"] = x\n', ["remove-input"]),
        _cell('def quote(k, v):\n    prose[k] = v\n\nquote("x", x)\n', ["hide-input"]),
    ]
    assert findings(cells) == []
    reasons = [f[3] for f in findings([*cells[:2], _cell('prose["four"] = x\n')])]
    assert reasons == ["stores a number for the prose"]
    helper = [cells[3], _cell('y = 3\nquote("y", y)\n')]
    assert [f[1:3] for f in findings(helper)] == [(2, 'quote("y", y)')]
    files = findings([_cell('bench = json.loads(Path("benchmarks/results/cnn.json").read_text())')])
    assert [f[3] for f in files] == ["result-file bookkeeping"]
    guard = "assert y > 0  # the sentences below rest on it; stop if a change breaks it"
    comment = findings([_cell(guard)])
    assert [f[3] for f in comment] == ["a comment about the build, not the subject"]
    unused = findings([_cell("class Missing:\n    pass\n"), _cell("Missing()\n", ["remove-cell"])])
    assert [f[3] for f in unused] == ["Missing is defined here but used only by hidden cells"]
    used = findings([_cell("def f(x):\n    return f(x - 1) if x else 0\n"), _cell("f(3)\n")])
    assert used == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_cells_a_reader_sees_hold_no_bookkeeping(path):
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    found = findings(cells)
    report = "\n".join(
        f"  cell {i} (id {cells[i].get('id')}), line {row}: {line[:90]}  <- {reason}"
        for i, row, line, reason in found
    )
    assert not found, (
        f"{path.name}: {len(found)} line(s) of bookkeeping in cells a reader sees; move them "
        "into a following cell tagged remove-input or remove-cell (or hide the cell):\n" + report
    )
