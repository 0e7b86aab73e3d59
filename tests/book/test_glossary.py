"""The glossary and the chapters agree: entries in order, every entry used, every chapter linked.

A ``{term}`` role in a chapter's Markdown links a word to its entry in ``book/glossary.md``
(the build, with ``-n -W``, already fails on a term that has no entry). These tests add what
the build does not see: an entry no chapter links to, a chapter that links no terms, and
entries out of alphabetical order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

TERM = re.compile(r"\{term\}`(?:[^`<]*<)?([^`>]+?)>?`")
CHAPTER = re.compile(r"book/\d\d_")  # the numbered chapters (not intro, appendices)


def glossary_entries(root: Path) -> list[str]:
    text = (root / "book" / "glossary.md").read_text(encoding="utf-8")
    block = text[text.index("```{glossary}") :].splitlines()[1:]
    end = next(i for i, line in enumerate(block) if line.startswith("```"))
    return [line.strip() for line in block[:end] if line.strip() and not line[0].isspace()]


def markdown_of(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def linked_terms(path: Path) -> set[str]:
    """The glossary entries (lower case) that a page's ``{term}`` roles link to."""
    return {m.group(1).strip().lower() for m in TERM.finditer(markdown_of(path))}


@pytest.fixture(scope="module")
def entries(root) -> list[str]:
    found = glossary_entries(root)
    assert len(found) >= 50, f"the glossary holds only {len(found)} entries"
    return found


def test_glossary_entries_are_in_alphabetical_order(entries):
    unordered = [(a, b) for a, b in zip(entries, entries[1:]) if a.lower() > b.lower()]
    assert not unordered, f"glossary entries out of order: {unordered}"


def test_every_glossary_entry_is_linked_from_a_chapter(entries, toc_sources):
    used: set[str] = set()
    for doc, path in toc_sources.items():
        if path is not None and doc != "book/glossary":
            used |= linked_terms(path)
    orphans = [entry for entry in entries if entry.lower() not in used]
    assert not orphans, f"glossary entries that no page links to with {{term}}: {orphans}"


def test_every_chapter_links_its_terms_to_the_glossary(entries, toc_sources):
    known = {entry.lower() for entry in entries}
    chapters = {d: p for d, p in toc_sources.items() if p is not None and CHAPTER.match(d)}
    assert len(chapters) >= 14, f"only {len(chapters)} numbered chapters in the toc"
    few, unknown = [], []
    for doc, path in chapters.items():
        terms = linked_terms(path)
        if len(terms) < 5:
            few.append(f"{doc} ({len(terms)})")
        unknown += [f"{doc}: {t}" for t in sorted(terms - known)]
    assert not few, f"chapters that link fewer than five glossary terms: {few}"
    assert not unknown, f"{{term}} links to entries the glossary lacks: {unknown}"
