"""Tests of dlcourse.approximation: the bump construction of the universal approximation
theorem (Chapter 2) and its explorer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from dlcourse.approximation import (
    DEFAULT_STEEPNESS,
    approximation_error,
    bump_network,
    bump_parameters,
    plot_bump_approximation,
)


def bump_sum(f, n_units, x, lo=0.0, hi=1.0, steepness=DEFAULT_STEEPNESS):
    """Independent oracle: eq-bump-network written out bump by bump."""
    n_bumps = n_units // 2
    width = (hi - lo) / n_bumps
    edges = lo + width * np.arange(n_bumps + 1)
    edges[0], edges[-1] = lo - width / 2, hi + width / 2
    w = steepness / width
    g = np.zeros_like(x)
    for i in range(n_bumps):
        h = f(lo + width * (i + 0.5))
        g += h * (expit(w * (x - edges[i])) - expit(w * (x - edges[i + 1])))
    return g


@pytest.mark.parametrize("n_units", [2, 8, 30])
def test_network_equals_the_sum_of_bumps(n_units):
    x = np.linspace(-0.2, 1.2, 57)
    net = bump_network(np.cos, n_units)
    assert net.sizes == [1, n_units, 1]
    np.testing.assert_allclose(net.forward(x[:, None])[:, 0], bump_sum(np.cos, n_units, x),
                               rtol=0, atol=1e-12)  # fmt: skip


def test_parameter_shapes_and_signs():
    W1, b1, W2, b2 = bump_parameters("quadratic", 6)
    assert (W1.shape, b1.shape, W2.shape, b2.shape) == ((6, 1), (6,), (1, 6), (1,))
    np.testing.assert_allclose(W2[0, 0::2], -W2[0, 1::2])  # +h and -h of each bump
    steps = -b1 / W1[:, 0]  # step positions s_i
    np.testing.assert_allclose(steps[1:-1:2], steps[2::2])  # neighbours share an edge


def test_other_interval_and_steepness():
    x = np.linspace(-2.0, 3.0, 101)
    net = bump_network(np.sin, 40, interval=(-2.0, 3.0), steepness=7.0)
    expected = bump_sum(np.sin, 40, x, -2.0, 3.0, 7.0)
    np.testing.assert_allclose(net.forward(x[:, None])[:, 0], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_units", [20, 100, 400])
def test_error_of_a_lipschitz_target_shrinks_like_one_over_n(n_units):
    # sin(2 pi x) has slope at most 2 pi and every x is within half a piece, 1/n_units, of
    # its piece's midpoint; the smooth steps add a little near the edges.
    bound = 2 * np.pi / n_units
    error = approximation_error("sine", n_units)
    assert error <= 1.05 * bound
    assert error >= 0.5 * bound  # a staircase cannot do much better


def test_a_jump_is_never_approximated_uniformly():
    for n_units in (10, 40, 200):
        assert approximation_error("step", n_units) >= 0.5 - 1e-9


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_units": 3}, ValueError, "even integer"),
        ({"n_units": 0}, ValueError, "even integer"),
        ({"n_units": 4.0}, TypeError, "even integer"),
        ({"n_units": 4, "interval": (1.0, 0.0)}, ValueError, "lo < hi"),
        ({"n_units": 4, "steepness": -1.0}, ValueError, "positive"),
        ({"n_units": 4, "f": "no-such-curve"}, ValueError, "one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    kwargs = {"f": "sine", **kwargs}
    with pytest.raises(error, match=match):
        bump_network(**kwargs)


def test_plot_draws_target_and_network_with_labelled_axes():
    fig = plot_bump_approximation(12, curve="abs")
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    target, network = ax.lines[-2:]
    x, g = (np.asarray(v) for v in network.get_data())
    np.testing.assert_allclose(g, bump_network("abs", 12).forward(x[:, None])[:, 0], atol=1e-12)
    np.testing.assert_allclose(target.get_ydata(), np.abs(2 * x - 1))


def test_explorer_redraws_when_units_are_added():
    pytest.importorskip("ipywidgets")
    from dlcourse.widgets import universal_approximation_explorer

    explorer = universal_approximation_explorer(n_units=4, curve="sine")
    before = explorer.image.value
    explorer.n_units.value = 40
    assert explorer.image.value != before
    assert "40 hidden" in explorer.fig.axes[0].get_title()
    with pytest.raises(ValueError, match="curve must be one of"):
        universal_approximation_explorer(curve="nope")
