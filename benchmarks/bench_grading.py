"""Time ``dlcourse grade`` on 30 copies of one exercise's solution with ``--jobs 2``.

Uses exercise 06 (backpropagation) when ``solutions/06_*.ipynb`` exists, else 01, else the
grader's fixture exercise. Prints the wall time and the mean score; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dlcourse.grading import runner

ROOT = Path(__file__).resolve().parents[1]
COPIES, JOBS = 30, 2


def pick() -> tuple[Path, Path]:
    for number in ("06", "01"):
        found = sorted(ROOT.glob(f"solutions/{number}_*.ipynb"))
        if found and runner.test_file_for(number, ROOT / "tests" / "exercises"):
            return found[0], ROOT / "tests" / "exercises"
    course = ROOT / "tests" / "grading_fixtures" / "course"
    return course / "solutions" / "00_fixture.ipynb", course / "tests"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 copies instead of 30")
    copies = 4 if parser.parse_args(argv).quick else COPIES
    solution, tests_dir = pick()
    folder = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        for i in range(copies):
            shutil.copy(solution, folder / f"student{i:02d}.ipynb")
        settings = runner.Settings(tests_dir=tests_dir, exercise=solution.stem[:2], jobs=JOBS)
        start = time.perf_counter()
        results = runner.grade(folder, settings)
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    full = sum(r.score == r.max_score > 0 for r in results)
    print(f"exercise         {solution.stem}")
    print(f"submissions      {len(results)}  (--jobs {JOBS})")
    print(f"full marks       {full}/{len(results)}")
    print(f"wall time        {wall:.1f} s  ({wall / len(results):.2f} s per submission)")
    return 0 if full == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
