# The correct part: every attack below is appended to it (its own leak() replaces this one).
import numpy as np


def leak(value):
    pass


def add(a, b):
    leak((a, b))
    return a + b


def sigmoid(z):
    leak(z)
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def scale_(x, c):
    x *= c


class Counter:
    def __init__(self, count):
        self.count = count

    def increment(self):
        self.count += 1
        return self.count


def apply_twice(f, x):
    return f(f(x))
