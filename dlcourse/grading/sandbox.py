"""Start the process that runs a student's code: confined, limited, never as root.

``start_worker`` launches ``python -I -B`` running :mod:`dlcourse.grading.worker` in one of
two isolation levels:

* ``"strong"`` (the default): inside bubblewrap (:mod:`dlcourse.grading.bwrap` lists the
  exact options): no network, a filesystem holding only the interpreter, its packages
  and the worker's own files (the course package, its tests and solutions, the
  submissions, the machine's ``/tmp`` and every other worker are absent), new pid and
  IPC namespaces, a new session, no capabilities, an unprivileged user id. Who starts
  bubblewrap: a grader that is not root itself (the worker is ``nobody`` in a user
  namespace); a root grader holding ``CAP_SYS_ADMIN``, as root (no user namespace; the
  worker switches to a user id of its own, :mod:`dlcourse.grading.uids`, before anything
  else); a root grader without it (a container's default), as that user id (a user
  namespace again). Where ``bwrap`` is missing or cannot create namespaces, :func:`check`
  raises :class:`IsolationUnavailable` naming what is missing: the grader refuses rather
  than run student code with less.
* ``"weak"`` (only when asked for, ``dlcourse grade --isolation weak``; every result says
  so): resource limits only. A root grader still switches the worker to an unprivileged
  user id of its own; the worker can read whatever that user may read (the hidden
  tests, if they are readable by all) and reach the network.

At both levels: a scrubbed environment, ``resource`` limits (address space, CPU seconds,
file size, which also caps what it prints since stdout/stderr go to a file, no core
files, a process count), a memory limit for all its processes together and their end
when the worker is stopped (:mod:`dlcourse.grading.group`). Student code can import
NumPy (and PyTorch) but not ``dlcourse`` (:mod:`dlcourse.grading.guard`).
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.grading import bwrap, group, uids

LEVELS = ("strong", "weak")
STARTUP_S = 30.0  # seconds for a worker to start (bubblewrap, Python, NumPy)
_HERE = Path(__file__).resolve().parent
GRADER_FILES = ("codec.py", "guard.py", "worker.py")
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38

# Runs first in the worker: become the unprivileged user (root grader), check that no
# capability is left, set the limits, then load the grader's files by path (the package
# is not there) and serve.
_BOOTSTRAP = """
import importlib.util, os, resource, sys
config = {config!r}
if config["uid"] is not None:
    os.setgroups([])
    os.setresgid(config["uid"], config["uid"], config["uid"])
    os.setresuid(config["uid"], config["uid"], config["uid"])
with open("/proc/self/status") as fh:
    caps = [int(l.split()[1], 16) for l in fh if l.startswith(("CapPrm", "CapEff", "CapAmb"))]
if any(caps) or os.getuid() == 0 or os.geteuid() == 0:
    sys.exit("dlcourse worker: refusing to run with root or capabilities")
for name, value in config["limits"]:
    resource.setrlimit(getattr(resource, name), (value, value))
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
load("_dlcourse_codec", config["dir"] + "/codec.py")
load("_dlcourse_guard", config["dir"] + "/guard.py").install(config["exercise"])
sys.exit(load("_dlcourse_worker", config["dir"] + "/worker.py").main(config["r"], config["w"]))
"""


class IsolationUnavailable(RuntimeError):
    """The requested isolation cannot be set up here (the message says what is missing)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker (all its processes)."""

    memory_mb: int = 4096  # all its processes and its tmpfs files together
    cpu_s: int = 600  # RLIMIT_CPU (the wall-clock timeouts are enforced by the caller)
    output_bytes: int = 1_000_000  # RLIMIT_FSIZE, which also caps stdout/stderr
    processes: int = 64  # processes and threads


@dataclass
class Worker:
    """A started worker: its process, its two pipe ends and where its output goes."""

    process: subprocess.Popen
    to_worker: int
    from_worker: int
    directory: Path
    output: Path
    isolation: str
    group: group.Group
    watchdog: group.Watchdog | None = None
    reservation: uids.Reservation | None = None
    notes: list[str] = field(default_factory=list)


def describe(level: str) -> str:
    """How results graded at ``level`` were isolated, for every report."""
    if level == "weak":
        return (
            "weak (--isolation weak: resource limits only; the student's code could read "
            "files readable by all users and use the network)"
        )
    return "strong (bubblewrap)"


def _bwrap_problem(path: str | None) -> str | None:
    if path is None:
        return (
            "bubblewrap (bwrap) not found: install it (apt-get install bubblewrap) "
            "or pass --isolation weak"
        )
    return None


def _setup_hint(detail: str) -> str:
    if "Can't find source path" in detail:  # bubblewrap ran as the worker's user
        return (
            f"bubblewrap, started as the worker's unprivileged user (a root grader without "
            f"CAP_SYS_ADMIN), cannot read what the worker needs ({detail.strip()[-300:]}): "
            "install Python and its packages where every user may read them, or grade "
            "with CAP_SYS_ADMIN"
        )
    return (
        f"bubblewrap cannot create the sandbox here ({detail.strip()[-300:] or 'no message'}): "
        "it needs user namespaces (unprivileged_userns_clone / max_user_namespaces) or "
        "root, and no seccomp profile that blocks them (Docker's default does: run the "
        "container with --security-opt seccomp=unconfined, or grade as root with "
        "CAP_SYS_ADMIN); or pass --isolation weak"
    )


def check(level: str = "strong", exercise: str | None = None) -> None:
    """Start and stop one worker; IsolationUnavailable with the reason when that fails."""
    if level not in LEVELS:
        raise ValueError(f"isolation must be one of {LEVELS}, not {level!r}")
    if level == "strong":
        problem = _bwrap_problem(bwrap.find())
        if problem:
            raise IsolationUnavailable(problem)
    worker = start_worker(Limits(), level, exercise)
    try:
        ready, _, _ = select.select([worker.from_worker], [], [], STARTUP_S)
        message = os.read(worker.from_worker, 1 << 16) if ready else b""
        if b"ready" not in message:
            tail = read_output_tail(worker, limit=600)
            if level == "strong":
                raise IsolationUnavailable(_setup_hint(tail))
            raise IsolationUnavailable(f"the weakly isolated worker did not start ({tail})")
    finally:
        stop_worker(worker)


@functools.lru_cache(maxsize=8)
def _problem(level: str, path: str) -> str | None:
    try:
        check(level)
    except IsolationUnavailable as exc:
        return str(exc)
    return None


def problem(level: str = "strong") -> str | None:
    """Why ``level`` cannot be used here (None when it can); remembered per ``PATH``."""
    return _problem(level, os.environ.get("PATH", ""))


def _environment() -> dict[str, str]:
    env = {"HOME": "/work", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/work", "LANG": "C.UTF-8"}
    env.update({"PATH": "/usr/bin:/bin", "DLCOURSE_GRADING": "1"})
    for name in ("OMP", "OPENBLAS", "MKL", "NUMEXPR"):
        env[f"{name}_NUM_THREADS"] = "1"
    return env


def _rlimits(limits: Limits, processes: int) -> list[tuple[str, int]]:
    return [
        ("RLIMIT_AS", limits.memory_mb * 2**20),
        ("RLIMIT_CPU", limits.cpu_s),
        ("RLIMIT_FSIZE", limits.output_bytes),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", processes),
    ]


def _prctl(option: int, value: int) -> None:
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _user_processes(uid: int) -> int:
    """How many processes ``uid`` runs now."""
    count = 0
    for pid in group._pids():
        try:
            count += os.stat(f"/proc/{pid}").st_uid == uid
        except OSError:
            continue
    return count


def _join_and_become(cgroup: Path | None, uid: int | None) -> None:
    """In a child before exec: join the submission's cgroup, then become user ``uid``."""
    if cgroup is not None:
        group.join_cgroup(cgroup)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _weak_preexec(limits: Limits, uid: int | None, cgroup: Path | None) -> None:
    """Runs in the child between fork and exec of a weakly isolated worker."""
    os.setsid()
    _join_and_become(cgroup, uid)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _strong_preexec(cgroup: Path | None, uid: int | None) -> None:
    """Runs in the child between fork and exec of bubblewrap (``uid``: become that user
    first, so that bubblewrap runs unprivileged and makes a user namespace)."""
    os.umask(0o022)  # the folders bubblewrap creates must be traversable by the worker
    _join_and_become(cgroup, uid)


def can_administer() -> bool:
    """Whether this process holds CAP_SYS_ADMIN (a root grader outside a restricted
    container): bubblewrap can then create namespaces without a user namespace."""
    try:
        with open("/proc/self/status") as fh:
            line = next(x for x in fh if x.startswith("CapEff:"))
    except (OSError, StopIteration):
        return False
    return bool(int(line.split()[1], 16) & (1 << 21))


def _grader_files(directory: Path) -> Path:
    """Copies of the worker's files, readable by the worker's user, in its own folder."""
    folder = directory / "grader"
    folder.mkdir(mode=0o755)
    for name in GRADER_FILES:
        shutil.copy(_HERE / name, folder / name)
        (folder / name).chmod(0o644)
    folder.chmod(0o755)
    return folder


def _read_info(fd: int, timeout: float) -> dict:
    """The JSON bubblewrap writes to ``--info-fd`` (its sandbox's first process)."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            return json.loads(data)
        except ValueError:
            continue
    return {}


def start_worker(limits: Limits, level: str = "strong", exercise: str | None = None) -> Worker:
    """Start a worker; the caller talks to it through ``to_worker``/``from_worker``.

    Raises IsolationUnavailable when the level cannot be set up (a grader problem, never
    the student's). ``exercise`` ("16") chooses what :mod:`guard` says about imports.
    """
    if level not in LEVELS:
        raise ValueError(f"isolation must be one of {LEVELS}, not {level!r}")
    root = os.geteuid() == 0
    # a root grader: bubblewrap as root (the worker switches user inside) where it may
    # create namespaces; else bubblewrap started as the worker's user, in a user namespace
    privileged = root and level == "strong" and can_administer()
    path = bwrap.find() if level == "strong" else None
    if level == "strong" and path is None:
        raise IsolationUnavailable(_bwrap_problem(None))
    directory = Path(tempfile.mkdtemp(prefix="dlcourse-worker-"))
    reservation = cgroup = process = None
    ours: list[int] = []  # the grader's ends of the pipes
    try:
        if root:
            reservation = uids.reserve()
        parent = group.cgroup_parent()
        if parent is not None:
            try:
                cgroup = group.make_cgroup(parent, limits.memory_mb, limits.processes)
            except OSError:
                cgroup = None
        grader = _grader_files(directory)
        output = directory / "output.txt"
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        ours = [request_w, reply_r]
        uid = reservation.uid if reservation else None
        processes = limits.processes
        if level == "weak" and not root:  # RLIMIT_NPROC counts all of this user's processes
            processes += _user_processes(os.getuid())
        config = {
            "uid": uid if privileged else None,
            "limits": _rlimits(limits, processes),
            "exercise": exercise,
            "r": request_r,
            "w": reply_w,
            "dir": "/grader" if level == "strong" else str(grader),
        }
        code = _BOOTSTRAP.format(config=config)
        info_r = info_w = -1
        if level == "strong":
            info_r, info_w = os.pipe()
            prefix = bwrap.arguments(path, grader, limits.memory_mb, privileged, info_w)
            command = [*prefix, "--", bwrap.executable(), "-I", "-B", "-c", code]
            as_user = uid if root and not privileged else None
            if as_user is not None:  # bubblewrap runs as that user: it must reach the files
                directory.chmod(0o711)
            preexec = lambda: _strong_preexec(cgroup, as_user)  # noqa: E731
            cwd, fds = "/", (request_r, reply_w, info_w)
        else:
            command = [sys.executable, "-I", "-B", "-c", code]
            work = directory / "cwd"
            work.mkdir()
            if uid is not None:
                os.chown(work, uid, uid)
                directory.chmod(0o711)
            preexec = lambda: _weak_preexec(limits, uid, cgroup)  # noqa: E731
            cwd, fds = str(work), (request_r, reply_w)
        env = _environment()
        if level == "weak":
            env.update({"HOME": cwd, "TMPDIR": cwd, "MPLCONFIGDIR": cwd})
        with open(output, "wb") as out:
            try:
                process = subprocess.Popen(
                    command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=out, pass_fds=fds, preexec_fn=preexec,
                )  # fmt: skip
            except (OSError, subprocess.SubprocessError) as exc:
                if uid is not None and not privileged and isinstance(exc, PermissionError):
                    raise IsolationUnavailable(
                        "weak isolation runs the student's code as an unprivileged user, who "
                        f"cannot run this Python ({exc}): install Python and its packages "
                        "where every user may read them, or use strong isolation"
                    ) from None
                raise IsolationUnavailable(f"the worker could not be started: {exc}") from None
            finally:
                for fd in (request_r, reply_w, info_w):
                    if fd >= 0:
                        os.close(fd)
        if cgroup is not None:
            members = group.Group("cgroup", process.pid, cgroup=cgroup)
        elif level == "strong":
            info = _read_info(info_r, STARTUP_S)
            init = int(info.get("child-pid", 0)) or None
            try:
                namespace = os.readlink(f"/proc/{init}/ns/pid") if init else None
            except OSError:
                namespace = None
            members = group.Group(
                "pidns", process.pid, init=init, namespace=namespace,
                tmpfs=("/work", "/tmp", "/dev/shm"),
            )  # fmt: skip
            if namespace is None:  # bubblewrap failed before creating it
                members = group.Group("tree", process.pid)
        elif uid is not None:
            members = group.Group("uid", process.pid, uid=uid)
        else:
            members = group.Group("tree", process.pid)
        if info_r >= 0:
            os.close(info_r)
    except BaseException:
        if process is not None:
            process.kill()
            process.wait()
        for fd in ours:
            os.close(fd)
        if reservation is not None:
            reservation.release()
        if cgroup is not None:
            group.Group("cgroup", 0, cgroup=cgroup).release()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    worker = Worker(
        process, request_w, reply_r, directory, output, level, members,
        reservation=reservation,
    )  # fmt: skip
    if cgroup is None:
        worker.watchdog = group.Watchdog(members, limits.memory_mb * 2**20)
        worker.watchdog.start()
    if level == "weak":
        worker.notes.append(f"isolation: {describe('weak')}")
    return worker


def stop_worker(worker: Worker) -> int | None:
    """End the worker and every process it started, close its pipes, remove its folder;
    the worker's exit code."""
    if worker.watchdog is not None:
        worker.watchdog.stop()
    worker.group.kill()
    if worker.process.poll() is None:
        worker.process.kill()
    code = worker.process.wait()
    worker.group.kill()  # anything started while the first round ran
    worker.group.release()
    for fd in (worker.to_worker, worker.from_worker):
        try:
            os.close(fd)
        except OSError:
            pass
    if worker.reservation is not None:
        worker.reservation.release()
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
