"""The GitHub workflows: linted here, offline, and checked for what a maintainer relies on.

Two maintained linters read ``.github/workflows/*.yml``: ``check-jsonschema`` against the
GitHub workflow schema it ships (a misspelt key or a wrong type fails), and ``zizmor``
(offline audits: injection through expressions, credentials left in the checkout, excessive
permissions, unpinned or impostor actions, cache poisoning in release workflows), with its
policy in ``.github/zizmor.yml``. The rest are the promises of the README: tests on pushes
to main and on pull requests, PyTorch's CPU build through the lock (``make``), a book build
that fails on any warning or execution error, an execution cache that is never an older
one, current action majors, and a tag-triggered publication by trusted publishing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent

# The newest major of each action when the workflows were last reviewed (all on Node 24).
CURRENT_MAJORS = {
    "actions/checkout": 7,
    "actions/setup-python": 7,
    "actions/cache": 6,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "actions/upload-pages-artifact": 5,
    "actions/deploy-pages": 5,
}


def tool(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return str(found)


def workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def runs(flow: dict) -> list[str]:
    return [step["run"] for step in steps(flow) if "run" in step]


def test_there_are_the_three_workflows():
    assert [p.name for p in FILES] == ["book.yml", "publish.yml", "test.yml"]


def test_workflows_match_github_s_schema():
    run = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


def test_zizmor_finds_nothing():
    run = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--config",
         str(ROOT / ".github" / "zizmor.yml"), str(WORKFLOWS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_the_linters_do_fail_on_a_broken_workflow(tmp_path):
    """Both linters reject what they are here to catch (so a green run means something)."""
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "bad.yml").write_text(
        "on: [pull_request_target]\n"
        "jobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v7\n"
        "        with: {ref: '${{ github.event.pull_request.head.sha }}'}\n"
        "      - run: echo '${{ github.event.pull_request.title }}'\n"
        "      - timeout-minuets: 3\n        run: true\n"
    )
    schema = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         str(broken / "bad.yml")], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert schema.returncode != 0 and "timeout-minuets" in schema.stdout, schema.stdout
    audit = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--config",
         str(ROOT / ".github" / "zizmor.yml"), str(broken)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert audit.returncode != 0 and "template-injection" in audit.stdout, audit.stdout


def test_tests_run_on_pushes_to_main_and_on_pull_requests():
    flow = workflow("test.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert "pull_request" in flow["on"]
    assert "make test" in [line.strip() for line in runs(flow)]


def test_ci_fails_loudly_on_a_missing_browser_or_data_set():
    lines = [line.strip() for line in runs(workflow("test.yml"))]
    assert "make sysdeps STRICT=1" in lines and "make data STRICT=1" in lines


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_torch_is_never_installed_from_pypi_by_a_workflow(path):
    """PyPI's torch on Linux is a CUDA build of several GB: the workflows install through make
    (the lock, torch from the CPU index) or install no torch at all."""
    for line in runs(workflow(path.name)):
        assert not re.search(r"pip3?\s+install[^\n]*\btorch\b", line), f"{path.name}: {line}"
        assert "make book" in line or "make test" in line or "torch" not in line


def test_the_book_build_fails_on_warnings_and_execution_errors():
    flow = workflow("book.yml")
    [build] = [line for line in runs(flow) if line.strip().startswith("make book")]
    assert re.search(r"JB_OPTS=\"[^\"]*-W", build), build
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["allow_errors"] is False
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True


def test_the_execution_cache_is_exact_never_an_older_one():
    [cache] = [
        s for s in steps(workflow("book.yml")) if s.get("uses", "").startswith("actions/cache")
    ]
    assert "restore-keys" not in cache["with"], "restore-keys would publish stale outputs"
    key = cache["with"]["key"]
    for source in ("book/", "dlcourse/", "requirements/lock.txt", "pyproject.toml"):
        assert source in key, f"the cache key ignores {source}: {key}"


def test_the_book_is_deployed_to_pages_with_least_privilege():
    flow = workflow("book.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert flow["permissions"] == {"contents": "read"}
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    uses = [s.get("uses", "") for s in steps(flow)]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    text = (WORKFLOWS / "book.yml").read_text(encoding="utf-8")
    assert "Source: GitHub Actions" in text, "the one-time Pages setting must be written down"


def test_tags_publish_by_trusted_publishing_after_twine_check():
    flow = workflow("publish.yml")
    assert flow["on"] == {"push": {"tags": ["v*"]}}
    lines = "\n".join(runs(flow))
    assert "python -m build" in lines and "twine check --strict" in lines
    pypi = flow["jobs"]["pypi"]
    assert pypi["permissions"] == {"id-token": "write"} and pypi["environment"]["name"] == "pypi"
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish") for s in pypi["steps"])
    assert not any("password" in s.get("with", {}) for s in pypi["steps"]), "no stored token"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_at_their_current_majors_and_pip_is_cached(path):
    flow = workflow(path.name)
    for step in steps(flow):
        action, _, ref = step.get("uses", "").partition("@")
        if action in CURRENT_MAJORS:
            assert ref == f"v{CURRENT_MAJORS[action]}", f"{path.name}: {action}@{ref}"
        if action == "actions/setup-python" and path.name != "publish.yml":
            assert step["with"].get("cache") == "pip", f"{path.name}: pip downloads not cached"
            assert step["with"].get("cache-dependency-path") == "requirements/lock.txt"


def test_every_make_target_a_workflow_calls_exists():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.M))
    for path in FILES:
        for line in runs(workflow(path.name)):
            for target in re.findall(r"\bmake\s+([a-z][\w-]*)", line):
                assert target in targets, f"{path.name} runs `make {target}`, not in the Makefile"
