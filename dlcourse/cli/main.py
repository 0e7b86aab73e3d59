"""The ``dlcourse`` command: ``train``, ``grade``, ``release``, ``data``, ``bench``.

Each subcommand is registered by a small ``_add_<name>`` function below and does its
work by calling into the package module that owns the idea; this file only parses.
"""

from __future__ import annotations

import argparse
import os
import sys

from dlcourse import __version__


# --- data ------------------------------------------------------------------------------
def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, fetch or locate the data sets")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show every data set and where it was found")
    fetch = actions.add_parser("fetch", help="download MNIST or Fashion-MNIST (checksummed)")
    fetch.add_argument("name", choices=("mnist", "fashion"))
    fetch.add_argument("--dir", dest="directory", help="target folder (default: the cache)")
    fetch.add_argument("--mirror", help="base URL serving <mirror>/<name>/<file>")
    where = actions.add_parser("path", help="print the folder a data set is loaded from")
    where.add_argument("name", choices=("mnist", "fashion"))

    def run(args: argparse.Namespace) -> int:
        from dlcourse.cli import data

        options = ("name", "directory", "mirror")
        return data.run(args.action, **{k: getattr(args, k) for k in options if hasattr(args, k)})

    p.set_defaults(func=run)


# --- train -----------------------------------------------------------------------------
def _add_train(sub: argparse._SubParsersAction) -> None:
    from dlcourse.cli import train

    p = sub.add_parser("train", help="train a network from the command line")
    train.add_arguments(p)
    p.set_defaults(func=train.run)


# --- release ---------------------------------------------------------------------------
def _add_release(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "release",
        help="write exercises/ from solutions/ (and a student folder or a Gradescope zip)",
        description="By default: write exercises/ from solutions/. --student DIR writes what "
        "students get (notebooks, public tests, a README); --gradescope NN OUT.zip writes a "
        "Gradescope autograder (in a checkout or from an installed dlcourse; --timeout, "
        "--test-timeout and --memory-mb set its limits). The public tests that dlcourse.check "
        "runs after a pip install are cut from tests/exercises when the wheel is built "
        "(setup.py).",
    )
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

    def run(args) -> int:
        from pathlib import Path

        from dlcourse.grading.release import release, release_student

        if args.student:
            for path in release_student(Path(args.source), Path(args.tests_dir), args.student):
                print(f"written  {path}")
            return 0
        if args.gradescope:
            from dlcourse.grading.gradescope import build_autograder
            from dlcourse.grading.gradescope_image import is_checkout
            from dlcourse.grading.runner import Settings

            number, out = args.gradescope
            project = Path(__file__).resolve().parents[2]  # cli/main.py -> checkout, if any
            for option in ("timeout", "test_timeout", "memory_mb"):
                if not getattr(args, option) > 0:
                    flag = "--" + option.replace("_", "-")
                    given = getattr(args, option)
                    print(
                        f"dlcourse release: {flag} must be positive; got {given}", file=sys.stderr
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
                    project if is_checkout(project) else None, wheel=wheel, settings=limits,
                )  # fmt: skip
            except ValueError as exc:
                print(f"dlcourse release: {exc}", file=sys.stderr)
                return 2
            print(f"written  {path} (upload it as the autograder of exercise {number})")
            return 0
        report = release(args.source, args.dest, check=args.check)
        for kind in ("written", "differ", "missing", "extra"):
            for path in getattr(report, kind):
                print(f"{kind:8} {path}")
        if args.check and not report.clean:
            print("exercises are out of date: run `dlcourse release`", file=sys.stderr)
            return 1
        return 0

    p.set_defaults(func=run)


# --- grade -----------------------------------------------------------------------------
def _add_grade(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grade", help="grade submissions safely")
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

    def run(args) -> int:
        from pathlib import Path

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
        # non-zero when a submission could not be graded at all; scores do not matter
        return 1 if any(r.error for r in results) else 0

    p.set_defaults(func=run)


# --- bench -----------------------------------------------------------------------------
def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmark scripts and print their tables",
        description="Run benchmarks/bench_NAME.py of this checkout (all of them by default). "
        "Arguments after -- go to every script, e.g. dlcourse bench epoch -- --quick.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--quick", action="store_true", help="pass --quick to every script (reduced runs)"
    )

    def run(args: argparse.Namespace) -> int:
        from dlcourse.cli import bench

        try:
            if args.list:
                for name, path in bench.available(bench.find_benchmarks()).items():
                    print(f"{name:12} {path}")
                return 0
            return bench.run(
                args.names, (["--quick"] if args.quick else []) + list(args.extra or [])
            )
        except (FileNotFoundError, ValueError) as exc:
            print(f"dlcourse bench: {exc}", file=sys.stderr)
            return 2

    p.set_defaults(func=run)


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
