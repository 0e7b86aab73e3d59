"""The bibliography labelled like the citations: "[Nielsen, 2015]", not "[17]".

The book cites author–year (``bibtex_reference_style: author_year`` in ``_config.yml``:
``{cite}`nielsen2015``` shows "[Nielsen, 2015]"), but pybtex's ``plain`` formatting style
labels the list of references by number, so the bibliography showed numbers that no
citation mentions. This extension registers the formatting style ``author_year_labels``:
pybtex's ``plain`` style (the same entries, sorted by author, year and title) whose labels
are written as the text cites them: one author "Nielsen, 2015", two "Minsky and Papert,
1969", more "Rumelhart et al., 1986"; works that would get the same label are told apart by
a letter after the year ("2015a", "2015b").
"""

from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

NAME = "author_year_labels"


def _last_name(person) -> str:
    """A person's last name as plain text (LaTeX accents such as ``M{\\"u}ller`` resolved)."""
    return " ".join(Text.from_latex(part).render_as("text") for part in person.last_names)


def author_year_label(entry) -> str:
    """The label of one pybtex entry, e.g. ``"Goodfellow et al., 2016"``."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in persons]
    if not names:
        who = entry.fields.get("organization") or entry.key
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] == 1:
                yield label
            else:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels


def setup(app):
    register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
