"""The ``dlcourse`` command: ``train``, ``data``, ``release``, ``grade``, ``bench``.

This file only parses. Each command is a module ``dlcourse/cli/NAME.py`` with ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``, listed in ``COMMANDS``; its work
lives in the package module that owns the idea (the commands import the grader only when
they run).
"""

from __future__ import annotations

import argparse
import os
import sys

from dlcourse import __version__
from dlcourse.cli import bench, data, grade, release, train

COMMANDS = {"train": train, "data": data, "release": release, "grade": grade, "bench": bench}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlcourse",
        description="Companion command of the dlcourse book: train networks, "
        "manage data, release and grade exercises.",
    )
    parser.add_argument("--version", action="version", version=f"dlcourse {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP)
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``dlcourse`` command; returns its exit status.

    When the reader of the output goes away (``dlcourse grade ... | head``) the command stops
    quietly with status 141 (128 + SIGPIPE, as a shell reports it), not with a traceback.
    """
    try:
        status = _main(argv)
        sys.stdout.flush()  # a broken pipe shows here, not as a warning at exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Send what is left of standard output (and the flush at exit) to the null device."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (a notebook, a test)
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:  # everything after -- is passed on untouched (dlcourse bench)
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    args.extra = extra
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
