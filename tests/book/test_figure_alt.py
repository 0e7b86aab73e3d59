"""Every figure of the built book has its caption as the text alternative of its image."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))
from figure_alt import MAX_ALT, add_alt_text, caption_text  # noqa: E402

sys.path.pop(0)


def _figure(caption: str, alt: str | None = None) -> nodes.figure:
    image = nodes.image(uri="fig.png", **({"alt": alt} if alt else {}))
    return nodes.figure("", image, nodes.caption(text=caption))


def test_the_caption_becomes_the_alt_text_and_an_explicit_alt_is_kept():
    doc = nodes.document(None, None)
    plain, explicit = _figure("Two   curves:\n the loss falls."), _figure("caption", "my alt")
    doc += [plain, explicit, nodes.figure("", nodes.image(uri="bare.png"))]
    add_alt_text(None, doc, "page")
    alts = [img.get("alt") for img in doc.findall(nodes.image)]
    assert alts == ["Two curves: the loss falls.", "my alt", None]


def test_a_long_caption_is_cut_at_a_word():
    text = caption_text(_figure("word " * 200))
    assert len(text) <= MAX_ALT + 2 and text.endswith(" …") and "wor …" not in text


class _Figures(HTMLParser):
    """(alt, caption text) of every <figure> of a page."""

    def __init__(self):
        super().__init__()
        self.found, self._depth, self._alt, self._caption, self._in_caption = [], 0, None, [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self._depth, self._alt, self._caption = self._depth + 1, None, []
        elif self._depth and tag == "img" and self._alt is None:
            self._alt = dict(attrs).get("alt", "")
        elif self._depth and tag == "figcaption":
            self._in_caption = 1

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = 0
        elif tag == "figure" and self._depth:
            self._depth -= 1
            self.found.append((self._alt, re.sub(r"\s+", " ", "".join(self._caption))))

    def handle_data(self, data):
        if self._in_caption:
            self._caption.append(data)


def test_figures_of_the_built_chapters_have_their_caption_as_alt(built_book):
    checked = 0
    for page in sorted(built_book.html.glob("book/0[1-8]_*.html")):
        parser = _Figures()
        parser.feed(page.read_text(encoding="utf-8"))
        for alt, caption in parser.found:
            if alt is None:
                continue
            assert alt and not alt.endswith(".png"), f"{page.name}: figure without alt text"
            # the caption as shown starts with "Fig. 1.2" and marks maths up: compare
            # the first words of the alt text with the caption's
            words = re.findall(r"[A-Za-z]{3,}", alt)[:5]
            assert words and all(w in caption for w in words), (
                f"{page.name}: alt {alt[:60]!r} is not the caption"
            )
            checked += 1
    assert checked >= 30, f"only {checked} figures checked in Chapters 1-8"
