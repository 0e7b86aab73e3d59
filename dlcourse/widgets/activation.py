"""The activation explorer of Chapter 3: one activation g, its derivative g' and the
pre-activations z ~ N(mean, std²) that a layer feeds it -- how many units sit where g' is
(nearly) zero, i.e. saturated or dead.

:func:`plot_activation` is the static figure, :class:`ActivationExplorer` the sliders.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from dlcourse.activations import get_activation
from dlcourse.widgets._common import WidgetView, figure_png

__all__ = [
    "ACTIVATION_PARAMETERS",
    "SATURATION_LEVEL",
    "ActivationExplorer",
    "activation_explorer",
    "activation_statistics",
    "plot_activation",
]


SATURATION_LEVEL = 0.01  # a unit counts as saturated (or dead) where |g'(z)| < this

# activation -> (parameter name, slider min, slider max, default); others take no parameter
ACTIVATION_PARAMETERS: dict[str, tuple[str, float, float, float]] = {
    "leaky_relu": ("slope", 0.0, 0.5, 0.01),
    "elu": ("alpha", 0.1, 2.0, 1.0),
}

_EXPLORER_ACTIVATIONS = (
    "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "gelu_approx", "silu",
    "softplus", "identity",
)  # fmt: skip


def _activation_with(name: str, param: float | None):
    """The Activation ``name`` with its parameter set (``param`` ignored if it has none)."""
    if param is None or name not in ACTIVATION_PARAMETERS:
        return get_activation(name)
    return get_activation(name, **{ACTIVATION_PARAMETERS[name][0]: float(param)})


def _gaussian_quantiles(mean: float, std: float, n: int = 2000) -> np.ndarray:
    """n evenly spaced quantiles of N(mean, std²): a deterministic 'sample' of z, shape (n,)."""
    from scipy.special import ndtri

    if not (np.isfinite(mean) and np.isfinite(std) and std > 0):
        raise ValueError(f"need a finite mean and std > 0; got mean={mean}, std={std}")
    return mean + std * ndtri((np.arange(n) + 0.5) / n)


def activation_statistics(activation, mean=0.0, std=1.0, *, param=None) -> dict[str, float]:
    """Mean output, mean |g'(z)| and the saturated fraction (|g'(z)| < ``SATURATION_LEVEL``)
    of the units when z ~ N(mean, std²); computed on 2000 Gaussian quantiles (no randomness)."""
    g = _activation_with(activation, param) if isinstance(activation, str) else activation
    z = _gaussian_quantiles(mean, std)
    slope = np.abs(np.asarray(g.prime(z)))
    return {
        "mean_output": float(np.mean(np.asarray(g.fn(z)))),
        "mean_slope": float(np.mean(slope)),
        "saturated": float(np.mean(slope < SATURATION_LEVEL)),
    }


def _draw_activation(axes, name, param, mean, std, zlim):
    g = _activation_with(name, param)
    z = np.linspace(-zlim, zlim, 601)
    density = np.exp(-0.5 * ((z - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))
    stats = activation_statistics(g, mean, std)
    for ax, values, label in (
        (axes[0], g.fn(z), "output $g(z)$"),
        (axes[1], g.prime(z), "derivative $g'(z)$"),
    ):
        values = np.asarray(values)
        ax.plot(z, values, color="black", lw=2)
        lo, hi = min(values.min(), -0.1), max(values.max(), 1.1)
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        # the density of z, scaled to fill the lower half of the panel
        scaled = lo - pad + 0.5 * (hi - lo) * density / density.max()
        ax.fill_between(
            z,
            lo - pad,
            scaled,
            color="#1f77b4",
            alpha=0.25,
            lw=0,
            label=rf"$z \sim \mathcal{{N}}({mean:.1f}, {std:.1f}^2)$ (scaled)",
        )
        ax.axvline(0.0, color="grey", lw=0.8, ls=":")
        ax.set_xlim(-zlim, zlim)
        ax.set_xlabel("pre-activation $z$")
        ax.set_ylabel(label)
    axes[1].axhline(
        SATURATION_LEVEL, color="#d62728", lw=0.8, ls="--", label=f"$g' = {SATURATION_LEVEL}$"
    )
    axes[0].legend(loc="upper left", fontsize="small")
    axes[1].legend(loc="upper left", fontsize="small")
    axes[0].set_title(f"activation: {g.name}", fontsize="medium")
    axes[1].set_title(
        f"mean $|g'(z)|$ = {stats['mean_slope']:.3f}, saturated: {stats['saturated']:.1%}",
        fontsize="medium",
    )
    return stats


def plot_activation(
    activation="relu", param=None, *, mean=0.0, std=1.0, zlim=6.0, axes=None
) -> Figure:
    """Static figure of one activation: g(z) (left) and g'(z) (right), each over the density
    of the pre-activations z ~ N(mean, std²); the right title gives the mean |g'| and the
    fraction of saturated units (|g'| < ``SATURATION_LEVEL``).

    ``activation``: a name of :data:`dlcourse.activations.ACTIVATIONS`; ``param``: the slope
    of ``leaky_relu`` or the alpha of ``elu`` (None: the default); ``axes``: a pair of axes to
    draw on (a new figure if None).
    """
    if axes is None:
        fig = Figure(figsize=(9.0, 3.4), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        fig = axes[0].figure
    _draw_activation(axes, activation, param, float(mean), float(std), float(zlim))
    return fig


class ActivationExplorer(WidgetView):
    """A drop-down of activations, a slider for its parameter (leaky ReLU slope, ELU alpha)
    and sliders for the mean and spread of the pre-activations, redrawing
    :func:`plot_activation`. ``widget`` is the ipywidgets box; ``fig`` the live figure."""

    def __init__(self, activation="relu", param=None, mean=0.0, std=1.0):
        import ipywidgets as widgets

        if activation not in _EXPLORER_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(_EXPLORER_ACTIVATIONS)}; got {activation!r}"
            )
        self.fig = Figure(figsize=(9.0, 3.4), layout="constrained")
        style = {"description_width": "4em"}
        self.activation = widgets.Dropdown(
            options=list(_EXPLORER_ACTIVATIONS), value=activation, description="g", style=style
        )
        self.param = widgets.FloatSlider(
            value=0.0, min=0.0, max=2.0, step=0.01, description="param", style=style
        )
        self.mean = widgets.FloatSlider(
            value=mean, min=-5.0, max=5.0, step=0.1, description="mean z", style=style
        )
        self.std = widgets.FloatSlider(
            value=std, min=0.1, max=5.0, step=0.1, description="std z", style=style
        )
        self.image = widgets.Image(format="png")
        self._configure_param(param)
        self.activation.observe(self._on_activation, names="value")
        for control in (self.param, self.mean, self.std):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.activation, self.param]),
                widgets.HBox([self.mean, self.std]),
                self.image,
            ]
        )
        self.update()

    def _configure_param(self, value=None) -> None:
        spec = ACTIVATION_PARAMETERS.get(self.activation.value)
        self.param.disabled = spec is None
        if spec is not None:
            name, lo, hi, default = spec
            self.param.min, self.param.max = lo, hi
            self.param.value = default if value is None else value
            self.param.description = name

    def _on_activation(self, change=None) -> None:
        self._configure_param()
        self.update()

    @property
    def statistics(self) -> dict[str, float]:
        """:func:`activation_statistics` for the current settings."""
        param = None if self.param.disabled else self.param.value
        return activation_statistics(
            self.activation.value, self.mean.value, self.std.value, param=param
        )

    def update(self, change=None) -> None:
        """Redraw for the current settings (called on every change)."""
        self.fig.clear()
        param = None if self.param.disabled else self.param.value
        plot_activation(
            self.activation.value,
            param,
            mean=self.mean.value,
            std=self.std.value,
            axes=self.fig.subplots(1, 2),
        )
        self.image.value = figure_png(self.fig)


def activation_explorer(activation="relu", param=None, mean=0.0, std=1.0) -> ActivationExplorer:
    """An interactive :class:`ActivationExplorer` (see :func:`plot_activation`)."""
    return ActivationExplorer(activation, param, mean, std)
