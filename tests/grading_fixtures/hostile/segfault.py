# A segmentation fault through ctypes.
import ctypes


def add(a, b):
    return ctypes.string_at(0)


def sigmoid(z):
    ctypes.memset(0, 1, 1024)
