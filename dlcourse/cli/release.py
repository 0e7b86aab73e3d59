"""``dlcourse release``: exercises from solutions, a student folder, a Gradescope zip.

The work lives in :mod:`dlcourse.grading.release` and :mod:`dlcourse.grading.gradescope`;
this module turns flags into their arguments and their results into lines of output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "write exercises/ from solutions/ (and a student folder or a Gradescope zip)"
DESCRIPTION = (
    "By default: write exercises/ from solutions/. --student DIR writes what students get "
    "(notebooks, public tests, a README); --gradescope NN OUT.zip writes a Gradescope "
    "autograder (in a checkout or from an installed dlcourse; --timeout, --test-timeout and "
    "--memory-mb set its limits). The public tests that dlcourse.check runs after a pip "
    "install are cut from tests/exercises when the wheel is built (setup.py)."
)
CHECKOUT = Path(__file__).resolve().parents[2]  # dlcourse/cli/release.py -> checkout, if any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the flags of ``dlcourse release`` on ``p``."""
    p.description = DESCRIPTION
    p.add_argument("--source", default="solutions", help="folder of solution notebooks")
    p.add_argument("--dest", default="exercises", help="folder of student notebooks")
    p.add_argument("--tests-dir", default="tests/exercises", help="folder of test_NN_*.py")
    p.add_argument("--check", action="store_true", help="fail if DEST is not up to date")
    p.add_argument("--student", metavar="DIR", help="write notebooks, public tests, README")
    p.add_argument("--gradescope", nargs=2, metavar=("NN", "OUT.zip"), help="autograder zip")
    p.add_argument(
        "--wheel", help="dlcourse wheel for the zip (default: built from this checkout, or "
        "packed from the installed dlcourse)"
    )  # fmt: skip
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per submission")
    p.add_argument("--test-timeout", type=float, default=10.0, help="seconds per test")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory limit of student code")


def run(args: argparse.Namespace) -> int:
    """Run ``dlcourse release``; returns the exit status."""
    from dlcourse.grading.release import release, release_student

    if args.student:
        try:
            written = release_student(Path(args.source), Path(args.tests_dir), args.student)
        except FileNotFoundError as exc:  # not a checkout: no tools/public_tests.py
            print(f"dlcourse release: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"written  {path}")
        return 0
    if args.gradescope:
        return _gradescope(args)
    report = release(args.source, args.dest, check=args.check)
    for kind in ("written", "differ", "missing", "extra"):
        for path in getattr(report, kind):
            print(f"{kind:8} {path}")
    if args.check and not report.clean:
        print("exercises are out of date: run `dlcourse release`", file=sys.stderr)
        return 1
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from dlcourse.grading.gradescope import build_autograder
    from dlcourse.grading.gradescope_image import is_checkout
    from dlcourse.grading.runner import Settings

    number, out = args.gradescope
    for option in ("timeout", "test_timeout", "memory_mb"):
        if not getattr(args, option) > 0:
            flag = "--" + option.replace("_", "-")
            print(
                f"dlcourse release: {flag} must be positive; got {getattr(args, option)}",
                file=sys.stderr,
            )
            return 2
    limits = Settings(
        timeout=args.timeout, test_timeout=args.test_timeout, memory_mb=args.memory_mb
    )
    wheel = Path(args.wheel) if args.wheel else None
    if wheel is not None and not wheel.is_file():
        print(f"dlcourse release: the wheel {wheel} does not exist", file=sys.stderr)
        return 2
    try:
        path = build_autograder(
            number, Path(out), Path(args.tests_dir),
            CHECKOUT if is_checkout(CHECKOUT) else None, wheel=wheel, settings=limits,
        )  # fmt: skip
    except ValueError as exc:
        print(f"dlcourse release: {exc}", file=sys.stderr)
        return 2
    print(f"written  {path} (upload it as the autograder of exercise {number})")
    return 0
