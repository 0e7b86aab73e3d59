"""One rule for class labels across the package (``_validation.class_labels``)."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse as dc
from dlcourse.layers import Activation, Linear, Model
from dlcourse.metrics import accuracy

X = np.zeros((3, 2))
FLOATS = np.array([0.0, 1.0, 2.0])  # whole numbers, but floats
INTS = np.array([0, 1, 2])


def users():
    net = dc.Network([2, 3], output="softmax", cost="cross_entropy", seed=0)
    model = Model([Linear(2, 3, seed=0), Activation("softmax")])
    return {
        "data.one_hot": lambda y: dc.data.one_hot(y, 3),
        "Network.cost": lambda y: net.cost(X, y),
        "Model.cost": lambda y: model.cost(X, y),
        "metrics.accuracy": lambda y: accuracy(y, INTS),
    }


@pytest.mark.parametrize("user", sorted(users()))
def test_float_labels_are_refused_everywhere(user):
    call = users()[user]
    call(INTS)  # integer labels work
    with pytest.raises(TypeError, match=r"integer class labels; got dtype float64.*astype\(int\)"):
        call(FLOATS)


@pytest.mark.parametrize("user", ["data.one_hot", "Network.cost", "Model.cost"])
def test_labels_out_of_range_name_the_range(user):
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2 for k=3"):
        users()[user](np.array([0, 1, 3]))


def test_one_hot_is_the_same_everywhere():
    net = dc.Network([2, 3], output="softmax", cost="cross_entropy", seed=0)
    Y = dc.data.one_hot(INTS, 3)
    np.testing.assert_array_equal(Y, np.eye(3))
    assert net.cost(X, INTS) == net.cost(X, Y)
