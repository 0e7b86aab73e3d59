"""Notebook front matter for JupyterLab, kept out of the website.

Each chapter's first Markdown cell starts with a YAML block, the MyST front matter that
jupyterlab-myst (and Jupyter Book 2) read: it defines the book's maths macros (``\\mat``,
``\\pd``, ``\\norm``, ...) so that the chapter's equations typeset in JupyterLab too::

    ---
    math:
      '\\R': '\\mathbb{R}'
      ...
    ---
    # Perceptrons and sigmoid neurons

Jupyter Book 1 (myst-nb) does not read front matter inside a notebook cell: it would render
the block as a horizontal rule and text. This extension removes the block from the notebook's
source before myst-nb parses it (``source-read``); the website takes its macros from
``_config.yml`` (``mathjax3_config``), the single source that ``tools/sync_macros.py`` copies
into the notebooks and ``tests/book/test_front_matter.py`` checks them against.
"""

from __future__ import annotations

import json
import re

# a YAML block at the very start of a cell: '---', the YAML, '---' (each on its own line)
BLOCK = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)


def split_front_matter(markdown: str) -> tuple[str | None, str]:
    """``(yaml_text, rest)`` of a Markdown cell; ``(None, markdown)`` when it has no block."""
    found = BLOCK.match(markdown)
    if not found:
        return None, markdown
    return found.group(1), markdown[found.end() :]


def strip_front_matter(app, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    nb = json.loads(source[0])
    first = next((c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"), None)
    if first is None:
        return
    text = first["source"]
    text = "".join(text) if isinstance(text, list) else text
    block, rest = split_front_matter(text)
    if block is not None:
        first["source"] = rest
        source[0] = json.dumps(nb)


def setup(app):
    app.connect("source-read", strip_front_matter)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
