"""dlcourse.torchlayers: the course's layers as torch modules and back, with equal forward
passes, autograd gradients and running statistics in float64."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.layers import (
    RNN,
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    Model,
    Residual,
    Sum,
)

torch = pytest.importorskip("torch")

from dlcourse.torchlayers import layers_to_module, module_to_layers  # noqa: E402
from dlcourse.torchnet import to_module  # noqa: E402

nn = torch.nn
TOL = 1e-10


def randomise(model, seed=0):
    """Non-trivial biases, γ, β and running statistics (the defaults are 0 and 1)."""
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        if p.ndim == 1:
            p[...] = rng.uniform(0.5, 1.5, p.shape)
    for b in model.buffers():
        b[...] = rng.uniform(0.5, 1.5, b.shape)
    return model


def cnn(dropout=True, dtype="float64"):
    """Every layer kind the bridge knows, in one image classifier."""
    extra = [Dropout(0.3, seed=0)] if dropout else []
    return Model(
        [Conv2d(2, 4, 3, padding=2, dilation=2, seed=0, dtype=dtype), BatchNorm2d(4, dtype=dtype),
         Activation("relu"), MaxPool2d(2),
         Residual([Conv2d(4, 4, 3, padding=1, seed=1, dtype=dtype), Activation("tanh")]),
         Concat([Conv2d(4, 2, 1, seed=2, dtype=dtype),
                 Sum([Conv2d(4, 3, 3, padding=1, seed=3, dtype=dtype),
                      Conv2d(4, 3, 1, seed=4, dtype=dtype)])]),
         ConvTranspose2d(5, 3, 4, stride=2, padding=1, seed=5, dtype=dtype),
         BatchNorm2d(3, affine=False, dtype=dtype), Activation("elu"), AvgPool2d(2, 1),
         *extra, Conv2d(3, 3, 3, stride=2, seed=6, dtype=dtype), GlobalAvgPool2d(),
         Linear(3, 6, seed=7, dtype=dtype), BatchNorm1d(6, dtype=dtype), Activation("sigmoid"),
         Flatten(), Linear(6, 4, seed=8, dtype=dtype), Activation("softmax")],
        cost="cross_entropy",
    )  # fmt: skip


def X_y(m=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 2, 10, 9)), rng.integers(0, 4, m)


def strip_init(config):
    """A config without the ``init`` entries (a torch module does not know the scheme)."""
    if isinstance(config, dict):
        return {k: strip_init(v) for k, v in config.items() if k != "init"}
    if isinstance(config, list):
        return [strip_init(c) for c in config]
    return config


def test_module_has_the_model_outputs_in_eval_mode():
    model = randomise(cnn())
    module = layers_to_module(model).eval()
    X, _ = X_y()
    assert np.max(np.abs(module(torch.tensor(X)).detach().numpy() - model.forward(X))) < 1e-12


def test_training_step_gradients_and_running_statistics_agree():
    model = randomise(cnn(dropout=False))
    module = layers_to_module(model).train()
    X, y = X_y()
    grads = model.gradients(X, y)  # a training forward: batch statistics, running stats move
    out = module(torch.tensor(X))
    loss = nn.functional.nll_loss(torch.log(out), torch.tensor(y))
    loss.backward()
    params = list(module.parameters())
    assert len(params) == len(grads)
    for p, g in zip(params, grads):
        assert p.shape == g.shape and np.abs(g).max() > 0
        assert np.max(np.abs(p.grad.numpy() - g)) < TOL
    buffers = [b for name, b in module.named_buffers() if not name.endswith("batches_tracked")]
    for b, mine in zip(buffers, model.buffers(), strict=True):  # one step each
        assert np.max(np.abs(b.numpy() - mine)) < 1e-12
    assert abs(loss.item() - model.cost(X, y, training=True)) < 1e-12


def test_round_trip_keeps_the_architecture_and_every_array():
    model = randomise(cnn())
    back = module_to_layers(layers_to_module(model))
    assert strip_init(back.config()) == strip_init(model.layers.config())
    for mine, theirs in zip(model.parameters() + model.buffers(), back.params + back.buffers(),
                            strict=True):  # fmt: skip
        assert np.array_equal(mine, theirs)
    X, _ = X_y()
    again = Model(list(back.children), cost="cross_entropy")
    assert np.max(np.abs(again.forward(X) - model.forward(X))) < 1e-12


def test_layers_to_module_takes_models_and_layers_and_torchnet_points_there():
    model = randomise(cnn())
    X, _ = X_y(3)
    for source in (model, model.layers):
        module = layers_to_module(source).eval()
        assert np.max(np.abs(module(torch.tensor(X)).detach().numpy() - model.forward(X))) < 1e-12
    single = layers_to_module(ConvTranspose2d(2, 1, 3, stride=2, output_padding=1, seed=0))
    assert isinstance(single, nn.ConvTranspose2d) and single.output_padding == (1, 1)
    # torchnet converts Networks only (torchlayers builds on it, not the other way round)
    with pytest.raises(TypeError, match="torchlayers.layers_to_module"):
        to_module(model)


def test_an_idiomatic_torch_network_comes_back_as_layers():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, (3, 3), padding=(1, 1), dilation=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d((2, 2)), nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Identity(),
        nn.Conv2d(2, 3, 3, stride=2, dilation=2), nn.Tanh(), nn.Flatten(), nn.Linear(12, 3),
    ).double()  # fmt: skip
    net.train()
    net(torch.randn(8, 1, 8, 8, dtype=torch.float64))  # moves the running statistics
    net.eval()
    layers = module_to_layers(net)
    assert [type(c).__name__ for c in layers.children] == [
        "Conv2d", "BatchNorm2d", "Activation", "MaxPool2d", "ConvTranspose2d", "Conv2d",
        "Activation", "Flatten", "Linear",
    ]  # fmt: skip
    X = np.random.default_rng(2).standard_normal((3, 1, 8, 8))
    out = layers.forward(X, training=False)
    assert np.max(np.abs(out - net(torch.tensor(X)).detach().numpy())) < 1e-12


def test_float32_stays_float32():
    model = cnn(dtype="float32")
    module = layers_to_module(model)
    assert all(p.dtype == torch.float32 for p in module.parameters())
    back = module_to_layers(module)
    assert all(p.dtype == np.float32 for p in back.params + back.buffers())


@pytest.mark.parametrize(
    "module, message",
    [
        (nn.Conv2d(2, 2, 3, groups=2), "groups=1"),
        (nn.Conv2d(1, 2, (3, 5)), "equal kernel_size"),
        (nn.Conv2d(1, 2, 3, padding="same"), "padding must be a number"),
        (nn.Conv2d(1, 2, 3, bias=False), "a bias"),
        (nn.MaxPool2d(2, padding=1), "padding=0"),
        (nn.AvgPool2d(2, ceil_mode=True), "ceil_mode"),
        (nn.BatchNorm2d(3, momentum=None), "momentum"),
        (nn.Linear(2, 3, bias=False), "no bias"),
        (nn.Flatten(0), "start_dim=1"),
        (nn.LSTM(2, 3), "no layer for LSTM"),
        (nn.Linear(2, 3).half(), "float32 or float64"),
    ],
)
def test_unsupported_modules_are_clear_errors(module, message):
    with pytest.raises(ValueError, match=message):
        module_to_layers(module)


def test_unsupported_layers_are_clear_errors():
    with pytest.raises(ValueError, match="no torch module for RNN"):
        layers_to_module([RNN(2, 3, seed=0)])
    with pytest.raises(TypeError, match="dlcourse layers or a Model"):
        layers_to_module("conv")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        module_to_layers([nn.ReLU()])
