# An exception class name of 20,000 characters, and a long message: the visible feedback
# is capped instead of carrying the whole text.
def add(a, b):
    raise type("X" * 20000, (Exception,), {})("Y" * 20000)


def sigmoid(z):
    raise type("X" * 20000, (Exception,), {})("Y" * 20000)
