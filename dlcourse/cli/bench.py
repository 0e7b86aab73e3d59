"""``dlcourse bench``: find and run the benchmark scripts of a dlcourse checkout.

The scripts live in ``benchmarks/bench_<name>.py`` at the root of the repository (they
are not part of the installed package: they print tables, they are not tests). This
module finds that folder, lists the scripts, and runs the chosen ones one after another
in fresh interpreters so that one benchmark cannot warm up or slow down another.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HELP = "run the benchmark scripts and print their tables"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the flags of ``dlcourse bench`` on ``p``."""
    p.description = (
        "Run benchmarks/bench_NAME.py of this checkout (all of them by default). "
        "Arguments after -- go to every script, e.g. dlcourse bench epoch -- --quick."
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--quick", action="store_true", help="pass --quick to every script (reduced runs)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``dlcourse bench`` (``args.extra``: the arguments after ``--``)."""
    try:
        if args.list:
            for name, path in available(find_benchmarks()).items():
                print(f"{name:12} {path}")
            return 0
        extra = ["--quick"] if args.quick else []
        return run_scripts(args.names, extra + list(getattr(args, "extra", None) or []))
    except (FileNotFoundError, ValueError) as exc:
        print(f"dlcourse bench: {exc}", file=sys.stderr)
        return 2


def find_benchmarks(start: str | os.PathLike | None = None) -> Path:
    """Return the ``benchmarks/`` folder of the checkout that contains ``start``.

    Looks in ``start`` (default: the current directory) and its parents, then next to the
    installed package (an editable install from a clone). Raises ``FileNotFoundError``
    naming every place searched.
    """
    here = Path(start or os.getcwd()).resolve()
    candidates = [p / "benchmarks" for p in (here, *here.parents)]
    candidates.append(Path(__file__).resolve().parents[2] / "benchmarks")
    for folder in candidates:
        if any(folder.glob("bench_*.py")):
            return folder
    searched = "\n  ".join(str(c) for c in dict.fromkeys(candidates))
    raise FileNotFoundError(
        "no benchmarks/bench_*.py found; run `dlcourse bench` inside a clone of the course "
        f"repository. Searched:\n  {searched}"
    )


def available(folder: Path) -> dict[str, Path]:
    """Map each benchmark name (``epoch`` for ``bench_epoch.py``) to its script."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(folder.glob("bench_*.py"))}


def run_scripts(names: list[str] | None = None, extra: list[str] | None = None, start=None) -> int:
    """Run the benchmarks ``names`` (all when empty), passing ``extra`` arguments to each.

    Returns 0 when every script succeeded, else the first non-zero exit status.
    """
    folder = find_benchmarks(start)
    scripts = available(folder)
    names = list(names or scripts)
    unknown = [n for n in names if n not in scripts]
    if unknown:
        raise ValueError(
            f"unknown benchmark {', '.join(map(repr, unknown))}; "
            f"expected one of: {', '.join(scripts)}"
        )
    status = 0
    for name in names:
        print(f"== {name} ({scripts[name].name})", flush=True)
        code = subprocess.call([sys.executable, str(scripts[name]), *(extra or [])])
        if code and not status:
            status = code
    return status
