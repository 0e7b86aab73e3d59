"""Tests of dlcourse.widgets: each static figure and each explorer's update on a slider change.

The oracles are independent of the widgets: hand-written loops with the same
``dlcourse.optim`` optimisers, closed forms of Gaussian expectations, finite differences.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from scipy.special import expit, ndtr  # noqa: E402

from dlcourse.activations import get_activation, sigmoid  # noqa: E402
from dlcourse.optim import SGD, Adagrad, Adam, RMSprop  # noqa: E402
from dlcourse.perceptron import logic_gate  # noqa: E402
from dlcourse.widgets import (  # noqa: E402
    ACTIVATION_PARAMETERS,
    RACE_OPTIMIZERS,
    RACE_SURFACES,
    SATURATION_LEVEL,
    ActivationExplorer,
    LeastSquaresBowl,
    MinibatchSGDExplorer,
    NeuronExplorer,
    OptimizerRace,
    activation_explorer,
    activation_statistics,
    least_squares_bowl,
    minibatch_sgd_explorer,
    minibatch_sgd_path,
    neuron_explorer,
    optimizer_race,
    plot_activation,
    plot_minibatch_sgd,
    plot_neuron,
    plot_optimizer_race,
    race_paths,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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
    assert first_png[:8] == PNG_MAGIC
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


def test_the_package_exports_exactly_what_its_modules_export():
    import importlib

    import dlcourse.widgets as widgets

    modules = ["neuron", "activation", "approximation", "minibatch_sgd", "optimizer_race",
               "player"]  # fmt: skip
    exported = [
        n for m in modules for n in importlib.import_module(f"{widgets.__name__}.{m}").__all__
    ]
    assert widgets.__all__ == exported and len(set(exported)) == len(exported) == 29
    assert all(hasattr(widgets, name) for name in widgets.__all__)
    for name in ("plot_neuron", "static_player", "SATURATION_LEVEL", "RaceSurface"):
        assert name in widgets.__all__
    assert callable(widgets.optimizer_race)  # the function, not the module of that name


# ---------------------------------------------------------------- activation explorer (Ch. 3)


def test_activation_statistics_relu_matches_gaussian_expectations():
    # z ~ N(0, 1): E[relu(z)] = 1/sqrt(2 pi), E|relu'(z)| = P(z > 0) = 1/2, half are dead
    stats = activation_statistics("relu")
    assert stats["mean_output"] == pytest.approx(1.0 / np.sqrt(2.0 * np.pi), abs=2e-3)
    assert stats["mean_slope"] == pytest.approx(0.5, abs=1e-12)
    assert stats["saturated"] == pytest.approx(0.5, abs=1e-12)


def test_activation_statistics_identity_and_shifted_mean():
    stats = activation_statistics("identity", mean=1.5, std=2.0)
    assert stats["mean_output"] == pytest.approx(1.5, abs=1e-9)  # symmetric quantiles
    assert stats == {"mean_output": stats["mean_output"], "mean_slope": 1.0, "saturated": 0.0}


def test_activation_statistics_sigmoid_saturation_fraction():
    # sigmoid'(z) = s(1 - s) < L  <=>  |z| > z_L with s(z_L) = (1 + sqrt(1 - 4L)) / 2
    s = 0.5 * (1.0 + np.sqrt(1.0 - 4.0 * SATURATION_LEVEL))
    z_level = np.log(s / (1.0 - s))
    for std in (1.0, 3.0, 6.0):
        expected = 2.0 * ndtr(-z_level / std)
        got = activation_statistics("sigmoid", std=std)["saturated"]
        assert got == pytest.approx(expected, abs=1e-3)
    # wider pre-activations -> smaller mean slope (the vanishing gradient)
    slopes = [activation_statistics("sigmoid", std=s)["mean_slope"] for s in (0.5, 2.0, 8.0)]
    assert slopes[0] > slopes[1] > slopes[2]


def test_activation_statistics_parameter_and_errors():
    # leaky ReLU: |g'| is 1 for z > 0 and the slope for z < 0 (no quantile sits at 0)
    assert activation_statistics("leaky_relu", param=0.1)["mean_slope"] == pytest.approx(0.55)
    assert activation_statistics("leaky_relu", param=0.1)["saturated"] == 0.0
    assert activation_statistics("leaky_relu", param=0.005)["saturated"] == 0.5
    # an Activation object works too; a parameter of an activation without one is ignored
    assert activation_statistics(get_activation("tanh")) == activation_statistics("tanh", param=3)
    with pytest.raises(ValueError, match="std > 0"):
        activation_statistics("relu", std=0.0)
    with pytest.raises(ValueError, match="finite mean"):
        activation_statistics("relu", mean=np.nan)


def test_plot_activation_draws_g_and_its_derivative():
    fig = plot_activation("tanh", mean=0.5, std=2.0)
    ax_g, ax_prime = fig.axes[:2]
    z, g = (np.asarray(v, dtype=float) for v in ax_g.lines[0].get_data())
    _, g_prime = (np.asarray(v, dtype=float) for v in ax_prime.lines[0].get_data())
    np.testing.assert_allclose(g, np.tanh(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_prime, 1.0 - np.tanh(z) ** 2, rtol=1e-12, atol=1e-15)
    assert (z.min(), z.max()) == (-6.0, 6.0)
    stats = activation_statistics("tanh", mean=0.5, std=2.0)
    assert f"{stats['mean_slope']:.3f}" in ax_prime.get_title()
    assert f"{stats['saturated']:.1%}".replace("%", "") in ax_prime.get_title()
    # on given axes, with the parameter of ELU
    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert plot_activation("elu", 0.5, axes=axes) is fig2
    z, g = (np.asarray(v, dtype=float) for v in axes[0].lines[0].get_data())
    np.testing.assert_allclose(g, np.where(z > 0, z, 0.5 * np.expm1(z)), rtol=1e-12, atol=1e-15)


def right_title(explorer):
    return explorer.fig.axes[1].get_title()


def test_activation_explorer_updates_on_every_control():
    explorer = activation_explorer(mean=-2.0)
    assert isinstance(explorer, ActivationExplorer)
    assert explorer.image.value[:8] == PNG_MAGIC
    assert explorer.param.disabled  # relu has no parameter
    assert explorer.statistics == activation_statistics("relu", mean=-2.0)
    png, title = explorer.image.value, right_title(explorer)

    explorer.std.value = 3.0
    assert explorer.statistics == activation_statistics("relu", mean=-2.0, std=3.0)
    assert right_title(explorer) != title and explorer.image.value != png
    slope = explorer.statistics["mean_slope"]
    assert f"mean $|g'(z)|$ = {slope:.3f}" in right_title(explorer)

    # choosing ELU enables its parameter slider with ELU's range and default
    explorer.activation.value = "elu"
    name, lo, hi, default = ACTIVATION_PARAMETERS["elu"]
    assert not explorer.param.disabled
    assert (explorer.param.description, explorer.param.min, explorer.param.max) == (name, lo, hi)
    assert explorer.param.value == default
    explorer.param.value = 0.3
    expected = activation_statistics("elu", mean=-2.0, std=3.0, param=0.3)
    assert explorer.statistics == expected
    z, g = (np.asarray(v, dtype=float) for v in explorer.fig.axes[0].lines[0].get_data())
    np.testing.assert_allclose(g, np.where(z > 0, z, 0.3 * np.expm1(z)), rtol=1e-12, atol=1e-15)

    explorer.activation.value = "sigmoid"
    assert explorer.param.disabled
    z, g = (np.asarray(v, dtype=float) for v in explorer.fig.axes[0].lines[0].get_data())
    np.testing.assert_allclose(g, expit(z), rtol=1e-12)
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


def test_activation_explorer_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        ActivationExplorer("swishy")
    explorer = ActivationExplorer("leaky_relu", param=0.2)
    assert explorer.param.value == 0.2
    assert explorer.statistics == activation_statistics("leaky_relu", param=0.2)


# ---------------------------------------------------------------- mini-batch SGD (Chapter 5)


def test_least_squares_bowl_is_seeded_and_its_gradient_is_right():
    a, b, c = least_squares_bowl(seed=3), least_squares_bowl(seed=3), least_squares_bowl(seed=4)
    assert isinstance(a, LeastSquaresBowl)
    assert a.X.shape == (64, 2) and a.y.shape == (64,) and a.X.dtype == np.float64
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    w, h = np.array([0.3, -0.7]), 1e-6
    numeric = [(a.cost(w + h * e) - a.cost(w - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(a.gradient(w), numeric, rtol=1e-7)
    np.testing.assert_allclose(a.gradient(a.minimum), 0.0, atol=1e-12)
    np.testing.assert_allclose(a.curvatures, np.linalg.eigvalsh(a.X.T @ a.X / 64), rtol=1e-12)
    # the cost on a stacked grid (2, 3) equals the cost point by point
    grid = np.stack(np.meshgrid([0.0, 1.0, 2.0], [-1.0]))[:, 0, :]
    np.testing.assert_allclose(a.cost(grid), [a.cost(p) for p in grid.T], rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        least_squares_bowl(n=1)


def test_minibatch_sgd_with_the_whole_set_is_gradient_descent():
    problem = least_squares_bowl(n=16, seed=1)
    lr, epochs = 0.1, 7
    path = minibatch_sgd_path(problem, lr, batch_size=16, epochs=epochs, w0=(-2.0, 2.0))
    w, expected = np.array([-2.0, 2.0]), [np.array([-2.0, 2.0])]
    for _ in range(epochs):  # w <- w - lr * (1/n) X^T (X w - y)
        w = w - lr * problem.X.T @ (problem.X @ w - problem.y) / len(problem.y)
        expected.append(w)
    assert path.shape == (epochs + 1, 2)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-14)


def test_minibatch_sgd_matches_a_hand_loop_and_is_deterministic():
    problem = least_squares_bowl(n=20, seed=2)
    lr, batch_size, epochs, seed = 0.2, 6, 3, 5
    path = minibatch_sgd_path(problem, lr, batch_size, epochs, w0=(1.0, -1.0), seed=seed)
    rng, w, expected = np.random.default_rng(seed), np.array([1.0, -1.0]), [[1.0, -1.0]]
    for _ in range(epochs):
        order = rng.permutation(20)
        for start in range(0, 20, batch_size):  # batches of 6, 6, 6 and 2 examples
            rows = order[start : start + batch_size]
            X, y = problem.X[rows], problem.y[rows]
            w = w - lr * X.T @ (X @ w - y) / len(rows)
            expected.append(w)
    assert path.shape == (epochs * 4 + 1, 2)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-14)
    again = minibatch_sgd_path(problem, lr, batch_size, epochs, w0=(1.0, -1.0), seed=seed)
    np.testing.assert_array_equal(path, again)
    other = minibatch_sgd_path(problem, lr, batch_size, epochs, w0=(1.0, -1.0), seed=seed + 1)
    assert not np.array_equal(path, other)


def test_minibatch_sgd_stops_when_it_diverges():
    problem = least_squares_bowl(n=8, seed=0)
    lr = 4.0 / problem.curvatures[-1]  # twice the stability limit of full-batch descent
    path = minibatch_sgd_path(problem, lr, batch_size=8, epochs=200)
    assert 1 < len(path) < 201
    assert np.all(np.isfinite(path)) and np.max(np.abs(path)) <= 1e6
    assert len(minibatch_sgd_path(problem, 0.1, 8, 0)) == 1
    with pytest.raises(ValueError, match="non-negative integer"):
        minibatch_sgd_path(problem, 0.1, 8, 1.5)


def test_plot_minibatch_sgd_draws_the_path_and_the_excess_cost():
    problem = least_squares_bowl(n=32, seed=0)
    fig = plot_minibatch_sgd(0.2, 8, 3, problem=problem, seed=1)
    ax_path, ax_cost = fig.axes[:2]
    path = minibatch_sgd_path(problem, 0.2, 8, 3, seed=1)
    xs, ys = ax_path.lines[0].get_data()
    np.testing.assert_allclose(np.column_stack([xs, ys]), path, rtol=1e-12)
    assert f"{len(path) - 1} steps" in ax_path.get_title()
    epochs, excess = (np.asarray(v, dtype=float) for v in ax_cost.lines[0].get_data())
    c_star = problem.cost(problem.minimum)
    np.testing.assert_allclose(epochs, np.arange(len(path)) / 4)  # 4 steps per epoch
    np.testing.assert_allclose(
        excess, np.maximum([problem.cost(w) - c_star for w in path], 1e-12), rtol=1e-10
    )


def test_minibatch_sgd_explorer_updates_on_slider_change():
    explorer = minibatch_sgd_explorer(lr=0.1, batch_size=8, epochs=2)
    assert isinstance(explorer, MinibatchSGDExplorer)
    assert explorer.image.value[:8] == PNG_MAGIC
    problem, png = explorer.problem, explorer.image.value

    def drawn_path():
        xs, ys = explorer.fig.axes[0].lines[0].get_data()
        return np.column_stack([xs, ys])

    first = drawn_path()
    np.testing.assert_allclose(first, minibatch_sgd_path(problem, 0.1, 8, 2, seed=0))
    explorer.seed.value = 2
    np.testing.assert_allclose(drawn_path(), minibatch_sgd_path(problem, 0.1, 8, 2, seed=2))
    assert not np.allclose(drawn_path(), first)
    explorer.batch_size.value = 64
    explorer.epochs.value = 3
    np.testing.assert_allclose(drawn_path(), minibatch_sgd_path(problem, 0.1, 64, 3, seed=2))
    assert "batch size 64: 3 steps" in explorer.fig.axes[0].get_title()
    assert explorer.image.value != png
    with pytest.raises(ValueError, match="batch_size must lie between 1 and n = 64"):
        MinibatchSGDExplorer(batch_size=65)


# ---------------------------------------------------------------- optimiser race (Chapter 6)

HAND_OPTIMIZERS = {  # the racers, built here independently of RACE_OPTIMIZERS
    "SGD": lambda lr: SGD(lr=lr),
    "momentum": lambda lr: SGD(lr=lr, momentum=0.9),
    "Nesterov": lambda lr: SGD(lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda lr: Adagrad(lr=lr),
    "RMSprop": lambda lr: RMSprop(lr=lr),
    "Adam": lambda lr: Adam(lr=lr),
}


def hand_race(name, grad, x0, lr, steps):
    optimizer, p = HAND_OPTIMIZERS[name](lr), np.array(x0, dtype=float)
    path = [p.copy()]
    for _ in range(steps):
        optimizer.step([p], [grad(p)])
        path.append(p.copy())
    return np.array(path)


def quadratic_grad(p):
    """The gradient of f(w) = (w1² + 25 w2²) / 2, written out by hand."""
    return np.array([1.0 * p[0], 25.0 * p[1]])


@pytest.mark.parametrize("lr_scale", [1.0, 0.5])
def test_race_paths_equal_a_hand_loop_on_the_quadratic(lr_scale):
    spec = RACE_SURFACES["quadratic"]
    paths = race_paths("quadratic", steps=25, lr_scale=lr_scale)
    assert list(paths) == list(RACE_OPTIMIZERS) == list(HAND_OPTIMIZERS)
    for name, path in paths.items():
        expected = hand_race(name, quadratic_grad, (-4.5, 1.5), spec.lrs[name] * lr_scale, 25)
        assert path.shape == (26, 2)
        np.testing.assert_array_equal(path[0], spec.x0)
        np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15, err_msg=name)


def test_race_paths_on_rosenbrock_and_the_default_steps():
    spec = RACE_SURFACES["rosenbrock"]
    p, h = np.array([-0.8, 1.3]), 1e-6
    numeric = [(spec.f(p + h * e) - spec.f(p - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(spec.grad(p), numeric, rtol=1e-7)
    assert spec.f(np.array(spec.minimum)) == 0.0
    paths = race_paths("rosenbrock", optimizers=["Adam", "SGD"], steps=40)
    assert list(paths) == ["Adam", "SGD"]
    for name, path in paths.items():
        expected = hand_race(name, spec.grad, spec.x0, spec.lrs[name], 40)
        np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15, err_msg=name)
    default = race_paths("quadratic", optimizers=["Adam"])["Adam"]
    assert default.shape == (RACE_SURFACES["quadratic"].steps + 1, 2)


def test_race_paths_pad_a_diverging_racer_with_nan_and_reject_bad_input():
    path = race_paths("quadratic", ["SGD"], steps=600, lr_scale=10.0)["SGD"]
    finite = np.all(np.isfinite(path), axis=1)
    assert finite[0] and not finite[-1]
    assert np.all(np.isnan(path[~finite]))
    assert np.all(finite[: np.argmin(finite)])  # finite up to the break, nan after
    with pytest.raises(ValueError, match="unknown racers"):
        race_paths(optimizers=["LBFGS"])
    with pytest.raises(ValueError, match="surface must be one of"):
        race_paths("himmelblau")
    with pytest.raises(ValueError, match="lr_scale must be a number > 0"):
        race_paths(lr_scale=0.0)


def test_plot_optimizer_race_draws_every_racer_with_its_label():
    fig = plot_optimizer_race("quadratic", ["SGD", "Adam"], steps=30)
    ax = fig.axes[0]
    paths = race_paths("quadratic", ["SGD", "Adam"], steps=30)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "minimum" and len(labels) == 3
    for name, label in zip(["SGD", "Adam"], labels[1:]):
        value = RACE_SURFACES["quadratic"].f(paths[name][-1])
        lr = RACE_SURFACES["quadratic"].lrs[name]
        assert label == f"{name} (η = {lr:.2g}): f = {value:.1e}"
        (line,) = [ln for ln in ax.lines if ln.get_label() == label]
        np.testing.assert_allclose(np.column_stack(line.get_data()), paths[name], rtol=1e-12)
    assert ax.get_title().endswith("30 steps")
    # a diverging racer is labelled so; given axes are used
    fig2 = Figure()
    ax2 = fig2.subplots()
    assert plot_optimizer_race(steps=600, lr_scale=10.0, optimizers=["SGD"], ax=ax2) is fig2
    assert ax2.get_legend().get_texts()[1].get_text().endswith("diverged")


def test_optimizer_race_explorer_updates_on_every_control():
    explorer = optimizer_race(steps=20)
    assert isinstance(explorer, OptimizerRace)
    assert explorer.image.value[:8] == PNG_MAGIC

    def legend():
        return [t.get_text() for t in explorer.fig.axes[0].get_legend().get_texts()][1:]

    assert [label.split(" ")[0] for label in legend()] == list(RACE_OPTIMIZERS)
    png = explorer.image.value
    explorer.racers["Adagrad"].value = False
    assert [label.split(" ")[0] for label in legend()] == [
        "SGD",
        "momentum",
        "Nesterov",
        "RMSprop",
        "Adam",
    ]
    explorer.lr_scale.value = 0.5
    assert legend()[0].startswith(f"SGD (η = {0.07 * 0.5:.2g})")
    explorer.steps.value = 7
    (sgd,) = [ln for ln in explorer.fig.axes[0].lines if ln.get_label() == legend()[0]]
    expected = race_paths("quadratic", ["SGD"], steps=7, lr_scale=0.5)["SGD"]
    np.testing.assert_allclose(np.column_stack(sgd.get_data()), expected, rtol=1e-12)
    assert explorer.image.value != png
    # a new surface resets the step count to that surface's default
    explorer.surface.value = "rosenbrock"
    assert explorer.steps.value == RACE_SURFACES["rosenbrock"].steps
    assert explorer.fig.axes[0].get_title().startswith("Rosenbrock")
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
