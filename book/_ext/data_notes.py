"""Build the book on a machine without the data sets that some chapters train on.

A notebook declares the data it needs in its metadata::

    "metadata": {"dlcourse": {"requires_data": ["fashion"]}, ...}

When the build starts (``config-inited``), every such notebook of the book whose data
``dlcourse.data.available`` cannot find (``$DLCOURSE_DATA``, ``~/.cache/dlcourse``, the
Debian package, in the package's search order) is added to ``nb_execution_excludepatterns``:
it is not executed, so the build cannot fail for want of data, and the page shows the
outputs committed with the notebook. A visible note at the top of that page says so and
gives the commands that fetch the data. With the data present nothing changes: the
notebook executes as every other one does.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes

METADATA_KEY = "dlcourse"
HOW_TO_GET = {
    "fashion": ("dlcourse data fetch fashion", "sudo apt-get install dataset-fashion-mnist"),
    "mnist": ("dlcourse data fetch mnist",),
}


def required_data(notebook: Path) -> list[str]:
    """The data-set names a notebook's metadata lists under ``dlcourse.requires_data``."""
    try:
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return []
    names = metadata.get(METADATA_KEY, {}).get("requires_data", [])
    return [str(n) for n in names] if isinstance(names, list) else []


def missing_data(srcdir: Path) -> dict[str, list[str]]:
    """``{docname: [data sets not found]}`` for every notebook under ``srcdir/book``."""
    from dlcourse.data import available

    missing = {}
    for notebook in sorted((srcdir / "book").glob("*.ipynb")):
        lacking = [name for name in required_data(notebook) if not available(name)]
        if lacking:
            missing[notebook.relative_to(srcdir).with_suffix("").as_posix()] = lacking
    return missing


def _configure(app, config) -> None:
    app.dlcourse_missing_data = missing = missing_data(Path(app.srcdir))
    if missing:
        patterns = list(config.nb_execution_excludepatterns or ())
        config.nb_execution_excludepatterns = patterns + [f"{doc}.ipynb" for doc in missing]


def note(lacking: list[str]) -> nodes.admonition:
    """The admonition shown at the top of a page whose data was missing at build time."""
    box = nodes.admonition(classes=["attention", "dlcourse-data-missing"])
    box += nodes.title(text="Data not available when this page was built")
    box += nodes.paragraph(
        text=(
            f"This chapter trains on {', '.join(lacking)}, which was not found on the machine "
            "that built the book, so its code was not run: the outputs below are the ones "
            "committed with the notebook (a seeded run). To run it yourself, get the data "
            "with one of these commands and open the notebook:"
        )
    )
    commands = [c for name in lacking for c in HOW_TO_GET.get(name, ())]
    listing = nodes.bullet_list()
    for command in commands:
        listing += nodes.list_item("", nodes.paragraph("", "", nodes.literal(text=command)))
    box += listing
    box += nodes.paragraph(text="or point $DLCOURSE_DATA at a folder that holds it.")
    return box


def _add_note(app, doctree) -> None:
    lacking = getattr(app, "dlcourse_missing_data", {}).get(app.env.docname)
    if not lacking:
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, note(lacking))
        return
    at = 1 if section.children and isinstance(section[0], nodes.title) else 0
    section.insert(at, note(lacking))


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("doctree-read", _add_note)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
