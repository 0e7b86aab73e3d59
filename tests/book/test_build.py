"""The book builds without warnings (notebooks not executed) and the pages hold what they should.

The build itself happens once per session in the ``built_book`` fixture (conftest.py).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_build_succeeds_without_warnings(built_book):
    assert built_book.returncode == 0 and not built_book.warnings(), (
        "jupyter-book build -W -n failed or warned:\n"
        + "\n".join(built_book.warnings()[:40])
        + "\n"
        + built_book.log[-4000:]
    )


def test_every_toc_page_is_rendered(built_book, toc):
    assert (built_book.html / "index.html").exists(), "index.html is missing"
    missing = [doc for doc in toc if not built_book.page(doc).exists()]
    assert not missing, f"pages without HTML: {missing}"


def test_chapter_one_has_maths_figures_and_proofs(built_book):
    page = built_book.page("book/01_perceptrons")
    assert page.exists(), "Chapter 1 was not rendered"
    html = page.read_text(encoding="utf-8")
    assert "mathjax" in html.lower(), "the MathJax script is not loaded"
    assert re.search(r"\\\(|\\\[|class=\"math", html), "no maths markup found"
    assert 'id="equation-eq-perceptron"' in html, "the labelled equation eq-perceptron is missing"
    images = re.findall(r'<img [^>]*src="([^"]+\.png)"', html)
    assert len(images) >= 4, f"expected the chapter's figures, found {len(images)} PNG images"
    for src in images:
        assert (page.parent / src).resolve().exists(), f"image {src} was not copied"
    assert "Perceptron convergence" in html, "the convergence theorem (sphinx-proof) is missing"
    assert "Perceptron learning rule" in html, "the algorithm (sphinx-proof) is missing"
    assert "exercise" in html and "solution" in html, "sphinx-exercise blocks are missing"
    assert "Novikoff" in html, "the citations were not resolved"


def test_every_figure_has_a_caption(built_book, toc_sources):
    for doc, source in toc_sources.items():
        if source is None or source.suffix != ".ipynb":
            continue
        html = built_book.page(doc).read_text(encoding="utf-8")
        figures = re.findall(r"<figure\b.*?</figure>", html, flags=re.S)
        uncaptioned = [f[:120] for f in figures if "<figcaption" not in f]
        assert not uncaptioned, f"{doc}: figures without a caption: {uncaptioned}"


def test_no_raw_widget_or_error_output(built_book, toc_sources):
    for doc, source in toc_sources.items():
        if source is None:
            continue
        html = built_book.page(doc).read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in html, f"{doc} shows a traceback"
        assert "VBox(children=" not in html, f"{doc} shows a widget's text fallback"


def test_the_bibliography_is_labelled_like_the_author_year_citations(built_book):
    """The text cites "[Nielsen, 2015]"; the bibliography's labels read the same way
    (book/_ext/author_year_labels.py), and every work is listed once."""
    html = built_book.page("book/bibliography").read_text(encoding="utf-8")
    labels = re.findall(
        r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span', html, re.S
    )
    assert len(labels) >= 40, f"only {len(labels)} entries in the bibliography"
    author_year = re.compile(r"^[^\d\[\]]+?(?: and [^\d,]+| et al\.)?, \d{4}[a-z]?$")
    odd = [label for label in labels if not author_year.match(label)]
    assert not odd, f"labels that are not author-year: {odd[:10]}"
    assert "Nielsen, 2015" in labels and "Rumelhart et al., 1986" in labels, labels[:10]


def test_every_work_has_one_entry_in_the_bibliography():
    """Two keys for one paper (he2016 and he2016resnet, ...) listed it twice."""
    from pybtex.database import parse_file

    entries = parse_file(Path(__file__).resolve().parents[2] / "book" / "references.bib").entries
    titles = Counter(re.sub(r"\W", "", e.fields.get("title", "").lower()) for e in entries.values())
    twice = [key for key, e in entries.items()
             if titles[re.sub(r"\W", "", e.fields.get("title", "").lower())] > 1]  # fmt: skip
    assert not twice, f"one work under several keys: {sorted(twice)}"
