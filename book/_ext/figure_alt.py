"""Give every figure's image a text alternative: its caption.

Figures glued from notebooks (``{glue:figure}``) and plain ``{figure}`` directives rarely
carry an ``:alt:`` option; docutils then writes the image's file name as its ``alt``, which
tells a screen-reader user nothing. After the references are resolved (``doctree-resolved``)
this extension copies the caption's plain text into the ``alt`` of every image of a figure
that has none, so the published pages describe each figure in words. An explicit ``:alt:``
is kept.
"""

from __future__ import annotations

import re

from docutils import nodes

MAX_ALT = 400  # characters; a long caption is cut at a word boundary


def caption_text(figure: nodes.figure) -> str:
    """The plain text of ``figure``'s caption (and legend), whitespace collapsed; '' if none."""
    parts = [n.astext() for n in figure.children if isinstance(n, (nodes.caption, nodes.legend))]
    text = re.sub(r"\s+", " ", " ".join(parts)).strip()
    if len(text) > MAX_ALT:
        text = text[:MAX_ALT].rsplit(" ", 1)[0] + " …"
    return text


def add_alt_text(app, doctree, docname) -> None:
    for figure in doctree.findall(nodes.figure):
        text = caption_text(figure)
        if not text:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = text


def setup(app):
    app.connect("doctree-resolved", add_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
