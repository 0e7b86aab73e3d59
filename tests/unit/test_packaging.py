"""The release artefacts, and a notebook run where only the package is: Colab's situation.

* ``python -m build`` (as the publishing workflow runs it, here without build isolation so
  that it needs no network) makes an sdist and, from the sdist, a wheel; ``twine check
  --strict`` passes on both (metadata, the README as the PyPI page). The wheel carries the
  benchmark results the chapters quote and the public exercise tests.
* A fresh virtual environment gets exactly what the install cell of a chapter installs:
  the wheel (standing in for ``git+URL``, which needs the network) with the extras the
  cell names and everything those require, plus ``ipykernel`` (Colab's own kernel); no
  repository around, no book extra (no Jupyter Book, no myst-nb). Its packages are the
  ones of this environment, linked in one by one, so the test runs offline. A chapter and
  an exercise (stubs filled in from the solution) run there top to bottom in a kernel of
  that environment, from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "book" / "01_perceptrons.ipynb"
EXERCISE = "01_perceptron.ipynb"
COLAB_RUNTIME = ["ipykernel"]  # what Colab itself brings and the install cell relies on

pytestmark = pytest.mark.slow


def _tracked_copy(dest: Path) -> Path:
    """The files git tracks (what a clone has), copied into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the release is built from the tracked files")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _build(out: Path) -> dict:
    pytest.importorskip("build", reason="build is not installed (the dev extra)")
    source = _tracked_copy(out / "src")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out / "dist"), "."],
        cwd=source, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [sdist] = (out / "dist").glob("dlcourse-*.tar.gz")
    [wheel] = (out / "dist").glob("dlcourse-*.whl")
    return {"sdist": str(sdist), "wheel": str(wheel)}


@pytest.fixture(scope="module")
def dists(once, tmp_path_factory) -> dict[str, Path]:
    built = once("release-dists", lambda: _build(tmp_path_factory.mktemp("release")))
    return {kind: Path(path) for kind, path in built.items()}


def test_twine_check_passes_on_the_wheel_and_the_sdist(dists):
    twine = shutil.which("twine", path=str(Path(sys.executable).parent)) or shutil.which("twine")
    if twine is None:
        pytest.skip("twine is not installed (the dev extra)")
    run = subprocess.run([twine, "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("PASSED") == 2, run.stdout


def test_the_wheel_carries_the_results_the_public_tests_and_the_urls(dists):
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = set(zf.namelist())
        [meta] = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = zf.read(meta).decode()
        packed = {n.rsplit("/", 1)[1]: zf.read(n) for n in names if "/_benchmark_results/" in n}
    results = {
        p.name: p.read_bytes()
        for p in (ROOT / "benchmarks" / "results").glob("*.json")
        if not p.stem.endswith("_quick")
    }
    assert packed == results, "the wheel must carry benchmarks/results/*.json as they are"
    assert "dlcourse/grading/public_tests/test_01_perceptron.py" in names
    assert "Project-URL: Repository, https://github.com/" in text
    assert "Provides-Extra: notebooks" in text


# -- a fresh environment with only what the install cell installs ------------------------------


def install_requirement(notebook: Path) -> Requirement:
    """The requirement the notebook's install cell gives pip (``dlcourse[extras] @ URL``)."""
    cells = nbformat.read(notebook, as_version=4).cells
    source = next(c.source for c in cells if c.cell_type == "code")
    assert 'find_spec("dlcourse") is None' in source, f"{notebook.name}: no install cell"
    [spec] = re.findall(r'"(dlcourse[^"]*@ git\+[^"]+)"', source)
    return Requirement(spec)


def _closure(roots: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need on this machine (markers evaluated)."""
    env = default_environment()
    seen: dict[str, metadata.Distribution] = {}
    todo = [(r, "") for r in roots]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for spec in dist.requires or []:
            sub = Requirement(spec)
            for wanted in req.extras or {""}:
                todo.append((sub, wanted))
    return list(seen.values())


def _link(dist: metadata.Distribution, site: Path) -> None:
    """Make ``dist``'s top-level files and folders appear in the site-packages ``site``."""
    tops = {str(f).split("/")[0] for f in dist.files or [] if not str(f).startswith("..")}
    for top in tops:
        source = Path(dist.locate_file(top))
        target = site / top
        if source.exists() and not target.exists() and not top.endswith(".pth"):
            target.symlink_to(source)


def fresh_venv(tmp: Path, wheel: Path, requirement: Requirement) -> Path:
    """A venv with the wheel (its extras as ``requirement`` names them) and their closure."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    found = subprocess.run([str(python), "-c", where], check=True, capture_output=True, text=True)
    site = Path(found.stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", str(site), str(wheel)], check=True)  # fmt: skip
    with zipfile.ZipFile(wheel) as zf:
        [meta] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [v for k, v in metadata.email.message_from_bytes(zf.read(meta)).items()
                    if k == "Requires-Dist"]  # fmt: skip
    env = default_environment()
    roots = []
    for spec in requires:
        req = Requirement(spec)
        if req.marker is None or any(
            req.marker.evaluate({**env, "extra": e}) for e in requirement.extras or {""}
        ):
            req.marker = None
            roots.append(req)
    roots += [Requirement(name) for name in COLAB_RUNTIME]
    for dist in _closure(roots):
        _link(dist, site)
    return python


def _kernel(tmp: Path, python: Path) -> dict[str, str]:
    """Environment variables under which the kernel ``fresh`` runs ``python`` (and nothing of
    the repository: no PYTHONPATH, no user site-packages)."""
    spec = tmp / "jupyter" / "kernels" / "fresh"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python",
                                                  "display_name": "fresh"}))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(PYTHONNOUSERSITE="1", JUPYTER_PATH=str(tmp / "jupyter"), MPLBACKEND="agg")
    return env


def run_notebook(nb, folder: Path, env: dict[str, str]):
    from nbclient import NotebookClient

    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]  # where the kernel spec is found
    try:
        client = NotebookClient(nb, kernel_name="fresh", timeout=300,
                                resources={"metadata": {"path": str(folder)}})  # fmt: skip
        client.execute(env=env, cwd=str(folder))
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
    return nb


def _texts(nb) -> list[str]:
    """The printed text of every cell whose output nbval compares."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        out.append("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))
    return out


@pytest.fixture(scope="module")
def colab(dists, tmp_path_factory):
    pytest.importorskip("nbclient")
    tmp = tmp_path_factory.mktemp("colab")
    python = fresh_venv(tmp, dists["wheel"], install_requirement(CHAPTER))
    folder = tmp / "content"  # Colab's working folder: no repository above it
    folder.mkdir()
    return python, folder, _kernel(tmp, python)


def test_the_fresh_environment_has_the_package_and_not_the_book_tools(colab):
    python, folder, env = colab
    probe = (
        "import importlib.util as u, json, dlcourse\n"
        "from dlcourse import benchmark_results as r\n"
        "print(json.dumps({'dlcourse': dlcourse.__file__, 'results': str(r.results_dir()),\n"
        "  'cnn': r.load_result('cnn.json')['epochs'],\n"
        "  'absent': [m for m in ('jupyter_book', 'myst_nb', 'sphinx', 'torch', 'nbval')\n"
        "             if u.find_spec(m) is None],\n"
        "  'present': [m for m in ('optuna', 'sympy', 'ipywidgets', 'ipykernel')\n"
        "              if u.find_spec(m) is not None]}))\n"
    )
    run = subprocess.run([str(python), "-c", probe], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout)
    venv = str(python.parent.parent)
    assert found["dlcourse"].startswith(venv), found
    assert found["results"].startswith(venv) and found["results"].endswith("_benchmark_results")
    cnn = json.loads((ROOT / "benchmarks" / "results" / "cnn.json").read_text())
    assert found["cnn"] == cnn["epochs"]
    assert found["absent"] == ["jupyter_book", "myst_nb", "sphinx", "torch", "nbval"], found
    assert found["present"] == ["optuna", "sympy", "ipywidgets", "ipykernel"], found


def test_a_chapter_runs_with_only_what_its_install_cell_installs(colab):
    python, folder, env = colab
    committed = nbformat.read(CHAPTER, as_version=4)
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import dlcourse, sys\nprint(dlcourse.__file__)"))
    nb = run_notebook(nb, folder, env)
    where = "".join(o.get("text", "") for o in nb.cells.pop().outputs)
    assert where.startswith(str(python.parent.parent)), f"the kernel imported {where}"
    assert _texts(nb) == _texts(committed), "the chapter printed other results than committed"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.outputs == [], "the install cell did something although dlcourse is installed"


def test_an_exercise_runs_and_checks_with_only_what_its_install_cell_installs(colab):
    python, folder, env = colab
    exercise = nbformat.read(ROOT / "exercises" / EXERCISE, as_version=4)
    assert install_requirement(ROOT / "exercises" / EXERCISE).extras == set()
    solved = {
        c.id: c.source for c in nbformat.read(ROOT / "solutions" / EXERCISE, as_version=4).cells
    }
    for cell in exercise.cells:
        if cell.cell_type == "code" and "NotImplementedError" in cell.source:
            cell.source = solved[cell.id]  # the student's answer
    nb = run_notebook(exercise, folder, env)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    scores = re.findall(r": (\d+) / (\d+)", text)
    assert scores and all(got == total != "0" for got, total in scores), text[-2000:]
