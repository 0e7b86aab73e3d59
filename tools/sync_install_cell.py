"""Write the install cell of every chapter and exercise, and the exercises' launch links.

    python tools/sync_install_cell.py          # rewrite the notebooks that differ
    python tools/sync_install_cell.py --check  # exit 1 and name the notebooks that differ

A notebook opened alone (Colab's launch button, a download) has no dlcourse: its first code
cell installs the package from the repository, with what that notebook needs (a chapter:
the ``notebooks`` extra of pyproject.toml; a chapter whose metadata lists
``dlcourse.requires_data``: that data set, fetched checksummed). Where dlcourse is
importable (``make``, Binder, the grader) the cell does nothing and prints nothing.

The repository's address comes from one place, ``[project.urls] Repository`` in
pyproject.toml, and its branch from ``_config.yml`` (``repository.branch``). Chapters
(``book/NN_*.ipynb``) already hold the cell as their first code cell; only its source is
rewritten. An exercise's single source is ``solutions/NN_*.ipynb``: the cell is put there
(inserted before the first code cell when missing) with a line of launch links at the end of
the introduction, and ``dlcourse release`` copies both into ``exercises/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARK = 'importlib.util.find_spec("dlcourse") is None'
LINKS = "**Run it elsewhere:**"

CELL = """\
# On Colab, or any Python without dlcourse: install it from the course's repository (it is
# not on PyPI yet){what}.
# Where dlcourse is installed already, this cell does nothing.
import importlib
import importlib.util
import subprocess
import sys

if {mark}:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q",
         "{requirement}"],
        check=True,
    )
{fetch}    importlib.invalidate_caches()
"""
FETCH = """\
    subprocess.run([sys.executable, "-m", "dlcourse", "data", "fetch", "{name}"], check=True)
"""


def repository() -> tuple[str, str]:
    """``(url, branch)``: pyproject.toml's ``Repository`` address, _config.yml's branch."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return project["urls"]["Repository"], config["repository"]["branch"]


def install_cell(extras: str = "", data: tuple[str, ...] = ()) -> str:
    """The source of the install cell: ``dlcourse[extras]`` and the data sets ``data``."""
    url, _ = repository()
    requirement = f"dlcourse{f'[{extras}]' if extras else ''} @ git+{url}"
    what = ", with what this notebook needs" if extras or data else ""
    fetch = "".join(FETCH.format(name=name) for name in data)
    return CELL.format(what=what, mark=MARK, requirement=requirement, fetch=fetch).rstrip("\n")


def launch_links(path: str) -> str:
    """A Markdown line that opens ``path`` (``exercises/01_x.ipynb``) on Colab and Binder."""
    url, branch = repository()
    owner_repo = url.removeprefix("https://github.com/")
    colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{path}"
    binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{path}"
    return (
        f"{LINKS} [open in Colab]({colab}) (the first code cell installs dlcourse) or "
        f"[on Binder]({binder}); on your machine, `make lab` from a clone of the repository."
    )


def _write(path: Path, nb) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)


def sync_chapter(path: Path, write: bool) -> bool:
    """Rewrite the install cell of a chapter; True if it differed."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    if MARK not in cell.source:
        raise ValueError(f"{path.name}: the first code cell is not an install cell")
    data = tuple(nb.metadata.get("dlcourse", {}).get("requires_data", ()))
    wanted = install_cell("notebooks", data)
    if cell.source == wanted:
        return False
    if write:
        cell.source = wanted
        _write(path, nb)
    return True


def sync_solution(path: Path, write: bool) -> bool:
    """Put the install cell and the launch links into an exercise's solution notebook."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    intro = nb.cells[0]
    links = launch_links(f"exercises/{path.name}")
    lines = [line for line in intro.source.splitlines() if not line.startswith(LINKS)]
    text = "\n".join(lines).rstrip("\n") + "\n\n" + links
    if intro.source != text:
        intro.source, changed = text, True
    wanted = install_cell()
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    if MARK in nb.cells[first].source:
        if nb.cells[first].source != wanted:
            nb.cells[first].source, changed = wanted, True
    else:
        cell = nbformat.v4.new_code_cell(wanted)
        cell.id = f"install-{path.stem[:2]}"
        nb.cells.insert(first, cell)
        changed = True
    if changed and write:
        _write(path, nb)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what differs")
    args = parser.parse_args(argv)
    differ = [
        p for p in sorted(ROOT.glob("book/[0-9][0-9]_*.ipynb")) if sync_chapter(p, not args.check)
    ]
    differ += [
        p
        for p in sorted(ROOT.glob("solutions/[0-9][0-9]_*.ipynb"))
        if sync_solution(p, not args.check)
    ]
    for path in differ:
        print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if differ and not args.check:
        print("now run `dlcourse release` to copy the solutions' cells into exercises/")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
