"""Optimisers: torch.optim trajectories, checkpoints, textbook forms, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlcourse import optim

STEPS = 100


class Problem:
    """Mini-batch least squares with three parameter arrays (W, b, c).

    Step k uses batch ``batches[k]`` of (X, Y) and a noisy target ``u[k]`` for c:
    C_k = ½‖X_k Wᵀ + b − Y_k‖²/m + Σ(c⁴/4 + c²/2 − u_k c). The gradient noise keeps
    every optimiser (centred RMSprop's √(v − ḡ²) in particular) well conditioned.
    """

    def __init__(self, seed: int = 0, steps: int = STEPS) -> None:
        rng = np.random.default_rng(seed)
        self.X = rng.normal(size=(40, 4))
        self.Y = self.X @ rng.normal(size=(4, 3)) + 0.5 * rng.normal(size=(40, 3))
        self.batches = [rng.choice(40, size=8, replace=False) for _ in range(steps)]
        self.u = 1 + 0.5 * rng.normal(size=(steps, 5))
        self.init = [rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=5)]

    def params(self) -> list[np.ndarray]:
        return [p.copy() for p in self.init]

    def grads(self, params, k: int = 0, sign: float = 1.0) -> list[np.ndarray]:
        W, b, c = params
        X, Y = self.X[self.batches[k]], self.Y[self.batches[k]]
        r = (X @ W.T + b - Y) / len(X)
        return [sign * (r.T @ X), sign * r.sum(axis=0), sign * (c**3 + c - self.u[k])]


def run_ours(opt, problem, steps=STEPS, params=None, sign=1.0, start=0):
    params = problem.params() if params is None else params
    for k in range(start, start + steps):
        opt.step(params, problem.grads(params, k, sign))
    return params


def run_torch(torch_cls, kwargs, problem, steps=STEPS, sign=1.0):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(p, dtype=torch.float64) for p in problem.init]
    opt = torch_cls(params, foreach=False, **kwargs)
    for k in range(steps):
        grads = problem.grads([p.detach().numpy() for p in params], k, sign)
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g)
        opt.step()
    return [p.detach().numpy() for p in params]


def grid(**options):
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


SGD_CASES = [
    kw
    for kw in grid(
        lr=[0.05],
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.3],
        nesterov=[False, True],
        weight_decay=[0.0, 0.01],
        maximize=[False, True],
    )
    if not (kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0))
]
ADAGRAD_CASES = grid(
    lr=[0.1],
    lr_decay=[0.0, 0.05],
    weight_decay=[0.0, 0.01],
    initial_accumulator_value=[0.0, 0.1],
    eps=[1e-10, 1e-3],
    maximize=[False, True],
)
RMSPROP_CASES = grid(
    lr=[0.01],
    alpha=[0.99, 0.9],
    eps=[1e-8],
    weight_decay=[0.0, 0.01],
    momentum=[0.0, 0.9],
    centered=[False, True],
    maximize=[False, True],
)
ADAM_CASES = grid(
    lr=[0.01],
    betas=[(0.9, 0.999), (0.5, 0.9)],
    eps=[1e-8],
    weight_decay=[0.0, 0.1],
    amsgrad=[False, True],
    maximize=[False, True],
)

CASES = (
    [("SGD", kw) for kw in SGD_CASES]
    + [("Adagrad", kw) for kw in ADAGRAD_CASES]
    + [("RMSprop", kw) for kw in RMSPROP_CASES]
    + [("Adam", kw) for kw in ADAM_CASES]
    + [("AdamW", kw) for kw in ADAM_CASES]
)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_equals_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    problem = Problem(seed=len(CASES))
    # with maximize=True, ascend on −C so the run still converges
    sign = -1.0 if kwargs["maximize"] else 1.0
    ours = run_ours(getattr(optim, name)(**kwargs), problem, sign=sign)
    theirs = run_torch(getattr(torch.optim, name), kwargs, problem, sign=sign)
    moved = max(np.abs(a - b).max() for a, b in zip(ours, problem.init))
    assert moved > 1e-2, "the test problem should move the parameters"
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_defaults_equal_torch():
    torch = pytest.importorskip("torch")
    for name in ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]:
        ours = getattr(optim, name)()
        theirs = getattr(torch.optim, name)([torch.zeros(1)]).defaults
        for key in ours.hyper:
            assert getattr(ours, key) == theirs[key], (name, key)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
        ("RMSprop", dict(momentum=0.5, centered=True)),
        ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
        ("AdamW", dict(lr=0.01, betas=(0.8, 0.99))),
    ],
)
def test_state_dict_round_trip_resumes_exactly(name, kwargs, tmp_path):
    problem = Problem(seed=3)
    straight = run_ours(getattr(optim, name)(**kwargs), problem)

    first = getattr(optim, name)(**kwargs)
    params = run_ours(first, problem, steps=STEPS // 2)
    state = first.state_dict()
    assert all(isinstance(v, (bool, int, float, np.ndarray)) for v in state.values())
    np.savez(tmp_path / "opt.npz", **state)
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        loaded = dict(f)
    fresh = getattr(optim, name)()  # default hyperparameters, replaced by the load
    fresh.load_state_dict(loaded)
    assert repr(fresh) == repr(first)
    resumed = run_ours(fresh, problem, steps=STEPS - STEPS // 2, params=params, start=STEPS // 2)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)
    again = fresh.state_dict()
    assert again.keys() == {**state, **again}.keys()


def test_zero_state_and_lr_setter():
    problem = Problem()
    opt = optim.Adam(lr=0.01)
    run_ours(opt, problem, steps=3)
    assert opt.state[0]["step"] == 3
    opt.zero_state()
    assert opt.state == {}
    opt.lr = 0.0  # a schedule may anneal to zero
    params = problem.params()
    opt.step(params, problem.grads(params))
    for a, b in zip(params, problem.init):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


def test_sgd_momentum_equals_goodfellow_and_nielsen_velocity_form():
    """Alg. 8.2 / Nielsen: v ← αv − εg, θ ← θ + v."""
    problem, alpha, eps = Problem(seed=5), 0.9, 0.05
    theta, v = problem.params(), [np.zeros_like(p) for p in problem.init]
    for k in range(STEPS):
        for t, vi, g in zip(theta, v, problem.grads(theta, k)):
            vi *= alpha
            vi -= eps * g
            t += vi
    ours = run_ours(optim.SGD(lr=eps, momentum=alpha), problem)
    for a, b in zip(ours, theta):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_sgd_nesterov_is_textbook_nag_at_the_look_ahead_point():
    """NAG: v ← αv − η∇J(θ + αv), θ ← θ + v; torch's parameters are φ = θ + αv."""
    problem, alpha, eta = Problem(seed=6), 0.9, 0.05
    theta, v = problem.params(), [np.zeros_like(p) for p in problem.init]
    for k in range(STEPS):
        grads = problem.grads([t + alpha * vi for t, vi in zip(theta, v)], k)
        for t, vi, g in zip(theta, v, grads):
            vi *= alpha
            vi -= eta * g
            t += vi
    ours = run_ours(optim.SGD(lr=eta, momentum=alpha, nesterov=True), problem)
    for a, t, vi in zip(ours, theta, v):
        np.testing.assert_allclose(a, t + alpha * vi, rtol=1e-10, atol=1e-12)


def test_adam_equals_goodfellow_algorithm_8_7():
    problem, rho1, rho2, eps, delta = Problem(seed=7), 0.9, 0.999, 0.01, 1e-8
    theta = problem.params()
    s, r = [np.zeros_like(p) for p in theta], [np.zeros_like(p) for p in theta]
    for t in range(1, STEPS + 1):
        for th, si, ri, g in zip(theta, s, r, problem.grads(theta, t - 1)):
            si[...] = rho1 * si + (1 - rho1) * g
            ri[...] = rho2 * ri + (1 - rho2) * g * g
            th -= eps * (si / (1 - rho1**t)) / (np.sqrt(ri / (1 - rho2**t)) + delta)
    ours = run_ours(optim.Adam(lr=eps, betas=(rho1, rho2), eps=delta), problem)
    for a, b in zip(ours, theta):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_torch_tensor_parameters_follow_the_numpy_run():
    torch = pytest.importorskip("torch")
    problem = Problem(seed=8)
    for make in [lambda: optim.SGD(0.05, momentum=0.9), lambda: optim.Adam(0.01, amsgrad=True)]:
        ours = run_ours(make(), problem, steps=20)
        params = [torch.tensor(p) for p in problem.init]
        opt = make()
        for k in range(20):
            grads = problem.grads([p.numpy() for p in params], k)
            opt.step(params, [torch.from_numpy(g) for g in grads])
        for a, b in zip(ours, params):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-14)
        saved = opt.state_dict()
        assert all(
            isinstance(v, np.ndarray)
            for k, v in saved.items()
            if k.startswith("state.") and not k.endswith(".step")
        ), "state_dict must hand back NumPy arrays, not tensors"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: optim.SGD(lr=0.0), "lr"),
        (lambda: optim.SGD(lr=-0.1), "lr"),
        (lambda: optim.SGD(lr=float("nan")), "lr"),
        (lambda: optim.SGD(lr=0.1, momentum=-0.5), "momentum"),
        (lambda: optim.SGD(lr=0.1, weight_decay=-1), "weight_decay"),
        (lambda: optim.SGD(lr=0.1, nesterov=True), "nesterov"),
        (lambda: optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda: optim.Adagrad(eps=0.0), "eps"),
        (lambda: optim.Adagrad(lr_decay=-1.0), "lr_decay"),
        (lambda: optim.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator"),
        (lambda: optim.RMSprop(alpha=1.5), "alpha"),
        (lambda: optim.RMSprop(eps=-1e-8), "eps"),
        (lambda: optim.RMSprop(momentum=-0.1), "momentum"),
        (lambda: optim.Adam(betas=(1.0, 0.999)), "betas"),
        (lambda: optim.Adam(betas=(0.9, -0.1)), "betas"),
        (lambda: optim.Adam(betas=(0.9,)), "betas"),
        (lambda: optim.AdamW(eps=0), "eps"),
        (lambda: optim.AdamW(lr=-1e-3), "lr"),
        (lambda: optim.get_optimizer("adamax"), "adam"),
    ],
)
def test_bad_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_types_and_shapes():
    with pytest.raises(TypeError, match="lr"):
        optim.SGD(lr="0.1")
    problem = Problem()
    opt, params = optim.SGD(0.1, momentum=0.9), problem.params()
    with pytest.raises(ValueError, match="gradients"):
        opt.step(params, problem.grads(params)[:2])
    with pytest.raises(ValueError, match="shape"):
        opt.step(params, [np.zeros((4, 3)), *problem.grads(params)[1:]])
    opt.step(params, problem.grads(params))
    with pytest.raises(ValueError, match="zero_state"):
        opt.step(params[:2], problem.grads(params)[:2])
    with pytest.raises(ValueError, match="not a Adam state dict|not an? Adam"):
        optim.Adam().load_state_dict(opt.state_dict())


def test_get_optimizer():
    opt = optim.get_optimizer("AdamW", lr=0.01)
    assert isinstance(opt, optim.AdamW) and opt.weight_decay == 1e-2
    assert optim.get_optimizer(opt) is opt
