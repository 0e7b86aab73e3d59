"""Tests for dlcourse.activations: finite differences, torch parity, extremes, registry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlcourse import activations as A

try:  # torch is optional: the parity tests skip without it, the rest still run
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = F = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

ELEMENTWISE = [name for name in A.ACTIVATIONS if name != "softmax"]
SMOOTH = [name for name in ELEMENTWISE if name not in ("step",)]
EXTREME = np.array([-1e3, -745.5, -50.0, -1.0, -1e-300, 0.0, 1e-300, 1.0, 50.0, 745.5, 1e3])


def rel_error(a, b):
    """CS231n relative error max |a − b| / max(1e-12, |a| + |b|)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def central_difference(f, z, h=1e-6):
    """Elementwise derivative (f(z + h) − f(z − h)) / 2h of an elementwise f."""
    return (f(z + h) - f(z - h)) / (2.0 * h)


def sample(seed=0, shape=(4, 5)):
    """Standard-normal points kept away from the kinks at 0 (relu, leaky_relu, elu, step)."""
    z = 2.0 * np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(z) < 1e-3, 0.5, z)


@pytest.mark.parametrize("name", SMOOTH)
def test_prime_matches_finite_differences(name):
    act = A.ACTIVATIONS[name]
    z = sample()
    assert rel_error(act.prime(z), central_difference(act.fn, z)) < 1e-7


@pytest.mark.parametrize(
    ("name", "params"), [("leaky_relu", {"slope": 0.2}), ("elu", {"alpha": 0.5})]
)
def test_parametrised_prime_matches_finite_differences(name, params):
    act = A.get_activation(name, **params)
    z = sample(1)
    assert rel_error(act.prime(z), central_difference(act.fn, z)) < 1e-7
    assert act.name == f"{name}({next(iter(params))}={next(iter(params.values()))})"


def test_step_is_flat_with_zero_derivative():
    z = sample(2)
    np.testing.assert_array_equal(A.step(z), (z > 0).astype(float))
    np.testing.assert_array_equal(A.step(np.array([0.0, -0.0])), [0.0, 0.0])
    np.testing.assert_array_equal(A.ACTIVATIONS["step"].prime(z), np.zeros_like(z))


def test_softmax_jacobian_matches_finite_differences():
    z = 0.5 * sample(3, (6,))  # moderate logits: no Jacobian entry is swamped by rounding
    h = 1e-5
    numeric = np.empty((6, 6))
    for j in range(6):
        e = np.zeros(6)
        e[j] = h
        numeric[:, j] = (A.softmax(z + e) - A.softmax(z - e)) / (2 * h)
    J = A.softmax_jacobian(z)
    assert J.shape == (6, 6)
    assert rel_error(J, numeric) < 1e-7
    np.testing.assert_allclose(np.diag(J), A.ACTIVATIONS["softmax"].prime(z), rtol=1e-14)


def test_softmax_jacobian_batched_and_from_output():
    z = sample(4, (3, 5))
    J = A.softmax_jacobian(z)
    assert J.shape == (3, 5, 5)
    for i in range(3):
        np.testing.assert_allclose(J[i], A.softmax_jacobian(z[i]), rtol=1e-14)
    np.testing.assert_allclose(A.softmax_jacobian(A.softmax(z), is_softmax=True), J, rtol=1e-14)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-15)  # columns of J sum to 0


def test_softmax_is_shift_invariant_and_normalised():
    z = sample(5, (3, 4))
    s = A.softmax(z)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(A.softmax(z + 1e3), s, rtol=1e-12)
    np.testing.assert_allclose(A.softmax(z.T, axis=0), s.T, rtol=1e-15)


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_extreme_inputs_give_no_warning_and_no_nan(name):
    act = A.ACTIVATIONS[name]
    z = np.concatenate([EXTREME, -EXTREME[::-1]]).reshape(2, -1)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        values, primes = act.fn(z), act.prime(z)
        if name == "softmax":
            jac = A.softmax_jacobian(z)
            assert np.all(np.isfinite(jac))
            np.testing.assert_allclose(values.sum(axis=-1), 1.0)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(primes))


def test_known_values():
    np.testing.assert_allclose(A.sigmoid(np.array([0.0, 1e3, -1e3])), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(A.softplus(np.array([0.0, 1e3])), [np.log(2.0), 1e3])
    np.testing.assert_allclose(A.gelu(np.array([0.0, 1.0])), [0.0, 0.8413447460685429])
    np.testing.assert_allclose(A.relu([-2, 3]), [0.0, 3.0])
    # kink conventions (PyTorch autograd)
    assert A.relu_prime(0.0) == 0.0
    assert A.leaky_relu_prime(0.0, slope=0.1) == pytest.approx(0.1)
    assert A.elu_prime(0.0, alpha=0.5) == pytest.approx(0.5)


def test_dtype_is_preserved_and_ints_become_float64():
    z32 = np.linspace(-3, 3, 7, dtype=np.float32)
    for act in A.ACTIVATIONS.values():
        assert act.fn(z32).dtype == np.float32, act.name
        assert act.prime(z32).dtype == np.float32, act.name
    assert A.sigmoid(np.arange(3)).dtype == np.float64


def test_registry_and_lookup_errors():
    assert A.get_activation("swish") is A.ACTIVATIONS["swish"]
    act = A.ACTIVATIONS["tanh"]
    assert A.get_activation(act) is act
    assert act(0.5) == pytest.approx(np.tanh(0.5))
    with pytest.raises(ValueError, match="valid names: .*relu.*sigmoid"):
        A.get_activation("sigmoidd")
    with pytest.raises(ValueError, match="slope"):
        A.get_activation("leaky_relu", alpha=0.3)
    with pytest.raises(TypeError):
        A.get_activation(3)


# ---------------------------------------------------------------- torch parity


TORCH_FN = (
    {}
    if torch is None
    else {
        "identity": lambda z: z,
        "step": lambda z: (z > 0).to(z.dtype),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": F.leaky_relu,
        "elu": F.elu,
        "gelu": F.gelu,
        "gelu_approx": lambda z: z * torch.sigmoid(1.702 * z),
        "silu": F.silu,
        "swish": F.silu,
        "softplus": F.softplus,
    }
)


def torch_value_and_grad(fn, z):
    zt = torch.tensor(z, requires_grad=True)
    out = fn(zt)
    if out.requires_grad:
        out.sum().backward()
        grad = zt.grad.numpy()
    else:
        grad = np.zeros_like(z)
    return out.detach().numpy(), grad


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("extreme", [False, True])
@needs_torch
def test_torch_parity(name, extreme):
    act = A.ACTIVATIONS[name]
    z = np.concatenate([EXTREME, [-0.0]]) if extreme else np.append(sample(6).ravel(), 0.0)
    value, grad = torch_value_and_grad(TORCH_FN[name], z)
    np.testing.assert_allclose(act.fn(z), value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(act.prime(z), grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "params", "fn"),
    [
        ("leaky_relu", {"slope": 0.2}, lambda z: F.leaky_relu(z, 0.2)),
        ("elu", {"alpha": 0.5}, lambda z: F.elu(z, 0.5)),
    ],
)
@needs_torch
def test_torch_parity_parametrised(name, params, fn):
    act = A.get_activation(name, **params)
    z = np.append(sample(7).ravel(), 0.0)
    value, grad = torch_value_and_grad(fn, z)
    np.testing.assert_allclose(act.fn(z), value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(act.prime(z), grad, rtol=1e-10, atol=1e-12)


@needs_torch
def test_torch_parity_softmax_and_jacobian():
    z = sample(8, (3, 5))
    np.testing.assert_allclose(A.softmax(z), torch.softmax(torch.tensor(z), -1).numpy(), rtol=1e-12)
    for row in z:
        jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), torch.tensor(row))
        np.testing.assert_allclose(A.softmax_jacobian(row), jac.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
@needs_torch
def test_torch_tensors_in_torch_tensors_out(name):
    act = A.ACTIVATIONS[name]
    z = sample(9, (2, 3))
    zt = torch.tensor(z)
    out, prime = act.fn(zt), act.prime(zt)
    assert isinstance(out, torch.Tensor) and isinstance(prime, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), act.fn(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(prime.numpy(), act.prime(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "name", [n for n, g in A.ACTIVATIONS.items() if g.prime_of_output is not None]
)
def test_prime_of_output_equals_prime(name):
    """The table's g' written through a = g(z) (what Network's BP2 uses) is g'(z)."""
    g = A.ACTIVATIONS[name]
    z = np.linspace(-30, 30, 601)
    z = z[np.abs(z) > 1e-9]  # away from the kink of relu, where either convention holds
    got = np.broadcast_to(np.asarray(g.prime_of_output(g.fn(z)), dtype=float), z.shape)
    # 1 − a loses the relative accuracy of a tiny σ'(z) but not its absolute one (≈ eps)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(got, g.prime(z), rtol=1e-12, atol=8 * eps, err_msg=name)
