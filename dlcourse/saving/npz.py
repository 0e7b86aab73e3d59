"""``.npz`` files, the one container of every saved format (``Network``, ``Model``,
training checkpoints; see :mod:`dlcourse.saving`): written atomically, read without pickle
and without trusting sizes.

- :func:`atomic_savez` writes to a temporary file beside the target and moves it into place
  with ``os.replace``, so a crash mid-write leaves the previous file intact; temporaries
  left by killed saves are cleaned up by later saves (:func:`remove_stale_temporaries`).
- :func:`read_npz` checks every array's declared shape and dtype against the bytes the file
  really holds before setting memory aside, so a 2 KB file that declares a 3 GB array is
  refused at once.
"""

from __future__ import annotations

import glob
import math
import os
import re
import secrets
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

STALE_SECONDS = 60.0  # a temporary file unchanged this long was left by a killed save
_TEMPORARY = re.compile(r"\d+-[0-9a-f]{8}|[a-z0-9_]{8}")  # ours (and older mkstemp names)


def remove_stale_temporaries(path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Delete the temporary files that killed saves of ``path`` left beside it; return them.

    A save that is killed outright (SIGKILL, a closed laptop, the out-of-memory killer) has
    no chance to remove its ``.<name>.<pid>-<random>.tmp``. Only files of that naming that
    have not changed for ``older_than`` seconds are removed, so that a save in progress in
    another process (which writes continuously) is left alone.
    """
    path = Path(path)
    removed, now = [], time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        middle = tmp.name[len(path.name) + 2 : -len(".tmp")]
        try:
            if _TEMPORARY.fullmatch(middle) and now - tmp.stat().st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # removed meanwhile, or not ours to remove
            continue
    return removed


def atomic_savez(path, arrays: dict[str, Any]) -> Path:
    """Write ``arrays`` to ``path`` with ``np.savez`` via a temporary file + ``os.replace``.

    The temporary file ``.<name>.<pid>-<random>.tmp`` lies in the target folder, so the
    rename is atomic; it is removed when writing fails or is interrupted (Ctrl-C included),
    and one left by a killed process is removed by a later save
    (:func:`remove_stale_temporaries`). The file gets the permissions of any new file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as to any new file
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_npz(path, what: str = "checkpoint", names=None) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file (no pickle), or only those called ``names`` (e.g.
    ``{"metadata"}``); a broken file raises ValueError naming it and ``what`` it should be.

    Each array's header (shape and dtype) is checked against the bytes the file really
    holds for it *before* memory is set aside, so a small file that declares a huge array
    is refused at once instead of allocating what it declares.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            size = path.stat().st_size
            members = archive.infolist()
            if names is not None:
                members = [info for info in members if info.filename[:-4] in names]
            return {info.filename[:-4]: _read_member(archive, info, size) for info in members}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable {what} ({type(err).__name__}: {err})") from None


_READ_CHUNK = 1 << 20  # bytes read at a time from a compressed member


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int) -> np.ndarray:
    """One ``.npy`` member of an ``.npz`` archive, its declared size checked before reading.

    A stored (uncompressed) member must hold exactly ``prod(shape) * itemsize`` bytes after
    its header, and no member can be larger than the archive; a compressed one is read in
    chunks and refused as soon as it holds fewer or more bytes than its header declares.
    """
    name = info.filename
    if not name.endswith(".npy"):
        raise ValueError(f"member {name!r} is not a .npy array")
    stored = info.compress_type == zipfile.ZIP_STORED
    if stored and not info.file_size == info.compress_size <= archive_size:
        raise ValueError(
            f"member {name!r} declares {info.file_size:,} bytes; the whole file has "
            f"{archive_size:,}"
        )
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"member {name!r} has .npy version {version}; expected 1.0 or 2.0")
        if dtype.hasobject:
            raise ValueError(f"member {name!r} holds Python objects (pickle); they are not read")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        declared = f"member {name!r} declares shape {shape} of {dtype} ({nbytes:,} bytes)"
        if count and not nbytes:
            raise ValueError(f"{declared}: a dtype of size 0")
        if stored:
            present = info.file_size - f.tell()
            if nbytes != present:
                raise ValueError(f"{declared}, but the file holds {present:,} bytes for it")
        # stored: the size is now known to be real; compressed: keep only what decompresses
        buffer = np.empty(nbytes, np.uint8) if stored else bytearray()
        got = 0
        while got <= nbytes and (chunk := f.read(min(_READ_CHUNK, nbytes + 1 - got))):
            if stored:
                buffer[got : got + len(chunk)] = np.frombuffer(chunk, np.uint8)
            else:
                buffer += chunk
            got += len(chunk)
        if got != nbytes:
            held = f"only {got:,} bytes" if got < nbytes else "more data than that"
            raise ValueError(f"{declared}, but the file holds {held} for it")
    data = buffer if stored else np.frombuffer(buffer, np.uint8)
    if fortran:
        return data.view(dtype).reshape(shape[::-1]).T
    return data.view(dtype).reshape(shape)


__all__ = ["atomic_savez", "read_npz", "remove_stale_temporaries", "STALE_SECONDS"]
