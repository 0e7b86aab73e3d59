"""The ``dlcourse`` command: ``train``, ``grade``, ``release``, ``data``, ``bench``.

Each subcommand is registered by a small ``_add_<name>`` function below and does its
work by calling into the package module that owns the idea; this file only parses.
"""

from __future__ import annotations

import argparse
import sys

from dlcourse import __version__


# --- data ------------------------------------------------------------------------------
def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, fetch or locate the data sets")
    p.set_defaults(func=lambda args: _not_yet("data"))


# --- train -----------------------------------------------------------------------------
def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network from the command line")
    p.set_defaults(func=lambda args: _not_yet("train"))


# --- release ---------------------------------------------------------------------------
def _add_release(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="write exercises/ from solutions/")
    p.set_defaults(func=lambda args: _not_yet("release"))


# --- grade -----------------------------------------------------------------------------
def _add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade submissions safely")
    p.set_defaults(func=lambda args: _not_yet("grade"))


# --- bench -----------------------------------------------------------------------------
def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark scripts and print their tables")
    p.set_defaults(func=lambda args: _not_yet("bench"))


def _not_yet(name: str) -> int:
    print(f"dlcourse {name}: not available in this version", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlcourse",
        description="Companion command of the dlcourse book: train networks, "
        "manage data, release and grade exercises.",
    )
    parser.add_argument("--version", action="version", version=f"dlcourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_train, _add_data, _add_release, _add_grade, _add_bench):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
