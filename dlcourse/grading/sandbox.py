"""Start the process that runs a student's code, with limits and without access to answers.

``start_worker`` launches ``python -I -B`` running :mod:`dlcourse.grading.worker` with

* a fresh, empty working directory (also ``HOME``) and a scrubbed environment;
* ``resource`` limits set before ``exec``: address space (``RLIMIT_AS``), CPU seconds,
  file size (``RLIMIT_FSIZE``: stdout/stderr go to files, so printing past the output
  limit kills the worker with SIGXFSZ instead of buffering gigabytes), no core files,
  a process count;
* the answers hidden: a private mount namespace in which the tests directory,
  ``solutions/``, ``.git`` and the submissions folder are covered by empty, unreadable
  ``tmpfs`` mounts, and ``no_new_privs`` with a parent-death signal. How depends on who
  grades:

  - as root (a container, a CI runner), level ``"namespace"``: after the mounts the worker
    switches to an unprivileged user id of its own, so it can neither write the
    repository nor signal other workers;
  - as a normal user, level ``"user-namespace"``: the worker enters a new user namespace
    (``unshare(CLONE_NEWUSER | CLONE_NEWNS)``, its own user id mapped to itself) to make
    the same mounts, and since it keeps the grader's user id, every mount but its working
    directory becomes read-only there (``mount_setattr``, Linux 5.12+), so it cannot
    leave files for later grading runs to import. The ``exec`` of Python drops every
    capability (the id is not 0 inside the namespace), so the student's code can neither
    unmount the covers nor remount anything writable.

When neither can be set up (user namespaces disabled, a seccomp filter), the worker still
gets the limits above, and the report carries a note saying which protection was missing;
the level reached is ``Worker.isolation``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

try:  # POSIX only: the worker's limits need it; dlcourse.check (Windows too) never starts one
    import resource
except ImportError:
    resource = None

_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV = 1, 2, 4
_MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 4096, 8192, 16384, 1 << 18
# mount_setattr(2) (Linux 5.12+; the same number on every architecture)
_SYS_MOUNT_SETATTR, _AT_FDCWD, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 1
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


# Loads codec.py and worker.py by path, so that the worker does not import the package.
_BOOTSTRAP = """
import importlib.util, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
load("_dlcourse_codec", {codec!r})
sys.exit(load("_dlcourse_worker", {worker!r}).main({r}, {w}))
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker process."""

    memory_mb: int = 4096  # RLIMIT_AS
    cpu_s: int = 600  # RLIMIT_CPU (the wall-clock timeouts are enforced by the caller)
    output_bytes: int = 1_000_000  # RLIMIT_FSIZE, which also caps stdout/stderr
    processes: int = 64  # RLIMIT_NPROC (threads count), enforced for non-root users


@dataclass
class Worker:
    """A started worker: its process, its two pipe ends and where its output goes."""

    process: subprocess.Popen
    to_worker: int
    from_worker: int
    directory: Path
    output: Path
    isolation: str
    notes: list[str] = field(default_factory=list)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    enc = lambda s: None if s is None else s.encode()
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _blocked_ancestors(path: Path) -> tuple[Path, str] | None:
    """The first ancestor of ``path`` that others cannot traverse, with the child to keep."""
    parts = path.resolve().parts
    for i in range(1, len(parts)):
        ancestor = Path(*parts[:i])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor, parts[i]
    return None


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _hide(hidden: list[Path]) -> None:
    """Cover each directory of ``hidden`` with an empty tmpfs that nobody may read."""
    for path in hidden:
        if path.is_dir():
            flags = _MS_RDONLY | _MS_NOSUID | _MS_NODEV
            _mount("tmpfs", str(path), "tmpfs", flags, "size=4k,mode=000")


class _MountAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in ("set", "clear", "propagation", "userns")]


def _set_read_only(path: Path, read_only: bool, recursive: bool) -> None:
    """Set (or clear) the read-only flag of the mount at ``path`` (and of those below it)."""
    flag = _MOUNT_ATTR_RDONLY
    attr = _MountAttr(flag if read_only else 0, 0 if read_only else flag, 0, 0)
    result = _libc.syscall(
        _SYS_MOUNT_SETATTR, _AT_FDCWD, str(path).encode(), _AT_RECURSIVE if recursive else 0,
        ctypes.byref(attr), ctypes.sizeof(attr),
    )  # fmt: skip
    _check(result, f"mount_setattr {path}")


def isolate_user(hidden: list[Path], writable: list[Path]) -> None:
    """In the child of a non-root grader: new user and mount namespaces (the user id and
    group id mapped to themselves) in which every mount is read-only but ``writable``
    (bind-mounted onto itself), and ``hidden`` is covered.

    Read-only everywhere, because the worker keeps the grader's user id: otherwise it
    could leave a ``usercustomize.py`` or a ``conftest.py`` for later grading runs to
    import. Must run before ``exec``: the capabilities held in the new namespace are lost
    there, so the student's code cannot undo any of it."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare(CLONE_NEWUSER)")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
    for path in writable:
        _mount(str(path), str(path), None, _MS_BIND, None)
    _set_read_only(Path("/"), True, recursive=True)
    for path in writable:
        _set_read_only(path, False, recursive=False)
    _hide(hidden)


def _isolate(hidden: list[Path], needed: list[Path], staging: Path) -> None:
    """In the child of a root grader: new mount namespace, hide ``hidden``, keep ``needed``
    reachable by the unprivileged user id the worker switches to."""
    _check(_libc.unshare(_CLONE_NEWNS), "unshare")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
    keep: dict[Path, set[str]] = {}
    for path in needed:
        found = _blocked_ancestors(path)
        if found:
            keep.setdefault(found[0], set()).add(found[1])
    for n, (ancestor, children) in enumerate(sorted(keep.items())):
        stage = staging / f"s{n}"
        stage.mkdir()
        _mount("tmpfs", str(stage), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=755")
        for child in sorted(children):
            source = ancestor / child
            (stage / child).mkdir() if source.is_dir() else (stage / child).touch()
            _mount(str(source), str(stage / child), None, _MS_BIND | _MS_REC, None)
        _mount(str(stage), str(ancestor), None, _MS_MOVE, None)
    _hide(hidden)


def _preexec(limits: Limits, level: str, uid: int | None, hidden, needed, staging) -> None:
    """Runs in the child between fork and exec (keep it to system calls)."""
    for which, value in (
        (resource.RLIMIT_AS, limits.memory_mb * 2**20),
        (resource.RLIMIT_CPU, limits.cpu_s),
        (resource.RLIMIT_FSIZE, limits.output_bytes),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, limits.processes),
    ):
        resource.setrlimit(which, (value, value))
    if level == "namespace":
        _isolate(hidden, needed, staging)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif level == "user-namespace":
        isolate_user(hidden, [needed[-1]])  # only the working directory stays writable
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _environment(directory: Path) -> dict[str, str]:
    env = {"HOME": str(directory), "TMPDIR": str(directory), "MPLCONFIGDIR": str(directory)}
    env.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "DLCOURSE_GRADING": "1"})
    for name in ("OMP", "OPENBLAS", "MKL", "NUMEXPR"):
        env[f"{name}_NUM_THREADS"] = "1"
    return env


def start_worker(limits: Limits, hidden: list[Path], isolate: bool = True) -> Worker:
    """Start a worker process; the caller talks to it through ``to_worker``/``from_worker``."""
    directory = Path(tempfile.mkdtemp(prefix="dlcourse-worker-"))
    work = directory / "cwd"
    work.mkdir()
    output = directory / "output.txt"
    uid = None
    if isolate and os.geteuid() == 0:
        uid = 60000 + os.getpid() % 5000  # one user id per grading process
        os.chown(work, uid, uid)
        directory.chmod(0o711)
    package = Path(__file__).resolve().parents[1]  # student code may import dlcourse
    needed = [Path(sys.base_prefix), Path(sys.prefix), package, work]
    keep = [p.resolve() for p in needed]
    hidden = [h.resolve() for h in hidden]
    hidden = [h for h in hidden if not any(k.is_relative_to(h) for k in keep)]
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    here = Path(__file__).resolve().parent
    code = _BOOTSTRAP.format(
        codec=str(here / "codec.py"), worker=str(here / "worker.py"), r=request_r, w=reply_w
    )
    command = [sys.executable, "-I", "-B", "-c", code]
    notes: list[str] = []
    if not isolate:
        levels: tuple[str, ...] = ("limits",)
    else:
        levels = ("namespace" if uid is not None else "user-namespace", "limits")
    with open(output, "wb") as out:
        for level in levels:
            staging = Path(tempfile.mkdtemp(prefix="stage-", dir=directory))
            try:
                process = subprocess.Popen(
                    command,
                    cwd=work,
                    env=_environment(work),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    pass_fds=(request_r, reply_w),
                    preexec_fn=lambda v=level, s=staging: _preexec(
                        limits, v, uid, hidden, needed, s
                    ),
                )
                break
            except (subprocess.SubprocessError, OSError) as exc:
                notes.append(
                    f"sandbox level {level!r} unavailable ({exc}); using fewer protections"
                )
        else:  # pragma: no cover - only when even plain limits cannot be applied
            raise RuntimeError("; ".join(notes))
    os.close(request_r)
    os.close(reply_w)
    return Worker(process, request_w, reply_r, directory, output, level, notes)


def stop_worker(worker: Worker) -> int | None:
    """Kill the worker (if alive), close its pipes, remove its directory; its exit code."""
    import shutil

    if worker.process.poll() is None:
        worker.process.kill()
    code = worker.process.wait()
    for fd in (worker.to_worker, worker.from_worker):
        try:
            os.close(fd)
        except OSError:
            pass
    shutil.rmtree(worker.directory, ignore_errors=True)
    return code


def read_output_tail(worker: Worker, start: int = 0, limit: int = 400) -> str:
    """The last ``limit`` characters the worker printed after byte offset ``start``."""
    try:
        with open(worker.output, "rb") as fh:
            fh.seek(start)
            data = fh.read()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")
