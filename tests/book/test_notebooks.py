"""nbval over every notebook of the book: re-execute it and compare with the committed outputs.

Each notebook runs in its own pytest process (``--nbval``), so a kernel crash or a hung
cell cannot take the rest of the suite with it. Outputs that legitimately vary (widgets,
timings, progress bars) sit in cells tagged ``nbval-ignore-output``; memory addresses,
paths and glued images are masked by ``nbval-sanitize.cfg``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("nbval")


def test_notebook_has_outputs(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{notebook.name} has no code cells"
    assert all(c.get("execution_count") for c in code), (
        f"{notebook.name} is not committed fully executed: run "
        f"`jupyter nbconvert --to notebook --execute --inplace {notebook.name}`"
    )
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{notebook.name} was committed with an error output"


@pytest.mark.slow
def test_notebook_reproduces_its_outputs(notebook, root):
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        str(notebook),
        "--nbval-sanitize-with",
        str(root / "nbval-sanitize.cfg"),
        "--nbval-cell-timeout=300",
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "addopts=",
        "-o",
        "timeout=600",
    ]
    proc = subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, (
        f"nbval found differences in {notebook.name} (re-execute it and commit the outputs, "
        "or tag a volatile cell nbval-ignore-output):\n"
        f"{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    )
