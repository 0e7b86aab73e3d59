"""The Gradescope zip installs on the base image it documents, and builds outside a checkout.

* Resolution, offline: every release ``requirements.txt`` pins declares (``Requires-Python``)
  that it runs on the Python ``setup.sh`` installs, and every requirement of a pinned
  release that holds on a Linux image with that Python is pinned too, at a version that
  meets it. The metadata is that of the installed distributions: the pins are the releases
  this suite ran with.
* ``setup.sh`` installs that Python where the image lacks it: its functions run here with
  ``apt-get`` and ``add-apt-repository`` replaced by scripts that log their arguments.
* Outside a checkout (dlcourse installed from its wheel in a fresh environment, run from
  another folder) ``dlcourse release --gradescope`` still writes the zip, with the limits
  given on the command line; the wheel it packs installs in another fresh environment, and
  the zip's own ``run_autograder`` grades the fixture exercise there with full marks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from test_grading_release import fresh_venv

from dlcourse.cli import main
from dlcourse.grading import gradescope_image

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "tests" / "grading_fixtures" / "course"
# the Pythons Ubuntu 22.04's own archive offers (python3 is 3.10; python3.11 is in universe)
UBUNTU_2204 = {"3.10", "3.11"}
# releases whose support for the image's Python must be checked (they drop old Pythons first)
MUST_PIN = {"numpy", "scipy", "matplotlib", "scikit-learn", "pytest"}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    argv = ["release", "--gradescope", "00", str(out), "--tests-dir", str(COURSE / "tests")]
    assert main(argv) == 0
    return out


def read_zip(path: Path) -> tuple[dict[str, str], str, dict]:
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("requirements.txt").decode().split()
        setup = zf.read("setup.sh").decode()
        config = json.loads(zf.read("dlcourse-autograder.json"))
    pins = {}
    for line in lines:
        name, sep, version = line.partition("==")
        assert sep, f"requirements.txt leaves {line} unpinned"
        pins[canonicalize_name(name)] = version
    return pins, setup, config


def linux(python: str) -> dict[str, str]:
    return gradescope_image._environment(python)


def test_pins_resolve_for_the_python_setup_installs(autograder):
    pins, setup, config = read_zip(autograder)
    python = config["python"]
    assert f"PYTHON=python{python}\n" in setup
    assert config["base_image"] == "Ubuntu 22.04" and "Base image: Ubuntu 22.04" in setup
    assert python in UBUNTU_2204 or "ppa:deadsnakes/ppa" in setup
    assert MUST_PIN <= set(pins), f"not pinned: {MUST_PIN - set(pins)}"
    env = {**linux(python), "extra": ""}
    problems = []
    for name, version in pins.items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            problems.append(f"{name}=={version} is not installed here, so it was never tested")
            continue
        if dist.version != version:
            problems.append(f"{name}=={version}, but {dist.version} is the tested release")
        requires = dist.metadata.get("Requires-Python") or ""
        if not SpecifierSet(requires).contains(f"{python}.0", prereleases=True):
            problems.append(f"{name}=={version} needs Python {requires}, not {python}")
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            pinned = pins.get(canonicalize_name(req.name))
            if pinned is None:
                problems.append(f"{name} needs {req}, which is not pinned")
            elif not req.specifier.contains(pinned, prereleases=True):
                problems.append(f"{name} needs {req}; {req.name}=={pinned} is pinned")
    assert not problems, "\n".join(problems)


def test_the_python_is_the_oldest_every_pin_supports(autograder):
    pins, _, config = read_zip(autograder)
    python = config["python"]
    minor = int(python.split(".")[1])
    older = f"3.{minor - 1}.0"
    blocked = [
        name
        for name in pins
        if not SpecifierSet(distribution(name).metadata.get("Requires-Python") or "").contains(
            older, prereleases=True
        )
    ]
    dlcourse_python = SpecifierSet(distribution("dlcourse").metadata["Requires-Python"])
    assert blocked or not dlcourse_python.contains(older), (
        f"every pin supports Python 3.{minor - 1}: setup.sh need not install {python}"
    )


def _stubs(tmp_path: Path, first_install_fails: bool) -> Path:
    """A folder of stand-ins for apt-get and add-apt-repository that log their arguments."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "log.txt"
    fail = (
        f'if [ "$1" = install ] && [ ! -e {tmp_path}/failed ]; then '
        f"touch {tmp_path}/failed; exit 100; fi\n"
        if first_install_fails
        else ""
    )
    for name in ("apt-get", "add-apt-repository"):
        script = stubs / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n' + fail * (name == "apt-get"))
        script.chmod(0o755)
    return stubs


def _source_setup(tmp_path: Path, stubs: Path, commands: str) -> tuple[int, str]:
    setup = tmp_path / "setup.sh"
    setup.write_text(gradescope_image.setup_script("3.11"))
    env = {"PATH": f"{stubs}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        ["bash", "-c", f"source {setup}\n{commands}"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    log = tmp_path / "log.txt"
    return run.returncode, (log.read_text() if log.exists() else "") + run.stderr


def test_setup_keeps_a_python_the_image_has(tmp_path):
    # this interpreter has venv and ensurepip; sourcing runs nothing but the definitions
    name = Path(sys.executable).name
    code, log = _source_setup(tmp_path, _stubs(tmp_path, False), f"PYTHON={name}\nhave_python")
    assert code == 0, log
    assert "apt-get" not in log


def test_setup_installs_the_python_from_the_archive(tmp_path):
    commands = "PYTHON=python3.97\nhave_python || install_python"
    code, log = _source_setup(tmp_path, _stubs(tmp_path, False), commands)
    assert code == 0, log
    assert "apt-get install -y --no-install-recommends python3.97 python3.97-venv" in log
    assert "add-apt-repository" not in log


def test_setup_falls_back_on_the_deadsnakes_ppa(tmp_path):
    commands = "PYTHON=python3.97\nhave_python || install_python"
    code, log = _source_setup(tmp_path, _stubs(tmp_path, True), commands)
    assert code == 0, log
    lines = log.splitlines()
    assert "add-apt-repository -y ppa:deadsnakes/ppa" in lines
    installs = [i for i, line in enumerate(lines) if "python3.97 python3.97-venv" in line]
    assert len(installs) == 2 and installs[1] > lines.index(
        "add-apt-repository -y ppa:deadsnakes/ppa"
    )


def test_setup_is_bash_that_runs_main_only_when_executed():
    """Sourcing defines functions only; running the script runs main (apt-get, venv, pip)."""
    text = gradescope_image.setup_script("3.11")
    assert re.search(
        r'^if \[\[ "\$\{BASH_SOURCE\[0\]\}" == "\$0" \]\]; then\n    main\nfi$', text, re.M
    )
    assert subprocess.run(["bash", "-n", "-c", text]).returncode == 0


def _fresh_venv(path: Path, wheel: Path) -> Path:
    """A virtual environment with ``wheel`` installed and this one's packages reachable
    (test_grading_release's), plus its own NumPy: the grader's sandbox binds this venv but not
    folders a .pth file adds (they could hold a checkout with the answers), and the worker
    imports NumPy."""
    python = fresh_venv(path, wheel)
    purelib = next(path.glob("lib/python3*/site-packages"))
    import numpy

    here = Path(numpy.__file__).parent
    for folder in (here, here.with_name("numpy.libs")):
        if folder.is_dir():
            shutil.copytree(folder, purelib / folder.name, symlinks=True)
    return python


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DLCOURSE_GRADING")}
    return env


@pytest.fixture(scope="module")
def checkout_wheel(once, tmp_path_factory) -> Path:
    from dlcourse.grading.gradescope import build_wheel

    return Path(once("wheel", lambda: str(build_wheel(ROOT, tmp_path_factory.mktemp("wheel")))))


@pytest.mark.slow
def test_gradescope_zip_outside_a_checkout_grades_with_the_packed_wheel(checkout_wheel, tmp_path):
    python = _fresh_venv(tmp_path / "instructor", checkout_wheel)
    folder = tmp_path / "course"
    folder.mkdir()
    out = folder / "ag.zip"
    cli = "import sys; from dlcourse.cli.main import main; sys.exit(main())"
    args = ["release", "--gradescope", "00", str(out), "--tests-dir", str(COURSE / "tests")]
    args += ["--timeout", "123", "--test-timeout", "7", "--memory-mb", "2048"]
    run = subprocess.run(
        [str(python), "-c", cli, *args], cwd=folder, env=_clean_env(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with zipfile.ZipFile(out) as zf:
        config = json.loads(zf.read("dlcourse-autograder.json"))
        [wheel_name] = [n for n in zf.namelist() if n.endswith(".whl")]
        zf.extractall(tmp_path / "root" / "source")
    assert (config["timeout"], config["test_timeout"], config["memory_mb"]) == (123, 7, 2048)
    packed = tmp_path / "root" / "source" / wheel_name
    with zipfile.ZipFile(packed) as zf, zipfile.ZipFile(checkout_wheel) as original:
        ours = {n for n in zf.namelist() if n.startswith("dlcourse/")}
        theirs = {n for n in original.namelist() if n.startswith("dlcourse/")}
        assert ours == theirs
        assert all(zf.read(n) == original.read(n) for n in ours)
    # Gradescope's image: setup.sh made /autograder/venv; here a fresh one with the packed wheel
    root = tmp_path / "root"
    graded_by = _fresh_venv(root / "venv", packed)
    where = subprocess.run([str(graded_by), "-c", "import dlcourse; print(dlcourse.__file__)"],
                           cwd=root, env=_clean_env(), capture_output=True, text=True)  # fmt: skip
    assert where.stdout.startswith(str(root / "venv")), where.stdout + where.stderr
    (root / "submission").mkdir()
    (root / "results").mkdir()
    solution = COURSE / "solutions" / "00_fixture.ipynb"
    (root / "submission" / solution.name).write_bytes(solution.read_bytes())
    script = root / "source" / "run_autograder"
    script.chmod(0o755)
    env = {**_clean_env(), "DLCOURSE_GRADESCOPE_ROOT": str(root)}
    run = subprocess.run([str(script)], cwd=root, env=env, capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 8 and results["extra_data"]["max_score"] == 8, results


def test_release_refuses_bad_limits(tmp_path, capsys):
    out = tmp_path / "ag.zip"
    argv = ["release", "--gradescope", "00", str(out), "--tests-dir", str(COURSE / "tests")]
    assert main([*argv, "--timeout", "0"]) == 2
    assert "--timeout must be positive" in capsys.readouterr().err
    assert main([*argv, "--wheel", str(tmp_path / "missing.whl")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not out.exists()
