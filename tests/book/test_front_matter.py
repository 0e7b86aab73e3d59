"""The maths macros: one source (``_config.yml``), copied into each chapter's front matter for
JupyterLab (``tools/sync_macros.py``), removed from the website build
(``book/_ext/front_matter.py``)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from front_matter import split_front_matter, strip_front_matter  # noqa: E402

sys.path.pop(0)


def _sync_macros():
    spec = importlib.util.spec_from_file_location("sync_macros", ROOT / "tools" / "sync_macros.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_chapter_defines_the_macros_of_the_config(notebook):
    sync = _sync_macros()
    macros = sync.config_macros()
    assert {"\\mat", "\\pd", "\\norm", "\\relu", "\\R", "\\T", "\\vec"} <= set(macros)
    assert macros["\\vec"] == "\\mathbf{#1}"  # bold, as on the website (not an arrow)
    front = sync.notebook_front_matter(notebook)
    assert front is not None, f"{notebook.name}: no front matter in its first Markdown cell"
    assert front.get("math") == macros, (
        f"{notebook.name}: its macros differ from _config.yml's; run `python tools/sync_macros.py`"
    )


def test_a_changed_macro_is_seen_as_drift(tmp_path, monkeypatch):
    sync = _sync_macros()
    chapter = tmp_path / "book" / "01_x.ipynb"
    chapter.parent.mkdir()
    chapter.write_text((ROOT / "book" / "01_perceptrons.ipynb").read_text(encoding="utf-8"))
    config = tmp_path / "_config.yml"
    config.write_text(
        (ROOT / "_config.yml")
        .read_text(encoding="utf-8")
        .replace('mat: ["\\\\mathbf{#1}", 1]', 'mat: ["\\\\boldsymbol{#1}", 1]')
    )
    monkeypatch.setattr(sync, "ROOT", tmp_path)
    changed = sync.config_macros(config)
    assert changed["\\mat"] == "\\boldsymbol{#1}"
    assert sync.notebook_front_matter(chapter)["math"] != changed
    assert sync.write_macros(chapter, changed) is True
    assert sync.notebook_front_matter(chapter)["math"] == changed
    assert sync.write_macros(chapter, changed) is False  # nothing left to do
    # the rest of the cell is kept: the title follows the block
    first = json.loads(chapter.read_text(encoding="utf-8"))["cells"][0]
    assert split_front_matter("".join(first["source"]))[1].startswith("# Perceptrons")


class _App:
    class env:  # noqa: N801 - stands in for Sphinx's BuildEnvironment
        @staticmethod
        def doc2path(docname):
            return Path(f"{docname}.ipynb")


def test_the_website_build_removes_the_block_and_keeps_the_rest():
    block = "---\nmath:\n  \\R: \\mathbb{R}\n---\n"
    nb = {"cells": [{"cell_type": "markdown", "source": block + "# T\n"}]}
    source = [json.dumps(nb)]
    strip_front_matter(_App, "book/x", source)
    assert json.loads(source[0])["cells"][0]["source"] == "# T\n"
    untouched = [json.dumps({"cells": [{"cell_type": "markdown", "source": "# T\n---\n"}]})]
    before = untouched[0]
    strip_front_matter(_App, "book/x", untouched)
    assert untouched[0] == before  # a rule later in the cell is not front matter


def test_the_built_chapter_shows_no_front_matter(built_book):
    page = (built_book.html / "book" / "01_perceptrons.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S))
    assert "math:" not in text and "\\mathbb{R}" not in text
    assert "Perceptrons and sigmoid neurons" in text
