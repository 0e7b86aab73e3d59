"""``dlcourse data list|fetch NAME|path NAME``: what the data sets are and where they lie."""

from __future__ import annotations

import sys
from pathlib import Path

from dlcourse.data.download import fetch
from dlcourse.data.mnist import IMAGE_SETS, _canonical, _download_dir, available, locate


def run(
    action: str, name: str | None = None, directory: str | None = None, mirror: str | None = None
) -> int:
    """Run ``dlcourse data list|fetch NAME|path NAME``; returns the exit status."""
    try:
        if action == "list":
            print("digits   embedded (scikit-learn, 1,797 8×8 images)")
            print("xor, moons, circles, spirals, gaussian_blobs, regression_1d   generated")
            for key in IMAGE_SETS:
                where = str(Path(locate(key)["train_images"]).parent) if available(key) else None
                print(f"{key:8} {where or f'missing: run  dlcourse data fetch {key}'}")
            return 0
        if action == "path":
            print(Path(locate(name)["train_images"]).parent)
            return 0
        if action == "fetch":
            if directory is None and available(name):
                print(f"already available: {Path(locate(name)['train_images']).parent}")
                return 0
            print(
                fetch(_canonical(name), _download_dir(_canonical(name), directory), mirror=mirror)
            )
            return 0
        raise ValueError(f"unknown action {action!r}; expected list, fetch or path")
    except (OSError, ValueError) as error:
        print(f"dlcourse data {action}: {error}", file=sys.stderr)
        return 1
