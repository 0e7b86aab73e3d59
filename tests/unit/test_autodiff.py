"""Tests of the scalar reverse-mode engine dlcourse.autodiff.

Oracles: the worked computational-graph examples of the lecture notes, the gradient-flow
rules (add distributes, multiply swaps, max routes, branches sum), torch autograd in
float64 and finite differences.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from dlcourse.autodiff import MLP, Neuron, Value, draw_graph, maximum, topological_order

matplotlib.use("Agg")


# ---------------------------------------------------------------- worked examples (seeds)
@pytest.mark.parametrize(("x", "y", "z"), [(2.0, 3.0, 2.0), (-1.0, 6.0, 5.0)])
def test_first_graph_x_plus_y_times_y_minus_z(x, y, z):
    # f = (x + y)(y - z) = W N with W = x + y = 5 and N = y - z = 1 as in eq-ad-first-graph:
    # df/dx = N = 1, df/dy = N + W = 6 (two paths), df/dz = -W = -5.
    xv, yv, zv = Value(x, "x"), Value(y, "y"), Value(z, "z")
    W = xv + yv
    N = yv - zv
    f = W * N
    f.backward()
    assert (W.data, N.data, f.data) == (5.0, 1.0, 5.0)
    assert (W.grad, N.grad) == (1.0, 5.0)  # multiply swaps
    assert (xv.grad, yv.grad, zv.grad) == (1.0, 6.0, -5.0)


def path_sum_graph(f: float, g: float):
    """The path-sum graph of eq-ad-path-sum (p, q, v1..v5 there): d = f + 3, e = f g,
    b = d + e, c = e + 2, a = b c."""
    fv, gv = Value(f, "f"), Value(g, "g")
    d = fv + 3
    e = fv * gv
    b = d + e
    c = e + 2
    a = b * c
    return fv, gv, b, c, a


def test_path_sum_example_a_150_and_da_df_60():
    fv, gv, b, c, a = path_sum_graph(4.0, 2.0)
    a.backward()
    assert a.data == 150.0
    assert fv.grad == 60.0
    # the three paths f->d->b->a, f->e->b->a, f->e->c->a contribute c, g c and g b
    assert fv.grad == c.data + gv.data * c.data + gv.data * b.data


@pytest.mark.parametrize(("f", "g"), [(1.0, 0.5), (-2.0, 3.0), (0.3, -1.7)])
def test_path_sum_closed_form_of_da_df(f, g):
    fv, gv, _, _, a = path_sum_graph(f, g)
    a.backward()
    assert fv.grad == pytest.approx(2 + 5 * g + 2 * f * g + 2 * f * g**2, rel=1e-14)
    h = 1e-6
    da_dg = (path_sum_graph(f, g + h)[-1].data - path_sum_graph(f, g - h)[-1].data) / (2 * h)
    assert gv.grad == pytest.approx(da_dg, rel=1e-7)


# ------------------------------------------------------------------ gradient-flow patterns
def test_add_distributes_the_gradient_unchanged():
    x, y = Value(3.0), Value(-4.0)
    (x + y).backward(2.5)
    assert (x.grad, y.grad) == (2.5, 2.5)


def test_multiply_swaps_the_inputs():
    x, y = Value(3.0), Value(-4.0)
    (x * y).backward(2.0)
    assert (x.grad, y.grad) == (-8.0, 6.0)


@pytest.mark.parametrize("use_function", [False, True])
def test_max_routes_the_gradient_to_the_larger_input(use_function):
    x, y = Value(3.0), Value(-4.0)
    out = maximum(x, y) if use_function else x.max(y)
    out.backward()
    assert out.data == 3.0
    assert (x.grad, y.grad) == (1.0, 0.0)


def test_max_tie_splits_the_gradient_like_torch():
    x, y = Value(1.0), Value(1.0)
    maximum(x, y).backward()
    assert (x.grad, y.grad) == (0.5, 0.5)


@pytest.mark.parametrize("xy", [(1.0, 1.0), (2.0, -1.0), (-3.0, 0.5), (0.0, -0.0)])
def test_max_shares_add_up_to_the_upstream_gradient_as_in_torch(xy):
    torch = pytest.importorskip("torch")
    x, y = Value(xy[0]), Value(xy[1])
    maximum(x, y).backward(3.0)
    assert x.grad + y.grad == 3.0  # never the full gradient to both inputs at a tie
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in xy)
    torch.maximum(tx, ty).backward(torch.tensor(3.0, dtype=torch.float64))
    assert (x.grad, y.grad) == (tx.grad.item(), ty.grad.item())


def test_relu_gates_the_gradient():
    for data, grad in [(2.0, 1.0), (-2.0, 0.0), (0.0, 0.0)]:
        x = Value(data)
        x.relu().backward()
        assert x.grad == grad


def test_branches_sum():
    x = Value(3.0)
    f = x * x + x.tanh() + x  # three uses of x: 2x + (1 - tanh^2 x) + 1
    f.backward()
    assert x.grad == pytest.approx(2 * 3.0 + (1 - math.tanh(3.0) ** 2) + 1, rel=1e-15)


def test_same_operand_twice():
    x = Value(-3.0)
    (x + x).backward()
    assert x.grad == 2.0
    x.zero_grad()
    (x * x).backward()
    assert x.grad == -6.0


def test_gradients_accumulate_across_backward_calls_and_zero_grad_resets():
    x = Value(2.0)
    f = x * 3
    f.backward()
    f.backward()
    assert x.grad == 6.0
    f.zero_grad()
    assert (x.grad, f.grad) == (0.0, 0.0)


def test_numbers_mix_in_on_either_side():
    x = Value(2.0)
    cases = {
        "radd": (5 + x, 7.0, 1.0),
        "rsub": (5 - x, 3.0, -1.0),
        "rmul": (5 * x, 10.0, 5.0),
        "rtruediv": (5 / x, 2.5, -5 / 4),
        "rpow": (3**x, 9.0, 9 * math.log(3)),
        "pow": (x**3, 8.0, 12.0),
        "numpy scalar": (np.float64(5.0) * x, 10.0, 5.0),
    }
    for name, (out, data, grad) in cases.items():
        assert isinstance(out, Value), name
        x.grad = 0.0
        out.backward()
        assert out.data == pytest.approx(data, rel=1e-15), name
        assert x.grad == pytest.approx(grad, rel=1e-15), name


def test_unary_derivatives_match_finite_differences():
    ops = {
        "exp": lambda v: v.exp(),
        "log": lambda v: v.log(),
        "tanh": lambda v: v.tanh(),
        "sigmoid": lambda v: v.sigmoid(),
        "neg": lambda v: -v,
        "pow 2.5": lambda v: v**2.5,
        "pow -1": lambda v: v**-1,
        "div": lambda v: 1.5 / v,
    }
    h = 1e-6
    for name, op in ops.items():
        for x0 in (0.3, 1.7):
            x = Value(x0)
            op(x).backward()
            numeric = (op(Value(x0 + h)).data - op(Value(x0 - h)).data) / (2 * h)
            assert x.grad == pytest.approx(numeric, rel=1e-7), name


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0


# ---------------------------------------------------------------------- torch parity
OPS = [  # each works on Values and on torch tensors; k is a random number
    lambda a, b, k: a + b,
    lambda a, b, k: a - b,
    lambda a, b, k: a * b,
    lambda a, b, k: a / (b * b + 1),
    lambda a, b, k: k / (a * a + 0.5),
    lambda a, b, k: (a * a + 0.1) ** k,
    lambda a, b, k: a**3,
    lambda a, b, k: (a.sigmoid() + 0.5) ** b,
    lambda a, b, k: abs(k) ** a,
    lambda a, b, k: a.exp(),
    lambda a, b, k: (a * a + 0.1).log(),
    lambda a, b, k: a.tanh(),
    lambda a, b, k: a.sigmoid(),
    lambda a, b, k: a.relu(),
    lambda a, b, k: -a,
    lambda a, b, k: a.maximum(b),
    lambda a, b, k: k - a,
    lambda a, b, k: k + a,
    lambda a, b, k: k * a,
]


def random_expression(rng: np.random.Generator, torch, n_leaves: int = 3, n_ops: int = 12):
    """Build the same random expression (with shared sub-expressions) as Values and tensors."""
    leaves = rng.uniform(-2, 2, n_leaves)
    values = [Value(x) for x in leaves]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in leaves]
    pool = list(zip(values, tensors, strict=True))
    for _ in range(n_ops):
        op = OPS[rng.integers(len(OPS))]
        (va, ta), (vb, tb) = (pool[i] for i in rng.integers(len(pool), size=2))
        k = float(rng.uniform(-1.5, 2.5))
        v, t = op(va, vb, k), op(ta, tb, k)
        if abs(v.data) > 20:  # keep magnitudes moderate so 1e-12 is a fair tolerance
            v, t = (v * 0.05).tanh(), (t * 0.05).tanh()
        pool.append((v, t))
    (v1, t1), (v2, t2) = pool[-1], pool[-2]
    return values, tensors, v1 + v2, t1 + t2


def test_gradients_equal_torch_autograd_on_200_random_expressions():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(20240607)
    for i in range(200):
        values, tensors, v, t = random_expression(rng, torch, n_ops=int(rng.integers(3, 25)))
        v.backward()
        t.backward()
        assert v.data == pytest.approx(t.item(), rel=1e-12, abs=1e-12), f"expression {i}"
        ours = [x.grad for x in values]
        theirs = [0.0 if x.grad is None else x.grad.item() for x in tensors]
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=f"expr {i}")


# ---------------------------------------------------------------------- deep graphs
def test_chain_of_10000_operations_backward_without_recursion_error():
    x = Value(0.5)
    y = x
    for _ in range(10_000):
        y = y + x  # 10,000 additions: y = 10,001 x
    assert len(topological_order(y)) == 10_001
    y.backward()
    assert x.grad == 10_001.0
    assert y.data == pytest.approx(5000.5)


def test_deep_chain_of_unary_operations():
    x = Value(0.1)
    y = x
    for _ in range(10_000):
        y = (y * 1.0001).tanh()
    y.backward()
    h = 1e-7

    def run(x0):
        out = x0
        for _ in range(10_000):
            out = math.tanh(out * 1.0001)
        return out

    assert x.grad == pytest.approx((run(0.1 + h) - run(0.1 - h)) / (2 * h), rel=1e-5)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", ["a", None, [1.0], 1 + 2j])
def test_non_numeric_operand_is_a_type_error_naming_it(bad):
    x = Value(1.0)
    for op in (lambda: x + bad, lambda: x * bad, lambda: x / bad, lambda: x**bad):
        with pytest.raises(TypeError, match=type(bad).__name__):
            op()
    with pytest.raises(TypeError, match=type(bad).__name__):
        maximum(x, bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_non_numeric_operand_on_the_left_and_numpy_arrays():
    x = Value(1.0)
    with pytest.raises(TypeError, match="'abc'.*str"):
        "abc" - x
    with pytest.raises(TypeError, match="ndarray"):
        np.ones(2) + x


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_log_of_non_positive_is_a_value_error(bad):
    with pytest.raises(ValueError, match="positive"):
        Value(bad).log()


def test_invalid_powers_and_division_by_zero():
    with pytest.raises(ValueError, match="integer exponent"):
        Value(-8.0) ** 0.5
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(2.0)
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** -1


# ---------------------------------------------------------------------- neurons and MLPs
def test_neuron_forward_and_gradients():
    neuron = Neuron([-3.0, 1.0], 6.8813735870195432, activation="tanh")
    out = neuron([2.0, 0.0])
    out.backward()
    assert out.data == pytest.approx(math.sqrt(0.5), rel=1e-12)  # tanh(0.8814) = 1/sqrt(2)
    assert [w.grad for w in neuron.w] == pytest.approx([1.0, 0.0], rel=1e-12)
    assert neuron.b.grad == pytest.approx(0.5, rel=1e-12)
    with pytest.raises(ValueError, match="expects 2"):
        neuron([1.0])
    with pytest.raises(ValueError, match="unknown activation"):
        Neuron([1.0], 0.0, activation="swishy")


def torch_gradients(torch, weights, biases, X, Y, activation, output, cost):
    """The same network cost differentiated by torch autograd (float64)."""
    acts = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "identity": lambda z: z,
        "softmax": lambda z: torch.softmax(z, dim=1),
    }
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    a, y = torch.tensor(X), torch.tensor(Y)
    for layer, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        a = acts[output if layer == len(Ws) - 1 else activation](a @ W.T + b)
    per_example = {
        "quadratic": 0.5 * ((a - y) ** 2).sum(1),
        "binary_cross_entropy": -(y * a.log() + (1 - y) * (1 - a).log()).sum(1),
        "cross_entropy": -(y * a.log()).sum(1),
    }[cost]
    C = per_example.mean()
    C.backward()
    return C.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [
        ("sigmoid", "sigmoid", "quadratic"),
        ("tanh", "sigmoid", "binary_cross_entropy"),
        ("relu", "softmax", "cross_entropy"),
    ],
)
def test_mlp_gradients_equal_torch(activation, output, cost):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    sizes = [3, 4, 3]
    mlp = MLP(sizes, activation, output, seed=7)
    weights = [np.array([[w.data for w in n.w] for n in lay.neurons]) for lay in mlp.layers]
    biases = [np.array([n.b.data for n in lay.neurons]) for lay in mlp.layers]
    X = rng.uniform(0, 1, (5, 3))
    Y = np.eye(3)[rng.integers(3, size=5)]
    C = mlp.cost(X, Y, cost)
    C.backward()
    C_torch, gW, gb = torch_gradients(torch, weights, biases, X, Y, activation, output, cost)
    assert C.data == pytest.approx(C_torch, rel=1e-12)
    grad_W, grad_b = mlp.gradients()
    for ours, theirs in zip(grad_W + grad_b, gW + gb, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)
    assert len(mlp.parameters()) == 4 * 3 + 4 + 3 * 4 + 3


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [
        ("sigmoid", "sigmoid", "quadratic"),
        ("sigmoid", "sigmoid", "binary_cross_entropy"),
        ("tanh", "softmax", "cross_entropy"),
    ],
)
def test_mlp_gradients_equal_network_backprop(activation, output, cost):
    network = pytest.importorskip("dlcourse.network")
    net = network.Network([4, 5, 3], activation=activation, output=output, cost=cost, seed=1)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (6, 4))
    Y = np.eye(3)[rng.integers(3, size=6)]
    mlp = MLP.from_network(net)
    C = mlp.cost(X, Y, cost)
    C.backward()
    assert C.data == pytest.approx(net.cost(X, Y), rel=1e-12)
    grad_W, grad_b = net.backprop(X, Y)
    ours_W, ours_b = mlp.gradients()
    for ours, theirs in zip(ours_W + ours_b, list(grad_W) + list(grad_b), strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------------- drawing
def count_gids(fig, gid):
    return sum(p.get_gid() == gid for ax in fig.axes for p in ax.patches)


def test_draw_graph_has_a_box_per_value_and_a_circle_per_operation(tmp_path):
    fv, gv, b, c, a = path_sum_graph(4.0, 2.0)
    a.backward()
    fig = draw_graph(a)
    n_values = len(topological_order(a))  # f, g, 3, 2, d, e, b, c, a
    assert n_values == 9
    assert count_gids(fig, "value") == 9
    assert count_gids(fig, "op") == 5
    assert count_gids(fig, "edge") == 5 * 2 + 5  # two inputs and one output per operation
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "f\ndata 4\ngrad 60" in texts
    assert "data 150\ngrad 1" in texts
    assert sorted(t for t in texts if "\n" not in t) == ["+", "+", "+", "×", "×"]
    path = tmp_path / "graph.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_graph_of_a_40_node_neuron_into_given_axes(tmp_path):
    from matplotlib.figure import Figure

    neuron = Neuron([0.5, -1.0, 0.25, 2.0, -0.5, 1.5], 0.1, activation="sigmoid")
    x = [Value(float(i), label=f"x{i}") for i in range(6)]
    out = (neuron(x) - 1.0) ** 2
    out.backward()
    n_values = len(topological_order(out))
    n_ops = sum(1 for v in topological_order(out) if v.parents)
    assert 35 <= n_values + n_ops <= 60
    ax = Figure(figsize=(14, 6)).add_subplot()
    fig = draw_graph(out, ax=ax)
    assert fig is ax.figure
    assert count_gids(fig, "value") == n_values
    assert count_gids(fig, "op") == n_ops
    fig.savefig(tmp_path / "neuron.png", dpi=50)


def test_draw_graph_rejects_non_values():
    with pytest.raises(TypeError, match="float"):
        draw_graph(1.0)
