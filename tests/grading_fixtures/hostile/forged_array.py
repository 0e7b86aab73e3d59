# Returns objects whose __array_interface__ hands NumPy a pointer the student chose: looked
# up through the grader's proxy, it made NumPy read address 8 in the trusted pytest process
# (a segmentation fault there: every test read "not run: total time limit").
class Forged:
    __array_interface__ = {"data": (8, False), "shape": (1 << 20,), "typestr": "<f8", "version": 3}
    __array_struct__ = None

    def __len__(self):
        return 1 << 20


def add(a, b):
    return Forged()


def sigmoid(z):
    return Forged()
