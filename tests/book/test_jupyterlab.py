"""JupyterLab as a student meets it: a headless server on 127.0.0.1 with a token, a chapter and
an exercise opened through the REST API and executed in a kernel over the kernel websocket,
the way the Lab front end does it; then the server is shut down. The last test goes further
and drives the Lab front end itself in headless Chromium, on a fresh clone of the repository:
open Chapters 1, 5 and 11, clear their outputs, Run All Cells from the Run menu, and read the
results and the prose as jupyterlab-myst renders it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))
from inline_eval import METADATA_KEY, shown_text  # noqa: E402

sys.path.pop(0)

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (the book extra)")
pytest.importorskip("jupyterlab_myst", reason="jupyterlab-myst is not installed (the book extra)")
websocket = pytest.importorskip("tornado.websocket")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running ``jupyter lab`` server and a tiny client of its REST API."""

    def __init__(self, port: int, token: str, proc: subprocess.Popen):
        self.base, self.token, self.proc = f"http://127.0.0.1:{port}", token, proc

    def request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None


@contextlib.contextmanager
def running_lab(root_dir: Path, runtime: Path, *options: str):
    """Start ``jupyter lab`` on ``root_dir`` (127.0.0.1, a fresh token), yield a ``Lab``, and
    shut the server down through its API afterwards."""
    token, port = uuid.uuid4().hex, free_port()
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    cmd = [
        jupyter, "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False", *options,
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # as `make lab` does
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime))
    proc = subprocess.Popen(
        cmd, cwd=root_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    server = Lab(port, token, proc)
    deadline = time.monotonic() + 120
    while True:
        try:
            server.request("GET", "/api/status")
            break
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                proc.kill()
                pytest.fail(f"jupyter lab did not start:\n{out[-3000:]}")
            time.sleep(0.5)
    try:
        yield server
    finally:
        try:
            server.request("POST", "/api/shutdown")
            proc.wait(timeout=30)
        except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
            pass
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(ROOT, tmp_path_factory.mktemp("jupyter-runtime")) as server:
        yield server


def test_lab_refuses_requests_without_the_token(lab):
    req = urllib.request.Request(f"{lab.base}/api/contents/book")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code in (401, 403)


def test_lab_serves_the_lab_front_end(lab):
    req = urllib.request.Request(f"{lab.base}/lab?token={lab.token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        page = resp.read().decode()
    assert "JupyterLab" in page


def _decode(raw):
    """A kernel message from the websocket: JSON text, or the binary form used when a message
    carries buffers (4-byte count n, n 4-byte offsets, the JSON message, then the buffers)."""
    if isinstance(raw, str):
        return json.loads(raw)
    n = int.from_bytes(raw[:4], "big")
    offsets = [int.from_bytes(raw[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(n)]
    end = offsets[1] if n > 1 else len(raw)
    return json.loads(raw[offsets[0] : end].decode("utf-8"))


async def _execute(lab: Lab, kernel_id: str, codes: list[str], timeout: float = 600):
    """Send each code cell as an execute_request over the kernel websocket (the legacy JSON
    protocol the Lab front end falls back to) and collect what the kernel prints."""
    url = f"ws://127.0.0.1:{lab.base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels"
    conn = await websocket.websocket_connect(
        websocket.httpclient.HTTPRequest(url, headers={"Authorization": f"token {lab.token}"})
    )
    session, outputs, errors = uuid.uuid4().hex, [], []
    try:
        for code in codes:
            msg_id = uuid.uuid4().hex
            conn.write_message(json.dumps({
                "header": {"msg_id": msg_id, "username": "student", "session": session,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False,
                            "stop_on_error": True},
            }))  # fmt: skip
            while True:
                raw = await asyncio.wait_for(conn.read_message(), timeout)
                assert raw is not None, "the kernel websocket closed"
                msg = _decode(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    outputs.append(content["text"])
                elif kind == "error":
                    errors.append(f"{content['ename']}: {content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    break
    finally:
        conn.close()
    return "".join(outputs), errors


def run_notebook(lab: Lab, path: str) -> tuple[str, list[str]]:
    model = lab.request("GET", f"/api/contents/{path}?content=1")
    assert model["type"] == "notebook", f"{path} is not served as a notebook"
    codes = [c["source"] for c in model["content"]["cells"] if c["cell_type"] == "code"]
    codes = [c if isinstance(c, str) else "".join(c) for c in codes]
    session = lab.request(
        "POST", "/api/sessions",
        {"path": path, "type": "notebook", "name": Path(path).name, "kernel": {"name": "python3"}},
    )  # fmt: skip
    try:
        return asyncio.run(_execute(lab, session["kernel"]["id"], codes))
    finally:
        lab.request("DELETE", f"/api/sessions/{session['id']}")


def test_a_chapter_runs_top_to_bottom_in_lab(lab):
    out, errors = run_notebook(lab, "book/01_perceptrons.ipynb")
    assert not errors, f"Chapter 1 raised in JupyterLab: {errors}"
    assert "digits" in out.lower() or "perceptron" in out.lower(), out[:500]


def test_an_exercise_check_prints_feedback_in_lab(lab):
    out, errors = run_notebook(lab, "exercises/06_backprop.ipynb")
    # the released stubs raise NotImplementedError in the student's functions; only the
    # check cell is run past them, as a student who runs all cells would see it
    assert "06" in out or "backprop" in out.lower(), out[:500]
    assert "not implemented yet" in out, f"dlcourse.check printed no feedback:\n{out[-1500:]}"


# ------------------------------------------------------------- the Lab front end, as a reader
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver")
CHAPTER = "book/05_backprop.ipynb"

# The open notebook as the front end holds it (JupyterLab started with expose_app_in_browser):
# its kernel's status and, for every code cell, the execution count and the outputs.
NOTEBOOK_STATE = """
const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!w || !w.content || !w.content.model || !w.sessionContext || !w.context.isReady) return null;
const model = w.content.model.cells, cells = [];
for (let i = 0; i < model.length; i++) {
  const c = model.get(i);
  if (c.type !== 'code') continue;
  cells.push({count: c.executionCount, outputs: c.outputs.toJSON().map(o => ({
    type: o.output_type,
    text: o.output_type === 'stream' ? [].concat(o.text).join('')
        : o.output_type === 'error' ? o.ename + ': ' + o.evalue : ''}))});
}
const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
return {path: w.context.path, kernel: kernel ? kernel.status : null,
        name: w.sessionContext.kernelDisplayName, cells: cells};
"""


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> Path:
    """``git clone`` of this repository (its committed state), as a new reader would start."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the course to clone")
    clone = tmp_path_factory.mktemp("fresh") / "dlcourse"
    subprocess.run([git, "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    return clone


@pytest.fixture(scope="module")
def lab_browser(tmp_path_factory):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("the Lab front end test needs chromium and chromedriver (make sysdeps)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1400,1000", f"--user-data-dir={tmp_path_factory.mktemp('lab-profile')}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)  # a page running a chapter on a loaded machine is slow
    yield driver
    driver.quit()


def _menu(driver, menu: str, command: str) -> None:
    """Open a menu of Lab's menu bar and click one of its items, as a reader does."""
    from selenium.webdriver.common.by import By

    bar = [e for e in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
           if e.text.strip() == menu]  # fmt: skip
    assert bar, f"JupyterLab shows no {menu} menu"
    bar[0].click()
    items = driver.find_elements(By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]')
    assert items, f"the {menu} menu has no item for {command}"
    items[0].click()


def _poll(driver, done, timeout: float, what: str):
    from selenium.common.exceptions import TimeoutException

    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            state = driver.execute_script(NOTEBOOK_STATE)
        except TimeoutException:  # a page busy running cells on a loaded machine: ask again
            continue
        if state is not None and done(state):
            return state
        time.sleep(1)
    pytest.fail(
        f"JupyterLab: {what} within {timeout:.0f} s (last state: {state and state['kernel']})"
    )


# What a reader sees of the open notebook's prose after Run All: the text of every Markdown
# cell (each cell's rendered MyST), the maths that failed to typeset, and directives or roles
# that jupyterlab-myst did not know (it shows them with their name and "Unknown ...").
PROSE_STATE = """
const w = window.jupyterapp.shell.currentWidget, nb = w.content, cells = [];
for (let i = 0; i < nb.widgets.length; i++) {
  const cell = nb.widgets[i];
  if (cell.model.type !== 'markdown') continue;
  cells.push({index: i, rendered: cell.rendered, text: cell.node.innerText});
}
const errors = Array.from(nb.node.querySelectorAll(
  '.katex-error, mjx-merror, .MathJax_Error, merror')).map(e => e.textContent.slice(0, 200));
return {cells: cells, mathErrors: errors};
"""
LAB_CHAPTERS = ["book/01_perceptrons.ipynb", CHAPTER, "book/11_convolutional.ipynb"]
# maths that was not typeset shows its TeX: a macro of the book (defined in the notebook's front
# matter) or a common command, in the rendered text (typeset maths reads as Unicode there)
RAW_TEX = re.compile(
    r"\\(?:mat|pd|norm|abs|relu|vec|bm|sigmap|argmax|argmin|sign|grad|frac|mathbf|sum|partial)\b"
)
RAW_SYNTAX = ["{glue", "{eval}", "Unknown Directive", "Unknown Role", "Unknown directive",
              "Unknown role"]  # fmt: skip


@pytest.fixture(scope="module")
def front_end(fresh_clone, lab_browser, tmp_path_factory):
    """JupyterLab on the fresh clone, its app exposed to the page's scripts, notebooks shown
    without windowing (every cell in the page, so the whole prose can be read)."""
    settings = tmp_path_factory.mktemp("lab-settings")
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}), encoding="utf-8")
    os.environ["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    try:
        with running_lab(
            fresh_clone, tmp_path_factory.mktemp("lab-runtime"),
            "--LabApp.expose_app_in_browser=True",
        ) as lab:  # fmt: skip
            yield lab, lab_browser, fresh_clone
    finally:
        os.environ.pop("JUPYTERLAB_SETTINGS_DIR", None)


def _run_all(driver, lab, chapter: str, n_code: int):
    """Open ``chapter``, clear its outputs (Edit menu), Run All (Run menu) and wait; returns
    the final notebook state and the seconds Run All took."""
    from selenium.webdriver.common.by import By

    driver.get(f"{lab.base}/lab/tree/{chapter}?token={lab.token}")
    state = _poll(
        driver, lambda s: s["kernel"] == "idle" and s["path"] == chapter, 240,
        f"{chapter} did not open with a kernel",
    )  # fmt: skip
    assert len(state["cells"]) == n_code
    assert state["name"].startswith("Python 3"), state["name"]
    _menu(driver, "Edit", "editmenu:clear-all")
    _poll(driver, lambda s: all(c["count"] is None for c in s["cells"]), 30,
          "the outputs were not cleared")  # fmt: skip
    started = time.monotonic()
    _menu(driver, "Run", "runmenu:run-all")
    idle_since: list[float] = []

    def finished(s) -> bool:
        if all(c["count"] is not None for c in s["cells"]) and s["kernel"] == "idle":
            return True
        # a cell that raises stops Run All: the kernel idles with cells left unrun
        if s["kernel"] == "idle" and time.monotonic() - started > 10:
            idle_since.append(time.monotonic())
            return idle_since[-1] - idle_since[0] > 15
        idle_since.clear()
        return False

    state = _poll(driver, finished, 600, f"Run All of {chapter} did not finish")
    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='No']"):
        button.click()  # the news prompt
    return state, time.monotonic() - started


def _scroll_to(driver, index: int, code_only: bool = False) -> None:
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const nb = window.jupyterapp.shell.currentWidget.content;"
        "let i = arguments[0];"
        "if (arguments[1]) i = Array.from({length: nb.model.cells.length}, (_, k) => k)"
        "  .filter(k => nb.model.cells.get(k).type === 'code')[i];"
        "nb.activeCellIndex = i;"
        "Promise.resolve(nb.scrollToItem(i, 'center')).then(() => setTimeout(done, 1000));",
        index, code_only,
    )  # fmt: skip


def _unfolded(markdown: str) -> str:
    """``markdown`` without its ``{solution}`` blocks (shown folded)."""
    return re.sub(r"^(`{3,}|:{3,})\{solution\}.*?^\1[ \t]*$", "", markdown, flags=re.S | re.M)


@pytest.mark.parametrize("chapter", LAB_CHAPTERS)
def test_a_chapter_runs_and_reads_well_in_the_lab_front_end(front_end, chapter):
    """A reader's session: from a fresh clone, open the chapter in JupyterLab (headless
    Chromium), clear all outputs, Run All Cells and wait. Every code cell has run, in order,
    without an error; the prose reads as on the website (jupyterlab-myst): no raw ``{glue``
    or ``{eval}``, no unknown directive or role, no maths that failed to typeset (the book's
    macros come from the notebook's front matter), and the inline expressions show the
    values the chapter stores for them. Chapter 5's training cell prints what the committed
    chapter shows (a seeded run: the same accuracies to the last digit). Screenshots of a
    paragraph with numbers land in ``_build/screenshots``."""
    lab, driver, clone = front_end
    from dlcourse.data import available

    committed = nbformat.read(clone / chapter, as_version=4)
    needs = committed.metadata.get("dlcourse", {}).get("requires_data", [])
    if any(not available(name) for name in needs):
        pytest.skip(f"{chapter} needs the data sets {needs} (make sysdeps)")
    code = [c for c in committed.cells if c.cell_type == "code"]
    state, seconds = _run_all(driver, lab, chapter, len(code))
    errors = [o["text"] for c in state["cells"] for o in c["outputs"] if o["type"] == "error"]
    assert not errors, f"{chapter} raised in JupyterLab: {errors}"
    counts = [c["count"] for c in state["cells"]]
    assert counts == list(range(1, len(code) + 1)), f"cells did not all run in order: {counts}"

    prose = driver.execute_script(PROSE_STATE)
    assert not prose["mathErrors"], f"{chapter}: maths Lab could not typeset: {prose['mathErrors']}"
    text = {c["index"]: c["text"] for c in prose["cells"]}
    assert all(c["rendered"] for c in prose["cells"]), f"{chapter}: Markdown cells left unrendered"
    raw = [(i, s) for i, t in text.items() for s in RAW_SYNTAX if s in t]
    assert not raw, f"{chapter}: raw MyST shown to the reader in cells {raw}"
    tex = [(i, RAW_TEX.search(t).group(0)) for i, t in text.items() if RAW_TEX.search(t)]
    assert not tex, f"{chapter}: maths left untypeset (a macro Lab does not know?) in {tex}"
    # three quoted values, each in the text of its own cell as the kernel computed it (from
    # the prose a reader sees: solutions are folded away in Lab as on the website)
    quoted = [
        (i, e["expression"], shown_text(e["result"]))
        for i, cell in enumerate(committed.cells)
        if cell.cell_type == "markdown"
        for e in cell.metadata.get(METADATA_KEY, [])
        if len(shown_text(e["result"])) >= 2 and e["expression"] in _unfolded(cell.source)
    ]
    assert len(quoted) >= 3, f"{chapter} quotes fewer than three computed values"
    picks = [quoted[0], quoted[len(quoted) // 2], quoted[-1]]
    for index, expression, value in picks:
        assert value in text[index], (
            f"{chapter}, cell {index}: {{eval}}`{expression}` should show {value!r}; "
            f"the cell reads: {text[index][:600]!r}"
        )
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    _scroll_to(driver, picks[0][0])
    driver.save_screenshot(str(shots / f"lab-{Path(chapter).stem}-prose.png"))
    print(f"{chapter}: {len(code)} code cells ran in JupyterLab in {seconds:.0f} s")

    if chapter == CHAPTER:
        training = next(
            i for i, c in enumerate(code)
            if any("test accuracy after" in o.get("text", "") for o in c.outputs)
        )  # fmt: skip
        expected = "".join(o.text for o in code[training].outputs if o.output_type == "stream")
        shown = "".join(
            o["text"] for o in state["cells"][training]["outputs"] if o["type"] == "stream"
        )
        assert "test accuracy after 30 epochs" in shown, shown[-500:]
        assert shown == expected, f"the training cell printed\n{shown}\ninstead of\n{expected}"
        _scroll_to(driver, training, code_only=True)
        driver.save_screenshot(str(shots / "lab-05_backprop-run-all.png"))
