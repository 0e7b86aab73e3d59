"""The worker's sandbox: bubblewrap's options, what the worker sees and may do, its user id,
its processes and their memory, and what graded code may import.

The checks that need bubblewrap skip with the reason where it cannot run; the others
(the command line, the user-id locks, the memory watchdog, the import guard) always run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dlcourse.grading import bwrap, codec, group, guard, proxy, sandbox, uids

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
STRONG = sandbox.problem("strong")
needs_bwrap = pytest.mark.skipif(
    STRONG is not None, reason=f"strong isolation is not available here: {STRONG}"
)


# -- the command line -------------------------------------------------------------------
def _options(args: list[str]) -> list[tuple[str, ...]]:
    """The ``--ro-bind SRC DEST`` / ``--tmpfs DEST`` / ... entries of a bwrap command line."""
    arity = {"--ro-bind": 2, "--bind": 2, "--dev-bind": 2, "--symlink": 2, "--tmpfs": 1,
             "--dir": 1, "--perms": 1, "--size": 1, "--remount-ro": 1, "--proc": 1, "--dev": 1,
             "--chdir": 1, "--uid": 1, "--gid": 1, "--cap-drop": 1, "--cap-add": 1,
             "--hostname": 1, "--info-fd": 1}  # fmt: skip
    out, i = [], 1
    while i < len(args):
        n = arity.get(args[i], 0)
        out.append(tuple(args[i : i + n + 1]))
        i += n + 1
    return out


@pytest.mark.parametrize("root_grader", [True, False])
def test_bwrap_unshares_everything_and_binds_only_the_interpreter_read_only(root_grader):
    args = bwrap.arguments("/usr/bin/bwrap", Path("/x/grader"), 512, root_grader, 7)
    options = _options(args)
    flags = {o[0] for o in options}
    if root_grader:  # no user namespace: it would map the worker to root
        assert {"--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"} <= flags
        assert ("--cap-add", "CAP_SETUID") in options and ("--cap-add", "CAP_SETGID") in options
    else:
        assert "--unshare-all" in flags and ("--uid", str(NOBODY)) in options
    assert "--share-net" not in flags and "--bind" not in flags and "--dev-bind" not in flags
    assert {"--die-with-parent", "--new-session"} <= flags and ("--cap-drop", "ALL") in options
    assert ("--info-fd", "7") in options and ("--chdir", "/work") in options
    tmpfs = [o[1] for o in options if o[0] == "--tmpfs"]
    assert {"/tmp", "/dev/shm", "/work"} <= set(tmpfs)
    assert ("--symlink", "/tmp", "/var/tmp") in options
    first_bind = next(i for i, o in enumerate(options) if o[0] == "--ro-bind")
    assert options.index(("--tmpfs", "/tmp")) < first_bind  # binds under /tmp stay visible
    bound = [Path(o[2]) for o in options if o[0] == "--ro-bind"]
    assert ("--ro-bind", "/x/grader", "/grader") in options
    assert Path(sys.base_prefix).resolve() in {p for b in bound for p in [b, *b.parents]}
    for secret in (ROOT, ROOT / "tests", ROOT / "solutions", Path.home()):
        assert all(not secret.resolve().is_relative_to(b) for b in bound), (secret, bound)
    assert ("--remount-ro", "/") in options
    if bwrap.supports("/usr/bin/bwrap", "--size"):
        assert args[args.index("--tmpfs") - 1] == str(512 * 2**20)


def test_an_installed_copy_of_the_package_is_covered(tmp_path, monkeypatch):
    site = tmp_path / "lib" / "python3" / "site-packages"
    (site / "dlcourse").mkdir(parents=True)
    (site / "dlcourse" / "attention.py").write_text("# the answers\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert bwrap.package_copies([tmp_path]) == [site / "dlcourse"]
    assert bwrap.package_copies([tmp_path / "elsewhere"]) == []  # not visible: not covered


# -- inside the sandbox ------------------------------------------------------------------
PROBE = """
import json, os, resource, socket, subprocess, sys
info = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "cwd": os.getcwd()}
info["root"] = sorted(os.listdir("/"))
info["tmp"] = sorted(os.listdir("/tmp"))
info["checkout"] = sorted(os.listdir(CHECKOUT)) if os.path.isdir(CHECKOUT) else None
info["interfaces"] = [name for _, name in socket.if_nameindex()]
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    info["connected"] = True
except OSError:
    info["connected"] = False
with open("/proc/self/status") as fh:
    info["caps"] = [l.split()[1] for l in fh if l.startswith(("CapPrm", "CapEff", "CapAmb"))]
info["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
writable = {}
for path in ("/work/x", "/tmp/x", "/dev/shm/x", "/var/tmp/y", "/x", "/usr/lib/x", "/grader/x"):
    try:
        with open(path, "w") as fh:
            fh.write("x")
        writable[path] = True
    except OSError:
        writable[path] = False
info["writable"] = writable
children = []
try:
    for _ in range(200):
        children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"]))
except OSError:
    pass
info["children"] = len(children)
for c in children:
    c.kill()
    c.wait()
import dlcourse
dlcourse.check("16")
try:
    import dlcourse.attention
except ImportError as exc:
    info["attention"] = str(exc)
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Refuse"]
del sys.modules["dlcourse"]
try:  # without the hook: the package's files are not there
    import dlcourse.attention
    info["unhooked"] = "imported"
except ImportError as exc:
    info["unhooked"] = type(exc).__name__
INFO = json.dumps(info)
"""


@needs_bwrap
def test_the_worker_sees_only_its_own_world():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    worker = sandbox.start_worker(sandbox.Limits(processes=16), "strong", "16")
    try:
        wait = lambda: select.select([worker.from_worker], [], [], 60)[0] or pytest.fail("timeout")
        assert codec.receive(worker.from_worker, wait) == {"ready": True}
        source = PROBE.replace("CHECKOUT", repr(str(ROOT))).replace("PORT", str(port))
        codec.send(worker.to_worker, {"op": "exec", "cells": [{"index": 1, "source": source}]})
        reply = codec.receive(worker.from_worker, wait)
        assert reply["ok"] and not codec.decode(reply["value"])["errors"], reply
        codec.send(worker.to_worker, {"op": "getattr", "target": ["g", "INFO"], "name": "strip"})
        codec.receive(worker.from_worker, wait)
        codec.send(worker.to_worker, {"op": "call", "target": ["r", 1], "args": []})
        info = json.loads(codec.decode(codec.receive(worker.from_worker, wait)["value"]))
    finally:
        sandbox.stop_worker(worker)
        server.close()
    assert info["uid"] != 0 and info["euid"] != 0 and info["gid"] != 0
    assert set(info["caps"]) == {"0000000000000000"}
    assert info["interfaces"] == ["lo"] and info["connected"] is False
    # nothing of the checkout, except the folders leading to the venv when it lives inside it
    # (make test's .venv): no solutions, no tests, no notebooks
    venv = Path(sys.prefix).resolve()
    inside = [venv.relative_to(ROOT).parts[0]] if venv.is_relative_to(ROOT) else []
    assert info["checkout"] in (None, inside), info["checkout"]
    # the top folders of the system, and those leading to this interpreter and its packages
    # (CI's clone lives under /check, a user's venv may live anywhere)
    leading = {p.parts[1] for p in bwrap.interpreter_paths()}
    leading |= {Path(link).parts[1] for link in bwrap.link_chain(bwrap.executable())}
    assert set(info["root"]) <= leading | {
        "dev",
        "etc",
        "grader",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "root",
        "tmp",
        "usr",
        "var",
        "work",
        "home",
        "opt",
    }
    # /tmp holds at most the folders leading to the interpreter, nothing of the machine's
    assert all(Path("/tmp", name) in Path(sys.prefix).resolve().parents for name in info["tmp"])
    assert info["writable"] == {"/work/x": True, "/tmp/x": True, "/dev/shm/x": True,
                                "/var/tmp/y": True, "/x": False, "/usr/lib/x": False,
                                "/grader/x": False}  # fmt: skip
    assert max(info["processes"]) < 16 and 10 <= info["children"] < 16
    assert info["unhooked"] in ("ImportError", "ModuleNotFoundError")
    assert info["attention"] == (
        "exercise 16 may not import dlcourse.attention: write the computation yourself"
    )


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root")
@needs_bwrap
def test_a_grader_that_is_not_root_gets_nobody_in_a_user_namespace(monkeypatch):
    """The other mode: bwrap started by an unprivileged user (here ``nobody``)."""
    monkeypatch.setattr(bwrap, "interpreter_paths", lambda: [])
    monkeypatch.setattr(bwrap, "executable", lambda: "/bin/sh")
    grader = Path(tempfile.mkdtemp(prefix="dlcourse-test-"))  # readable by nobody
    grader.chmod(0o755)
    args = bwrap.arguments(shutil.which("bwrap"), grader, 64, root_grader=False)
    script = ("id -u; grep -E '^Cap(Prm|Eff)' /proc/self/status; ls /tmp | wc -l; "
              "unshare -U true 2>/dev/null && echo NESTED-USERNS; "
              "ls /proc | grep -c '^[0-9]'")  # fmt: skip
    at = args.index("/grader") - 2  # the shell's tools, bound before the root turns read-only
    args[at:at] = ["--perms", "0755", "--dir", "/usr", "--ro-bind", "/usr/bin", "/usr/bin"]
    command = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
               *args, "--", "/usr/bin/sh", "-c", script]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
    grader.rmdir()
    if run.returncode and "setting up uid map" in run.stderr:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {run.stderr.strip()}")
    lines = run.stdout.split("\n")
    assert run.returncode == 0, run.stderr
    assert lines[0] == str(NOBODY)
    assert lines[1].split()[1] == lines[2].split()[1] == "0000000000000000"
    assert lines[3] == "0"  # an empty /tmp
    assert "NESTED-USERNS" not in run.stdout
    assert int(lines[4]) <= 4  # bwrap's init, the shell, ls and grep: no process of the machine


# -- user ids of a root grader ------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader reserves user ids")
def test_every_live_worker_gets_a_user_id_of_its_own():
    first, second = uids.reserve(), uids.reserve()
    try:
        assert first.uid != second.uid
        assert uids.FIRST <= first.uid <= uids.LAST and uids.FIRST <= second.uid <= uids.LAST
        # another grading process cannot take an id held here
        code = (
            "from dlcourse.grading import uids\n"
            "taken = {int(x) for x in __import__('sys').argv[1:]}\n"
            "got = [uids.reserve() for _ in range(5)]\n"
            "print(all(r.uid not in taken for r in got))\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", code, str(first.uid), str(second.uid)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert run.stdout.strip() == "True", run.stderr
    finally:
        first.release()
        second.release()


# -- processes and memory ------------------------------------------------------------------
HOG = "b = b'x' * (300 * 2**20); import time; time.sleep(30)"
PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {HOG!r}])"


def test_the_watchdog_ends_a_group_over_its_memory_limit():
    leader = subprocess.Popen([sys.executable, "-c", PARENT], start_new_session=True)
    members = group.Group("tree", leader.pid)
    watchdog = group.Watchdog(members, 150 * 2**20)
    watchdog.start()
    try:
        watchdog.join(30)
        assert members.killed_for == "memory" and watchdog.peak > 150 * 2**20
        assert leader.wait(10) == -9
        time.sleep(0.2)
        assert members.members() == []  # the child holding the memory is gone too
    finally:
        watchdog.stop()
        members.kill()
        leader.wait()


def test_a_delegated_cgroup_gets_the_limits(tmp_path):
    (tmp_path / "cgroup.subtree_control").write_text("cpu memory pids\n")
    folder = group.make_cgroup(tmp_path, 512, 32)
    assert (folder / "memory.max").read_text() == str(512 * 2**20)
    assert (folder / "pids.max").read_text() == "32"
    (folder / "cgroup.procs").write_text("")
    group.join_cgroup(folder)
    assert (folder / "cgroup.procs").read_text() == "0"  # "the writing process" in cgroup v2
    assert group.cgroup_parent() is None or (group.cgroup_parent() / "cgroup.procs").exists()


def test_a_signal_passed_on_by_bubblewrap_is_named():
    assert "segmentation fault, exit code -11" in proxy.Connection._death(139, wrapped=True)
    assert "exit code 3" in proxy.Connection._death(3, wrapped=True)


# -- what graded code may import ------------------------------------------------------------
GUARD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("g", sys.argv[1])
guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)
guard.install("14")
out = {}
import dlcourse
out["check"] = dlcourse.check("14")
for name in ("dlcourse.layers", "dlcourse.attention", "dlcourse.layers.conv"):
    try:
        __import__(name)
    except ImportError as exc:
        out[name] = str(exc)
try:
    dlcourse.layers.Conv2d
except AttributeError as exc:
    out["attribute"] = str(exc)
out["attempts"] = guard.ATTEMPTS
# the notebooks' install cell asks whether dlcourse is installed: yes (no ValueError)
out["found"] = importlib.util.find_spec("dlcourse") is not None
print(json.dumps(out))
"""


def test_graded_code_cannot_import_the_course_package():
    path = importlib.util.find_spec("dlcourse.grading.guard").origin
    run = subprocess.run([sys.executable, "-I", "-c", GUARD, path], capture_output=True,
                         text=True, timeout=60, cwd="/")  # fmt: skip
    out = json.loads(run.stdout)
    forbidden = "exercise 14 may not import dlcourse.layers: write the computation yourself"
    assert out["check"] is None and out["found"] is True
    assert out["dlcourse.layers"] == out["dlcourse.layers.conv"] == out["attribute"] == forbidden
    assert out["dlcourse.attention"].startswith("dlcourse.attention is not available while grading")
    assert forbidden in out["attempts"]


def test_the_table_names_the_reference_implementations():
    exercises = {path.name[:2] for path in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    assert set(guard.FORBIDDEN) == exercises, "every exercise needs its row in guard.FORBIDDEN"
    assert guard.message("16", "dlcourse.attention").startswith("exercise 16 may not import")
    assert "PyTorch" in guard.allowed("10") and "PyTorch" not in guard.allowed("06")
    for modules in guard.FORBIDDEN.values():
        for module in modules:
            assert importlib.util.find_spec(module) is not None, module


def _flaky_start(monkeypatch, failures: int) -> list:
    """``sandbox.start_worker`` whose first ``failures`` workers die before they are ready."""
    real, started = sandbox.start_worker, []

    def start(*args, **kwargs):
        worker = real(*args, **kwargs)
        if len(started) < failures:  # it dies; whatever it said is not read
            worker.group.kill()
            worker.process.kill()
            worker.process.wait()
            silent, closed = os.pipe()
            os.close(closed)
            os.close(worker.from_worker)
            worker.from_worker = silent
        started.append(worker)
        return worker

    monkeypatch.setattr(sandbox, "start_worker", start)
    return started


def _connection() -> proxy.Connection:
    cells = [{"index": 1, "source": "def plus_one(x):\n    return x + 1\n"}]
    level = "strong" if STRONG is None else "weak"
    return proxy.Connection(cells, sandbox.Limits(), 60, time.monotonic() + 120, isolation=level)


def test_a_worker_that_ends_before_it_is_ready_is_started_once_more(monkeypatch):
    """No student code runs before the ready message, so a start that fails on a loaded
    machine is tried again instead of costing the submission every point."""
    started = _flaky_start(monkeypatch, failures=1)
    conn = _connection()
    try:
        assert proxy.Student(conn).plus_one(41) == 42
    finally:
        conn.close()
    assert len(started) == 2


def test_a_worker_that_never_gets_ready_is_a_grader_error_with_its_exit_status(monkeypatch):
    started = _flaky_start(monkeypatch, failures=2)
    conn = _connection()
    try:
        pattern = r"did not start \(EOFError; exit status -?\d+\)"
        with pytest.raises(proxy.GraderError, match=pattern):
            proxy.Student(conn).plus_one(41)
    finally:
        conn.close()
    assert len(started) == 2
