"""The universal-approximation explorer of Chapter 2.

A network with one hidden layer of sigmoid units, built as a sum of bumps (two units each)
by :mod:`dlcourse.approximation`; the explorer adds units and sharpens or softens the steps.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from dlcourse.approximation import DEFAULT_STEEPNESS, plot_bump_approximation
from dlcourse.widgets._common import WidgetView, figure_png

__all__ = [
    "DEFAULT_STEEPNESS",
    "UniversalApproximationExplorer",
    "plot_bump_approximation",
    "universal_approximation_explorer",
]

_UA_CURVES = ("sine", "wiggly", "abs", "quadratic", "bump", "step", "sawtooth")


class UniversalApproximationExplorer(WidgetView):
    """Sliders for the number of hidden units (two per bump) and the steepness of the steps,
    and a choice of target curve, redrawing :func:`plot_bump_approximation`. ``widget`` is
    the ipywidgets box; ``fig`` the live figure."""

    def __init__(self, n_units=10, curve="wiggly", steepness=None):
        import ipywidgets as widgets

        if curve not in _UA_CURVES:
            raise ValueError(f"curve must be one of {', '.join(_UA_CURVES)}; got {curve!r}")
        self.fig = Figure(figsize=(7.0, 3.8), layout="constrained")
        style = {"description_width": "6em"}
        self.n_units = widgets.IntSlider(
            value=n_units, min=2, max=200, step=2, description="hidden units", style=style
        )
        self.steepness = widgets.FloatLogSlider(
            value=DEFAULT_STEEPNESS if steepness is None else steepness,
            base=10, min=0, max=3, step=0.05, description="steepness", style=style,
        )  # fmt: skip
        self.curve = widgets.Dropdown(
            options=list(_UA_CURVES), value=curve, description="target", style=style
        )
        self.image = widgets.Image(format="png")
        for control in (self.n_units, self.steepness, self.curve):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.n_units, self.steepness]), self.curve, self.image]
        )
        self.update()

    def update(self, change=None) -> None:
        """Redraw for the current settings (called on every change)."""
        self.fig.clear()
        plot_bump_approximation(
            self.n_units.value,
            self.fig.subplots(),
            curve=self.curve.value,
            steepness=self.steepness.value,
        )
        self.image.value = figure_png(self.fig)


def universal_approximation_explorer(
    n_units=10, curve="wiggly", steepness=None
) -> UniversalApproximationExplorer:
    """An interactive :class:`UniversalApproximationExplorer` (see
    :func:`dlcourse.approximation.plot_bump_approximation`)."""
    return UniversalApproximationExplorer(n_units, curve, steepness)
