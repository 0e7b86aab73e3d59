"""The optimiser race of the chapter "Initialisation and optimisation" (Chapter 7).

Every optimiser of :mod:`dlcourse.optim` started from the same point of a two-parameter
surface: an ill-conditioned quadratic bowl or Rosenbrock's banana valley. The static figure
is :func:`plot_optimizer_race`; :class:`OptimizerRace` adds a surface choice, an lr multiplier
and a step count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from dlcourse.optim import SGD, Adagrad, Adam, Optimizer, RMSprop
from dlcourse.plotting import optimizer_paths, plot_loss_surface, plot_optimizer_path
from dlcourse.widgets._common import WidgetView, figure_png

__all__ = [
    "QUADRATIC_CURVATURES",
    "RACE_OPTIMIZERS",
    "RACE_SURFACES",
    "OptimizerRace",
    "RaceSurface",
    "optimizer_race",
    "plot_optimizer_race",
    "race_paths",
]


@dataclass(frozen=True)
class RaceSurface:
    """A test function of two parameters ``p = (p[0], p[1])`` for the optimiser race.

    ``f`` and ``grad`` accept a point of shape ``(2,)`` (``f`` also a stacked grid of shape
    ``(2, ...)``); ``x0`` is the common start, ``minimum`` the minimiser, ``lrs`` the learning
    rate of each racer at ``lr_scale = 1`` and ``steps`` the default number of steps.
    """

    title: str
    f: Callable
    grad: Callable
    x0: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    lrs: dict[str, float]
    steps: int
    log: bool = True


QUADRATIC_CURVATURES = (1.0, 25.0)  # eigenvalues of the Hessian: condition number 25


def _quadratic(p):
    """f(p) = ½ (h₁ p₁² + h₂ p₂²) with (h₁, h₂) = ``QUADRATIC_CURVATURES``."""
    h1, h2 = QUADRATIC_CURVATURES
    return 0.5 * (h1 * p[0] ** 2 + h2 * p[1] ** 2)


def _quadratic_grad(p):
    return np.asarray(QUADRATIC_CURVATURES) * np.asarray(p, dtype=np.float64)


def _rosenbrock(p):
    """Rosenbrock's function f(p) = (1 − p₁)² + 100 (p₂ − p₁²)², minimum 0 at (1, 1)."""
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def _rosenbrock_grad(p):
    x, y = float(p[0]), float(p[1])
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


RACE_SURFACES: dict[str, RaceSurface] = {
    "quadratic": RaceSurface(
        title=r"ill-conditioned quadratic $\frac{1}{2}(w_1^2 + 25 w_2^2)$",
        f=_quadratic, grad=_quadratic_grad, x0=(-4.5, 1.5), minimum=(0.0, 0.0),
        xlim=(-5.0, 1.5), ylim=(-2.0, 2.0), steps=60,
        lrs={"SGD": 0.07, "momentum": 0.01, "Nesterov": 0.02, "Adagrad": 0.9,
             "RMSprop": 0.1, "Adam": 0.3},
    ),
    "rosenbrock": RaceSurface(
        title=r"Rosenbrock $(1 - w_1)^2 + 100(w_2 - w_1^2)^2$",
        f=_rosenbrock, grad=_rosenbrock_grad, x0=(-1.5, 2.0), minimum=(1.0, 1.0),
        xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), steps=1000,
        lrs={"SGD": 1.5e-3, "momentum": 4e-4, "Nesterov": 4e-4, "Adagrad": 0.5,
             "RMSprop": 5e-3, "Adam": 0.1},
    ),
}  # fmt: skip

#: The racers: a constructor from the learning rate (momentum 0.9, other settings as torch).
RACE_OPTIMIZERS: dict[str, Callable[[float], Optimizer]] = {
    "SGD": lambda lr: SGD(lr=lr),
    "momentum": lambda lr: SGD(lr=lr, momentum=0.9),
    "Nesterov": lambda lr: SGD(lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda lr: Adagrad(lr=lr),
    "RMSprop": lambda lr: RMSprop(lr=lr),
    "Adam": lambda lr: Adam(lr=lr),
}

_RACE_COLOURS = dict(zip(RACE_OPTIMIZERS, ("#7f7f7f", "#1f77b4", "#17becf", "#2ca02c",
                                           "#ff7f0e", "#d62728")))  # fmt: skip


def _race_surface(surface) -> RaceSurface:
    if isinstance(surface, RaceSurface):
        return surface
    if surface not in RACE_SURFACES:
        raise ValueError(f"surface must be one of {', '.join(RACE_SURFACES)}; got {surface!r}")
    return RACE_SURFACES[surface]


def race_paths(surface="quadratic", optimizers=None, steps=None, lr_scale=1.0):
    """Run the racers from the surface's start; ``{name: path of shape (steps + 1, 2)}``.

    ``optimizers``: names of :data:`RACE_OPTIMIZERS` (default: all); each runs with the
    surface's learning rate times ``lr_scale`` for ``steps`` steps (default: the surface's).
    A path that diverges stops there and is padded with ``nan`` (see
    :func:`dlcourse.plotting.optimizer_paths`).
    """
    spec = _race_surface(surface)
    names = list(RACE_OPTIMIZERS) if optimizers is None else list(optimizers)
    unknown = [n for n in names if n not in RACE_OPTIMIZERS]
    if unknown:
        raise ValueError(f"unknown racers {unknown}; expected names from {list(RACE_OPTIMIZERS)}")
    scale = float(lr_scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"lr_scale must be a number > 0; got {lr_scale!r}")
    steps = spec.steps if steps is None else int(steps)
    racers = {n: RACE_OPTIMIZERS[n](spec.lrs[n] * scale) for n in names}
    with np.errstate(over="ignore", invalid="ignore"):
        return optimizer_paths(spec.f, spec.grad, spec.x0, racers, steps)


def plot_optimizer_race(
    surface="quadratic", optimizers=None, steps=None, lr_scale=1.0, ax=None
) -> Figure:
    """Static figure of the race: contour lines of the surface, one path per optimiser (a
    circle at the start, a star at the end) and a legend with each learning rate and the
    final value of f. Arguments as :func:`race_paths`; ``ax``: the axes to draw on."""
    spec = _race_surface(surface)
    paths = race_paths(spec, optimizers, steps, lr_scale)
    if ax is None:
        fig = Figure(figsize=(6.4, 4.6), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    plot_loss_surface(spec.f, spec.xlim, spec.ylim, ax=ax, levels=25, log=spec.log, cmap="Greys_r")
    ax.plot(*spec.minimum, "P", color="black", markersize=9, label="minimum")
    for name, path in paths.items():
        finite = path[np.all(np.isfinite(path), axis=1)]
        with np.errstate(over="ignore", invalid="ignore"):
            value = float(spec.f(finite[-1]))
        diverged = len(finite) < len(path)
        label = f"{name} (η = {spec.lrs[name] * lr_scale:.2g}): " + (
            "diverged" if diverged else f"f = {value:.1e}"
        )
        plot_optimizer_path(finite, ax=ax, label=label, color=_RACE_COLOURS[name])
    ax.set(xlim=spec.xlim, ylim=spec.ylim, xlabel="$w_1$", ylabel="$w_2$")
    n_steps = len(next(iter(paths.values()))) - 1 if paths else 0
    ax.set_title(f"{spec.title}, {n_steps} steps", fontsize="medium")
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


class OptimizerRace(WidgetView):
    """A surface choice, racer check boxes, an lr multiplier (log slider) and a step count,
    redrawing :func:`plot_optimizer_race`. ``widget`` is the ipywidgets box; ``fig`` the
    live figure."""

    def __init__(self, surface="quadratic", steps=None, lr_scale=1.0):
        import ipywidgets as widgets

        spec = _race_surface(surface)
        self.fig = Figure(figsize=(6.4, 4.6), layout="constrained")
        style = {"description_width": "5em"}
        self.surface = widgets.Dropdown(
            options=list(RACE_SURFACES), value=surface, description="surface", style=style
        )
        self.lr_scale = widgets.FloatLogSlider(
            value=lr_scale, base=10, min=-1.5, max=1.0, step=0.05, description="lr × ", style=style
        )
        self.steps = widgets.IntSlider(
            value=spec.steps if steps is None else steps, min=1, max=2000,
            description="steps", style=style,
        )  # fmt: skip
        self.racers = {
            name: widgets.Checkbox(value=True, description=name, indent=False)
            for name in RACE_OPTIMIZERS
        }
        self.image = widgets.Image(format="png")
        self.surface.observe(self._on_surface, names="value")
        for control in (self.lr_scale, self.steps, *self.racers.values()):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.surface, self.lr_scale, self.steps]),
                widgets.HBox(list(self.racers.values())),
                self.image,
            ]
        )
        self.update()

    def _on_surface(self, change=None) -> None:
        self.steps.value = RACE_SURFACES[self.surface.value].steps  # triggers update
        self.update()

    def update(self, change=None) -> None:
        """Redraw for the current settings (called on every change)."""
        self.fig.clear()
        chosen = [name for name, box in self.racers.items() if box.value]
        plot_optimizer_race(
            self.surface.value, chosen, self.steps.value, self.lr_scale.value,
            ax=self.fig.subplots(),
        )  # fmt: skip
        self.image.value = figure_png(self.fig)


def optimizer_race(surface="quadratic", steps=None, lr_scale=1.0) -> OptimizerRace:
    """An interactive :class:`OptimizerRace` (see :func:`plot_optimizer_race`)."""
    return OptimizerRace(surface, steps, lr_scale)
