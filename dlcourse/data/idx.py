"""The IDX file format of MNIST and Fashion-MNIST, read and written with NumPy alone.

An IDX file is a tiny header followed by one big-endian array:

===========  =====================================================================
bytes 0-1    zero
byte 2       type code of the elements (``TYPE_CODES``: 0x08 = uint8, ... 0x0E = float64)
byte 3       number of dimensions ``d``
next 4·d     the sizes of the dimensions, unsigned 32-bit big-endian
rest         the elements in C order, big-endian
===========  =====================================================================

So the MNIST training images start with ``00 00 08 03`` then 60000, 28, 28, and the labels
with ``00 00 08 01`` then 60000. Files may be gzip-compressed (recognised by their first two
bytes, not by their name). Nothing here unpickles anything.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["TYPE_CODES", "CorruptDataError", "read_idx", "write_idx"]

#: IDX type code -> big-endian NumPy dtype of the elements.
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class CorruptDataError(ValueError):
    """A data file exists but its content is wrong; the message names the file and the fault."""


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_exact(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream``; return how many bytes arrived before the end."""
    filled = 0
    while filled < len(buffer):
        got = stream.readinto(buffer[filled:])
        if not got:
            break
        filled += got
    return filled


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian array of the shape its header gives.

    The data are read straight into the final array (no intermediate ``bytes`` copy), so
    reading needs only the memory of the result.

    Raises:
        FileNotFoundError: the file does not exist.
        CorruptDataError: the magic number is wrong, the type code is unknown, the header or
            the data are shorter than the header announces (truncated), there are bytes left
            over after the data, or the gzip stream is damaged. The message names the file.
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            return _parse(stream, path)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise CorruptDataError(
            f"{path}: the gzip stream is damaged or truncated ({error}); delete the file "
            "and fetch it again"
        ) from None


def _parse(stream: BinaryIO, path: Path) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4:
        raise CorruptDataError(
            f"{path}: truncated header: expected a 4-byte magic number, got {len(magic)} bytes"
        )
    if magic[:2] != b"\x00\x00" or magic[2] not in TYPE_CODES or not 1 <= magic[3] <= 8:
        raise CorruptDataError(
            f"{path}: bad magic number 0x{magic.hex()}: an IDX file starts with two zero "
            f"bytes, a type code in {{{', '.join(f'0x{c:02x}' for c in TYPE_CODES)}}} and "
            "a dimension count between 1 and 8 (e.g. 0x00000803 for images, 0x00000801 "
            "for labels)"
        )
    dtype, ndim = TYPE_CODES[magic[2]], magic[3]
    header = stream.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise CorruptDataError(
            f"{path}: truncated header: {ndim} dimension sizes need {4 * ndim} bytes, "
            f"only {len(header)} present"
        )
    shape = struct.unpack(f">{ndim}I", header)
    result = np.empty(shape, dtype=dtype)
    expected = result.nbytes
    got = _read_exact(stream, memoryview(result.reshape(-1).view(np.uint8)))
    if got < expected:
        raise CorruptDataError(
            f"{path}: truncated data: the header announces shape {shape} of {dtype.name} "
            f"({expected} bytes) but the file holds only {got} data bytes"
        )
    if stream.read(1):
        raise CorruptDataError(
            f"{path}: header count does not match the data length: the header announces "
            f"shape {shape} ({expected} bytes) but more data follows"
        )
    if dtype.byteorder == ">":
        result = result.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return result


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``path`` ends in ``.gz``.

    The dtype must be one of ``TYPE_CODES`` (uint8, int8, int16, int32, float32, float64).
    Returns the path written.
    """
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in TYPE_CODES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(
            f"IDX stores uint8, int8, int16, int32, float32 or float64; got {array.dtype}"
        )
    if not 1 <= array.ndim <= 8:
        raise ValueError(f"IDX stores 1 to 8 dimensions; got an array of ndim={array.ndim}")
    path = Path(path)
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(header + data)
    return path
