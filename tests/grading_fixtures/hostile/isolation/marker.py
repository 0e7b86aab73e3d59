# Leaves a file in /tmp (and /var/tmp, /dev/shm) for a later run to read: hidden inputs
# carried from one grading run into the visible feedback of the next.
MARKER = "__MARKER__"


def leak(value):
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            with open(f"{folder}/{MARKER}", "a") as fh:
                fh.write(repr(value) + "\n")
        except OSError:
            pass


leak("hello from the submission")
