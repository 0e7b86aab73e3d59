"""One build step on top of pyproject.toml: the public exercise tests that ``dlcourse.check``
runs after a plain ``pip install``.

``tests/exercises/test_NN_topic.py`` (public and hidden tests) is their only source; the
repository holds no copy. Building a wheel from a checkout writes the public part of each
module (``tools/public_tests.py``, a build step beside this file) into the wheel's
``dlcourse/grading/public_tests/``; an sdist carries those generated files instead of
``tests/`` (which holds the hidden tests), so a wheel built from the sdist ships them too.
Editable installs generate nothing: in a checkout ``dlcourse.check`` reads
``tests/exercises`` itself.

The same way, the wheel carries a copy of the benchmark results the chapters quote
(``benchmarks/results/*.json``, not the ``*_quick.json`` smoke runs) in
``dlcourse/_benchmark_results/``, for a chapter opened without the repository (Colab);
:mod:`dlcourse.benchmark_results` prefers a checkout's files when there is one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "tests" / "exercises"
PUBLIC_TESTS = Path("dlcourse", "grading", "public_tests")
RESULTS = ROOT / "benchmarks" / "results"
PACKAGED_RESULTS = Path("dlcourse", "_benchmark_results")


def write_public_tests(base: Path) -> None:
    """Write ``base/dlcourse/grading/public_tests/`` from ``tests/exercises``."""
    # a build step of its own (standard library only: the build has no numpy)
    sys.path.insert(0, str(ROOT / "tools"))
    import public_tests

    files = public_tests.public_files(SOURCE)
    if len(files) < 2:
        raise RuntimeError(f"no grading tests test_NN_*.py in {SOURCE}")
    dest = Path(base) / PUBLIC_TESTS
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in {"__init__.py": "", **files}.items():
        (dest / name).write_text(text, encoding="utf-8")


def write_results(base: Path, source: Path = RESULTS) -> None:
    """Copy the result files of ``source`` into ``base/dlcourse/_benchmark_results/``.

    A build from a partial copy without them (the Gradescope zip's wheel) ships none: the
    chapters are not run there, and :mod:`dlcourse.benchmark_results` says they are absent.
    """
    files = [p for p in sorted(Path(source).glob("*.json")) if not p.stem.endswith("_quick")]
    if not files:
        return
    dest = Path(base) / PACKAGED_RESULTS
    dest.mkdir(parents=True, exist_ok=True)
    for path in files:
        (dest / path.name).write_bytes(path.read_bytes())


class BuildPy(build_py):
    """``build_py`` plus the public tests, cut from ``tests/exercises`` when it is here."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        # from a checkout: benchmarks/results; from an sdist: the copy it carries
        write_results(
            Path(self.build_lib), RESULTS if RESULTS.is_dir() else ROOT / PACKAGED_RESULTS
        )
        if SOURCE.is_dir():
            write_public_tests(Path(self.build_lib))
        elif not (ROOT / PUBLIC_TESTS / "conftest.py").is_file():
            raise RuntimeError(
                "cannot build dlcourse without its public exercise tests: build from a "
                "checkout (with tests/exercises) or from an sdist (with "
                f"{PUBLIC_TESTS.as_posix()})"
            )


class Sdist(sdist):
    """``sdist`` with the generated public tests in place of ``tests/``, and the results."""

    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        if SOURCE.is_dir():
            write_public_tests(Path(base_dir))
        if RESULTS.is_dir():
            write_results(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
