"""``$DLCOURSE_SYSTEM_DATA`` replaces the distribution-package folders of the data search.

The book's data-absent build (``book/_ext/data_notes.py``) relies on it to hide Debian's
``/usr/share/datasets/fashion-mnist`` from a test.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from dlcourse import data
from dlcourse.data.download import SOURCES
from dlcourse.data.idx import write_idx


def _write_fashion(folder, n=6):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for role, spec in SOURCES["fashion"].files.items():
        m = n if role.startswith("train") else 3
        array = (rng.integers(0, 256, (m, 28, 28)) if role.endswith("images")
                 else rng.integers(0, 10, m)).astype(np.uint8)  # fmt: skip
        write_idx(folder / spec.name, array)


@pytest.fixture
def empty_search(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "empty"))
    return tmp_path


def test_empty_override_hides_the_system_package(empty_search, monkeypatch):
    monkeypatch.setenv("DLCOURSE_SYSTEM_DATA", "")
    assert not data.available("fashion")
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_mnist("fashion")
    message = str(info.value)
    assert "/usr/share/datasets" not in message
    assert "dlcourse data fetch fashion" in message


def test_override_folders_are_searched_in_order(empty_search, monkeypatch):
    _write_fashion(empty_search / "second", n=6)
    _write_fashion(empty_search / "third", n=9)
    folders = [empty_search / "first-missing", empty_search / "second", empty_search / "third"]
    monkeypatch.setenv("DLCOURSE_SYSTEM_DATA", os.pathsep.join(map(str, folders)))
    assert data.available("fashion")
    assert data.locate("fashion")["train_images"].parent == empty_search / "second"
    assert data.load_mnist("fashion").X_train.shape == (6, 784)


def test_without_the_variable_the_debian_folder_is_searched(empty_search, monkeypatch):
    monkeypatch.delenv("DLCOURSE_SYSTEM_DATA", raising=False)
    debian = data.IMAGE_SETS["fashion"].system_dirs[0]
    if data.available("fashion"):  # this machine has the package: found there
        assert data.locate("fashion")["train_images"].parent == debian
    else:
        with pytest.raises(data.DataNotFoundError, match=str(debian)):
            data.locate("fashion")
