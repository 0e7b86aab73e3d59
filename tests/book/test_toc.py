"""The table of contents and book/ agree: every page is listed, every entry exists."""

from __future__ import annotations

import re

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


def test_chapter_numbers_follow_the_file_names(toc):
    """The book numbers chapters by their order in the table of contents; the two digits that
    start each chapter's file name must give the same number (links say "Chapter 13")."""
    chapters = [doc for doc in toc if re.fullmatch(r"book/\d\d_\w+", doc)]
    numbers = [int(doc[5:7]) for doc in chapters]
    assert numbers == list(range(1, len(chapters) + 1)), chapters


def test_links_name_the_chapter_they_point_to(root):
    """A link written ``{doc}`Chapter 13 <13_recurrent>``` and an exercise's "Read first:
    Chapter 13 ... book/13_recurrent.ipynb" agree on the number."""
    wrong = []
    folders = ("book", "exercises", "solutions")
    for path in sorted(p for folder in folders for p in (root / folder).glob("*.*")):
        if path.suffix not in SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8")
        for number, target in re.findall(r"Chapter (\d+) <(\d\d)_\w+>", text):
            if int(number) != int(target):
                wrong.append(f"{path.name}: Chapter {number} -> {target}_")
        for number, target in re.findall(
            r"Read first:\*\* Chapter (\d+)[\s\S]{0,300}?book/(\d\d)_", text
        ):
            if int(number) != int(target):
                wrong.append(f"{path.name}: Read first Chapter {number} -> book/{target}_")
    assert not wrong, wrong
