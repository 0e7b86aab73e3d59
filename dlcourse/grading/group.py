"""All the processes of one worker: their memory together, and ending every one of them.

A submission may start processes (``fork``, ``subprocess``, a double-forked ``setsid``
daemon); the limits hold for all of them together and none outlives its grading. How the
group is known, from the strongest to the weakest:

* ``cgroup``: a cgroup v2 of its own (where the grader's cgroup delegates the ``memory``
  and ``pids`` controllers and may be written): the kernel enforces ``memory.max`` (RAM
  and tmpfs files together, no swap) and ``pids.max``; ending is ``cgroup.kill``;
* ``pidns``: the pid namespace bubblewrap created: its members are the processes whose
  ``/proc/PID/ns/pid`` is that namespace; killing its first process (the namespace's
  init) makes the kernel kill every other one;
* ``uid``: a user id that only this worker uses (a root grader in weak mode): every
  process of that user is a member, and a helper that takes the id ends them all
  (``kill(-1, SIGKILL)``);
* ``tree``: the descendants of the worker and its session (a non-root grader in weak
  mode; a process that leaves both escapes: weak isolation is weak).

Without a cgroup, :class:`Watchdog` sums the members' memory (proportional set size, so
shared pages count once, plus the worker's tmpfs files, read through
``/proc/INIT/root``) a few times a second and ends the group when it passes the limit.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _memory_of(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (resident size when PSS is unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _stat_fields(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return []


# -- cgroup v2 --------------------------------------------------------------------------
def cgroup_parent() -> Path | None:
    """This process's cgroup v2 folder, when it delegates ``memory`` and ``pids`` and is
    writable (a container with its own writable cgroup, a systemd scope with
    ``Delegate=yes``); else None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        own = next(line[3:] for line in lines if line.startswith("0::"))
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except (OSError, StopIteration):
        return None
    for line in mounts:
        left, _, right = line.partition(" - ")
        if right.split(" ")[:1] == ["cgroup2"]:
            folder = Path(left.split(" ")[4]) / own.lstrip("/")
            try:
                controllers = (folder / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if {"memory", "pids"} <= set(controllers) and os.access(folder, os.W_OK):
                return folder
    return None


def make_cgroup(parent: Path, memory_mb: int, processes: int) -> Path:
    """A new child cgroup of ``parent`` with the limits written (raises OSError)."""
    folder = parent / f"dlcourse-{secrets.token_hex(6)}"
    folder.mkdir()
    try:
        (folder / "memory.max").write_text(str(memory_mb * 2**20))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        (folder / "pids.max").write_text(str(processes))
    except OSError:
        folder.rmdir()
        raise
    return folder


def join_cgroup(folder: Path) -> None:
    """Move the calling process into ``folder`` (between fork and exec: system calls only)."""
    fd = os.open(str(folder / "cgroup.procs"), os.O_WRONLY)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


# -- the group --------------------------------------------------------------------------
@dataclass
class Group:
    """The processes of one worker (see the module doc for ``kind``)."""

    kind: str  # "cgroup", "pidns", "uid" or "tree"
    leader: int  # the worker process the grader started (bwrap or python)
    init: int | None = None  # pidns: the namespace's first process, as the machine sees it
    namespace: str | None = None  # pidns: readlink of /proc/INIT/ns/pid
    uid: int | None = None  # uid
    cgroup: Path | None = None  # cgroup
    tmpfs: tuple[str, ...] = ()  # pidns: the worker's tmpfs mounts (counted as memory)
    killed_for: str | None = None  # why the group was ended early ("memory")
    _seen: set = field(default_factory=set)

    def members(self) -> list[int]:
        """The pids of the group's live processes now (as the machine sees them)."""
        return [pid for pid in self._members() if _alive(pid)]

    def _members(self) -> list[int]:
        if self.kind == "cgroup" and self.cgroup is not None:
            try:
                return [int(x) for x in (self.cgroup / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                return []
        if self.kind == "pidns":
            out = []
            for pid in _pids():
                try:
                    if os.readlink(f"/proc/{pid}/ns/pid") == self.namespace:
                        out.append(pid)
                except OSError:
                    continue
            return out
        if self.kind == "uid":
            out = []
            for pid in _pids():
                try:
                    if os.stat(f"/proc/{pid}").st_uid == self.uid:
                        out.append(pid)
                except OSError:
                    continue
            return out
        return self._tree()

    def _tree(self) -> list[int]:
        parents, sessions = {}, {}
        for pid in _pids():
            fields = _stat_fields(pid)
            if len(fields) > 4:
                parents[pid], sessions[pid] = int(fields[1]), int(fields[4])
        members = {self.leader} if self.leader in parents else set()
        members |= {p for p, s in sessions.items() if s == self.leader}
        members |= self._seen & parents.keys()
        grew = True
        while grew:
            extra = {p for p, parent in parents.items() if parent in members} - members
            members |= extra
            grew = bool(extra)
        self._seen = members
        return sorted(members)

    def memory(self) -> int:
        """Bytes held by the group: its processes and (pidns) its tmpfs files."""
        if self.kind == "cgroup" and self.cgroup is not None:
            try:
                return int((self.cgroup / "memory.current").read_text())
            except (OSError, ValueError):
                return 0
        total = sum(_memory_of(pid) for pid in self.members())
        if self.kind == "pidns" and self.init is not None:
            for mount in self.tmpfs:
                try:
                    st = os.statvfs(f"/proc/{self.init}/root{mount}")
                    total += (st.f_blocks - st.f_bfree) * st.f_frsize
                except OSError:
                    continue
        return total

    def kill(self) -> None:
        """End every process of the group (repeatedly, until none is left or 5 s pass)."""
        if self.kind == "cgroup" and self.cgroup is not None:
            try:
                (self.cgroup / "cgroup.kill").write_text("1")
            except OSError:
                pass
        if self.kind == "pidns" and self.init is not None:
            _signal(self.init)  # the namespace's init: the kernel ends all the others
            wait = time.monotonic() + 1.0  # and bubblewrap, which reaps it, then exits
            while _alive(self.leader) and time.monotonic() < wait:
                time.sleep(0.005)
        if self.kind == "uid" and self.uid is not None:
            _kill_user(self.uid)
        _signal(self.leader)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            left = [p for p in self.members() if p != self.leader]
            if not left:
                break
            for pid in left:
                _signal(pid)
            time.sleep(0.02)

    def release(self) -> None:
        """Remove the cgroup (after :meth:`kill`)."""
        if self.kind == "cgroup" and self.cgroup is not None:
            for _ in range(100):
                try:
                    self.cgroup.rmdir()
                    return
                except OSError:
                    time.sleep(0.02)


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


def _kill_user(uid: int) -> None:
    """Every process of ``uid`` gets SIGKILL: a child takes the id and signals all it may."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(3):
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


class Watchdog(threading.Thread):
    """Ends ``group`` when its memory passes ``limit_bytes`` (checked every POLL_S)."""

    def __init__(self, group: Group, limit_bytes: int):
        super().__init__(daemon=True, name="dlcourse-memory-watchdog")
        self.group, self.limit = group, limit_bytes
        self.stopped = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while not self.stopped.wait(POLL_S):
            used = self.group.memory()
            self.peak = max(self.peak, used)
            if used > self.limit:
                self.group.killed_for = "memory"
                self.group.kill()
                return

    def stop(self) -> None:
        self.stopped.set()
