"""Downloading MNIST and Fashion-MNIST safely, with pooch: temporary file, checksum, atomic move.

The transfer itself is `pooch <https://www.fatiando.org/pooch/>`_'s (the downloader of
SciPy, scikit-image and MNE): the bytes go to a temporary file in the target folder, the
known hash is checked, and only a verified file is moved (atomically) to its final name;
any failure deletes the temporary file, so the next call simply starts again. This module
keeps what is specific to the course: the table of data sets, the mirrors tried in order,
and errors that say what went wrong (``DownloadError``, ``ChecksumError``).

``SOURCES`` holds the mirrors and, per file, the published checksums. Zalando
(Fashion-MNIST) and torchvision (MNIST) publish MD5 sums; where the table also holds a
SHA-256, that (stronger) one is checked instead. Set ``$DLCOURSE_MIRROR`` (or pass
``mirror=``) to fetch from another server that serves ``<mirror>/<name>/<file>``, e.g. a
local copy.
"""

from __future__ import annotations

import os
import re
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


def _published(spec: RemoteFile) -> tuple[str, str] | None:
    """The checksum that decides: ``(algorithm, hex digest)``, SHA-256 over MD5, or None."""
    for algorithm in ("sha256", "md5"):
        expected = getattr(spec, algorithm)
        if expected is not None:
            return algorithm, expected.lower()
    return None


def _mismatch(path: Path, spec: RemoteFile, algorithm: str, actual: str) -> ChecksumError:
    return ChecksumError(
        f"{path}: checksum mismatch: {algorithm} is {actual}, the published {spec.name} has "
        f"{getattr(spec, algorithm)}"
    )


def verify(path: str | os.PathLike, spec: RemoteFile) -> None:
    """Raise ``ChecksumError`` unless the file at ``path`` has the checksums of ``spec``."""
    import pooch

    path = Path(path)
    for algorithm in ("sha256", "md5"):
        expected = getattr(spec, algorithm)
        if expected is not None:
            actual = pooch.file_hash(str(path), alg=algorithm)
            if actual != expected.lower():
                raise _mismatch(path, spec, algorithm, actual)


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
    the target folder (pooch deletes its temporary file).
    """
    import pooch
    import requests

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    published = _published(spec)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # pooch announces every download at INFO; tqdm shows it here
    try:
        pooch.retrieve(
            url,
            known_hash=None if published is None else f"{published[0]}:{published[1]}",
            fname=target.name,
            path=target.parent,
            downloader=pooch.HTTPDownloader(progressbar=progress, timeout=timeout),
        )
    except ValueError as error:  # pooch: the hash differs (the download is deleted)
        actual = re.search(r"but got ([0-9a-fA-F]+)", str(error))
        if published is None or actual is None:
            raise DownloadError(f"{url}: download failed: {error}") from error
        raise _mismatch(target, spec, published[0], actual.group(1)) from None
    except (requests.RequestException, OSError) as error:
        short = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected", str(error))
        if short:
            received, missing = int(short.group(1)), int(short.group(2))
            raise DownloadError(
                f"{url}: truncated transfer: received {received} of {received + missing} bytes"
            ) from error
        raise DownloadError(f"{url}: download failed: {error}") from error
    finally:
        logger.setLevel(level)
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
