"""Write the one lock of versions, ``requirements/lock.txt``, and Binder's file that uses it.

    python tools/lock.py                      # re-resolve, keeping the current pins that still fit
    python tools/lock.py --upgrade            # take the newest releases pyproject.toml allows
    python tools/lock.py --torch-wheels DIR   # PyTorch's CPU index unreachable: its wheels in DIR
    python tools/lock.py --check              # exit 1 if binder/requirements.txt is out of date
    python tools/lock.py --torch-index        # print the index of CPU wheels (make reads it)

``uv pip compile`` resolves every extra of ``pyproject.toml`` once, for all platforms
(``--universal``: markers pick what differs between Linux, macOS and Windows or between
Pythons) and for every Python from :data:`PYTHON` on. ``torch`` comes from PyTorch's index
of CPU wheels, named once in ``pyproject.toml`` (``[[tool.uv.index]]``, used through
``[tool.uv.sources]``), so the lock pins the CPU build and its dependencies, not the CUDA
build that PyPI serves on Linux.

The lock is the environment of ``make`` (and so of CI), of Binder, and of the Gradescope
autograder (its ``requirements.txt`` takes the lock's versions). It carries no index line:
pip reads it from PyPI, and only ``torch`` is installed from the CPU index (``make`` does
it; Binder's file names the index). ``binder/requirements.txt`` is written here from the
lock and the configured index, so the two cannot drift.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
BINDER = ROOT / "binder" / "requirements.txt"
PYTHON = "3.11"  # the oldest Python the lock serves (Binder's, see binder/runtime.txt)
TESTED_PYTHONS = ("3.11", "3.12", "3.13", "3.14")  # the ones the lock is resolved for in the tests
INDEX_NAME = "pytorch-cpu"

HEADER = """\
# The one lock of versions of dlcourse: make (and so CI), Binder and the Gradescope
# autograder install these releases. Written by `make lock` (tools/lock.py, with
# uv pip compile) from pyproject.toml and every extra; do not edit by hand.
# Python >= {python}, Linux, macOS and Windows (a marker after `;` limits a line).
# torch is the CPU build from the index named in pyproject.toml ([[tool.uv.index]]):
# install it from there (make and binder/requirements.txt do), everything else from PyPI.
"""

BINDER_TEXT = """\
# The environment of the book's Binder button: mybinder.org runs
# `pip install -r binder/requirements.txt` from the repository root, on the Python of
# binder/runtime.txt. Written by `make lock` (tools/lock.py) from the lock: do not edit.
# PyTorch's CPU wheels (PyPI's default torch on Linux is a CUDA build of several GB):
--extra-index-url {index}
-r ../requirements/lock.txt
# the course package itself, from this repository
.
"""


def torch_index(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The URL of PyTorch's CPU index, as ``pyproject.toml`` names it."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    for index in config.get("tool", {}).get("uv", {}).get("index", []):
        if index.get("name") == INDEX_NAME:
            return index["url"]
    raise ValueError(f"pyproject.toml names no [[tool.uv.index]] called {INDEX_NAME!r}")


def binder_text() -> str:
    """What ``binder/requirements.txt`` must hold."""
    return BINDER_TEXT.format(index=torch_index())


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def flat_index(wheels: Path, into: Path) -> str:
    """A PEP 503 simple index in ``into`` serving the torch wheels of the folder ``wheels``.

    It stands in for the CPU index on a machine that has its wheels on disk but cannot
    reach it; the lock is the same, since uv reads the same wheels' metadata.
    """
    found = sorted(Path(wheels).glob("torch-*.whl"))
    if not found:
        raise FileNotFoundError(f"no torch-*.whl in {wheels}")
    (into / "torch").mkdir(parents=True)
    links = []
    for wheel in found:
        (into / "torch" / wheel.name).symlink_to(wheel.resolve())
        links.append(f'<a href="{quote(wheel.name)}">{wheel.name}</a>')
    (into / "torch" / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    return into.as_uri()


def compile_lock(upgrade: bool = False, torch_wheels: Path | None = None) -> str:
    """The lock's text: ``uv pip compile`` of ``pyproject.toml`` with every extra."""
    command = [
        sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras",
        "--universal", "--python-version", PYTHON, "--no-header", "--quiet",
        "--no-emit-package", "dlcourse",
    ]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lock.txt"
        if LOCK.exists():  # uv keeps the pins of an existing output file where they still fit
            out.write_text(LOCK.read_text(encoding="utf-8"), encoding="utf-8")
        command += ["-o", str(out)]
        if torch_wheels is not None:
            command += ["--index", f"{INDEX_NAME}={flat_index(torch_wheels, Path(tmp) / 'i')}"]
        subprocess.run(command, cwd=ROOT, check=True)
        body = out.read_text(encoding="utf-8")
    return HEADER.format(python=PYTHON) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest releases")
    parser.add_argument("--torch-wheels", type=Path, help="folder with the CPU index's wheels")
    parser.add_argument("--check", action="store_true", help="is binder/requirements.txt current?")
    parser.add_argument("--torch-index", action="store_true", help="print the CPU index URL")
    args = parser.parse_args(argv)
    if args.torch_index:
        print(torch_index())
        return 0
    if args.check:
        current = BINDER.read_text(encoding="utf-8") if BINDER.exists() else ""
        if current != binder_text():
            print(f"{BINDER.relative_to(ROOT)} is out of date: run `make lock`", file=sys.stderr)
            return 1
        return 0
    LOCK.parent.mkdir(exist_ok=True)
    write_atomic(LOCK, compile_lock(args.upgrade, args.torch_wheels))
    write_atomic(BINDER, binder_text())
    print(f"wrote {LOCK.relative_to(ROOT)} and {BINDER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
