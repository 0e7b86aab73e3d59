"""The table of contents and book/ agree: every page is listed, every entry exists."""

from __future__ import annotations

SUFFIXES = (".md", ".ipynb")


def test_every_toc_entry_exists(toc_sources):
    missing = [doc for doc, path in toc_sources.items() if path is None]
    assert not missing, f"_toc.yml lists documents with no .md or .ipynb file: {missing}"


def test_no_document_listed_twice(toc):
    twice = sorted({doc for doc in toc if toc.count(doc) > 1})
    assert not twice, f"_toc.yml lists these documents more than once: {twice}"


def test_every_page_of_book_is_in_the_toc(root, toc):
    pages = sorted(
        str(p.relative_to(root).with_suffix(""))
        for p in (root / "book").rglob("*")
        if p.suffix in SUFFIXES and ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
    )
    orphans = [page for page in pages if page not in toc]
    assert not orphans, (
        f"pages in book/ that _toc.yml does not list (only_build_toc_files skips them): {orphans}"
    )


def test_root_is_the_introduction(toc):
    assert toc and toc[0] == "book/intro", "the book must open on book/intro"
