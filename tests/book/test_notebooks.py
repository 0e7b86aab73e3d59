"""nbval over every notebook of the book: re-execute it and compare with the committed outputs.

Each notebook runs in its own pytest process (``--nbval``), so a kernel crash or a hung
cell cannot take the rest of the suite with it. Outputs that legitimately vary (widgets,
timings, progress bars, training logs whose last digit depends on the CPU) sit in cells
tagged ``nbval-ignore-output``, with the claims the prose makes of them asserted in a hidden
cell; memory addresses, paths and images are masked by ``nbval-sanitize.cfg``, and
``plugins/nbval_numbers.py`` compares numbers to 10 significant digits (a reader's BLAS
kernel moves the last bits of a stored ``repr``; see its docstring for the tolerance).
``plugins/nbval_inline_eval.py`` adds the numbers the prose quotes (``{eval}`` roles, whose
values are stored in the Markdown cells) to the comparison, where each cell stands.

A notebook that needs what this environment lacks is skipped with the reason: the packages
its metadata lists under ``dlcourse.requires_packages`` (torch: ``make test TORCH=``
installs none) and the data sets under ``dlcourse.requires_data``. Its committed outputs
were produced with them, so without them it could not reproduce those outputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbval")


def test_notebook_has_outputs(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{notebook.name} has no code cells"
    assert all(c.get("execution_count") for c in code), (
        f"{notebook.name} is not committed fully executed: run "
        f"`python tools/execute_chapters.py book/{notebook.name}`"
    )
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{notebook.name} was committed with an error output"


def missing_requirements(notebook) -> list[str]:
    """What the notebook's ``dlcourse`` metadata requires and this environment lacks."""
    needs = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("dlcourse", {})
    missing = [
        f"the package {name}"
        for name in needs.get("requires_packages", [])
        if importlib.util.find_spec(name) is None
    ]
    if needs.get("requires_data"):
        from dlcourse.data import available

        missing += [f"the data set {n}" for n in needs["requires_data"] if not available(n)]
    return missing


def test_notebooks_using_torch_declare_it(notebook):
    """A notebook that imports torch lists it in its metadata, unless every cell importing it
    is optional (``except ImportError``) and tagged ``nbval-ignore-output``: otherwise the
    torch-free suite would fail on it instead of skipping it."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    if "torch" in nb.metadata.get("dlcourse", {}).get("requires_packages", []):
        return
    for i, cell in enumerate(nb.cells):
        imports = cell.cell_type == "code" and re.search(
            r"^\s*(import|from) torch\b", cell.source, re.M
        )
        optional = (
            "except ImportError" in cell.source
            and "nbval-ignore-output" in cell.metadata.get("tags", [])
        )
        assert not imports or optional, (
            f"{notebook.name}, cell {i} imports torch: guard it (try/except ImportError, tag "
            'nbval-ignore-output) or add "dlcourse": {"requires_packages": ["torch"]} to the '
            "notebook's metadata"
        )


@pytest.mark.slow
def test_notebook_reproduces_its_outputs(notebook, root):
    missing = missing_requirements(notebook)
    if missing:
        pytest.skip(f"{notebook.name} needs {' and '.join(missing)}, which is not installed")
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
        "nbval_numbers",
        "-p",
        "nbval_inline_eval",
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "addopts=",
        "-o",
        "timeout=600",
    ]
    plugins = str(Path(__file__).parent / "plugins")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [plugins, os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        cmd,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.returncode == 0, (
        f"nbval found differences in {notebook.name} (re-execute it and commit the outputs, "
        "or tag a volatile cell nbval-ignore-output):\n"
        f"{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    )
