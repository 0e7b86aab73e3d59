"""What a Gradescope autograder image needs: pinned releases, a Python for them, the wheel.

Gradescope builds one image per assignment by running the zip's ``setup.sh`` on a base
image; the zip documents and targets :data:`BASE_IMAGE`, Gradescope's default, whose own
``python3`` is 3.10. The releases pinned in ``requirements.txt`` are the ones installed
here (the instructor's tested environment), with everything they depend on
(:func:`pins`), and several of them need a newer Python (NumPy 2.3 and later need 3.11).
So :func:`required_python` finds the oldest Python 3.N that every pinned release declares
it supports (its ``Requires-Python``), and :func:`setup_script` installs exactly that
version: from Ubuntu's own archive (Ubuntu 22.04 has ``python3.11`` in *universe*), or
else from the deadsnakes PPA, before making the virtual environment the grader runs in.

Outside a checkout (dlcourse installed from a wheel) there is no source to build the wheel
the zip ships, so :func:`wheel_from_installed` packs the installed distribution into one.
This module needs only the standard library and ``packaging`` (a dependency of pytest).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

BASE_IMAGE = "Ubuntu 22.04"  # Gradescope's default base image ("Base" variant)
OLDEST_PYTHON = (3, 10)  # dlcourse's own Requires-Python
NEWEST_MINOR = 20  # candidates 3.10 ... 3.20

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
#
# Base image: {base_image} (Gradescope's default). requirements.txt pins releases resolved
# for Python {python}; the image's python3 may be older (Ubuntu 22.04 has 3.10), so python{python}
# is installed from Ubuntu's archive, or from the deadsnakes PPA where the archive lacks it.
# DLCOURSE_GRADESCOPE_ROOT replaces /autograder (tests).
set -euo pipefail
PYTHON=python{python}
ROOT="${{DLCOURSE_GRADESCOPE_ROOT:-/autograder}}"

have_python() {{
    command -v "$PYTHON" >/dev/null && "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1
}}

install_python() {{
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    if apt-get install -y --no-install-recommends "$PYTHON" "$PYTHON-venv"; then
        return 0
    fi
    apt-get install -y --no-install-recommends software-properties-common gpg-agent
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y --no-install-recommends "$PYTHON" "$PYTHON-venv"
}}

main() {{
    cd "$ROOT/source"
    have_python || install_python
    "$PYTHON" -m venv "$ROOT/venv"
    "$ROOT/venv/bin/python" -m pip install --upgrade pip
    "$ROOT/venv/bin/python" -m pip install -r requirements.txt
    "$ROOT/venv/bin/python" -m pip install --no-deps dlcourse-*.whl
    # the grader runs student code inside bubblewrap and refuses to grade without it
    command -v bwrap >/dev/null || {{
        apt-get update && apt-get install -y --no-install-recommends bubblewrap; }}
}}

if [[ "${{BASH_SOURCE[0]}}" == "$0" ]]; then
    main
fi
"""


def _environment(python: str) -> dict[str, str]:
    """Marker variables of a Linux image running ``python`` ("3.11")."""
    env = default_environment()
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def _roots() -> list[str]:
    """dlcourse's runtime dependencies (no extras) and pytest, which runs the tests."""
    names = ["pytest"]
    for spec in metadata.requires("dlcourse") or []:
        requirement = Requirement(spec)
        if requirement.marker is None or "extra" not in str(requirement.marker):
            names.append(requirement.name)
    return names


def pins(python: str) -> dict[str, str | None]:
    """``{name: installed version}`` of dlcourse's dependencies and all they need on ``python``.

    The closure follows each installed distribution's requirements whose markers hold on a
    Linux image with that Python. A name that is not installed here maps to None.
    """
    env = _environment(python)
    found: dict[str, str | None] = {}
    todo = _roots()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found or name == "dlcourse":
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found[name] = None
            continue
        found[name] = dist.version
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({**env, "extra": ""}):
                todo.append(requirement.name)
    return dict(sorted(found.items()))


def requires_python(name: str) -> str:
    """The ``Requires-Python`` of the installed distribution ``name`` ("" when it has none)."""
    return metadata.distribution(name).metadata.get("Requires-Python") or ""


def required_python() -> str:
    """The oldest Python ("3.11") that dlcourse and every release :func:`pins` gives support.

    The pins depend on the Python (markers), so the two are computed until they agree.
    """
    python = "{}.{}".format(*OLDEST_PYTHON)
    for _ in range(5):
        specifiers = [SpecifierSet(requires_python(n)) for n, v in pins(python).items() if v]
        specifiers.append(SpecifierSet(requires_python("dlcourse")))
        for minor in range(OLDEST_PYTHON[1], NEWEST_MINOR + 1):
            if all(s.contains(f"3.{minor}.0", prereleases=True) for s in specifiers):
                break
        else:
            raise ValueError("no Python 3.10 ... 3.20 is supported by every pinned release")
        if f"3.{minor}" == python:
            return python
        python = f"3.{minor}"
    raise ValueError("the Python the pinned releases need does not settle")


def locked_versions(lock: Path, python: str) -> dict[str, str]:
    """``{name: version}`` of the lock's lines (``requirements/lock.txt`` of a checkout,
    ``name==version ; marker``) whose markers hold on a Linux image with ``python``."""
    env = {**_environment(python), "extra": ""}
    found = {}
    for line in Path(lock).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(env):
            versions = [s.version for s in requirement.specifier if s.operator == "=="]
            found[canonicalize_name(requirement.name)] = versions[0] if versions else ""
    return found


def requirements(python: str, lock: Path | None = None) -> str:
    """``requirements.txt``: ``name==version`` per pin (the bare name when not installed).

    With ``lock`` (the course's lock of versions), a pin takes the lock's version, so the
    autograder installs what ``make``, CI and Binder install.
    """
    locked = locked_versions(lock, python) if lock is not None else {}
    lines = []
    for name, version in pins(python).items():
        version = locked.get(name) or version
        lines.append(f"{name}=={version}" if version else name)
    return "\n".join(lines) + "\n"


def setup_script(python: str) -> str:
    """``setup.sh`` for :data:`BASE_IMAGE` that installs Python ``python`` if it is missing."""
    return SETUP_SH.format(base_image=BASE_IMAGE, python=python)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def wheel_from_installed(out_dir: Path) -> Path:
    """Pack the installed (not editable) dlcourse distribution into a wheel in ``out_dir``.

    A wheel of a pure-Python package is a zip of the package's files and its
    ``.dist-info`` folder (``METADATA``, ``WHEEL``, ``entry_points.txt``, and a ``RECORD``
    of every file's hash), so the installed files are all it takes: no source, no build
    backend, no network. Compiled caches and the installer's own files are left out.
    """
    dist = metadata.distribution("dlcourse")
    files = [f for f in dist.files or [] if str(f).startswith(("dlcourse/", "dlcourse-"))]
    if not any(str(f) == "dlcourse/__init__.py" for f in files):
        raise ValueError(
            "dlcourse is installed in editable mode (from a checkout): run the command in "
            "that checkout, or pass --wheel"
        )
    skip_info = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    info = f"dlcourse-{dist.version}.dist-info"
    target = Path(out_dir) / f"dlcourse-{dist.version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(files, key=str):
            name = str(file)
            if "__pycache__" in name or name.endswith(".pyc"):
                continue
            if name.startswith(f"{info}/") and name.split("/", 1)[1] in skip_info:
                continue
            data = Path(file.locate()).read_bytes()
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
            record.append(f"{name},{_record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        info_record = zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0))
        zf.writestr(info_record, "\n".join(record) + "\n")
    return target


def is_checkout(project: Path) -> bool:
    """Whether ``project`` is a dlcourse source tree (one the wheel can be built from)."""
    project = Path(project)
    return all((project / name).exists() for name in ("pyproject.toml", "setup.py", "dlcourse"))
