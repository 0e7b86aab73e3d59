"""The package layout: the import graph of ``dlcourse``, read from the source with ``ast``.

Every ``import`` counts, at module level or inside a function (a function-level import
only postpones a cycle, it does not remove it). An import of ``dlcourse.p.q`` from outside
package ``dlcourse.p`` also runs ``dlcourse/p/__init__.py`` first, so it counts as an edge
to ``dlcourse.p`` as well; that is the edge that makes a package that re-exports an outside
module, which in turn imports one of the package's own modules, fail on first import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dlcourse

ROOT = Path(dlcourse.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = ("dlcourse",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _inside(package: str, parent: str) -> bool:
    return package == parent or package.startswith(parent + ".")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``dlcourse`` modules that importing ``name`` executes, directly."""
    package = _package_of(name, path)
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    edges = set()
    for target in targets:
        if not target.startswith("dlcourse"):
            continue
        while target not in known and "." in target:
            target = target.rpartition(".")[0]
        if target != name:
            edges.add(target)
        parent = target.rpartition(".")[0]
        while parent and not _inside(package, parent):  # packages run on the way in
            edges.add(parent)
            parent = parent.rpartition(".")[0]
    edges.discard(name)
    return edges


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first = last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_reader_sees_what_it_should():
    graph = import_graph()
    assert "dlcourse.layers.base" in graph["dlcourse.layers.core"]
    assert (
        "dlcourse.losses" in graph["dlcourse.network"]
        or "dlcourse.costs" in graph["dlcourse.network"]
    )
    # a function-level import counts
    assert "dlcourse.grading.check" in graph["dlcourse"]
    # importing dlcourse.data.splits from outside dlcourse.data runs dlcourse/data/__init__.py
    outside = {n for n, e in graph.items() if "dlcourse.data.splits" in e and ".data" not in n}
    assert all("dlcourse.data" in graph[n] for n in outside)


def test_find_cycle_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_between_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_level_getattr(name):
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert "__getattr__" not in names, f"{name} defines a module-level __getattr__"


@pytest.mark.parametrize(
    "package",
    ["dlcourse.losses", "dlcourse.autodiff", "dlcourse.data", "dlcourse.cli", "dlcourse.layers"],
)
def test_subsystems_are_packages(package):
    assert (ROOT / package.split(".", 1)[1] / "__init__.py").is_file()


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (this checkout's package)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}
    run = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_importing_dlcourse_loads_neither_torch_nor_the_grader():
    """``import dlcourse`` (every notebook's first line) stays light: PyTorch and the grader
    (pytest, nbformat, the sandbox) load only where a function that needs them runs."""
    loaded = _loaded_after("import dlcourse")
    assert "dlcourse.network" in loaded and "numpy" in loaded  # the probe sees imports
    heavy = sorted(
        m for m in loaded if m.split(".")[0] in {"torch", "pytest", "nbformat"}
        or m.startswith("dlcourse.grading")
    )  # fmt: skip
    assert not heavy, f"import dlcourse loaded {heavy[:10]}"


def test_the_command_parser_loads_no_grader():
    """``dlcourse --help`` only parses: the grading package loads when ``grade`` or
    ``release`` runs."""
    loaded = _loaded_after("from dlcourse.cli import build_parser\nbuild_parser()")
    assert "dlcourse.cli.grade" in loaded and "dlcourse.cli.release" in loaded
    grader = sorted(m for m in loaded if m.startswith("dlcourse.grading") or m == "torch")
    assert not grader, f"building the parser loaded {grader}"
