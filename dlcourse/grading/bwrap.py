"""The bubblewrap command line that confines one worker (see :mod:`dlcourse.grading.sandbox`).

bubblewrap (``bwrap``, Debian/Ubuntu package ``bubblewrap``, the sandbox behind Flatpak)
builds the worker a filesystem of its own out of nothing and starts it in new namespaces.
What the worker gets (:func:`arguments`):

* namespaces: user (when the grader is not root), mount, pid, network, IPC, UTS and
  cgroup are all new (``--unshare-all``, never ``--share-net``): no network at all, not
  even the loopback of the machine, and no process of the machine in sight;
* a root that holds only, read-only: the system's shared libraries (``/usr/lib``,
  ``/lib*``), the Python interpreter (its executable, standard library and
  ``libpython``), the virtual environment or site-packages it runs with
  (:func:`interpreter_paths`) and the worker's three grader files at ``/grader``; the
  package ``dlcourse`` is covered wherever it lies in a site-packages folder;
* fresh, empty, writable ``tmpfs`` mounts at ``/work`` (the working directory and
  ``HOME``), ``/tmp`` (also ``/var/tmp``) and ``/dev/shm``, each at most the memory
  limit in size; a new ``/proc`` and a minimal ``/dev``; the root itself read-only;
* ``--new-session`` (no terminal to inject keystrokes into), ``--die-with-parent``
  (killed when the grading process dies), ``--cap-drop ALL`` and a user id that is not 0:
  ``nobody`` (65534) inside a user namespace when bubblewrap is started by a user that is
  not root; when it is started by root (``root_grader``), there is no user namespace (it
  would map the worker to root), and the worker keeps only ``CAP_SETUID``/``CAP_SETGID``
  for its first step, switching to an unprivileged user id of its own
  (:mod:`dlcourse.grading.uids`), which leaves it no capability at all.

Nothing else of the machine is visible: not the course checkout, its tests and
solutions, the submissions folder, other copies of the course, the machine's ``/tmp``,
nor other workers' files.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

SYSTEM_LIBRARIES = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/lib", "/lib64",
                    "/lib32", "/libx32")  # fmt: skip
SYSTEM_FILES = ("/etc/ld.so.cache",)
PACKAGE = "dlcourse"
NOBODY = 65534


def find() -> str | None:
    """The path of ``bwrap`` on ``PATH`` (None when it is not installed)."""
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def _help(path: str) -> str:
    try:
        run = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return run.stdout + run.stderr


def supports(path: str, option: str) -> bool:
    """Whether this bwrap knows ``option`` (``--size`` came with 0.8, ``--perms`` with 0.5)."""
    return f"{option} " in _help(path)


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def interpreter_paths() -> list[Path]:
    """What this Python needs to run: executable, standard library, libpython, packages.

    Real paths (symbolic links resolved), existing ones only, none inside another.
    """
    paths: set[Path] = {_real(sys.executable)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(_real(sysconfig.get_paths()[key]))
    paths.update(_real(p) for p in site.getsitepackages())
    if sys.prefix != sys.base_prefix:  # a virtual environment: pyvenv.cfg, bin/, lib/
        paths.add(_real(sys.prefix))
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and sysconfig.get_config_var("Py_ENABLE_SHARED"):
        paths.update(_real(p) for p in glob.glob(os.path.join(libdir, "libpython3*.so*")))
    existing = sorted(p for p in paths if p.exists())
    return [p for p in existing if not any(q != p and p.is_relative_to(q) for q in existing)]


def link_chain(path: str) -> list[str]:
    """``path`` and every path its symbolic links lead through, to the real file."""
    chain, current = [], os.path.abspath(path)
    for _ in range(40):
        chain.append(current)
        if not os.path.islink(current):
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return chain


def executable() -> str:
    """The interpreter to start in the sandbox: in a venv, the venv's own (real) path."""
    if sys.prefix != sys.base_prefix:
        candidate = _real(sys.prefix) / "bin" / Path(sys.executable).name
        if candidate.exists():
            return str(candidate)
    return str(_real(sys.executable))


def package_copies(bound: list[Path]) -> list[Path]:
    """Folders of the ``dlcourse`` package on this Python's path that the sandbox would see
    (inside one of the ``bound`` folders): they are covered."""
    found = set()
    for entry in [*sys.path, *site.getsitepackages()]:
        if not entry or not os.path.isdir(entry):
            continue
        folder = _real(entry)
        if (folder / PACKAGE).is_dir() and any(folder.is_relative_to(b) for b in bound):
            found.add(folder / PACKAGE)
    return sorted(found)


def _tmpfs(bwrap: str, target: str, size_mb: int) -> list[str]:
    args = []
    if supports(bwrap, "--perms"):
        args += ["--perms", "1777"]
    if supports(bwrap, "--size"):
        args += ["--size", str(size_mb * 2**20)]
    return [*args, "--tmpfs", target]


def _dir(bwrap: str, folder: str) -> list[str]:
    """A folder every user may traverse (bubblewrap makes them for root only otherwise)."""
    return (["--perms", "0755"] if supports(bwrap, "--perms") else []) + ["--dir", folder]


def arguments(
    bwrap: str, grader_dir: Path, size_mb: int, root_grader: bool, info_fd: int | None = None
) -> list[str]:
    """The options of ``bwrap`` (everything before ``--`` and the command).

    ``grader_dir`` holds the worker's files, bound read-only at ``/grader``; ``size_mb``
    caps each writable tmpfs; ``root_grader``: the grader runs as root (no user namespace;
    the worker switches user id itself, so it keeps ``CAP_SETUID``/``CAP_SETGID``).
    """
    if root_grader:
        args = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                "--cap-add", "CAP_SETGID"]  # fmt: skip
    else:
        args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid",
                str(NOBODY), "--cap-drop", "ALL"]  # fmt: skip
        if supports(bwrap, "--disable-userns"):
            args.append("--disable-userns")  # no nested user namespace for the student
    args += ["--die-with-parent", "--new-session", "--hostname", "grader"]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += _tmpfs(bwrap, "/tmp", size_mb) + _tmpfs(bwrap, "/dev/shm", size_mb)
    args += (
        _tmpfs(bwrap, "/work", size_mb) + _dir(bwrap, "/var") + ["--symlink", "/tmp", "/var/tmp"]
    )
    links = [p for p in SYSTEM_LIBRARIES if os.path.islink(p)]  # /lib -> usr/lib
    system = [Path(p) for p in SYSTEM_LIBRARIES + SYSTEM_FILES if os.path.exists(p)]
    system = [p for p in system if not os.path.islink(p)]
    needed = interpreter_paths()
    binds = [(p, str(p)) for p in system]
    binds += [(p, str(p)) for p in needed if not any(p.is_relative_to(s) for s in system)]
    for hop in link_chain(executable())[1:]:  # e.g. venv/bin/python -> /usr/bin/python3
        if not any(Path(hop).is_relative_to(b) for b in [*needed, *system]):
            binds.append((_real(hop), hop))
    # the folders leading to them must be traversable by the worker's user (bubblewrap
    # would create them for root only)
    made = {"/", "/tmp", "/dev", "/dev/shm", "/proc", "/work", "/var"}  # already there
    parents = sorted({str(a) for _, dest in binds for a in Path(dest).parents} - made)
    for folder in parents:
        args += _dir(bwrap, folder)
    for source, dest in binds:
        args += ["--ro-bind", str(source), dest]
    for link in links:
        args += ["--symlink", os.readlink(link), link]
    visible = [_real(p) for p in [*needed, *system]]
    for copy in package_copies(visible):  # an installed dlcourse: its answers stay out
        args += ["--tmpfs", str(copy), "--remount-ro", str(copy)]
    args += ["--ro-bind", str(grader_dir), "/grader", "--remount-ro", "/", "--chdir", "/work"]
    return args
