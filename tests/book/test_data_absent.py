"""The book builds on a machine without Fashion-MNIST (``book/_ext/data_notes.py``).

``DLCOURSE_DATA`` points at an empty folder, ``HOME`` at an empty home (no
``~/.cache/dlcourse``) and ``DLCOURSE_SYSTEM_DATA=""`` hides Debian's
``/usr/share/datasets/fashion-mnist``. A notebook whose metadata lists data under
``dlcourse.requires_data`` must then be left unexecuted, shown with its committed outputs and
a note on how to get the data, and the build (warnings as errors) must succeed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_book_tests = _load("_book_tests_conftest", __file__.replace("test_data_absent.py", "conftest.py"))
ROOT, _jupyter_book, toc_notebooks = (
    _book_tests.ROOT,
    _book_tests._jupyter_book,
    _book_tests.toc_notebooks,
)
NOTE = "Data not available when this page was built"


def _extension():
    return _load("data_notes", ROOT / "book" / "_ext" / "data_notes.py")


def _no_data_env(tmp_path) -> dict[str, str]:
    (tmp_path / "empty").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    return {"DLCOURSE_DATA": str(tmp_path / "empty"), "HOME": str(tmp_path / "home"),
            "DLCOURSE_SYSTEM_DATA": ""}  # fmt: skip


def _data_notebooks() -> list:
    ext = _extension()
    return [nb for nb in toc_notebooks() if ext.required_data(nb)]


def test_missing_data_is_detected(tmp_path, monkeypatch):
    ext = _extension()
    book = tmp_path / "src" / "book"
    book.mkdir(parents=True)
    needs = {"metadata": {"dlcourse": {"requires_data": ["fashion"]}}, "cells": []}
    (book / "a.ipynb").write_text(json.dumps(needs))
    (book / "b.ipynb").write_text(json.dumps({"metadata": {}, "cells": []}))
    (book / "c.ipynb").write_text("not json")
    for key, value in _no_data_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    assert ext.missing_data(tmp_path / "src") == {"book/a": ["fashion"]}
    box = ext.note(["fashion"]).astext()
    assert NOTE in box and "dlcourse data fetch fashion" in box
    assert "apt-get install dataset-fashion-mnist" in box


def test_the_chapters_on_real_data_declare_it():
    assert ROOT / "book" / "09_practical.ipynb" in _data_notebooks()


@pytest.mark.slow
def test_book_builds_without_the_data(tmp_path):
    yaml = pytest.importorskip("yaml")
    data_notebooks = _data_notebooks()
    out = tmp_path / "build"
    out.mkdir()
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    execute = config.setdefault("execute", {})
    execute["execute_notebooks"] = "force"  # the data notebooks would run if not excluded
    others = [str(nb.relative_to(ROOT)) for nb in toc_notebooks() if nb not in data_notebooks]
    execute["exclude_patterns"] = list(execute.get("exclude_patterns") or []) + others
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in local.items():
        local[name] = str((ROOT / folder).resolve())
    config_file = out / "_config.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    cmd = [*_jupyter_book(), "build", str(ROOT), "--path-output", str(out), "--config",
           str(config_file), "--toc", str(ROOT / "_toc.yml"), "-W", "-n", "--keep-going",
           "--all"]  # fmt: skip
    env = {**os.environ, **_no_data_env(tmp_path)}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200, env=env,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the build failed without the data:\n{log[-6000:]}"
    html = out / "_build" / "html"
    for notebook in data_notebooks:
        page = (html / notebook.relative_to(ROOT).with_suffix(".html")).read_text()
        text = re.sub(r"<[^>]+>", "", page)  # Sphinx wraps each word of a literal in a span
        assert NOTE in text and "dlcourse data fetch fashion" in text, notebook.name
        assert "dlcourse-data-missing" in page
    page = (html / "book" / "09_practical.html").read_text()
    assert "most frequent confusion" in page, "the committed outputs must be shown"
    assert NOTE not in (html / "book" / "08_regularization.html").read_text()
