"""The one lock of versions, ``requirements/lock.txt``: complete, CPU-only, and resolvable for
every Python and platform it claims, Binder's first.

Offline: the lock pins every requirement of ``pyproject.toml`` (each extra included) inside
its range; torch is the CPU build (nothing of CUDA is pinned) and PyTorch's CPU index is named
in ``pyproject.toml`` alone (``binder/requirements.txt`` is generated from it, and current);
the Gradescope zip pins the lock's versions.

Resolution for a Python that is not this machine's: ``uv pip compile`` resolves the lock's
own lines for that Python and platform, wheels only, against PyPI, and must give back exactly
the lock's pins for that environment (nothing missing, nothing incompatible, no release
without a wheel there). Binder's Python comes from ``binder/runtime.txt``. PyTorch's CPU
index cannot be reached from the development machine, so there the torch line is checked
against PyPI's release of the same version (same Python support); the CPU build itself is
checked only where the index answers. These tests need PyPI and are skipped without it.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
sys.path.insert(0, str(ROOT / "tools"))
import lock as lock_tool  # noqa: E402

# uv's name of each platform, and the marker variables of a machine of that kind
PLATFORMS = {
    "linux": ("x86_64-manylinux_2_28", {"sys_platform": "linux", "platform_system": "Linux",
                                        "platform_machine": "x86_64", "os_name": "posix"}),
    "macos": ("aarch64-apple-darwin", {"sys_platform": "darwin", "platform_system": "Darwin",
                                       "platform_machine": "arm64", "os_name": "posix"}),
    "windows": ("x86_64-pc-windows-msvc", {"sys_platform": "win32", "platform_system": "Windows",
                                           "platform_machine": "AMD64", "os_name": "nt"}),
}  # fmt: skip


def environment(python: str, platform: str) -> dict[str, str]:
    env = default_environment()
    env.update(PLATFORMS[platform][1], python_version=python, python_full_version=f"{python}.0")
    env.update(implementation_name="cpython", platform_python_implementation="CPython", extra="")
    return env


def lock_lines() -> list[Requirement]:
    lines = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert not line.startswith("-"), f"the lock carries an option line: {line}"
            lines.append(Requirement(line))
    return lines


def pins_for(python: str, platform: str) -> dict[str, str]:
    """``{name: version}`` of the lock's lines whose markers hold there."""
    env = environment(python, platform)
    pins = {}
    for req in lock_lines():
        if req.marker is None or req.marker.evaluate(env):
            (spec,) = req.specifier
            assert spec.operator == "==", f"the lock leaves {req} unpinned"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def binder_python() -> str:
    text = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"binder/runtime.txt should read python-3.X; it reads {text!r}"
    return match.group(1)


def test_the_lock_pins_every_requirement_of_pyproject_in_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += [r for r in extra if not r.startswith("dlcourse[")]
    for platform in PLATFORMS:
        pins = pins_for(lock_tool.PYTHON, platform)
        for spec in wanted:
            req = Requirement(spec)
            name = canonicalize_name(req.name)
            assert name in pins, f"the lock does not pin {name} on {platform} (pyproject: {spec})"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"the lock pins {name}=={pins[name]}, outside pyproject's {spec}"
            )


def test_torch_is_the_cpu_build_and_nothing_of_cuda_is_locked():
    pins = pins_for(lock_tool.PYTHON, "linux")
    assert pins["torch"].endswith("+cpu"), f"torch=={pins['torch']} is not the CPU build"
    cuda = [r.name for r in lock_lines() if r.name.startswith(("nvidia-", "triton"))]
    assert not cuda, f"the lock pins CUDA packages: {cuda}"


def test_pytorch_s_cpu_index_is_named_in_pyproject_alone():
    index = lock_tool.torch_index()
    assert index.startswith("https://") and index.endswith("/whl/cpu"), index
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    naming = []
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if path.suffix in {".ipynb", ".json", ".bib"} or not path.is_file():
            continue
        if index in path.read_text(encoding="utf-8", errors="replace"):
            naming.append(name)
    # binder/requirements.txt is written from pyproject.toml by tools/lock.py (checked below)
    assert sorted(naming) == ["binder/requirements.txt", "pyproject.toml"], naming


def test_binder_s_requirements_are_the_lock_and_current():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "lock.py"), "--check"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert "-r ../requirements/lock.txt" in text.splitlines()
    assert f"--extra-index-url {lock_tool.torch_index()}" in text.splitlines()


def test_the_check_notices_a_stale_binder_file(tmp_path, monkeypatch):
    stale = tmp_path / "requirements.txt"
    stale.write_text("numpy==1.0\n")
    monkeypatch.setattr(lock_tool, "BINDER", stale)
    monkeypatch.setattr(lock_tool, "ROOT", tmp_path)
    assert lock_tool.main(["--check"]) == 1


def test_gradescope_pins_the_lock_s_versions():
    from dlcourse.grading import gradescope_image

    locked = pins_for("3.11", "linux")
    text = gradescope_image.requirements("3.11", LOCK)
    pinned = dict(line.split("==") for line in text.split())
    shared = {n: v for n, v in pinned.items() if n in locked}
    assert {"numpy", "scipy", "pytest", "scikit-learn"} <= set(shared)
    assert shared == {n: locked[n] for n in shared}


@functools.cache
def pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
    except OSError:
        return False
    return True


def resolve(requirements: list[str], python: str, platform: str, tmp_path: Path, *extra) -> dict:
    """``{name: version}`` that uv resolves for ``requirements`` there (wheels only)."""
    if not pypi_reachable():
        pytest.skip("PyPI cannot be reached: resolution for another Python is not checked")
    source = tmp_path / f"in-{python}-{platform}.txt"
    source.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    out = tmp_path / f"out-{python}-{platform}.txt"
    command = [
        sys.executable, "-m", "uv", "pip", "compile", str(source), "--python-version", python,
        "--python-platform", PLATFORMS[platform][0], "--only-binary", ":all:", "--no-header",
        "--no-annotate", "--quiet", "--no-config", "-o", str(out), *extra,
    ]  # fmt: skip
    # macOS: Apple silicon, macOS 14 or later (torch 2.13 has no wheel for older ones)
    env = {**os.environ, "MACOSX_DEPLOYMENT_TARGET": "14.0"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    where = f"Python {python} on {platform}"
    assert run.returncode == 0, f"the lock does not resolve for {where}:\n{run.stderr[-3000:]}"
    return {
        canonicalize_name(Requirement(line).name): str(Requirement(line).specifier)[2:]
        for line in out.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }


def check_resolution(python: str, platform: str, tmp_path: Path) -> None:
    pins = pins_for(python, platform)
    torch = pins.pop("torch")
    lines = [str(r) for r in lock_lines() if canonicalize_name(r.name) != "torch"]
    resolved = resolve(lines, python, platform, tmp_path)
    assert resolved == pins, {
        n: (pins.get(n), resolved.get(n)) for n in set(pins) | set(resolved)
        if pins.get(n) != resolved.get(n)
    }  # fmt: skip
    # the torch release (PyPI's build of the same version: the same Pythons and platforms)
    version = torch.split("+")[0]
    assert resolve([f"torch=={version}"], python, platform, tmp_path, "--no-deps") == {
        "torch": version
    }


def test_the_lock_resolves_for_binder_s_python(tmp_path):
    python = binder_python()
    assert python == lock_tool.PYTHON, "the lock starts at Binder's Python"
    check_resolution(python, "linux", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "python, platform",
    [(p, "linux") for p in lock_tool.TESTED_PYTHONS if p != lock_tool.PYTHON]
    + [(lock_tool.PYTHON, "macos"), (lock_tool.PYTHON, "windows")],
)
def test_the_lock_resolves_for_the_pythons_and_platforms_it_claims(python, platform, tmp_path):
    check_resolution(python, platform, tmp_path)
