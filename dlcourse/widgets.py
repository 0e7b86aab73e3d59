"""Interactive front-ends used by the chapters (ipywidgets + matplotlib).

Each explorer has a plain plotting function next to it that draws the same picture as
a static figure, so the HTML book shows a figure where a live kernel shows sliders:

* :func:`plot_neuron` / :func:`neuron_explorer` -- one neuron ``a = f(w·x + b)`` with two
  inputs: its activation curve and its decision line ``w·x + b = 0`` on 2-D data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from dlcourse.activations import get_activation

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


class NeuronExplorer:
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
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def neuron_explorer(X=None, y=None, w=(1.0, 1.0), b=-1.5, activation="step") -> NeuronExplorer:
    """An interactive :class:`NeuronExplorer` (default data: the AND gate's truth table)."""
    return NeuronExplorer(X, y, w, b, activation)


# --------------------------------------------------------------- activation explorer (Chapter 3)
# One activation g with its derivative g', and the pre-activations z ~ N(mean, std²) that a
# layer feeds it: how many units sit where g' is (nearly) zero, i.e. saturated or dead.

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


class ActivationExplorer:
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
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def activation_explorer(activation="relu", param=None, mean=0.0, std=1.0) -> ActivationExplorer:
    """An interactive :class:`ActivationExplorer` (see :func:`plot_activation`)."""
    return ActivationExplorer(activation, param, mean, std)


__all__ += [
    "ActivationExplorer",
    "activation_explorer",
    "activation_statistics",
    "plot_activation",
]


# ------------------------------------------------------- universal approximation (Chapter 2)
# A network with one hidden layer of sigmoid units, built as a sum of bumps (two units each)
# by dlcourse.approximation; the explorer adds units and sharpens or softens the steps.

from dlcourse.approximation import (  # noqa: E402
    DEFAULT_STEEPNESS,
    plot_bump_approximation,
)

_UA_CURVES = ("sine", "wiggly", "abs", "quadratic", "bump", "step", "sawtooth")


class UniversalApproximationExplorer:
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
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def universal_approximation_explorer(
    n_units=10, curve="wiggly", steepness=None
) -> UniversalApproximationExplorer:
    """An interactive :class:`UniversalApproximationExplorer` (see
    :func:`dlcourse.approximation.plot_bump_approximation`)."""
    return UniversalApproximationExplorer(n_units, curve, steepness)


__all__ += [
    "UniversalApproximationExplorer",
    "plot_bump_approximation",
    "universal_approximation_explorer",
]


# ------------------------------------------------------ mini-batch SGD explorer (Chapter 5)
# Least squares with two parameters, C(w) = (1/n) sum_i ½ (x_i·w − y_i)²: a cost that is an
# average over n examples, so a mini-batch of them gives a noisy estimate of its gradient.

from dlcourse.optim import SGD  # noqa: E402
from dlcourse.plotting import plot_loss_surface, plot_optimizer_path  # noqa: E402
from dlcourse.splits import batches  # noqa: E402


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


class MinibatchSGDExplorer:
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
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def minibatch_sgd_explorer(lr=0.3, batch_size=8, epochs=5, seed=0) -> MinibatchSGDExplorer:
    """An interactive :class:`MinibatchSGDExplorer` (see :func:`plot_minibatch_sgd`)."""
    return MinibatchSGDExplorer(lr, batch_size, epochs, seed)


__all__ += [
    "LeastSquaresBowl",
    "MinibatchSGDExplorer",
    "least_squares_bowl",
    "minibatch_sgd_explorer",
    "minibatch_sgd_path",
    "plot_minibatch_sgd",
]


# ------------------------------------------------------------------ optimiser race (Chapter 6)
# Every optimiser of dlcourse.optim started from the same point of a two-parameter surface:
# an ill-conditioned quadratic bowl or Rosenbrock's banana valley. The static figure is
# plot_optimizer_race; the explorer adds a surface choice, an lr multiplier and a step count.

from collections.abc import Callable  # noqa: E402

from dlcourse.optim import Adagrad, Adam, Optimizer, RMSprop  # noqa: E402
from dlcourse.plotting import optimizer_paths  # noqa: E402

# SGD, plot_loss_surface and plot_optimizer_path are imported above (Chapter 5's explorer).


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


class OptimizerRace:
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
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=80)
        self.image.value = buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def optimizer_race(surface="quadratic", steps=None, lr_scale=1.0) -> OptimizerRace:
    """An interactive :class:`OptimizerRace` (see :func:`plot_optimizer_race`)."""
    return OptimizerRace(surface, steps, lr_scale)


__all__ += [
    "OptimizerRace",
    "RACE_OPTIMIZERS",
    "RACE_SURFACES",
    "optimizer_race",
    "plot_optimizer_race",
    "race_paths",
]
