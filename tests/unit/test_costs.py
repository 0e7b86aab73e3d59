"""dlcourse.costs: each closed form of BP1 equals the general δ^L of its cost."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import losses
from dlcourse.activations import ACTIVATIONS, ActivationFunction
from dlcourse.costs import COSTS, Cost, get_cost

PAIRS = [(c.name, out) for c in COSTS.values() for out in c.closed_forms]


def test_the_book_pairings_have_closed_forms():
    assert sorted(PAIRS) == [
        ("binary_cross_entropy", "sigmoid"),
        ("cross_entropy", "softmax"),
        ("quadratic", "identity"),
        ("quadratic", "sigmoid"),
    ]


@pytest.mark.parametrize("cost,output", PAIRS)
def test_closed_form_equals_general_delta(cost, output):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4))
    g = ACTIVATIONS[output]
    a = g.fn(z)
    y = np.eye(4)[rng.integers(0, 4, size=5)]
    C = COSTS[cost]
    general = C.delta(z, a, y, g)
    closed = C.fast_delta(g)(a, y)
    assert not np.allclose(general, 0)
    np.testing.assert_allclose(closed, general, rtol=1e-12, atol=1e-15)


def test_no_closed_form_for_a_custom_activation_or_pairing():
    custom = ActivationFunction("sigmoid", ACTIVATIONS["sigmoid"].fn, ACTIVATIONS["sigmoid"].prime)
    assert COSTS["quadratic"].fast_delta(custom) is None
    assert COSTS["quadratic"].fast_delta(ACTIVATIONS["softmax"]) is None
    mine = Cost("mine", COSTS["quadratic"].fn, COSTS["quadratic"].delta)
    assert mine.fast_delta(ACTIVATIONS["sigmoid"]) is None


def test_one_home_for_the_costs():
    # the Network costs (probabilities and one-hot rows) are not re-exported beside the
    # torch-style losses (logits and class indices), whose cross_entropy means another thing
    assert not {"COSTS", "Cost", "get_cost"} & set(dir(losses))
    with pytest.raises(ValueError, match="valid names"):
        get_cost("mse")


def test_a_torch_style_loss_is_not_taken_for_a_network_cost():
    from dlcourse import Network

    with pytest.raises(TypeError, match="dlcourse.losses.classification.cross_entropy"):
        Network([2, 3], output="softmax", cost=losses.cross_entropy)
    assert Network([2, 3], output="softmax", cost="cross_entropy").cost_fn is COSTS["cross_entropy"]
