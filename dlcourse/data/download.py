"""Downloading MNIST and Fashion-MNIST safely: temporary file, checksum, atomic rename.

A download never leaves a half-written or unverified file under the final name: the bytes
go to a hidden temporary file in the target folder, their checksums are computed while they
arrive, and only a file whose length and checksums are right is renamed (atomically, with
``os.replace``) to its final name. Anything else deletes the temporary file, so the next call
simply starts again.

``SOURCES`` is the table of data sets: mirrors and, per file, the published checksums.
Zalando (Fashion-MNIST) and torchvision (MNIST) publish MD5 sums; a SHA-256 is checked as
well wherever the table holds one. Set ``$DLCOURSE_MIRROR`` (or pass ``mirror=``) to fetch
from another server that serves ``<mirror>/<name>/<file>``, e.g. a local copy.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dlcourse.data.idx import CorruptDataError

__all__ = [
    "SOURCES",
    "ChecksumError",
    "DownloadError",
    "RemoteFile",
    "Source",
    "download_file",
    "fetch",
    "verify",
]

_CHUNK = 1 << 20


class DownloadError(OSError):
    """Every mirror failed (network error, HTTP error, truncated transfer)."""


class ChecksumError(CorruptDataError):
    """A file's checksum differs from the published one."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name and checksums (hex digests; ``None`` = not published)."""

    name: str
    md5: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Source:
    """A data set that can be downloaded: title, mirrors (tried in order) and its four files."""

    title: str
    mirrors: tuple[str, ...]
    files: dict[str, RemoteFile]  # role ("train_images", ...) -> file
    apt_package: str | None = None


def _idx_files(md5: dict[str, str]) -> dict[str, RemoteFile]:
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    return {role: RemoteFile(name, md5=md5[role]) for role, name in names.items()}


SOURCES: dict[str, Source] = {
    "mnist": Source(
        title="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist",
            "https://storage.googleapis.com/cvdf-datasets/mnist",
        ),
        files=_idx_files(
            {
                "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
                "test_images": "9fb629c4189551a2d022fa330f9573f3",
                "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
            }
        ),
    ),
    "fashion": Source(
        title="Fashion-MNIST",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
        ),
        files=_idx_files(
            {
                "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
                "test_images": "bef4ecab320f06d8554ea6380940ec79",
                "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
            }
        ),
        apt_package="dataset-fashion-mnist",
    ),
}


def _check_digests(path: Path, spec: RemoteFile, digests: dict[str, str]) -> None:
    for algorithm in ("sha256", "md5"):
        expected = getattr(spec, algorithm)
        if expected is not None and digests[algorithm] != expected.lower():
            raise ChecksumError(
                f"{path}: checksum mismatch: {algorithm} is {digests[algorithm]}, the "
                f"published {spec.name} has {expected}"
            )


def verify(path: str | os.PathLike, spec: RemoteFile) -> None:
    """Raise ``ChecksumError`` unless the file at ``path`` has the checksums of ``spec``."""
    path = Path(path)
    hashes = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            for h in hashes.values():
                h.update(chunk)
    _check_digests(path, spec, {name: h.hexdigest() for name, h in hashes.items()})


def download_file(
    url: str,
    target: str | os.PathLike,
    spec: RemoteFile,
    *,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``target``; the file appears under that name only once verified.

    Raises ``DownloadError`` for network and HTTP failures or a transfer shorter than its
    announced length, ``ChecksumError`` for wrong content; in both cases nothing is left in
    the target folder.
    """
    from tqdm.auto import tqdm

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    hashes = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as response,
        ):
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            received = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=target.name,
                disable=not progress,
                leave=False,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    for h in hashes.values():
                        h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(f"{url}: truncated transfer: received {received} of {total} bytes")
        _check_digests(target, spec, {name: h.hexdigest() for name, h in hashes.items()})
        os.replace(temporary, target)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, (DownloadError, ChecksumError)):
            raise
        raise DownloadError(f"{url}: download failed: {error}") from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def fetch(
    name: str, directory: str | os.PathLike, *, mirror: str | None = None, progress: bool = True
) -> Path:
    """Download the files of data set ``name`` into ``directory``; return the folder.

    Files already present with the right checksums are kept. The servers tried are
    ``mirror`` (or ``$DLCOURSE_MIRROR``), serving ``<mirror>/<name>/<file>``, if given, else
    the official mirrors of ``SOURCES[name]`` in order.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown data set {name!r}; expected one of {sorted(SOURCES)}")
    source, directory = SOURCES[name], Path(directory)
    mirror = mirror or os.environ.get("DLCOURSE_MIRROR")
    bases = (f"{mirror.rstrip('/')}/{name}",) if mirror else source.mirrors
    for spec in source.files.values():
        target = directory / spec.name
        if target.exists():
            try:
                verify(target, spec)
                continue
            except ChecksumError:
                pass  # a damaged copy: download it again (the rename replaces it)
        failures: list[Exception] = []
        for base in bases:
            try:
                download_file(f"{base.rstrip('/')}/{spec.name}", target, spec, progress=progress)
                break
            except (DownloadError, ChecksumError) as error:
                failures.append(error)
        else:
            if len(failures) == 1:
                raise failures[0]
            raise DownloadError(
                f"could not download {spec.name} of {source.title}:\n"
                + "\n".join(f"  - {failure}" for failure in failures)
            )
    return directory
