"""Serve MathJax from the built book itself, so that the maths typesets offline.

Sphinx loads MathJax from a CDN by default, which leaves raw TeX on a machine without
network access (a laptop on a train, a locked-down lab). When the ``django-static-mathjax``
wheel (a plain copy of MathJax 3, part of the ``book`` extra) is installed, this extension
points ``mathjax_path`` at ``_static/mathjax/tex-mml-chtml.js`` and copies the parts of
MathJax that the pages use (the combined TeX/MathML component, the TeX extensions, the
CommonHTML output with its fonts, the menu and accessibility components) into the build.
Without the wheel nothing changes and the CDN is used.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

COMPONENT = "tex-mml-chtml.js"
PARTS = (COMPONENT, "input", "output", "ui", "a11y", "adaptors", "sre")


def mathjax_es5() -> Path | None:
    """Return the ``es5`` folder of the installed MathJax copy, or ``None``."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / COMPONENT).is_file():
            return es5
    return None


def _configure(app, config) -> None:
    if mathjax_es5() is not None:
        config.mathjax_path = f"mathjax/{COMPONENT}"


def _copy(app, exception) -> None:
    es5 = mathjax_es5()
    if exception is not None or es5 is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, target / part, dirs_exist_ok=True)
        elif source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
