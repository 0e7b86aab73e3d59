"""dlcourse: the companion package of the course on feedforward neural networks."""

__version__ = "0.1.0"

from dlcourse import (  # noqa: E402, F401
    activations,
    autodiff,
    costs,
    data,
    gradcheck,
    init,
    layers,
    losses,
    metrics,
    optim,
    perceptron,
    regularization,
    saving,
    schedules,
    train,
)
from dlcourse.network import Network  # noqa: E402, F401
from dlcourse.perceptron import Perceptron  # noqa: E402, F401


def check(exercise: str) -> None:
    """Run the public tests of exercise ``exercise`` (e.g. ``"06"``) on this notebook's code.

    Prints a table of tests, points and feedback; see :mod:`dlcourse.grading.check`.
    """
    from dlcourse.grading.check import check as _check

    _check(exercise)
