"""``dlcourse grade``: grade one submission or a folder of them, safely.

The work lives in :mod:`dlcourse.grading` (``runner`` grades, ``report`` writes); this
module turns flags into :class:`dlcourse.grading.runner.Settings` and prints the results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "grade submissions safely"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the flags of ``dlcourse grade`` on ``p``."""
    p.add_argument("path", help="a notebook, a .py file or a folder of submissions")
    p.add_argument("--exercise", help="exercise number (NN), if the files do not say")
    p.add_argument(
        "--json",
        help="Gradescope results file (a folder when PATH is a folder), each with a Markdown "
        "feedback file beside it",
    )
    p.add_argument("--csv", help="CSV summary: one row per submission, one column per test")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per submission")
    p.add_argument("--test-timeout", type=float, default=10.0, help="seconds per test")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument("--tests-dir", help="folder of test_NN_*.py (default: tests/exercises)")
    p.add_argument(
        "--cell-timeout", type=float, help="seconds per notebook cell (default: --test-timeout)"
    )
    p.add_argument(
        "--memory-mb", type=int, default=4096, help="memory of all a submission's processes"
    )
    p.add_argument(
        "--isolation",
        choices=("strong", "weak"),
        default="strong",
        help="strong (default): bubblewrap, refused where it cannot run; weak: resource "
        "limits only (said in every result)",
    )


def run(args: argparse.Namespace) -> int:
    """Grade, print a table per submission, write the files asked for; the exit status is 1
    when a submission could not be graded at all (scores do not matter), 2 on bad input."""
    from dlcourse.grading import report, runner, sandbox

    path = Path(args.path)
    if not path.exists():
        print(f"dlcourse grade: {path} does not exist", file=sys.stderr)
        return 2
    settings = runner.Settings(
        exercise=args.exercise,
        timeout=args.timeout,
        test_timeout=args.test_timeout,
        cell_timeout=args.cell_timeout,
        memory_mb=args.memory_mb,
        jobs=args.jobs,
        isolation=args.isolation,
        **({"tests_dir": Path(args.tests_dir)} if args.tests_dir else {}),
    )
    skipped: list = []
    try:
        results = runner.grade(path, settings, skipped)
    except sandbox.IsolationUnavailable as exc:
        print(f"dlcourse grade: refusing to grade: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(report.table(result), end="\n\n")
    for file, reason in skipped:
        print(report.clean(f"not graded: {file}: {reason}"))
    if args.json:
        report.write_json(results, Path(args.json), folder=path.is_dir())
    if args.csv:
        base = path if path.is_dir() else None
        report.write_atomic(Path(args.csv), report.csv_summary(results, base))
    print(report.summary_line(results, skipped))
    return 1 if any(r.error for r in results) else 0
