"""Unprivileged user ids for workers started by a root grader, one per live worker.

A grader running as root (a container, a CI runner, Gradescope) never runs the student's
code as root: each worker switches to a user id of its own from :data:`FIRST`..:data:`LAST`.
Two workers never share one, whichever grading processes started them: an id is taken
by holding an exclusive ``flock`` on ``LOCKS/<uid>.lock`` for the worker's lifetime (the
kernel drops the lock when its holder dies, so a crashed grader leaks nothing). An id is
skipped while it names an account of the system or any process still runs under it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX only: a root grader's workers need them; dlcourse.check (Windows too) does not
    import fcntl
    import pwd
except ImportError:
    fcntl = pwd = None

FIRST, LAST = 61000, 64999


class NoFreeUid(RuntimeError):
    """No unprivileged user id could be reserved."""


@dataclass
class Reservation:
    """A reserved user id; :meth:`release` frees it."""

    uid: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _lock_dir() -> Path:
    """A folder only root can write, for the lock files."""
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        folder = base / "dlcourse-uids"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o022:
            return folder
    raise NoFreeUid("no folder for the user-id locks (/run and the temporary folder refused)")


def _in_use(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    return True
            except OSError:
                continue
    return False


def reserve() -> Reservation:
    """Reserve a free user id (root only)."""
    folder = _lock_dir()
    start = FIRST + (os.getpid() * 7919) % (LAST - FIRST + 1)  # spread the search
    for i in range(LAST - FIRST + 1):
        uid = FIRST + (start - FIRST + i) % (LAST - FIRST + 1)
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _in_use(uid):
            os.close(fd)
            continue
        return Reservation(uid, fd)
    raise NoFreeUid(f"every user id from {FIRST} to {LAST} is in use")
