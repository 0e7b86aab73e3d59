"""Settings for the whole suite.

``make test`` runs the suite in parallel (pytest-xdist, one worker per core), and a worker
that is handed a long test last keeps the run going while the others idle. So the slow tests
(marked ``slow`` or ``browser``: notebooks, book builds, headless browsers) are collected
first and start first; the rest fill the gaps. The order of tests within each group is kept,
and no test depends on the order (each one sets up what it needs).
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    def slow(item) -> bool:
        return item.get_closest_marker("slow") is not None or (
            item.get_closest_marker("browser") is not None
        )

    items[:] = [i for i in items if slow(i)] + [i for i in items if not slow(i)]
