"""The benchmark results the chapters quote, found wherever a chapter runs.

The long runs (``benchmarks/*.py``) write JSON files into the repository's
``benchmarks/results/``; chapters 9, 11, 12 and the results appendix read them instead of
training for hours. A chapter runs in one of three places, and :func:`results_dir` looks in
this order:

1. **a checkout**: ``benchmarks/results`` in the notebook's folder or any folder above it
   (``make book``, ``make lab``, Binder; the chapters run in ``book/``);
2. **the installed package**: ``dlcourse/_benchmark_results/``, the copy that the wheel
   carries (written when the wheel is built from a checkout, see ``setup.py``): Colab, where
   the notebook is opened alone and its first cell installs dlcourse, or a plain pip install.

A file given by name (:func:`find_result`) is looked for first beside the notebook itself
(the working folder), so that a reader can drop a result file of their own next to it.
Found nowhere: :class:`FileNotFoundError`, naming every place looked at and how to get the
files. Files named ``*_quick.json`` are smoke runs (``--quick``), not results.
"""

from __future__ import annotations

import json
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_benchmark_results"


def _checkout_results(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "benchmarks" / "results"
        if candidate.is_dir():
            return candidate
    return None


def _places(start: Path) -> list[Path]:
    places = [p for p in (_checkout_results(start), PACKAGED) if p is not None]
    return [p for p in places if p.is_dir()]


def _absent(what: str, start: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what} not found: looked in benchmarks/results of {start} and the folders above it "
        f"(a checkout of the course) and in {PACKAGED} (the copy inside an installed wheel). "
        "Clone the course's repository and run the notebook from its book/ folder, or "
        "install dlcourse from a wheel built from a checkout (pip install ...whl), or run "
        "the benchmark that writes it (benchmarks/*.py)."
    )


def results_dir(start: str | Path | None = None) -> Path:
    """The folder of result files: a checkout's ``benchmarks/results`` above ``start`` (the
    working folder by default), else the copy inside the installed package."""
    start = Path(start or Path.cwd()).resolve()
    places = _places(start)
    if not places:
        raise _absent("the benchmark results (benchmarks/results)", start)
    return places[0]


def find_result(name: str, start: str | Path | None = None) -> Path:
    """The path of the result file ``name`` (``"cnn.json"``): beside the notebook (``start``,
    the working folder by default), else in :func:`results_dir`'s places, in that order."""
    if Path(name).name != name:
        raise ValueError(f"expected a file name such as 'cnn.json', got the path {name!r}")
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *_places(start)):
        if (folder / name).is_file():
            return folder / name
    raise _absent(f"the result file {name}", start)


def load_result(name: str, start: str | Path | None = None) -> dict:
    """The parsed JSON of the result file ``name``, found by :func:`find_result`."""
    path = find_result(name, start)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None


def load_results(start: str | Path | None = None) -> dict[str, dict]:
    """``{stem: parsed JSON}`` of every result file in :func:`results_dir` (``*_quick.json``,
    the reduced smoke runs, left out), sorted by name."""
    folder = results_dir(start)
    return {
        path.stem: load_result(path.name, folder)
        for path in sorted(folder.glob("*.json"))
        if not path.stem.endswith("_quick")
    }
