# Printing 1 GB (at import, then in a function if it ever gets there).
import sys

chunk = "x" * 2**20
for _ in range(1024):
    sys.stdout.write(chunk)


def add(a, b):
    for _ in range(1024):
        print(chunk)
