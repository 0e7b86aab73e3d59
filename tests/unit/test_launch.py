"""The ways in that need no network to check: Make, the repository's address, the install
cells, and the widgets on Colab's ipywidgets.

* ``make`` with no target prints the targets (it installs nothing); the install stamp is
  named after ``TORCH`` (another ``TORCH`` installs again) and is older than a changed lock
  or pyproject.toml (``make -q`` says so); a Python older than the lock's is refused with
  the reason; the default torch is the lock's.
* The repository's address is written in one place, pyproject.toml's ``[project.urls]``;
  ``_config.yml``, the README and the install cells use that one, and no text claims a
  published package or site (``pip install dlcourse`` from PyPI, the GitHub Pages address).
* Every install cell is what ``tools/sync_install_cell.py`` writes (so the exercises carry
  the chapters' cell and launch links).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REPOSITORY = PROJECT["urls"]["Repository"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """``make ARGS`` without what an outer ``make test TORCH=...`` passes down."""
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TORCH", "PYTHON", "STRICT"}
    clean = {k: v for k, v in os.environ.items() if k not in outer}
    return subprocess.run(["make", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**clean, **env})  # fmt: skip


def stamp_of(out: str) -> str:
    [touch] = re.findall(r"^touch (\S*\.installed-\S+)$", out, flags=re.M)
    return touch


def test_a_bare_make_lists_the_targets_and_installs_nothing():
    run = make("-n")
    assert run.returncode == 0, run.stderr
    commands = [line for line in run.stdout.splitlines() if not line.startswith("echo ")]
    assert commands == [], f"a bare make would run {commands}"
    listed = make().stdout
    for target in ("book", "test", "lab", "bench", "release", "publish", "dist", "lock", "help"):
        assert re.search(rf"^  {target}\b", listed, flags=re.M) or target == "help", target
    assert make("help").stdout == listed


def test_the_stamp_follows_torch():
    default = make("-n", "setup", TORCH="")  # no PyTorch
    other = make("-n", "setup", TORCH="torch==2.5.1")
    assert default.returncode == 0 and other.returncode == 0, default.stderr + other.stderr
    assert stamp_of(default.stdout) != stamp_of(other.stdout)
    assert "torch==2.5.1" in other.stdout and "--index-url" in other.stdout
    assert "pip uninstall" in default.stdout, "TORCH= must leave no PyTorch behind"


def test_the_default_torch_is_the_lock_s_cpu_build():
    locked = re.search(r"^(torch==\S+?)(?:\s|;|$)", (ROOT / "requirements" / "lock.txt")
                       .read_text(encoding="utf-8"), flags=re.M).group(1)  # fmt: skip
    out = make("-n", "-B", "setup").stdout  # -B: as on a fresh clone, whatever is installed
    assert f'--no-deps "{locked}"' in out, out


def _copy_for_make(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "requirements/lock.txt", "tools/lock.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_new_lock_makes_the_stamp_stale(tmp_path):
    copy = _copy_for_make(tmp_path)
    stamp = copy / stamp_of(make("-n", "setup", cwd=copy).stdout)
    stamp.parent.mkdir(parents=True)
    (stamp.parent / "bin").mkdir()
    os.utime(copy / "requirements" / "lock.txt", (1, 1))
    os.utime(copy / "pyproject.toml", (1, 1))
    stamp.touch()
    assert make("-q", "setup", cwd=copy).returncode == 0, "a fresh stamp must be up to date"
    (copy / "requirements" / "lock.txt").touch()
    assert make("-q", "setup", cwd=copy).returncode == 1, "a newer lock must install again"


def test_an_old_python_is_refused_with_the_reason(tmp_path):
    copy = _copy_for_make(tmp_path)
    fake = tmp_path / "python3.10"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *version_info*) exit 1;; *python_version*) echo 3.10.12;; esac\n'
        f'exec {sys.executable} "$@"\n'
    )
    fake.chmod(0o755)
    run = make("setup", f"PYTHON={fake}", cwd=copy)
    assert run.returncode != 0
    assert "3.10.12" in run.stdout and "3.11 or newer" in run.stdout, run.stdout + run.stderr
    assert not (copy / ".venv").exists(), "nothing may be installed with a Python too old"


# -- the repository's address, and what the texts claim --------------------------------------


def test_the_repository_address_is_pyproject_s_everywhere():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == REPOSITORY
    sys.path.insert(0, str(ROOT / "tools"))
    from exercise_index import REPOSITORY as INDEX

    assert INDEX.startswith(REPOSITORY + "/"), INDEX
    owner = REPOSITORY.removeprefix("https://github.com/").split("/")[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for url in re.findall(rf"https://github\.com/{owner}/[^\s)>`\"]*", readme):
        assert url == REPOSITORY or url.startswith(REPOSITORY + "/"), url


def test_no_text_claims_a_package_or_site_that_is_not_published():
    pages = f"{REPOSITORY.split('/')[3]}.github.io"
    for name in ("README.md", "CONTRIBUTING.md", "book/intro.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert pages not in text, f"{name} links a published site that does not exist yet"
        for line in text.splitlines():
            if re.search(r"pip install dlcourse(?![\w\[@.-])", line):
                assert "once" in line or "when" in line, f"{name}: {line.strip()}"


def test_every_install_cell_is_the_generated_one():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_install_cell.py"), "--check"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(ROOT / "tools"))
    import sync_install_cell

    cell = sync_install_cell.install_cell("notebooks", ("fashion",))
    assert f'"dlcourse[notebooks] @ git+{REPOSITORY}"' in cell
    assert '"data", "fetch", "fashion"' in cell


def test_exercises_carry_the_install_cell_and_launch_links():
    import nbformat

    for path in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert f'"dlcourse @ git+{REPOSITORY}"' in first.source, path.name
        assert f"colab.research.google.com/github/{REPOSITORY[19:]}" in nb.cells[0].source
        assert (
            f"exercises/{path.name}" in nb.cells[0].source and "mybinder.org" in nb.cells[0].source
        )


def test_explorers_display_on_ipywidgets_7(monkeypatch):
    """Colab keeps ipywidgets 7, whose boxes have no ``_repr_mimebundle_``: the explorer then
    displays its box itself (ipywidgets 8 renders it through the mime bundle)."""
    import IPython.display

    from dlcourse.widgets._common import WidgetView

    class Box:  # an ipywidgets 7 box: it displays itself through IPython
        pass

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    view = WidgetView()
    view.widget = Box()
    assert view._repr_mimebundle_() is None and shown == [view.widget]

    class Box8:
        def _repr_mimebundle_(self, **kwargs):
            return {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}

    view.widget = Box8()
    assert "application/vnd.jupyter.widget-view+json" in view._repr_mimebundle_()
