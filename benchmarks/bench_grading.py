"""Grade 300 copies of one exercise's solution with ``--jobs 2``: wall time and peak memory.

Uses exercise 06 (backpropagation) when ``solutions/06_*.ipynb`` exists, else 01, else the
grader's fixture exercise. Every submission runs in its own pytest process and sandboxed
worker, exactly as ``dlcourse grade FOLDER --jobs 2`` does. Peak memory is sampled every
0.2 s as the summed resident memory (RSS) of the grading process and all its descendants.

Writes ``benchmarks/results/grading.json`` and prints a table; asserts nothing beyond every
copy scoring full marks. Run it on an otherwise idle machine (``nice`` when it is shared):

    python benchmarks/bench_grading.py [--copies 300] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._results import save  # noqa: E402
from dlcourse.grading import runner  # noqa: E402


def pick() -> tuple[Path, Path]:
    for number in ("06", "01"):
        found = sorted(ROOT.glob(f"solutions/{number}_*.ipynb"))
        if found and runner.test_file_for(number, ROOT / "tests" / "exercises"):
            return found[0], ROOT / "tests" / "exercises"
    course = ROOT / "tests" / "grading_fixtures" / "course"
    return course / "solutions" / "00_fixture.ipynb", course / "tests"


def _tree_rss_bytes(root: int) -> int:
    """Summed RSS of ``root`` and its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


class PeakMemory(threading.Thread):
    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peak, self.stopped = interval, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, _tree_rss_bytes(os.getpid()))
            self.stopped.wait(self.interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="grade 6 copies (a smoke run)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.quick:
        args.copies = min(args.copies, 6)
    solution, tests_dir = pick()
    folder = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    sampler = PeakMemory()
    try:
        for i in range(args.copies):
            shutil.copy(solution, folder / f"student{i:03d}.ipynb")
        settings = runner.Settings(tests_dir=tests_dir, exercise=solution.stem[:2], jobs=args.jobs)
        sampler.start()
        start = time.perf_counter()
        results = runner.grade(folder, settings)
        wall = time.perf_counter() - start
    finally:
        sampler.stopped.set()
        shutil.rmtree(folder, ignore_errors=True)
    full = sum(r.score == r.max_score > 0 for r in results)
    record = {
        "exercise": solution.stem,
        "submissions": len(results),
        "jobs": args.jobs,
        "full_marks": full,
        "wall_s": round(wall, 1),
        "s_per_submission": round(wall / len(results), 2),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "arch": platform.machine(),
    }
    target = save("grading_quick" if args.quick else "grading", record)
    print(f"exercise         {record['exercise']}")
    print(f"submissions      {record['submissions']}  (--jobs {args.jobs})")
    print(f"full marks       {full}/{len(results)}")
    print(f"wall time        {wall:.1f} s  ({record['s_per_submission']:.2f} s per submission)")
    print(f"peak memory      {record['peak_rss_mb']:.0f} MB (RSS of the grader and its children)")
    print(f"results          {target.relative_to(ROOT)}")
    return 0 if full == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
