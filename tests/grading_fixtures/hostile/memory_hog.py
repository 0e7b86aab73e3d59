# Allocating 50 GB.
import numpy as np


def add(a, b):
    big = np.ones(50 * 2**30 // 8)
    return big.sum()


def sigmoid(z):
    return bytearray(50 * 2**30)
