# Infinite loops inside the graded functions.
def add(a, b):
    while True:
        pass


def sigmoid(z):
    x = 0
    while x >= 0:
        x += 1
