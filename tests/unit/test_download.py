"""Downloads against a local HTTP server on 127.0.0.1: checksums, atomic files, retries."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.server
import threading

import numpy as np
import pytest

from dlcourse import data
from dlcourse.cli import main
from dlcourse.data import download
from dlcourse.data.download import ChecksumError, DownloadError, RemoteFile, download_file, fetch
from dlcourse.data.idx import write_idx


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    truncate: set[str] = set()
    hits: dict[str, int] = {}

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.truncate:  # announce everything, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A threaded HTTP server on an ephemeral port; yields (base_url, handler class)."""
    handler = type("Handler", (_Handler,), {"files": {}, "truncate": set(), "hits": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _spec(name: str, body: bytes, **override) -> RemoteFile:
    digests = {
        "md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return RemoteFile(name, **{**digests, **override})


def test_success_with_checksum(server, tmp_path):
    url, handler = server
    body = bytes(range(256)) * 1000
    handler.files["/a.bin"] = body
    target = download_file(f"{url}/a.bin", tmp_path / "a.bin", _spec("a.bin", body), progress=False)
    assert target.read_bytes() == body
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"], "temporary files must be gone"


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_checksum_mismatch_leaves_no_file(server, tmp_path, algorithm):
    url, handler = server
    handler.files["/a.bin"] = b"what the server sends"
    spec = RemoteFile("a.bin", **{algorithm: hashlib.new(algorithm, b"published").hexdigest()})
    with pytest.raises(ChecksumError, match=f"checksum mismatch: {algorithm}") as info:
        download_file(f"{url}/a.bin", tmp_path / "a.bin", spec, progress=False)
    assert "a.bin" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_server_closing_mid_transfer_leaves_nothing_and_a_retry_succeeds(server, tmp_path):
    url, handler = server
    body = np.random.default_rng(0).bytes(300_000)
    handler.files["/big.bin"] = body
    handler.truncate.add("/big.bin")
    spec = _spec("big.bin", body)
    with pytest.raises(DownloadError, match="truncated transfer: received 150000 of 300000"):
        download_file(f"{url}/big.bin", tmp_path / "big.bin", spec, progress=False)
    assert list(tmp_path.iterdir()) == []
    handler.truncate.clear()
    download_file(f"{url}/big.bin", tmp_path / "big.bin", spec, progress=False)
    assert (tmp_path / "big.bin").read_bytes() == body


def test_http_error_is_a_download_error(server, tmp_path):
    url, _ = server
    with pytest.raises(DownloadError, match="404"):
        download_file(f"{url}/nothing", tmp_path / "x", RemoteFile("x", md5="0"), progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def fake_fashion(server, monkeypatch, tmp_path_factory):
    """Serve a tiny Fashion-MNIST look-alike under /fashion/ and publish its checksums."""
    url, handler = server
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(30) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "test_labels": np.arange(10, dtype=np.uint8),
    }
    served, files = tmp_path_factory.mktemp("served"), {}
    for role, spec in download.SOURCES["fashion"].files.items():
        body = write_idx(served / spec.name, arrays[role]).read_bytes()
        handler.files[f"/fashion/{spec.name}"] = body
        files[role] = _spec(spec.name, body)
    source = dataclasses.replace(download.SOURCES["fashion"], files=files, mirrors=())
    monkeypatch.setitem(download.SOURCES, "fashion", source)
    no_system = dataclasses.replace(data.IMAGE_SETS["fashion"], system_dirs=())
    monkeypatch.setitem(data.IMAGE_SETS, "fashion", no_system)
    return url, handler, arrays


def test_fetch_then_load_and_no_second_download(fake_fashion, tmp_path):
    url, handler, arrays = fake_fashion
    fetch("fashion", tmp_path / "fm", mirror=url, progress=False)
    ds = data.load_mnist("fashion", path=tmp_path / "fm")
    np.testing.assert_allclose(ds.X_train, arrays["train_images"].reshape(30, -1) / 255.0)
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    before = dict(handler.hits)
    fetch("fashion", tmp_path / "fm", mirror=url, progress=False)
    assert handler.hits == before, "verified files must not be downloaded again"


def test_fetch_replaces_a_damaged_copy(fake_fashion, tmp_path):
    url, handler, _ = fake_fashion
    target = tmp_path / "train-labels-idx1-ubyte.gz"
    target.write_bytes(b"damaged")
    fetch("fashion", tmp_path, mirror=url, progress=False)
    assert target.read_bytes() == handler.files["/fashion/train-labels-idx1-ubyte.gz"]


def test_load_with_download_uses_env_mirror_and_cache(fake_fashion, tmp_path, monkeypatch):
    url, _, arrays = fake_fashion
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.setenv("DLCOURSE_MIRROR", url)
    assert not data.available("fashion")
    ds = data.load_mnist("fashion", download=True, progress=False)
    assert (tmp_path / ".cache" / "dlcourse" / "fashion" / "t10k-images-idx3-ubyte.gz").is_file()
    assert data.available("fashion")
    assert ds.X_test.shape == (10, 784) and ds.y_train.shape == (30,)


def test_failed_download_through_load_leaves_cache_empty(fake_fashion, tmp_path, monkeypatch):
    url, handler, _ = fake_fashion
    handler.truncate.add("/fashion/train-images-idx3-ubyte.gz")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    with pytest.raises(DownloadError, match="truncated"):
        data.load_mnist("fashion", download=True, mirror=url, progress=False)
    assert not (tmp_path / "fashion" / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in (tmp_path / "fashion").iterdir() if p.name.endswith(".part")]
    handler.truncate.clear()
    assert (
        data.load_mnist("fashion", download=True, mirror=url, progress=False).X_train.shape[0] == 30
    )


def test_cli_fetch_and_path(fake_fashion, tmp_path, monkeypatch, capsys):
    url, _, _ = fake_fashion
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    assert (
        main(["data", "fetch", "fashion", "--dir", str(tmp_path / "fashion"), "--mirror", url]) == 0
    )
    assert main(["data", "path", "fashion"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "fashion")
    with contextlib.suppress(SystemExit):
        main(["data", "fetch", "cifar"])
    assert "invalid choice" in capsys.readouterr().err
