"""IDX reader/writer: round trips, the exact byte layout, and every kind of damage."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from dlcourse.data.idx import CorruptDataError, read_idx, write_idx


def _idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    """The IDX layout written out by hand (the oracle for the reader and the writer)."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_images_and_labels(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5).astype(np.uint8)
    for name, array in (("images", images), ("labels", labels)):
        path = write_idx(tmp_path / f"{name}-idx{suffix}", array)
        back = read_idx(path)
        assert back.dtype == np.uint8 and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
    raw = (tmp_path / f"images-idx{suffix}").read_bytes()
    if suffix:
        assert raw[:2] == b"\x1f\x8b", "a .gz name must produce a gzip file"
        raw = gzip.decompress(raw)
    assert raw == _idx_bytes(0x08, (5, 4, 3), images.tobytes())


@pytest.mark.parametrize(
    ("dtype", "code"),
    [("int8", 0x09), ("int16", 0x0B), ("int32", 0x0C), ("float32", 0x0D), ("float64", 0x0E)],
)
def test_every_type_code_is_big_endian_and_returned_native(tmp_path, dtype, code):
    values = np.array([[-3, 1], [2, 100]], dtype=dtype)
    path = tmp_path / "values.idx"
    path.write_bytes(
        _idx_bytes(code, (2, 2), values.astype(values.dtype.newbyteorder(">")).tobytes())
    )
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, values)
    write_idx(tmp_path / "again.idx", values)
    assert (tmp_path / "again.idx").read_bytes() == path.read_bytes()


def test_gzip_detected_by_content_not_name(tmp_path):
    labels = np.arange(7, dtype=np.uint8)
    path = tmp_path / "labels-no-suffix"
    path.write_bytes(gzip.compress(_idx_bytes(0x08, (7,), labels.tobytes())))
    np.testing.assert_array_equal(read_idx(path), labels)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="uint8.*got uint64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.uint64))


CORRUPTIONS = {
    "bad magic": (b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc", "bad magic number"),
    "unknown type code": (b"\x00\x00\x07\x01" + struct.pack(">I", 3) + b"abc", "bad magic"),
    "truncated magic": (b"\x00\x00", "truncated header"),
    "truncated header": (b"\x00\x00\x08\x03" + struct.pack(">I", 3), "truncated header"),
    "truncated data": (_idx_bytes(0x08, (4, 2, 2), bytes(10)), "truncated data.*only 10"),
    "extra data": (_idx_bytes(0x08, (3,), bytes(5)), "header count does not match"),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_files_name_the_file_and_the_fault(tmp_path, case, suffix):
    content, pattern = CORRUPTIONS[case]
    path = tmp_path / f"broken-{case.replace(' ', '-')}{suffix}"
    path.write_bytes(gzip.compress(content) if suffix else content)
    with pytest.raises(CorruptDataError, match=pattern) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(_idx_bytes(0x08, (100,), bytes(range(100))))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(CorruptDataError, match="gzip stream is damaged or truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.gz")
