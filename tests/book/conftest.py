"""Shared helpers for the book tests: the table of contents and one non-executing build.

``built_book`` builds the whole book once per test run, without executing notebooks
(the committed outputs are rendered), with warnings as errors (``-W -n --keep-going``),
into a temporary folder. ``test_build.py`` checks the result, ``test_browser.py`` serves
it to headless Chromium. Under pytest-xdist (``make test`` runs one worker per core) the
workers share that one build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = (".md", ".ipynb")


def pytest_generate_tests(metafunc):
    """Tests taking a ``notebook`` argument run once per notebook of ``_toc.yml``."""
    if "notebook" in metafunc.fixturenames:
        notebooks = toc_notebooks()
        ids = [str(p.relative_to(ROOT)) for p in notebooks]
        metafunc.parametrize("notebook", notebooks, ids=ids)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def toc() -> list[str]:
    """The documents of ``_toc.yml`` in order (``book/intro``, ...)."""
    return toc_documents()


@pytest.fixture(scope="session")
def toc_sources() -> dict[str, Path | None]:
    """``{document: its .md/.ipynb file, or None if missing}`` for every toc entry."""
    return {doc: source_of(doc) for doc in toc_documents()}


def _entries(node) -> list[str]:
    """Every ``file``/``root`` entry of a (nested) sphinx-external-toc structure."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("root", "file") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_entries(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_entries(item))
    return found


def toc_documents() -> list[str]:
    """The documents of ``_toc.yml`` in order, as paths without suffix (``book/intro``)."""
    import yaml

    tree = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [
        str(Path(entry).with_suffix("")) if entry.endswith(SUFFIXES) else entry
        for entry in _entries(tree)
    ]


def source_of(document: str) -> Path | None:
    """The ``.md`` or ``.ipynb`` file of a toc document, or None if there is none."""
    for suffix in SUFFIXES:
        path = ROOT / f"{document}{suffix}"
        if path.exists():
            return path
    return None


def toc_notebooks() -> list[Path]:
    """The notebooks listed in ``_toc.yml``."""
    paths = (source_of(doc) for doc in toc_documents())
    return [p for p in paths if p is not None and p.suffix == ".ipynb"]


@dataclass
class Build:
    """Outcome of one ``jupyter-book build``: its HTML folder, exit status and log."""

    html: Path
    returncode: int
    log: str

    def page(self, document: str) -> Path:
        return self.html / f"{document}.html"

    def warnings(self) -> list[str]:
        return [line for line in self.log.splitlines() if "WARNING" in line or "ERROR" in line]


def _jupyter_book() -> list[str]:
    local = Path(sys.executable).with_name("jupyter-book")
    if local.exists():
        return [str(local)]
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    return [found]


@pytest.fixture(scope="session")
def built_book(once, tmp_path_factory) -> Build:
    """Build the book without executing notebooks; warnings are errors. Built once per test
    run (``once``, tests/conftest.py): the other xdist workers read the same build."""

    def build() -> dict:
        out = tmp_path_factory.mktemp("book-build")
        returncode, log = _build_book(out)
        return {"html": str(out / "_build" / "html"), "returncode": returncode, "log": log}

    saved = once("book-build", build)
    return Build(Path(saved["html"]), saved["returncode"], saved["log"])


def _build_book(out: Path) -> tuple[int, str]:
    yaml = pytest.importorskip("yaml")
    out.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    # the copied config lives elsewhere: make local extension folders absolute
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in local.items():
        local[name] = str((ROOT / folder).resolve())
    config_file = out / "_config.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    cmd = [
        *_jupyter_book(),
        "build",
        str(ROOT),
        "--path-output",
        str(out),
        "--config",
        str(config_file),
        "--toc",
        str(ROOT / "_toc.yml"),
        "-W",
        "-n",
        "--keep-going",
        "--all",
    ]
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    return proc.returncode, proc.stdout + proc.stderr
