"""The ``dlcourse`` command, one module per subcommand family.

- :mod:`~dlcourse.cli.main` — the parser (``build_parser``) and ``main``, nothing else;
- :mod:`~dlcourse.cli.train` — ``dlcourse train``;
- :mod:`~dlcourse.cli.resume` — what ``train --resume`` checks, and what Ctrl-C prints;
- :mod:`~dlcourse.cli.data` — ``dlcourse data list|fetch|path``;
- :mod:`~dlcourse.cli.release`, :mod:`~dlcourse.cli.grade` — ``dlcourse release`` and
  ``dlcourse grade``, calling into :mod:`dlcourse.grading`;
- :mod:`~dlcourse.cli.bench` — ``dlcourse bench`` (runs ``benchmarks/bench_*.py``).

Each command module has ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

from dlcourse.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
