"""The neuron explorer of Chapter 1: one neuron ``a = f(w·x + b)`` with two inputs.

:func:`plot_neuron` draws its activation curve and its decision line ``w·x + b = 0`` on 2-D
data as a static figure; :class:`NeuronExplorer` redraws the same picture under sliders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from dlcourse.activations import get_activation
from dlcourse.widgets._common import WidgetView, figure_png

__all__ = ["NeuronExplorer", "neuron_explorer", "plot_neuron"]

_CLASS_COLOURS = ("#d62728", "#1f77b4")  # label 0 (or -1), label 1


@dataclass
class _NeuronArtists:
    """The matplotlib artists of a neuron figure that change when w, b or f change."""

    curve: object  # Line2D: a = f(z)
    points_on_curve: object  # PathCollection: the data at (z_i, f(z_i))
    boundary: object  # Line2D: w·x + b = 0
    surface: object  # AxesImage: a(x) over the input plane
    grid: tuple[np.ndarray, np.ndarray]  # the (x1, x2) grid the surface is evaluated on
    z: np.ndarray  # the z values of the curve
    X: np.ndarray | None
    ax_curve: object
    ax_plane: object


def _check_neuron(w, b) -> tuple[np.ndarray, float]:
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    if w.shape != (2,):
        raise ValueError(f"the neuron explorer draws 2 inputs: w must have 2 entries; got {w}")
    if not (np.all(np.isfinite(w)) and np.isfinite(b)):
        raise ValueError(f"w and b must be finite; got w={w}, b={b}")
    return w, float(b)


def _draw_neuron(axes, X=None, y=None, zlim: float = 6.0) -> _NeuronArtists:
    """Create the (not yet filled in) artists on ``axes = (ax_curve, ax_plane)``."""
    ax_curve, ax_plane = axes
    z = np.linspace(-zlim, zlim, 401)
    (curve,) = ax_curve.plot(z, np.zeros_like(z), color="black", lw=2)
    ax_curve.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax_curve.set_xlim(-zlim, zlim)
    ax_curve.set_ylim(-0.1, 1.1)
    ax_curve.set_xlabel("weighted input $z = w \\cdot x + b$")
    ax_curve.set_ylabel("output $a = f(z)$")
    if X is not None:
        X = np.asarray(X, dtype=np.float64)
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    else:
        lo, hi = np.array([-0.5, -0.5]), np.array([1.5, 1.5])
    x1, x2 = np.meshgrid(np.linspace(lo[0], hi[0], 121), np.linspace(lo[1], hi[1], 121))
    surface = ax_plane.imshow(
        np.zeros_like(x1),
        origin="lower",
        extent=(lo[0], hi[0], lo[1], hi[1]),
        cmap="RdBu",
        vmin=0.0,
        vmax=1.0,
        alpha=0.45,
        aspect="auto",
    )
    (boundary,) = ax_plane.plot([], [], color="black", lw=2, label="$w \\cdot x + b = 0$")
    colours = None
    if X is not None:
        labels = np.asarray(y) if y is not None else np.ones(X.shape[0])
        colours = [_CLASS_COLOURS[int(v > 0)] for v in labels]
        ax_plane.scatter(X[:, 0], X[:, 1], c=colours, edgecolors="black", s=60, zorder=3)
    m = 0 if X is None else X.shape[0]
    points = ax_curve.scatter(
        np.zeros(m), np.zeros(m), c=colours, edgecolors="black", s=40, zorder=3
    )
    ax_plane.set_xlim(lo[0], hi[0])
    ax_plane.set_ylim(lo[1], hi[1])
    ax_plane.set_xlabel("input $x_1$")
    ax_plane.set_ylabel("input $x_2$")
    ax_plane.legend(loc="upper right", fontsize="small")
    return _NeuronArtists(curve, points, boundary, surface, (x1, x2), z, X, ax_curve, ax_plane)


def _update_neuron(art: _NeuronArtists, w, b, activation) -> None:
    """Recompute every artist of ``art`` for the neuron ``a = f(w·x + b)``."""
    w, b = _check_neuron(w, b)
    f = get_activation(activation)
    art.curve.set_ydata(np.asarray(f.fn(art.z)))
    x1, x2 = art.grid
    art.surface.set_data(np.asarray(f.fn(w[0] * x1 + w[1] * x2 + b)))
    if art.X is not None:
        zs = art.X @ w + b
        art.points_on_curve.set_offsets(np.column_stack([zs, np.asarray(f.fn(zs))]))
    # the decision line w1 x1 + w2 x2 + b = 0, solved for the better-conditioned coordinate
    (a1, a2), (b1, b2) = art.ax_plane.get_xlim(), art.ax_plane.get_ylim()
    if abs(w[1]) >= abs(w[0]) and w[1] != 0:
        xs = np.array([a1, a2])
        art.boundary.set_data(xs, -(w[0] * xs + b) / w[1])
    elif w[0] != 0:
        ys = np.array([b1, b2])
        art.boundary.set_data(-(w[1] * ys + b) / w[0], ys)
    else:  # w = 0: the output is constant and there is no line
        art.boundary.set_data([], [])
    art.ax_curve.set_title(f"activation: {f.name}", fontsize="medium")
    art.ax_plane.set_title(
        f"$w = ({w[0]:.2f}, {w[1]:.2f})$, $b = {b:.2f}$ (shading: $a$)", fontsize="medium"
    )


def plot_neuron(w, b, activation="sigmoid", axes=None, *, X=None, y=None) -> Figure:
    """Draw one neuron with two inputs as a static figure and return the figure.

    Left: the activation curve ``a = f(z)`` with the data placed at their weighted inputs
    ``z_i = w·x_i + b``. Right: the input plane shaded by ``a(x)``, the decision line
    ``w·x + b = 0`` and the data coloured by label.

    ``w``: shape ``(2,)``; ``b``: float; ``activation``: a name such as ``"step"`` or
    ``"sigmoid"``; ``axes``: a pair ``(ax_curve, ax_plane)`` to draw on (a new figure if
    None); ``X``: optional data of shape ``(m, 2)`` with labels ``y`` of shape ``(m,)``.
    """
    if axes is None:
        fig = Figure(figsize=(9.0, 3.6), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        fig = axes[0].figure
    art = _draw_neuron(axes, X, y)
    _update_neuron(art, w, b, activation)
    return fig


class NeuronExplorer(WidgetView):
    """Sliders for ``w1, w2, b`` and a choice of activation, redrawing :func:`plot_neuron`.

    ``widget`` is the ipywidgets box to display (displaying the explorer itself works
    too); ``fig`` and ``artists`` are the live matplotlib objects, ``image`` the PNG view.
    """

    def __init__(self, X=None, y=None, w=(1.0, 1.0), b=-1.5, activation="step"):
        import ipywidgets as widgets

        if X is None:
            from dlcourse.perceptron import logic_gate

            X, y = logic_gate("AND")
        w, b = _check_neuron(w, b)
        self.fig = Figure(figsize=(9.0, 3.6), layout="constrained")
        self.artists = _draw_neuron(self.fig.subplots(1, 2), X, y)
        style = {"description_width": "2.5em"}
        make = lambda name, value, lo: widgets.FloatSlider(
            value=value, min=lo, max=-lo, step=0.1, description=name, style=style
        )
        self.w1 = make("w1", w[0], -5.0)
        self.w2 = make("w2", w[1], -5.0)
        self.b = make("b", b, -8.0)
        self.activation = widgets.ToggleButtons(
            options=["step", "sigmoid"], value=get_activation(activation).name
        )
        self.image = widgets.Image(format="png")
        for control in (self.w1, self.w2, self.b, self.activation):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.w1, self.w2, self.b]), self.activation, self.image]
        )
        self.update()

    def update(self, change=None) -> None:
        """Redraw for the current slider values (called on every slider change)."""
        w = (self.w1.value, self.w2.value)
        _update_neuron(self.artists, w, self.b.value, self.activation.value)
        self.image.value = figure_png(self.fig)


def neuron_explorer(X=None, y=None, w=(1.0, 1.0), b=-1.5, activation="step") -> NeuronExplorer:
    """An interactive :class:`NeuronExplorer` (default data: the AND gate's truth table)."""
    return NeuronExplorer(X, y, w, b, activation)
