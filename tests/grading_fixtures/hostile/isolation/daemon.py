# Starts a double-forked, setsid daemon meant to outlive the grading (its command line
# carries a token the test looks for on the machine); the cell waits until it runs.
import os
import sys
import time

TOKEN = "__TOKEN__"
DAEMON = "import os, sys, time; os.write(int(sys.argv[2]), b'up'); time.sleep(600)"

ready_r, ready_w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("/tmp/daemon.pid", "w") as fh:
            fh.write(str(os.getpid()))
        os.set_inheritable(ready_w, True)
        os.execv(sys.executable, [sys.executable, "-c", DAEMON, TOKEN, str(ready_w)])
    os._exit(0)
os.close(ready_w)
os.wait()
os.read(ready_r, 2)
time.sleep(1.0)
