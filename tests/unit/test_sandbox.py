"""The worker's isolation for a grader that is not root: a user namespace in which the answers
are covered, every mount but the working directory is read-only (the grader's code, the
grader's home, /tmp), and nothing of that can be undone.

The check runs a shell (not Python: the test may run as root, and an unprivileged user may be
unable to reach this Python) under the preexec step the worker gets. As root, the child first
becomes ``nobody`` so that it is the unprivileged case that is tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from dlcourse.grading import sandbox

NOBODY = 65534
PR_SET_DUMPABLE = 4
SCRIPT = """
cat secret/answer.txt && echo LEAK-read
ls secret && echo LEAK-list
umount secret 2>/dev/null && echo LEAK-umount
cat secret/answer.txt 2>/dev/null && echo LEAK-after-umount
mount -o remount,rw code 2>/dev/null && echo LEAK-remount
echo patched > code/grader.py && echo LEAK-write
rm code/grader.py 2>/dev/null && echo LEAK-remove
cat code/grader.py
echo "import os" > home/usercustomize.py && echo LEAK-home
echo x > /tmp/dlcourse-sandbox-escape-$$ && echo LEAK-tmp && rm /tmp/dlcourse-sandbox-escape-$$
echo x > /dev/null && echo DEVNULL-ok
echo result > work/out.txt && echo WROTE-work
grep CapEff /proc/self/status
"""


@pytest.fixture
def tree():
    """secret/answer.txt, code/grader.py and home/ (the grading user's own), and work/."""
    base = Path(tempfile.mkdtemp(prefix="dlcourse-sandbox-"))
    base.chmod(0o755)
    (base / "secret").mkdir(mode=0o755)
    (base / "secret" / "answer.txt").write_text("42\n")
    (base / "code").mkdir(mode=0o755)
    (base / "code" / "grader.py").write_text("score = 0\n")
    (base / "home").mkdir(mode=0o755)
    (base / "work").mkdir(mode=0o777)
    (base / "work").chmod(0o777)
    for f in (base / "secret" / "answer.txt", base / "code" / "grader.py"):
        f.chmod(0o644)
    if os.geteuid() == 0:  # the grader's code belongs to the user who grades (here nobody)
        for path in (base / "code", base / "code" / "grader.py", base / "home"):
            os.chown(path, NOBODY, NOBODY)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _run_isolated(base: Path) -> subprocess.CompletedProcess:
    def preexec():
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            sandbox._libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # setuid cleared it: /proc/self
            # would stay root's, and the user namespace's uid_map could not be written
        sandbox.isolate_user([base / "secret"], [base / "work"])

    try:
        return subprocess.run(
            ["/bin/sh", "-c", SCRIPT], cwd=base, preexec_fn=preexec, capture_output=True,
            text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    except subprocess.SubprocessError as exc:
        pytest.skip(f"user namespaces are not available here ({exc})")


@pytest.mark.skipif(not Path("/proc/self/uid_map").exists(), reason="needs Linux namespaces")
def test_user_namespace_hides_answers_and_keeps_the_code_read_only(tree):
    run = _run_isolated(tree)
    out = run.stdout + run.stderr
    assert "LEAK" not in out, out
    assert "42" not in run.stdout, out
    assert "score = 0" in run.stdout, "the read-only code must stay readable:\n" + out
    assert "WROTE-work" in run.stdout, "the working directory must stay writable:\n" + out
    assert "DEVNULL-ok" in run.stdout, "/dev/null must stay writable:\n" + out
    assert "CapEff:\t0000000000000000" in run.stdout, "capabilities survived exec:\n" + out
    # and outside the namespace nothing changed
    assert (tree / "secret" / "answer.txt").read_text() == "42\n"
    assert (tree / "code" / "grader.py").read_text() == "score = 0\n"
    assert not (tree / "home" / "usercustomize.py").exists()
    assert (tree / "work" / "out.txt").read_text() == "result\n"


def test_a_root_grader_uses_its_own_level_and_others_the_user_namespace(monkeypatch):
    """Which isolation ``start_worker`` asks for first (the fallback is plain limits)."""
    seen = []

    def fake_popen(*args, preexec_fn=None, **kwargs):
        seen.append(preexec_fn.__defaults__[0])  # the level bound into the preexec lambda
        raise OSError("refused in this test")

    monkeypatch.setattr(sandbox.subprocess, "Popen", fake_popen)
    for euid, first in ((0, "namespace"), (1000, "user-namespace")):
        seen.clear()
        monkeypatch.setattr(sandbox.os, "geteuid", lambda e=euid: e)
        monkeypatch.setattr(sandbox.os, "chown", lambda *a: None)
        with pytest.raises(RuntimeError, match="unavailable"):
            sandbox.start_worker(sandbox.Limits(), [])
        assert seen == [first, "limits"]
