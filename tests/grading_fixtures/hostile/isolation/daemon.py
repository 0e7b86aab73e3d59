# Starts a double-forked, setsid daemon meant to outlive the grading (its command line
# carries a token the test looks for on the machine).
import os
import sys

TOKEN = "__TOKEN__"

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("/tmp/daemon.pid", "w") as fh:
            fh.write(str(os.getpid()))
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", TOKEN])
    os._exit(0)
os.wait()
