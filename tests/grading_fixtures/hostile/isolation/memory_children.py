# Child processes of CHILD_MB each: one is within the submission's memory limit, three
# together are not. add() holds three at once, sigmoid() one.
import subprocess
import sys
import time

CHILD_MB = int("__CHILD_MB__")
HOLD = (
    f"b = b'x' * ({CHILD_MB} * 2**20); import sys, time; sys.stdout.write('held'); "
    "sys.stdout.flush(); time.sleep(30)"
)


def hold(n):
    children = [
        subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE) for _ in range(n)
    ]
    held = [c.stdout.read(4) == b"held" for c in children]
    time.sleep(1.0)
    for c in children:
        c.kill()
        c.wait()
    return all(held)


_add, _sigmoid = add, sigmoid  # noqa: F821 - defined by the correct part above


def add(a, b):
    return _add(a, b) if hold(3) else None


def sigmoid(z):
    return _sigmoid(z) if hold(1) else None
