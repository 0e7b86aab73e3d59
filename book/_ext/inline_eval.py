"""Numbers in the prose: the ``{eval}`` role, rendered from values stored in the notebook.

A chapter quotes a computed number by writing an inline expression in a Markdown cell::

    The stability limit is {eval}`prose["gd-lr-limit"]`.

Three readers of that cell, one stored value:

* **JupyterLab** (jupyterlab-myst) evaluates the expression in the kernel when the cell is
  run, and stores the result in the cell's metadata, ``user_expressions``: a list of
  ``{"expression": ..., "result": {"status": "ok", "data": {"text/plain": ...}, ...}}``.
  Before the notebook is run it shows the stored result.
* **The website** (this Sphinx extension): myst-nb evaluates ``{eval}`` only when it executes
  notebooks itself, inline, without a cache. This role instead reads the value stored in the
  cell's ``user_expressions``, so the build keeps its execution cache and renders exactly
  what Lab shows. The text is rendered as ``{glue:text}`` rendered it (an inline
  ``pasted-text`` span), quotes of a string's ``repr`` stripped as jupyterlab-myst does.
* **The authors**: ``tools/execute_chapters.py`` runs a notebook top to bottom and evaluates
  each Markdown cell's expressions where the cell stands, storing them in the same format
  (a figure's caption lives in its code cell's metadata, ``mystnb.figure.caption``: its
  expressions are evaluated after that cell and stored in the code cell).
  ``tests/book`` checks that every expression has a stored value, and the nbval run checks
  that the stored values equal a fresh execution.

A missing or failed value is a build warning (``-W`` makes it an error), never a silent gap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes

# {eval}`expression` (MyST role syntax; the expression contains no backquote)
EVAL = re.compile(r"\{eval\}`([^`]+)`")
METADATA_KEY = "user_expressions"
# jupyterlab-myst shows a string result without the quotes of its repr
_QUOTED = re.compile(r"^([\"'])(.*)\1$", re.S)


def expressions(markdown: str) -> list[str]:
    """The distinct ``{eval}`` expressions of a Markdown text, in order of appearance."""
    return list(dict.fromkeys(EVAL.findall(markdown)))


def prose_of(cell: dict) -> str:
    """The MyST text of a cell that may quote values: a Markdown cell's source, or the
    caption of the figure a code cell shows (``mystnb.figure.caption`` in its metadata; the
    expressions there are evaluated after the cell has run and stored in the code cell)."""
    if cell.get("cell_type") == "markdown":
        source = cell.get("source", "")
        return "".join(source) if isinstance(source, list) else source
    if cell.get("cell_type") == "code":
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        return figure.get("caption", "") if isinstance(figure, dict) else ""
    return ""


def shown_text(result: dict) -> str:
    """The text a reader sees for a stored result (``text/plain``, string quotes stripped).

    Raises ``ValueError`` for an error result or one without ``text/plain``."""
    if result.get("status") != "ok":
        raise ValueError(f"{result.get('ename', 'error')}: {result.get('evalue', '')}")
    text = result.get("data", {}).get("text/plain")
    if text is None:
        raise ValueError(f"no text/plain in the stored result (has {sorted(result['data'])})")
    text = "".join(text) if isinstance(text, list) else text
    quoted = _QUOTED.match(text)
    return quoted.group(2) if quoted else text


def stored_values(cells: list[dict]) -> list[list[tuple[str, dict]]]:
    """For each cell, the ``(expression, result)`` pairs stored in its metadata."""
    out = []
    for cell in cells:
        entries = cell.get("metadata", {}).get(METADATA_KEY) or []
        out.append([(e["expression"], e["result"]) for e in entries])
    return out


class _Document:
    """The stored values of one notebook, handed out in document order.

    A role only knows its expression, not its cell; since docutils parses the cells in
    order, the next stored entry with that expression (from a cursor that moves forward)
    is the one of the role's own cell, even when an expression such as ``acc`` is quoted in
    two cells with different values."""

    def __init__(self, path: Path):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        self.entries = [e for cell in stored_values(cells) for e in cell]
        self.cursor = 0

    def take(self, expression: str) -> dict:
        n = len(self.entries)
        for k in range(n):
            i = (self.cursor + k) % n
            if self.entries[i][0] == expression:
                self.cursor = i + 1
                return self.entries[i][1]
        raise KeyError(expression)


def eval_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    env = inliner.document.settings.env
    stored = env.temp_data.get("inline_eval")  # Sphinx clears temp_data after each page
    if stored is None:
        path = Path(env.doc2path(env.docname))
        if path.suffix != ".ipynb":
            msg = inliner.reporter.warning(
                f"{{eval}} is only available in notebooks, not in {path.name}", line=lineno
            )
            return [inliner.problematic(rawtext, rawtext, msg)], [msg]
        stored = env.temp_data["inline_eval"] = _Document(path)
    try:
        value = shown_text(stored.take(text))
    except KeyError:
        problem = (
            f"{{eval}}`{text}` has no stored value: run tools/execute_chapters.py on "
            f"{env.docname}.ipynb (or Run All in JupyterLab) and commit the notebook"
        )
    except ValueError as err:
        problem = f"{{eval}}`{text}` stored an error: {err}"
    else:
        node = nodes.inline(rawtext, value, classes=["pasted-text"])
        return [node], []
    msg = inliner.reporter.warning(problem, line=lineno)
    return [inliner.problematic(rawtext, rawtext, msg)], [msg]


def setup(app):
    # myst-nb registers its own ``eval`` role (kernel evaluation, inline execution only);
    # local extensions are set up after it, so this one replaces it.
    app.add_role("eval", eval_role, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
