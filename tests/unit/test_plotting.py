"""Tests of dlcourse.plotting: what each figure draws, checked against the data it was given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

import dlcourse as dc  # noqa: E402
from dlcourse import optim  # noqa: E402
from dlcourse.plotting import (  # noqa: E402
    optimizer_paths,
    plot_decision_boundary,
    plot_history,
    plot_loss_surface,
    plot_optimizer_path,
    plot_weight_images,
)
from dlcourse.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def sectors(P):
    """Three classes of the plane: the angle of each point in thirds of a turn."""
    angle = np.mod(np.arctan2(P[:, 1], P[:, 0]), 2 * np.pi)
    return (angle // (2 * np.pi / 3)).astype(int)


def rosenbrock(p, a=1.0, b=100.0):
    return (a - p[0]) ** 2 + b * (p[1] - p[0] ** 2) ** 2


def rosenbrock_grad(p, a=1.0, b=100.0):
    return np.array(
        [-2 * (a - p[0]) - 4 * b * p[0] * (p[1] - p[0] ** 2), 2 * b * (p[1] - p[0] ** 2)]
    )


def region_of(contours: ContourSet, point) -> int:
    """Index of the filled level whose region contains ``point`` (levels are k - 1/2, k + 1/2)."""
    hits = [k for k, path in enumerate(contours.get_paths()) if path.contains_point(point)]
    assert len(hits) == 1, f"{point} lies in {len(hits)} filled regions"
    return hits[0]


def test_decision_regions_match_predict_on_sample_points():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    y = sectors(X)
    ax = plot_decision_boundary(sectors, X, y, resolution=101, xlim=(-1, 1), ylim=(-1, 1))
    (contours,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    np.testing.assert_allclose(contours.levels, [-0.5, 0.5, 1.5, 2.5])
    radius, angles = 0.7, np.deg2rad([30, 100, 150, 200, 260, 330])  # far from the boundaries
    samples = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    assert [region_of(contours, p) for p in samples] == list(sectors(samples))
    assert sorted(set(sectors(samples))) == [0, 1, 2]
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_array_equal(points.get_offsets(), X)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_xlim() == (-1.0, 1.0)


def test_decision_boundary_accepts_a_model_and_class_scores():
    class Model:
        def predict(self, P):
            return (P[:, 0] > 0.25).astype(int)

    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    fig, (ax_model, ax_scores) = plt.subplots(1, 2)
    out = plot_decision_boundary(Model(), X, np.array([0, 1]), ax=ax_model, resolution=51)
    assert out is ax_model
    assert region_of(ax_model.collections[0], (0.0, 0.5)) == 0
    assert region_of(ax_model.collections[0], (0.9, 0.5)) == 1

    def scores(P):  # one column per class; argmax picks the class
        return np.column_stack([P[:, 0], 1 - P[:, 0]])

    plot_decision_boundary(scores, X, ax=ax_scores, resolution=51)
    assert region_of(ax_scores.collections[0], (0.1, 0.5)) == 1
    assert region_of(ax_scores.collections[0], (0.9, 0.5)) == 0
    # the default range is that of X widened by 10 % on each side
    np.testing.assert_allclose(ax_scores.get_xlim(), (-0.1, 1.1))


def test_decision_boundary_on_a_network_colours_points_by_label():
    net = dc.Network([2, 3], output="softmax", cost="cross_entropy", seed=3)
    X = np.random.default_rng(1).uniform(0, 1, size=(20, 2))
    y = net.predict(X)
    colours = ["#000000", "#ff0000", "#00ff00"]
    ax = plot_decision_boundary(net, X, y, colors=colours, resolution=30)
    points = [c for c in ax.collections if isinstance(c, PathCollection)][0]
    expected = matplotlib.colors.to_rgba_array([colours[k] for k in y])
    np.testing.assert_allclose(points.get_facecolors(), expected)


def test_decision_boundary_errors():
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        plot_decision_boundary(sectors, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        plot_decision_boundary(sectors, np.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        plot_decision_boundary(lambda P: P[:, 0], np.zeros((3, 2)) + [[0], [1], [2]])
    with pytest.raises(ValueError, match=r"5 labels"):
        plot_decision_boundary(sectors, np.ones((5, 2)), y=np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="predict"):
        plot_decision_boundary(42, np.ones((5, 2)))
    with pytest.raises(ValueError, match="colours"):
        plot_decision_boundary(sectors, np.ones((5, 2)), y=[0, 1, 2, 0, 1], colors=["r", "b"])


def test_loss_surface_draws_contours_of_f():
    ax = plot_loss_surface(rosenbrock, (-2, 2), (-1, 3), levels=12, resolution=60)
    (contours,) = ax.collections
    top = rosenbrock(np.array([-2.0, -1.0]))  # the largest value on the grid
    assert 8 <= len(contours.levels) <= 14  # matplotlib picks about 12 round levels
    assert contours.levels[0] <= 0 and contours.levels[-1] >= top - 1e-9
    assert ax.get_xlabel() and ax.get_ylabel()
    log_ax = plot_loss_surface(rosenbrock, (-2, 2), (-1, 3), levels=12, log=True, resolution=60)
    levels = log_ax.collections[0].levels
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0])  # geometric spacing
    assert len(levels) == 12 and levels[-1] == pytest.approx(top)


def test_loss_surface_point_by_point_equals_vectorised():
    def scalar_only(p):
        return float(p[0] ** 2 + 3 * p[1] ** 2)  # float() fails on a grid

    a = plot_loss_surface(scalar_only, (-1, 1), (-1, 1), levels=[0.5, 1, 2], resolution=21)
    b = plot_loss_surface(
        lambda p: p[0] ** 2 + 3 * p[1] ** 2, (-1, 1), (-1, 1), levels=[0.5, 1, 2], resolution=21
    )
    for path_a, path_b in zip(a.collections[0].get_paths(), b.collections[0].get_paths()):
        np.testing.assert_allclose(path_a.vertices, path_b.vertices)


def test_loss_surface_errors():
    with pytest.raises(ValueError, match="f >= 0"):
        plot_loss_surface(lambda p: p[0], (-1, 1), (-1, 1), log=True)
    with pytest.raises(ValueError, match="finite"), np.errstate(divide="ignore"):
        plot_loss_surface(lambda p: 1 / p[0] + 0 * p[1], (-1, 1), (-1, 1), resolution=3)


def test_optimizer_paths_equal_a_hand_loop():
    x0, steps = np.array([-1.5, 2.0]), 40
    made = {
        "sgd": lambda: optim.SGD(lr=1e-3, momentum=0.9),
        "adam": lambda: optim.Adam(lr=0.05),
        "rmsprop": lambda: optim.RMSprop(lr=0.01),
    }
    paths = optimizer_paths(
        rosenbrock, rosenbrock_grad, x0, {k: m() for k, m in made.items()}, steps
    )
    for name, make in made.items():
        opt, p, expected = make(), x0.copy(), [x0.copy()]
        for _ in range(steps):
            opt.step([p], [rosenbrock_grad(p)])
            expected.append(p.copy())
        assert paths[name].shape == (steps + 1, 2)
        np.testing.assert_array_equal(paths[name], np.array(expected))
    np.testing.assert_array_equal(x0, [-1.5, 2.0])  # the start point is not changed


def test_optimizer_paths_numerical_gradient_and_divergence():
    x0 = np.array([0.5, -0.5])
    exact = optimizer_paths(rosenbrock, rosenbrock_grad, x0, {"gd": optim.SGD(lr=1e-3)}, 10)
    numeric = optimizer_paths(rosenbrock, None, x0, {"gd": optim.SGD(lr=1e-3)}, 10)
    np.testing.assert_allclose(numeric["gd"], exact["gd"], rtol=1e-6)
    with np.errstate(over="ignore", invalid="ignore"):
        wild = optimizer_paths(rosenbrock, rosenbrock_grad, x0, {"gd": optim.SGD(lr=1.0)}, 30)
    finite = np.all(np.isfinite(wild["gd"]), axis=1)
    assert finite[0] and not finite[-1]
    assert not np.any(finite[np.argmin(finite) :])  # nan from the first non-finite step on
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        optimizer_paths(rosenbrock, rosenbrock_grad, [0.0, 0.0, 0.0], {}, 5)


def test_plot_optimizer_path_line_and_markers():
    path = np.array([[0.0, 0.0], [0.5, 0.2], [1.0, 1.0]])
    ax = plot_loss_surface(rosenbrock, (-2, 2), (-1, 3), resolution=30, xlabel="$x$")
    plot_optimizer_path(path, ax=ax, label="SGD")
    assert len(ax.lines) == 3
    line, start, end = ax.lines
    np.testing.assert_array_equal(np.column_stack(line.get_data()), path)
    np.testing.assert_array_equal(np.ravel(start.get_data()), path[0])
    np.testing.assert_array_equal(np.ravel(end.get_data()), path[-1])
    assert start.get_color() == end.get_color() == line.get_color()
    assert line.get_label() == "SGD"
    assert ax.get_xlabel() == "$x$"  # the surface's labels are kept
    assert plot_optimizer_path(path).get_ylabel()
    with pytest.raises(ValueError, match="path"):
        plot_optimizer_path(np.zeros((4, 3)))


def make_history(validation=True) -> History:
    h = History()
    for e, (c, a) in enumerate([(0.9, 0.5), (0.6, 0.7), (0.4, 0.8)], start=1):
        h.epoch.append(e)
        h.train_cost.append(c)
        h.train_accuracy.append(a)
        h.val_cost.append(c + 0.1 if validation else np.nan)
        h.val_accuracy.append(a - 0.1 if validation else np.nan)
        h.lr.append(0.1 / e)
        h.time.append(0.01)
    return h


def test_plot_history_plots_the_lists():
    h = make_history()
    axes = plot_history(h)
    assert len(axes) == 2
    for ax, metric in zip(axes, ("cost", "accuracy")):
        train, val = ax.lines
        np.testing.assert_array_equal(train.get_xdata(), h.epoch)
        np.testing.assert_array_equal(train.get_ydata(), getattr(h, f"train_{metric}"))
        np.testing.assert_array_equal(val.get_ydata(), getattr(h, f"val_{metric}"))
        assert (train.get_label(), val.get_label()) == ("train", "validation")
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == metric


def test_plot_history_single_axes_no_validation_and_dict():
    h = make_history(validation=False)
    fig, ax = plt.subplots()
    assert plot_history(h, ax=ax, metrics="cost") is ax
    assert len(ax.lines) == 1  # the all-nan validation curve is left out
    fig, ax = plt.subplots()
    plot_history(h.as_dict(), ax=ax, metrics=["lr"])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), h.lr)
    with pytest.raises(ValueError, match="unknown metric 'loss'"):
        plot_history(h, metrics=("loss",))
    with pytest.raises(ValueError, match="2 metrics need 2 axes"):
        plot_history(h, ax=ax)


def test_plot_history_of_a_real_fit():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(40, 2))
    Y = dc.data.one_hot((X[:, 0] > X[:, 1]).astype(int), 2)
    net = dc.Network([2, 4, 2], seed=0)
    history = net.fit(X, Y, epochs=3, batch_size=10, lr=1.0, validation=(X, Y), progress=False)
    ax_cost, _ = plot_history(history)
    np.testing.assert_array_equal(ax_cost.lines[1].get_ydata(), history.val_cost)


def test_weight_images_show_rows_on_a_symmetric_scale():
    W = np.arange(6 * 64, dtype=float).reshape(6, 64) - 100.0
    axes = plot_weight_images(W, ncols=4)
    assert len(axes) == 6
    images = [im for ax in axes for im in ax.get_images()]
    assert len(images) == 6 and all(isinstance(im, AxesImage) for im in images)
    np.testing.assert_array_equal(images[2].get_array(), W[2].reshape(8, 8))
    scale = np.abs(W).max()
    assert all(im.get_clim() == (-scale, scale) for im in images)
    fig = axes[0].figure
    assert len(fig.axes) == 8  # a 2 x 4 grid, two left empty
    assert sum(ax.axison for ax in fig.axes) == 6
    assert axes[0].get_title() == "unit 1"


def test_weight_images_on_given_axes_and_errors():
    W = np.random.default_rng(0).normal(size=(5, 12))
    fig, given = plt.subplots(1, 3)
    axes = plot_weight_images(W, shape=(3, 4), ax=given, n=3)
    assert list(axes) == list(given)
    assert axes[1].get_images()[0].get_array().shape == (3, 4)
    assert axes[0].get_images()[0].get_clim()[1] == pytest.approx(np.abs(W[:3]).max())
    with pytest.raises(ValueError, match=r"shape \(n_units, 64\)"):
        plot_weight_images(W)
    with pytest.raises(ValueError, match="n must be between"):
        plot_weight_images(W, shape=(3, 4), n=6)
    with pytest.raises(ValueError, match="4 images need at least 4 axes"):
        plot_weight_images(W, shape=(3, 4), ax=given, n=4)
