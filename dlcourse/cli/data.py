"""``dlcourse data list|fetch NAME|path NAME``: what the data sets are and where they lie."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlcourse.data.mnist import IMAGE_SETS, available, download_files, locate

HELP = "list, fetch or locate the data sets"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the actions of ``dlcourse data`` on ``p``."""
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show every data set and where it was found")
    fetch = actions.add_parser("fetch", help="download MNIST or Fashion-MNIST (checksummed)")
    fetch.add_argument("name", choices=("mnist", "fashion"))
    fetch.add_argument("--dir", dest="directory", help="target folder (default: the cache)")
    fetch.add_argument("--mirror", help="base URL serving <mirror>/<name>/<file>")
    where = actions.add_parser("path", help="print the folder a data set is loaded from")
    where.add_argument("name", choices=("mnist", "fashion"))


def run(args: argparse.Namespace) -> int:
    """Run ``dlcourse data ACTION``; returns the exit status (1 when it failed)."""
    action, name = args.action, getattr(args, "name", None)
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
            if args.directory is None and available(name):
                print(f"already available: {Path(locate(name)['train_images']).parent}")
                return 0
            print(download_files(name, args.directory, mirror=args.mirror))
            return 0
        raise ValueError(f"unknown action {action!r}; expected list, fetch or path")
    except (OSError, ValueError) as error:
        print(f"dlcourse data {action}: {error}", file=sys.stderr)
        return 1
