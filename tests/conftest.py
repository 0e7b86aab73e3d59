"""Settings for the whole suite.

``make test`` runs the suite in parallel: pytest-xdist with one worker per core and
``--dist loadfile``, so that each test file runs whole in one worker and its module fixtures
(a Lab server, a browser survey of every page, a graded folder) are set up once. A worker
handed a long file last keeps the run going while the others idle, so the files are
scheduled longest first (LONGEST below, measured on the 2-core machine: the browser checks
about 3 min, the notebooks 5 min, the known-wrong exercise variants 5 min, in two files), then
the other files with slow tests, then the rest, each file with its tests in their order. No
test depends on the order.
"""

from __future__ import annotations

import json
import os

import pytest

LONGEST = (
    "tests/book/test_notebooks.py",
    "tests/book/test_browser.py",
    "tests/exercises/test_mistakes.py",
    "tests/exercises/test_mistakes_late.py",
    "tests/book/test_jupyterlab.py",
    "tests/book/test_data_absent.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        if path in LONGEST:
            return LONGEST.index(path)
        slow = any(item.get_closest_marker(m) for m in ("slow", "browser"))
        return len(LONGEST) + (0 if slow else 1)

    ranks = {}
    for item in items:  # a file's rank is that of its slowest test
        path = item.nodeid.split("::")[0]
        ranks[path] = min(ranks.get(path, 99), rank(item))
    items.sort(key=lambda item: ranks[item.nodeid.split("::")[0]])  # stable: order kept


@pytest.fixture(scope="session")
def once(tmp_path_factory):
    """``once(name, compute)``: the JSON-able result of ``compute()``, computed once per test
    run however many xdist workers ask for it (the first takes a file lock, computes and saves
    the result; the others wait and read it). For module fixtures whose work is expensive
    (grading a folder of hostile submissions, building a wheel, surveying every page of the
    book in a browser): xdist may hand a module's tests to different workers."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base

    def run(name: str, compute):
        outcome = shared / f"once-{name}.json"
        with FileLock(str(shared / f"once-{name}.lock")):
            if not outcome.exists():
                value = compute()
                tmp = outcome.with_suffix(".tmp")
                tmp.write_text(json.dumps(value), encoding="utf-8")
                tmp.replace(outcome)
            return json.loads(outcome.read_text(encoding="utf-8"))

    return run
