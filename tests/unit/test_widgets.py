"""Tests of dlcourse.widgets: the static neuron figure and the neuron explorer."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from dlcourse.activations import sigmoid  # noqa: E402
from dlcourse.perceptron import logic_gate  # noqa: E402
from dlcourse.widgets import NeuronExplorer, neuron_explorer, plot_neuron  # noqa: E402


def boundary_residual(line, w, b):
    """max |w·x + b| over the end points of the drawn decision line (0 if it is right)."""
    xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
    return np.max(np.abs(w[0] * xs + w[1] * ys + b))


def test_plot_neuron_draws_curve_and_boundary():
    X, y = logic_gate("AND")
    fig = plot_neuron([1.0, 1.0], -1.5, "sigmoid", X=X, y=y)
    ax_curve, ax_plane = fig.axes[:2]
    z, a = ax_curve.lines[0].get_data()
    np.testing.assert_allclose(a, sigmoid(np.asarray(z)), rtol=1e-12)
    assert ax_curve.get_xlabel() and ax_curve.get_ylabel()
    assert ax_plane.get_xlabel() and ax_plane.get_ylabel()
    assert boundary_residual(ax_plane.lines[0], (1.0, 1.0), -1.5) < 1e-12


def test_plot_neuron_on_given_axes_and_vertical_line():
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    out = plot_neuron([2.0, 0.0], -1.0, "step", axes=axes)
    assert out is fig
    xs, ys = axes[1].lines[0].get_data()
    np.testing.assert_allclose(xs, [0.5, 0.5])  # 2 x1 - 1 = 0


def test_plot_neuron_rejects_bad_weights():
    with pytest.raises(ValueError, match="2 entries"):
        plot_neuron([1.0, 2.0, 3.0], 0.0)
    with pytest.raises(ValueError, match="finite"):
        plot_neuron([1.0, np.nan], 0.0)


def test_explorer_builds_and_updates_on_slider_change():
    explorer = neuron_explorer()
    assert isinstance(explorer, NeuronExplorer)
    assert explorer.widget.children  # sliders, toggle and the image
    first_png = explorer.image.value
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n"
    line = explorer.artists.boundary
    assert boundary_residual(line, (1.0, 1.0), -1.5) < 1e-12

    explorer.w2.value = 3.0
    explorer.b.value = -2.0
    assert boundary_residual(line, (1.0, 3.0), -2.0) < 1e-12
    assert explorer.image.value != first_png

    # switching the activation redraws the curve with the sigmoid
    step_curve = np.array(explorer.artists.curve.get_ydata(), dtype=float)
    assert set(np.unique(step_curve)) <= {0.0, 1.0}
    explorer.activation.value = "sigmoid"
    z, a = explorer.artists.curve.get_data()
    np.testing.assert_allclose(a, sigmoid(np.asarray(z)), rtol=1e-12)


def test_explorer_mimebundle_is_a_widget_view():
    bundle = neuron_explorer(w=(0.0, 0.0), b=1.0)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
