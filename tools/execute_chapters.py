"""Execute chapters top to bottom and store the values their prose quotes.

    python tools/execute_chapters.py book/05_backprop.ipynb [book/07_optimization.ipynb ...]

Runs every cell in order in a fresh kernel, as Run All does in JupyterLab: code cells get
their outputs (as ``jupyter nbconvert --execute`` gives them), and each Markdown cell's
``{eval}`` expressions are evaluated where the cell stands, so an expression sees the
kernel's state after the code cells above it (those of a figure caption, in a code cell's
metadata, right after that cell). The results go into the cell's
``user_expressions`` metadata in the format jupyterlab-myst writes; the book's
``inline_eval`` extension renders them on the website. An expression that raises stops the
run with its name and error, and the notebook on disk is left as it was: it is replaced only
after a complete run (written to a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from inline_eval import METADATA_KEY, expressions, prose_of  # noqa: E402


class ExpressionError(RuntimeError):
    pass


class InlineExpressionClient(NotebookClient):
    """An nbclient that also evaluates the ``{eval}`` expressions of Markdown cells."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, **kwargs):
        if cell.cell_type == "code":
            await super().async_execute_cell(cell, cell_index, execution_count, **kwargs)
        exprs = expressions(prose_of(cell))
        if not exprs:
            cell.metadata.pop(METADATA_KEY, None)
            return cell
        # an empty execute request that carries the expressions, as jupyterlab-myst sends it
        msg_id = self.kc.execute(
            "",
            silent=True,
            store_history=False,
            user_expressions={str(i): e for i, e in enumerate(exprs)},
        )
        reply = await self.async_wait_for_reply(msg_id, cell)
        results = reply["content"]["user_expressions"]
        stored = []
        for i, expression in enumerate(exprs):
            result = results[str(i)]
            if result.get("status") != "ok":
                raise ExpressionError(
                    f"cell {cell_index}: {{eval}}`{expression}` raised "
                    f"{result.get('ename')}: {result.get('evalue')}"
                )
            stored.append({"expression": expression, "result": result})
        cell.metadata[METADATA_KEY] = stored
        return cell


def execute(path: Path, timeout: int = 1200) -> int:
    """Execute the notebook at ``path`` in place; returns the number of expressions stored."""
    nb = nbformat.read(path, as_version=4)
    client = InlineExpressionClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
    )
    client.execute()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sum(len(c.metadata.get(METADATA_KEY, [])) for c in nb.cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"expected a notebook file (.ipynb), got {path}")
    for path in args.notebooks:
        n = execute(path, args.timeout)
        print(f"{path}: executed, {n} inline expressions stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
