"""Publishing: the GitHub workflows, ``make publish``/``make lab`` and the Binder environment.

The workflows cannot run here, so they are parsed and checked: the events, the Pages
deployment, and that every ``make`` target they call exists in the Makefile. The Binder file
is checked against ``pyproject.toml`` and against the Python that ``binder/runtime.txt``
gives Binder: every pinned release declares that it runs there (the chapters themselves are
executed with these releases by the notebook tests).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
from packaging.requirements import Requirement  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BINDER = ROOT / "binder" / "requirements.txt"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True
    data["on"] = data.pop(True, data.get("on"))
    return data


def run_lines(flow: dict) -> list[str]:
    return [step["run"] for job in flow["jobs"].values() for step in job["steps"] if "run" in step]


def test_every_make_target_a_workflow_calls_exists():
    targets = make_targets()
    for name in ("test.yml", "book.yml"):
        for line in run_lines(workflow(name)):
            for target in re.findall(r"\bmake\s+([\w-]+)", line):
                assert target in targets, f"{name} runs `make {target}`, which the Makefile lacks"


def test_pull_requests_run_make_test():
    flow = workflow("test.yml")
    assert "pull_request" in flow["on"], "test.yml must run on pull requests"
    assert any(re.fullmatch(r"make test", line.strip()) for line in run_lines(flow)), (
        "test.yml must run exactly `make test`, as CI does"
    )


def test_pushes_to_main_build_and_deploy_the_book():
    flow = workflow("book.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert flow["permissions"]["pages"] == "write"
    steps = [s for job in flow["jobs"].values() for s in job["steps"]]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html", "the artifact must be the built HTML"
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "_build/.jupyter_cache", "the execution cache is not kept"
    lines = run_lines(flow)
    assert "make book" in lines and any("sysdeps" in line for line in lines)


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


def binder_requirements() -> dict[str, str]:
    pins = {}
    for line in BINDER.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-") or line == ".":
            continue
        req = Requirement(line)
        (version,) = [s.version for s in req.specifier if s.operator == "=="]
        pins[req.name.lower()] = version
    return pins


def test_binder_pins_satisfy_pyproject_and_cover_it():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = binder_requirements()
    wanted = project["dependencies"] + [
        r for r in project["optional-dependencies"]["book"] if not r.startswith("ghp-import")
    ]
    wanted += project["optional-dependencies"]["torch"]
    for spec in wanted:
        req = Requirement(spec)
        name = req.name.lower()
        assert name in pins, f"binder/requirements.txt does not pin {name} (pyproject: {spec})"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"binder pins {name}=={pins[name]}, outside pyproject's {spec}"
        )
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    torch = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", makefile, flags=re.M).group(1)
    assert pins["torch"] == torch, "Binder and the Makefile must use the same PyTorch"
    text = BINDER.read_text(encoding="utf-8")
    assert "download.pytorch.org/whl/cpu" in text, "Binder must take PyTorch's CPU build"
    assert re.search(r"^\.$", text, flags=re.M), "Binder must install the package itself"


def binder_python() -> str:
    """The Python version that ``binder/runtime.txt`` asks repo2docker for (``python-3.11``)."""
    runtime = ROOT / "binder" / "runtime.txt"
    assert runtime.exists(), (
        "binder/runtime.txt is missing: repo2docker would use its default Python, which the "
        "pinned releases may not support"
    )
    text = runtime.read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"binder/runtime.txt should read python-3.X; it reads {text!r}"
    return match.group(1)


# Releases whose support for Binder's Python must be known here (the ones that dropped old
# Pythons first); the others are checked too when the pinned release is the installed one.
MUST_CHECK = {"numpy", "scipy", "matplotlib", "scikit-learn", "ipykernel", "jupyterlab"}


def test_binder_pins_support_binder_s_python():
    """Each pinned release that is installed here at the pinned version declares (its
    Requires-Python) that it runs on Binder's Python. Offline, from the installed metadata:
    the releases Binder installs are the ones this suite ran with."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    python = binder_python()
    checked, unsupported = set(), []
    for name, pinned in binder_requirements().items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        if Version(dist.version).base_version != Version(pinned).base_version:
            continue
        requires = dist.metadata.get("Requires-Python") or ""
        if not SpecifierSet(requires).contains(f"{python}.0"):
            unsupported.append(f"{name}=={pinned} (Requires-Python {requires})")
        checked.add(name)
    assert not unsupported, f"on Binder's Python {python} these pins cannot install: {unsupported}"
    missing = MUST_CHECK - checked
    assert not missing, (
        f"{sorted(missing)} are not installed here at the pinned versions, so their support for "
        "Binder's Python was not checked: re-pin binder/requirements.txt to the tested releases"
    )
