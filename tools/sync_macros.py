"""Copy the book's maths macros from ``_config.yml`` into each chapter's front matter.

    python tools/sync_macros.py          # rewrite the front matter of book/*.ipynb
    python tools/sync_macros.py --check  # exit 1 and name the notebooks that differ

The website takes its macros from ``_config.yml`` (``sphinx.config.mathjax3_config.tex
.macros``, MathJax's format: ``name: body`` or ``name: [body, n_args]``); JupyterLab reads
them from the MyST front matter of the notebook's first Markdown cell (``math:``, keys with
their backslash, the number of arguments taken from the ``#n`` in the body). This script
writes the second from the first, so the two cannot drift (the test suite runs ``--check``'s
comparison). Only the ``math`` key of the front matter is rewritten; other keys are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from front_matter import split_front_matter  # noqa: E402


def config_macros(config: Path = ROOT / "_config.yml") -> dict[str, str]:
    """The macros of ``_config.yml`` in MyST's front-matter form: ``{'\\\\R': '\\\\mathbb{R}'}``."""
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    macros = cfg["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
    return {f"\\{k}": v[0] if isinstance(v, list) else v for k, v in macros.items()}


def notebook_front_matter(path: Path) -> dict | None:
    """The parsed front matter of the notebook's first Markdown cell (None if it has none)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    text = "" if first is None else "".join(first["source"])
    block, _ = split_front_matter(text)
    return None if block is None else (yaml.safe_load(block) or {})


def write_macros(path: Path, macros: dict[str, str]) -> bool:
    """Set the ``math`` key of the notebook's front matter; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    block, rest = split_front_matter(first.source)
    front = (yaml.safe_load(block) or {}) if block is not None else {}
    front["math"] = macros
    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    lines = f"---\n{dumped}---\n{rest}".splitlines(keepends=True)
    new = "".join(lines)
    if first.source == new:
        return False
    first.source = new
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args(argv)
    macros = config_macros()
    stale = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        if args.check:
            front = notebook_front_matter(path)
            if front is None or front.get("math") != macros:
                stale.append(path.name)
        elif write_macros(path, macros):
            print(f"{path.relative_to(ROOT)}: macros updated")
    if stale:
        print("macros differ from _config.yml in: " + ", ".join(stale), file=sys.stderr)
        print("run: python tools/sync_macros.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
