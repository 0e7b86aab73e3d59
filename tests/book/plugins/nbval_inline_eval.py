"""nbval plugin: check the values the prose quotes, not only the code cells' outputs.

``tests/book/test_notebooks.py`` loads it into each nbval run (``-p nbval_inline_eval``).
A Markdown cell with ``{eval}`expr``` roles keeps the values of its expressions in its
``user_expressions`` metadata (``book/_ext/inline_eval.py``); the website renders those
stored values. nbval itself only runs code cells, so a chapter whose code changed could
keep quoting stale numbers. This plugin adds, for each such Markdown cell (and each figure caption
of a code cell, ``mystnb.figure.caption``), one test item
in the cell's place in the run (after the code cells above it, before those below it): it
evaluates the cell's expressions in the same kernel with ``display(...)`` and compares what
the kernel shows with the stored results, through nbval's own comparison, so the
sanitising and the number rounding of ``nbval_numbers`` apply to them as to every output.
The items are named ``Eval before Cell N`` (N counts code cells, as nbval's names do). A
Markdown cell that quotes what legitimately varies (timings) carries the tag
``nbval-ignore-output`` like a code cell: its expressions must still evaluate.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import nbformat
from nbval.plugin import IPyNbCell, IPyNbFile, find_metadata_tags

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "book" / "_ext"))
from inline_eval import METADATA_KEY, expressions, prose_of  # noqa: E402


def expression_cell(cell) -> nbformat.NotebookNode:
    """A code cell that displays each expression quoted by ``cell``, with the stored results
    as its expected outputs (an expression with no stored value expects a note, and fails)."""
    exprs = expressions(prose_of(cell))
    stored = {e["expression"]: e["result"] for e in cell.metadata.get(METADATA_KEY, [])}
    source = "\n".join(f"display({e})" for e in exprs)
    outputs = [
        nbformat.v4.new_output("display_data", data=stored[e].get("data", {}), metadata={})
        for e in exprs
        if e in stored and stored[e].get("status") == "ok"
    ]
    if len(outputs) < len(exprs):
        missing = [e for e in exprs if e not in stored]
        outputs.append(
            nbformat.v4.new_output(
                "stream", name="stdout", text=f"(no stored value for {', '.join(missing)})\n"
            )
        )
    # nbval compares only cells that were run in the reference notebook
    return nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=1)


_collect = IPyNbFile.collect


def collect(self):
    items = _collect(self)
    first = next(items, None)  # the original reads self.nb on its first step
    if first is None:
        return
    code_items = iter([first, *items])
    code_seen = 0
    for cell in self.nb.cells:
        if cell.cell_type == "code":
            yield next(code_items)
            code_seen += 1
        if expressions(prose_of(cell)):  # a Markdown cell, or a figure caption after its cell
            # a cell that quotes timings is tagged nbval-ignore-output: its expressions are
            # still evaluated (they must not raise), their values not compared
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options.setdefault("check", self.compare_outputs)
            yield IPyNbCell.from_parent(
                self,
                name=f"Eval before Cell {code_seen}",
                cell_num=code_seen,
                cell=expression_cell(cell),
                options=options,
            )
    yield from code_items


IPyNbFile.collect = collect
