"""The mini-batch SGD explorer of Chapter 5.

Least squares with two parameters, ``C(w) = (1/n) sum_i ½ (x_i·w − y_i)²``: a cost that is
an average over n examples, so a mini-batch of them gives a noisy estimate of its gradient.
:func:`plot_minibatch_sgd` is the static figure, :class:`MinibatchSGDExplorer` the sliders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from dlcourse.data import batches
from dlcourse.optim import SGD
from dlcourse.plotting import plot_loss_surface, plot_optimizer_path
from dlcourse.widgets._common import WidgetView, figure_png

__all__ = [
    "LeastSquaresBowl",
    "MinibatchSGDExplorer",
    "least_squares_bowl",
    "minibatch_sgd_explorer",
    "minibatch_sgd_path",
    "plot_minibatch_sgd",
]


@dataclass(frozen=True)
class LeastSquaresBowl:
    """A two-parameter least-squares cost: examples ``X`` (shape ``(n, 2)``), targets ``y``
    (shape ``(n,)``); ``cost(w) = mean_i ½ (x_i·w − y_i)²`` is a quadratic bowl in ``w``."""

    X: np.ndarray
    y: np.ndarray

    def cost(self, w):
        """C(w) for ``w`` of shape ``(2,)`` (a float) or a stacked grid ``(2, ...)``."""
        residual = np.tensordot(self.X, np.asarray(w, dtype=np.float64), axes=(1, 0))
        residual -= self.y.reshape((-1,) + (1,) * (residual.ndim - 1))
        return 0.5 * np.mean(residual**2, axis=0)

    def gradient(self, w, rows=None) -> np.ndarray:
        """∇C(w), shape ``(2,)``, averaged over ``rows`` (an index array; None: all n)."""
        X, y = (self.X, self.y) if rows is None else (self.X[rows], self.y[rows])
        return X.T @ (X @ np.asarray(w, dtype=np.float64) - y) / len(y)

    @property
    def minimum(self) -> np.ndarray:
        """The minimiser w* of C, shape ``(2,)`` (the least-squares solution)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    @property
    def curvatures(self) -> np.ndarray:
        """Eigenvalues of the Hessian XᵀX/n, ascending; full-batch descent is stable for
        ``lr < 2 / curvatures[-1]``."""
        return np.linalg.eigvalsh(self.X.T @ self.X / len(self.y))


def least_squares_bowl(
    n: int = 64, seed: int = 0, scales=(1.0, 0.25), w_true=(1.0, -1.0), noise: float = 0.3
) -> LeastSquaresBowl:
    """Draw ``n`` examples with features ``N(0, scales²)`` and targets ``x·w_true + noise·ε``.

    The curvatures of the bowl are about ``scales[0]²`` and ``scales[1]²``: with the defaults
    a long, narrow valley (condition number about 16).
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer of at least 2; got {n!r}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((int(n), 2)) * np.asarray(scales, dtype=np.float64)
    y = X @ np.asarray(w_true, dtype=np.float64) + noise * rng.standard_normal(int(n))
    return LeastSquaresBowl(X, y)


def minibatch_sgd_path(
    problem: LeastSquaresBowl, lr: float, batch_size: int, epochs: int, w0=(-2.0, 2.0), seed=0
) -> np.ndarray:
    """Iterates of mini-batch SGD on ``problem``: shape ``(steps + 1, 2)``, row 0 is ``w0``.

    Every epoch visits the n examples in a fresh random order (``dlcourse.data.batches``
    with one generator seeded by ``seed``), one ``SGD(lr)`` step per mini-batch of
    ``batch_size`` examples (the last batch may be smaller). A path that leaves the finite
    numbers stops there.
    """
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer; got {epochs!r}")
    rng = np.random.default_rng(seed)
    rows = np.arange(len(problem.y))
    optimizer = SGD(lr=lr)
    w = np.array(w0, dtype=np.float64)
    path = [w.copy()]
    for _ in range(int(epochs)):
        for _, batch in batches(rows, rows, int(batch_size), rng):
            optimizer.step([w], [problem.gradient(w, batch)])
            if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > 1e6:
                return np.array(path)
            path.append(w.copy())
    return np.array(path)


def _draw_minibatch_sgd(axes, problem, lr, batch_size, epochs, seed, w0):
    ax_path, ax_cost = axes
    path = minibatch_sgd_path(problem, lr, batch_size, epochs, w0, seed)
    w_star = problem.minimum
    c_star = float(problem.cost(w_star))
    plot_loss_surface(problem.cost, (-3.0, 3.0), (-3.0, 3.0), ax=ax_path, levels=20, log=True)
    plot_optimizer_path(path, ax=ax_path, color="#d62728")
    ax_path.plot(*w_star, "+", color="black", markersize=12, mew=2)
    steps_per_epoch = -(-len(problem.y) // int(batch_size))
    ax_path.set_title(
        f"lr = {lr:.3g}, batch size {int(batch_size)}: {len(path) - 1} steps",
        fontsize="medium",
    )
    excess = np.array([float(problem.cost(w)) for w in path]) - c_star
    ax_cost.semilogy(
        np.arange(len(path)) / steps_per_epoch, np.maximum(excess, 1e-12), color="#d62728"
    )
    ax_cost.set(xlabel="epochs (passes over the n examples)", ylabel="$C(w) - C(w^*)$")
    ax_cost.set_xlim(0, max(int(epochs), 1))
    diverged = len(path) - 1 < int(epochs) * steps_per_epoch
    ax_cost.set_title("diverged" if diverged else f"final excess cost {excess[-1]:.2g}",
                      fontsize="medium")  # fmt: skip
    return path


def plot_minibatch_sgd(
    lr=0.3, batch_size=8, epochs=5, *, problem=None, seed=0, w0=(-2.0, 2.0), axes=None
) -> Figure:
    """Static figure of mini-batch SGD on a :class:`LeastSquaresBowl` (default:
    ``least_squares_bowl()``). Left: contours of the full cost C (log-spaced), the path
    of the iterates (circle: start, star: end) and the minimum (+). Right: the excess cost
    ``C(w) − C(w*)`` against the number of epochs. ``axes``: a pair of axes (None: new figure).
    """
    problem = least_squares_bowl() if problem is None else problem
    if axes is None:
        fig = Figure(figsize=(9.0, 3.8), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        fig = axes[0].figure
    _draw_minibatch_sgd(axes, problem, float(lr), int(batch_size), int(epochs), seed, w0)
    return fig


class MinibatchSGDExplorer(WidgetView):
    """Sliders for the learning rate, the batch size, the number of epochs and the seed of
    the shuffling, redrawing :func:`plot_minibatch_sgd`. ``widget`` is the ipywidgets box;
    ``fig`` the live figure; ``problem`` the :class:`LeastSquaresBowl`."""

    def __init__(self, lr=0.3, batch_size=8, epochs=5, seed=0, problem=None):
        import ipywidgets as widgets

        self.problem = least_squares_bowl() if problem is None else problem
        n = len(self.problem.y)
        if not 1 <= int(batch_size) <= n:
            raise ValueError(f"batch_size must lie between 1 and n = {n}; got {batch_size!r}")
        self.fig = Figure(figsize=(9.0, 3.8), layout="constrained")
        style = {"description_width": "6em"}
        self.lr = widgets.FloatLogSlider(
            value=lr, base=10, min=-3, max=0.5, step=0.05, description="learning rate",
            readout_format=".3g", style=style,
        )  # fmt: skip
        self.batch_size = widgets.IntSlider(
            value=int(batch_size), min=1, max=n, description="batch size", style=style
        )
        self.epochs = widgets.IntSlider(
            value=int(epochs), min=1, max=50, description="epochs", style=style
        )
        self.seed = widgets.IntSlider(
            value=int(seed), min=0, max=9, description="seed", style=style
        )
        self.image = widgets.Image(format="png")
        for control in (self.lr, self.batch_size, self.epochs, self.seed):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.lr, self.batch_size]),
                widgets.HBox([self.epochs, self.seed]),
                self.image,
            ]
        )
        self.update()

    def update(self, change=None) -> None:
        """Redraw for the current settings (called on every change)."""
        self.fig.clear()
        plot_minibatch_sgd(
            self.lr.value,
            self.batch_size.value,
            self.epochs.value,
            problem=self.problem,
            seed=self.seed.value,
            axes=self.fig.subplots(1, 2),
        )
        self.image.value = figure_png(self.fig)


def minibatch_sgd_explorer(lr=0.3, batch_size=8, epochs=5, seed=0) -> MinibatchSGDExplorer:
    """An interactive :class:`MinibatchSGDExplorer` (see :func:`plot_minibatch_sgd`)."""
    return MinibatchSGDExplorer(lr, batch_size, epochs, seed)
