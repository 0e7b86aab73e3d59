"""Shared by the benchmark scripts: a description of the machine and an atomic JSON writer.

Every script saves ``benchmarks/results/<name>.json`` = ``{"machine": machine(), ...}`` so the
book's results appendix can say where and when each figure was measured.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """CPU model, core count, BLAS, library versions and the date of the run."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy: the BLAS name is not essential
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        import torch

        versions["torch"] = torch.__version__
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "blas": blas,
        "versions": versions,
        "date": _dt.date.today().isoformat(),
    }


def check_name(name: str) -> str:
    """``name`` if it can name a file in ``results/``; else ValueError (call it before a long
    run, so that a bad ``--out`` fails at once rather than when the results are written)."""
    if not name or Path(name).name != name or name in (".", "..") or name.endswith(".json"):
        raise ValueError(f"a results name is a plain file name without .json, written to "
                         f"{RESULTS}; got {name!r}")  # fmt: skip
    return name


def save(name: str, data: dict) -> Path:
    """Write ``results/<name>.json`` atomically (temporary file, then rename).

    ``name`` is a plain file name without ``.json`` (``"modern_cnn_part_a"``), never a path.
    """
    check_name(name)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": machine(), **data}
    fd, tmp = tempfile.mkstemp(dir=RESULTS, prefix=f".{name}.", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1, sort_keys=False)
        f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private (0600); results are for everyone to read
    os.replace(tmp, path)
    return path
