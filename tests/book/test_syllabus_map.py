"""The syllabus map (book/syllabus_map.md) covers the course's topics and points only at
chapters, figures and exercise notebooks that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import toc_documents

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "book" / "syllabus_map.md"
TOPICS = (
    "Perceptrons", "Multilayer perceptrons", "Activation", "Losses", "Gradient descent",
    "Backpropagation", "Automatic differentiation", "Initialisation", "Optimisers",
    "schedules", "Regularisation", "Batch normalisation", "Practical methodology",
    "Architectures", "Convolution", "Recurrence", "PyTorch", "Attention",
)  # fmt: skip


def _rows() -> list[str]:
    lines = MAP.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("| ") and not line.startswith("| topic")]


def test_every_course_topic_has_a_row():
    first_cells = [row.split("|")[1] for row in _rows()]
    for topic in TOPICS:
        assert any(topic in cell for cell in first_cells), f"no row for the topic {topic!r}"


def test_figure_references_name_figures_of_the_book():
    labels = set()
    for source in ROOT.glob("book/*.ipynb"):
        text = source.read_text(encoding="utf-8")
        labels |= set(re.findall(r":name: (fig-[\w-]+)", text))  # a {figure} directive
        for cell in json.loads(text)["cells"]:  # a code cell's figure (mystnb metadata)
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            labels |= {figure["name"]} if isinstance(figure, dict) and "name" in figure else set()
    used = re.findall(r"\{numref\}`(fig-[\w-]+)`", MAP.read_text(encoding="utf-8"))
    assert len(used) >= 40, f"only {len(used)} figures referenced"
    assert set(used) <= labels, f"unknown figure labels: {sorted(set(used) - labels)}"


def test_chapter_links_are_pages_of_the_toc_and_exercises_exist():
    text = MAP.read_text(encoding="utf-8")
    toc = {Path(doc).name for doc in toc_documents()}
    docs = set(re.findall(r"\{doc\}`([\w-]+)`", text))
    assert docs and docs <= toc, f"links to pages not in _toc.yml: {sorted(docs - toc)}"
    notebooks = re.findall(r"blob/main/(exercises/[\w-]+\.ipynb)", text)
    assert len(set(notebooks)) >= 15, "not every autograded exercise is mapped"
    missing = [n for n in notebooks if not (ROOT / n).exists()]
    assert not missing, f"exercise notebooks that do not exist: {missing}"
