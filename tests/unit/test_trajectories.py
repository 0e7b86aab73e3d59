"""Training trajectories agree with those saved before the package was reorganised.

``data/trajectories.npz`` was written by ``python tests/unit/test_trajectories.py --write``
with the code as it stood before ``costs.py``, the shared training loop and the shared
checks replaced their copies (issue 16). Each case trains a few epochs of ``Network.fit``
or ``Model.fit`` with one cost and one optimiser, and stores the final parameters and the
recorded history. The test recomputes every case and compares it with the saved values.

The comparison has a tolerance, not bit equality: the saved bits are a property of the BLAS
kernel of the machine that wrote them (OpenBLAS picks AVX-512, AVX2 or AVX kernels by CPU,
and each sums a dot product in another order). Why ``RTOL``: every case is 12 optimiser
steps on a [5, 6, 3] network with mini-batches of at most 8, so each value passes through
about a dozen dot products of length <= 8 per step; one reordering moves a dot product by at
most ~8 eps (eps = 2.2e-16, float64), and a dozen steps of training amplify that by a
modest factor. Measured across OpenBLAS's SkylakeX, Haswell and Sandybridge kernels the
largest difference is 6e-16 relative. ``RTOL = 1e-10`` leaves five orders of magnitude of
margin for other CPUs and libraries, and is still far below what any change of the
formulas does (a missing factor, L2 applied twice, a different bias correction move these
values by 1e-4 or more; ``test_a_changed_formula_fails`` checks that even a learning rate
off by one part in a million is seen).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import dlcourse as dc
from dlcourse import optim
from dlcourse.layers import Activation, Linear, Model

DATA = Path(__file__).parent / "data" / "trajectories.npz"
RTOL = 1e-10  # relative to max(|value|, 1): see the module docstring

COSTS = {  # cost -> output activation of the pairing
    "quadratic": "sigmoid",
    "binary_cross_entropy": "sigmoid",
    "cross_entropy": "softmax",
}
OPTIMIZERS = {
    "plain": lambda: None,
    "sgd_momentum": lambda: optim.SGD(lr=0.3, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adagrad": lambda: optim.Adagrad(lr=0.1),
    "rmsprop": lambda: optim.RMSprop(lr=0.01, momentum=0.5),
    "adam": lambda: optim.Adam(lr=0.01),
    "adamw": lambda: optim.AdamW(lr=0.01, weight_decay=0.1),
}


def _data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(37, 5))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.8).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _record(prefix, params, history, out):
    for i, p in enumerate(params):
        out[f"{prefix}/p{i}"] = np.array(p, dtype=np.float64)
    for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy", "lr"):
        out[f"{prefix}/{key}"] = np.array(getattr(history, key), dtype=np.float64)


def network_case(cost, opt_name, out):
    X, y = _data()
    net = dc.Network([5, 6, 3], activation="tanh", output=COSTS[cost], cost=cost, seed=3)
    history = net.fit(X[:29], y[:29], epochs=3, batch_size=8, optimizer=OPTIMIZERS[opt_name](),
                      lr=0.5 if opt_name == "plain" else None, l2=0.1,
                      validation=(X[29:], y[29:]), progress=False)  # fmt: skip
    _record(f"network/{cost}/{opt_name}", net.parameters(), history, out)


def model_case(cost, opt_name, out):
    X, y = _data()
    layers = [Linear(5, 6, seed=4), Activation("relu"), Linear(6, 3, seed=5)]
    model = Model([*layers, Activation(COSTS[cost])], cost=cost, seed=6)
    history = model.fit(X[:29], y[:29], epochs=3, batch_size=8, optimizer=OPTIMIZERS[opt_name](),
                        lr=0.5 if opt_name == "plain" else None, l2=0.1,
                        validation=(X[29:], y[29:]), progress=False)  # fmt: skip
    _record(f"model/{cost}/{opt_name}", model.parameters(), history, out)


CASES = [(kind, c, o) for kind in ("network", "model") for c in COSTS for o in OPTIMIZERS]


def compute_all() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for kind, cost, opt_name in CASES:
        (network_case if kind == "network" else model_case)(cost, opt_name, out)
    return out


@pytest.fixture(scope="module")
def saved():
    with np.load(DATA, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def mismatches(out: dict[str, np.ndarray], saved: dict[str, np.ndarray]) -> list[str]:
    """Keys whose values differ from the saved ones by more than RTOL * max(|saved|, 1)."""
    bad = []
    for key, value in out.items():
        expected = saved[key]
        if value.shape != expected.shape:
            bad.append(f"{key}: shape {value.shape}, saved {expected.shape}")
            continue
        error = np.abs(value - expected) / np.maximum(np.abs(expected), 1.0)
        if not np.all(error <= RTOL):  # a NaN fails too
            bad.append(f"{key}: largest relative difference {np.nanmax(error):.3g} > {RTOL:g}")
    return bad


@pytest.mark.parametrize("kind,cost,opt_name", CASES)
def test_trajectory_matches_the_saved_one(saved, kind, cost, opt_name):
    out: dict[str, np.ndarray] = {}
    (network_case if kind == "network" else model_case)(cost, opt_name, out)
    prefix = f"{kind}/{cost}/{opt_name}/"
    assert sorted(out) == sorted(k for k in saved if k.startswith(prefix))
    assert not mismatches(out, saved)


def test_a_changed_formula_fails(saved, monkeypatch):
    """The tolerance is tight enough to see a real change: a learning rate off by one part in
    a million (far smaller than any slip in a formula) already moves the trajectory beyond
    RTOL."""
    monkeypatch.setitem(OPTIMIZERS, "adam", lambda: optim.Adam(lr=0.01 * (1 + 1e-6)))
    out: dict[str, np.ndarray] = {}
    network_case("cross_entropy", "adam", out)
    assert mismatches(out, saved)


def test_the_parameters_moved(saved):
    """The cases train: every final parameter array differs from the initial one."""
    X, _ = _data()
    net = dc.Network([5, 6, 3], activation="tanh", output="softmax", cost="cross_entropy", seed=3)
    for i, p in enumerate(net.parameters()):
        assert not np.array_equal(p, saved[f"network/cross_entropy/adam/p{i}"])


if __name__ == "__main__" and "--write" in sys.argv:
    DATA.parent.mkdir(exist_ok=True)
    values = compute_all()
    tmp = DATA.with_suffix(".tmp.npz")
    np.savez(tmp, **values)
    tmp.replace(DATA)
    print(f"wrote {len(values)} arrays to {DATA}")
