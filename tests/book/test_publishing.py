"""Publishing from a laptop: ``make publish`` and ``make lab``.

The GitHub workflows are linted and checked in ``tests/unit/test_workflows.py``; the lock of
versions that Binder installs, and its resolution for Binder's Python, in
``tests/unit/test_lock.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BINDER = ROOT / "binder" / "requirements.txt"


def dry_run(target: str) -> str:
    proc = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_publish_deploys_with_ghp_import():
    out = dry_run("publish")
    assert re.search(r"ghp-import .*_build/html", out), out
    assert "jupyter-book build" in out, "publish must build the book first"


def test_make_lab_allows_root_only_as_root():
    out = dry_run("lab")
    assert "jupyter lab" in out and "book/" in out
    assert ("--allow-root" in out) == (os.geteuid() == 0), out
