"""``Layer.output_shape``: shape arithmetic that agrees with the forward pass, for every layer
class that ``dlcourse.layers`` exports, and ``Model`` using it instead of a probing forward."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse.layers as L
from dlcourse.layers import (
    GRU,
    LSTM,
    RNN,
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    ConvTranspose2d,
    DropConnect,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    LastStep,
    Layer,
    LayerNorm,
    LearnedPositionalEncoding,
    Linear,
    MaxPool2d,
    MixtureOfExperts,
    Model,
    MultiHeadAttention,
    PerElement,
    Residual,
    Sequential,
    SetPool,
    SinusoidalPositionalEncoding,
    Sum,
    TransformerEncoderLayer,
)
from dlcourse.layers.model import _Identity

# Every layer class exported by dlcourse.layers, with (layer, one example's input shape) cases.
CASES = {
    "Linear": [(lambda: Linear(5, 3, seed=0), (5,))],
    "DropConnect": [(lambda: DropConnect(5, 3, p=0.5, seed=0), (5,))],
    "Activation": [
        (lambda: Activation("relu"), (5,)),
        (lambda: Activation("softmax"), (4,)),
        (lambda: Activation("tanh"), (3, 4, 5)),
    ],
    "Dropout": [(lambda: Dropout(0.3, seed=0), (6,)), (lambda: Dropout(0.5, seed=0), (2, 3, 4))],
    "Conv2d": [
        (lambda: Conv2d(3, 4, 3, seed=0), (3, 8, 8)),
        (lambda: Conv2d(2, 5, 3, stride=2, padding=1, seed=0), (2, 9, 6)),
        (lambda: Conv2d(1, 2, 3, stride=2, dilation=2, seed=0), (1, 11, 7)),
        (lambda: Conv2d(2, 3, 4, stride=3, padding=2, dilation=2, seed=0), (2, 10, 13)),
    ],
    "MaxPool2d": [(lambda: MaxPool2d(2), (3, 8, 8)), (lambda: MaxPool2d(3, stride=2), (2, 9, 7))],
    "AvgPool2d": [(lambda: AvgPool2d(2), (3, 7, 8)), (lambda: AvgPool2d(3, stride=1), (1, 5, 6))],
    "GlobalAvgPool2d": [(GlobalAvgPool2d, (4, 5, 6))],
    "Flatten": [(Flatten, (3, 4, 5)), (Flatten, (7,))],
    "ConvTranspose2d": [
        (lambda: ConvTranspose2d(3, 2, 3, seed=0), (3, 4, 5)),
        (
            lambda: ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, seed=0),
            (3, 5, 4),
        ),
        (lambda: ConvTranspose2d(1, 2, 3, dilation=2, output_padding=1, seed=0), (1, 4, 4)),
    ],
    "BatchNorm1d": [(lambda: BatchNorm1d(4), (4,))],
    "BatchNorm2d": [(lambda: BatchNorm2d(3), (3, 5, 4))],
    "LayerNorm": [
        (lambda: LayerNorm(6), (4, 6)),
        (lambda: LayerNorm((3, 4)), (2, 3, 4)),
        (lambda: LayerNorm(5), (5,)),
    ],
    "Embedding": [
        (lambda: Embedding(10, 4, seed=0), (7,)),
        (lambda: Embedding(10, 3, seed=0), (2, 3)),
    ],
    "SinusoidalPositionalEncoding": [(lambda: SinusoidalPositionalEncoding(6), (5, 6))],
    "LearnedPositionalEncoding": [(lambda: LearnedPositionalEncoding(8, 6, seed=0), (5, 6))],
    "MultiHeadAttention": [
        (lambda: MultiHeadAttention(8, 2, seed=0), (5, 8)),
        (lambda: MultiHeadAttention(6, 3, causal=True, seed=0), (4, 6)),
    ],
    "RNN": [(lambda: RNN(3, 5, seed=0), (4, 3)), (lambda: RNN(3, 2, "relu", seed=0), (1, 3))],
    "LSTM": [(lambda: LSTM(3, 5, seed=0), (4, 3))],
    "GRU": [(lambda: GRU(2, 4, seed=0), (6, 2))],
    "LastStep": [(LastStep, (4, 3))],
    "PerElement": [
        (lambda: PerElement(Linear(3, 2, seed=0)), (5, 3)),
        (lambda: PerElement(Sequential([Linear(3, 4, seed=0), Activation("relu")])), (2, 3)),
    ],
    "SetPool": [(lambda: SetPool("max"), (6, 3)), (lambda: SetPool("mean"), (6, 3))],
    "MixtureOfExperts": [
        (
            lambda: MixtureOfExperts(
                [
                    Linear(4, 3, seed=0),
                    Sequential([Linear(4, 5, seed=1), Activation("relu"), Linear(5, 3, seed=2)]),
                ],
                Linear(4, 2, seed=3),
            ),
            (4,),
        )
    ],
    "TransformerEncoderLayer": [
        (lambda: TransformerEncoderLayer(8, 2, dim_feedforward=16, seed=0), (5, 8)),
        (lambda: TransformerEncoderLayer(6, 3, norm_first=False, causal=True, seed=0), (4, 6)),
    ],
    "Sequential": [
        (
            lambda: Sequential(
                [
                    Conv2d(1, 4, 3, padding=1, seed=0),
                    Activation("relu"),
                    MaxPool2d(2),
                    Flatten(),
                    Linear(64, 5, seed=1),
                ]
            ),
            (1, 8, 8),
        ),
        (
            lambda: Sequential(
                [
                    Embedding(9, 6, seed=0),
                    SinusoidalPositionalEncoding(6),
                    TransformerEncoderLayer(6, 2, seed=1),
                    LSTM(6, 4, seed=2),
                    LastStep(),
                    Linear(4, 2, seed=3),
                ]
            ),
            (5,),
        ),
        (
            lambda: Sequential(
                [
                    Sequential([Linear(4, 6, seed=0)]),
                    Sequential(
                        [Residual([Linear(6, 6, seed=1), Activation("tanh")]), Linear(6, 2, seed=2)]
                    ),
                ]
            ),
            (4,),
        ),
    ],
    "Residual": [
        (lambda: Residual([Linear(4, 4, seed=0), Activation("tanh")]), (4,)),
        (
            lambda: Residual(Sequential([Conv2d(2, 2, 3, padding=1, seed=0), BatchNorm2d(2)])),
            (2, 5, 5),
        ),
    ],
    "Concat": [
        (
            lambda: Concat(
                [
                    Linear(4, 3, seed=0),
                    Sequential([Linear(4, 2, seed=1), Activation("relu")]),
                    Residual(Linear(4, 4, seed=2)),
                ]
            ),
            (4,),
        ),
        (lambda: Concat([Conv2d(2, 3, 3, padding=1, seed=0), Conv2d(2, 1, 1, seed=1)]), (2, 5, 6)),
    ],
    "Sum": [
        (
            lambda: Sum(
                [Linear(4, 3, seed=0), Sequential([Linear(4, 3, seed=1), Activation("sigmoid")])]
            ),
            (4,),
        ),
        (lambda: Sum([Conv2d(2, 3, 3, padding=1, seed=0), Conv2d(2, 3, 1, seed=1)]), (2, 4, 5)),
    ],
}


def _exported_layer_classes() -> set[str]:
    return {
        name
        for name in L.__all__
        if isinstance(getattr(L, name), type)
        and issubclass(getattr(L, name), Layer)
        and getattr(L, name) is not Layer
    }


def _example(layer, shape, m=3, seed=0):
    rng = np.random.default_rng(seed)
    while layer.children:  # the first layer to see the input
        layer = layer.children[0]
    if isinstance(layer, Embedding):
        return rng.integers(0, layer.num_embeddings, (m, *shape))
    return rng.standard_normal((m, *shape))


def test_every_exported_layer_class_has_cases_and_declares_its_shape():
    exported = _exported_layer_classes()
    assert exported == set(CASES), "a layer exported by dlcourse.layers needs cases here"
    for name in exported:
        assert getattr(L, name).output_shape is not Layer.output_shape, (
            f"{name} falls back to the probing forward pass"
        )
    assert _Identity.output_shape is not Layer.output_shape


@pytest.mark.parametrize(
    "name, make, shape",
    [(name, make, shape) for name, cases in CASES.items() for make, shape in cases],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_output_shape_matches_forward(name, make, shape, monkeypatch):
    layer = make()
    calls = []
    for leaf in [layer, *_descendants(layer)]:  # no forward pass while shapes are inferred
        monkeypatch.setattr(leaf, "forward", lambda *a, **k: calls.append(1), raising=False)
    predicted = layer.output_shape(shape)
    assert calls == []
    monkeypatch.undo()
    assert isinstance(predicted, tuple) and all(isinstance(n, int) for n in predicted)
    out = layer.forward(_example(layer, shape), training=False)
    assert predicted == out.shape[1:], f"{name} on {shape}"


def _descendants(layer):
    for child in layer.children:
        yield child
        yield from _descendants(child)


def test_identity_body_of_a_model():
    assert _Identity().output_shape((3, 4)) == (3, 4)


BAD = [
    (
        lambda: Linear(64, 10),
        (63,),
        r"Linear expects input of shape \(m, 64\); got shape \(m, 63\)",
    ),
    (
        lambda: Linear(4, 2),
        (2, 4),
        r"Linear expects input of shape \(m, 4\); got shape \(m, 2, 4\)",
    ),
    (lambda: DropConnect(4, 2), (3,), r"DropConnect expects input of shape \(m, 4\)"),
    (
        lambda: Conv2d(3, 4, 3),
        (1, 8, 8),
        r"Conv2d expects input of shape \(m, 3, H, W\); got shape \(m, 1, 8, 8\)",
    ),
    (lambda: Conv2d(1, 4, 3), (8, 8), r"Conv2d expects input of shape \(m, C, H, W\) \(4 axes\)"),
    (
        lambda: Conv2d(1, 1, 5),
        (1, 3, 9),
        r"Conv2d: kernel_size 5 is larger than the padded input \(3 \+ 2·0 = 3\)",
    ),
    (
        lambda: Conv2d(1, 1, 5, padding=1),
        (1, 9, 2),
        r"Conv2d: kernel_size 5 is larger than the padded input \(2 \+ 2·1 = 4\)",
    ),
    (
        lambda: Conv2d(1, 1, 3, dilation=3),
        (1, 6, 9),
        r"Conv2d: dilated kernel \(3·\(3 − 1\) \+ 1 = 7\) is larger",
    ),
    (lambda: MaxPool2d(4), (2, 3, 3), r"MaxPool2d: kernel_size 4 is larger"),
    (lambda: AvgPool2d(2), (5, 5), r"AvgPool2d expects input of shape \(m, C, H, W\)"),
    (GlobalAvgPool2d, (4, 5), r"GlobalAvgPool2d expects input of shape \(m, C, H, W\)"),
    (lambda: ConvTranspose2d(2, 1, 3), (3, 4, 4), r"ConvTranspose2d expects input of shape \(m, 2"),
    (
        lambda: ConvTranspose2d(1, 1, 1, padding=1),
        (1, 1, 1),
        r"ConvTranspose2d output size .* is not positive",
    ),
    (Flatten, (), r"Flatten expects an array of shape \(m, ...\); got \(m\)"),
    (
        lambda: BatchNorm1d(3),
        (4,),
        r"BatchNorm1d expects input of shape \(m, 3\); got shape \(m, 4\)",
    ),
    (lambda: BatchNorm2d(3), (2, 4, 4), r"BatchNorm2d expects input of shape \(m, 3, H, W\)"),
    (lambda: LayerNorm(5), (3, 4), r"LayerNorm expects input of shape \(\.\.\., 5\)"),
    (lambda: LayerNorm((2, 3)), (3,), r"LayerNorm expects input of shape \(\.\.\., 2, 3\)"),
    (
        lambda: SinusoidalPositionalEncoding(6),
        (5, 4),
        r"SinusoidalPositionalEncoding expects input of shape \(m, T, 6\) \(batch first\); "
        r"got \(m, 5, 4\)",
    ),
    (lambda: LearnedPositionalEncoding(4, 6), (5, 6), r"holds 4 positions \(max_len\)"),
    (
        lambda: MultiHeadAttention(8, 2),
        (5, 6),
        r"MultiHeadAttention expects the query x of shape \(m, T, 8\)",
    ),
    (
        lambda: RNN(3, 5),
        (4, 2),
        r"RNN expects input of shape \(m, T, 3\) \(batch first\); "
        r"got \(m, 4, 2\)",
    ),
    (lambda: LSTM(3, 5), (3,), r"LSTM expects input of shape \(m, T, 3\)"),
    (lambda: GRU(3, 5), (2, 2, 3), r"GRU expects input of shape \(m, T, 3\)"),
    (LastStep, (3,), r"LastStep expects input of shape \(m, T, d\); got \(m, 3\)"),
    (lambda: PerElement(Linear(3, 2)), (3,), r"PerElement expects input of shape \(m, T, d\)"),
    (lambda: PerElement(Linear(3, 2)), (5, 4), r"Linear expects input of shape \(m, 3\)"),
    (SetPool, (3,), r"SetPool expects input of shape \(m, k, d\)"),
    (
        lambda: TransformerEncoderLayer(8, 2),
        (5, 6),
        r"TransformerEncoderLayer expects input of shape \(m, T, 8\)",
    ),
    (
        lambda: Residual(Linear(4, 3)),
        (4,),
        r"Residual needs F\(x\) with the shape of x \(m, 4\); got \(m, 3\)",
    ),
    (lambda: Sum([Linear(4, 3), Linear(4, 2)]), (4,), r"Sum needs branches of one shape"),
    (
        lambda: Concat([Conv2d(1, 1, 3), Conv2d(1, 1, 1)]),
        (1, 5, 5),
        r"Concat needs branches whose outputs differ only in the feature axis",
    ),
    (
        lambda: MixtureOfExperts([Linear(4, 3), Linear(4, 3)], Linear(4, 3)),
        (4,),
        r"MixtureOfExperts: the gate must output one logit per expert, shape \(m, 2\); "
        r"got \(m, 3\)",
    ),
    (
        lambda: MixtureOfExperts([Linear(4, 3), Linear(4, 2)], Linear(4, 2)),
        (4,),
        r"MixtureOfExperts needs experts of one output shape",
    ),
    (
        lambda: Sequential([Linear(4, 3), Activation("relu"), Linear(4, 2)]),
        (4,),
        r"Linear expects input of shape \(m, 4\); got shape \(m, 3\)",
    ),
]


@pytest.mark.parametrize("make, shape, message", BAD)
def test_bad_input_shape_is_a_value_error_and_forward_refuses_it_too(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=message):
        layer.output_shape(shape)
    with pytest.raises(ValueError):
        layer.forward(np.zeros((2, *shape)), training=False)


def test_forward_words_agree_with_output_shape_words():
    """Where the forward pass checks, its message is output_shape's with the batch size for m."""
    for layer, shape in [
        (Linear(64, 10), (63,)),
        (Conv2d(3, 4, 3), (1, 8, 8)),
        (RNN(3, 5), (4, 2)),
        (BatchNorm1d(3), (4,)),
    ]:
        with pytest.raises(ValueError) as shape_err:
            layer.output_shape(shape)
        with pytest.raises(ValueError) as forward_err:
            layer.forward(np.zeros((2, *shape)), training=False)
        head, tail = str(shape_err.value).split("got ")
        assert f"{head}got {tail.replace('(m, ', '(2, ')}" == str(forward_err.value)


class _Counting(Linear):
    """A Linear layer that records the ``training`` flag of every forward call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def forward(self, x, training=True):
        self.calls.append(training)
        return super().forward(x, training)


def test_model_input_checks_run_no_forward_pass():
    first = _Counting(4, 3, seed=0)
    model = Model([first, Activation("softmax")], "cross_entropy")
    X, y = np.random.default_rng(0).standard_normal((5, 4)), np.array([0, 1, 2, 0, 1])
    X_checked = model._check_X(X)
    assert first.calls == [] and model._n_out() == 3
    assert model._check_Y(y, 5).shape == (5, 3)
    model.gradients(X, y)
    assert first.calls == [True], "one training forward for the gradients, no probe"
    first.calls.clear()
    model.cost(X_checked, y)
    assert first.calls == [False], "one inference forward for the cost, no probe"
    first.calls.clear()
    with pytest.raises(
        ValueError,
        match=r"_Counting expects input of shape \(m, 4\); got shape "
        r"\(m, 5\)",
    ):
        model.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2"):
        model.gradients(X, np.array([0, 1, 3, 0, 1]))
    assert first.calls == []


def test_model_output_width_is_the_last_axis_of_the_output_shape():
    rnn = Model([RNN(3, 5, seed=0), LastStep(), Linear(5, 4, seed=1), Activation("softmax")])
    X = np.random.default_rng(1).standard_normal((6, 7, 3))
    rnn._check_X(X)
    assert rnn._n_out() == 4
    assert rnn.gradients(X, np.array([0, 1, 2, 3, 0, 1]))[0].shape == (5, 3)
    cnn = Model(
        [
            Conv2d(1, 2, 3, padding=1, seed=0),
            MaxPool2d(2),
            Flatten(),
            Linear(2 * 3 * 4, 1, seed=1),
            Activation("sigmoid"),
        ],
        "binary_cross_entropy",
    )
    Xc = np.random.default_rng(2).standard_normal((4, 1, 7, 8))
    cnn._check_X(Xc)
    assert cnn._n_out() == 1
    assert np.isfinite(cnn.cost(Xc, np.array([0.0, 1.0, 1.0, 0.0])))
    with pytest.raises(ValueError, match=r"MaxPool2d: kernel_size 2 is larger"):
        cnn.forward(np.zeros((2, 1, 1, 1)))


class _Doubler(Layer):
    """A user's layer that declares no shape: ``x -> [x, x]`` (twice the features)."""

    def __init__(self):
        self.calls = 0

    def forward(self, x, training=True):
        self.calls += 1
        return np.concatenate([x, x], axis=1)

    def backward(self, dout):
        n = dout.shape[1] // 2
        return dout[:, :n] + dout[:, n:]

    def config(self):
        return {"type": "_Doubler"}


def test_a_user_layer_without_output_shape_works_through_the_fallback():
    doubler = _Doubler()
    assert doubler.output_shape((3,)) == (6,) and doubler.calls == 1
    assert Sequential([Linear(2, 3), doubler]).output_shape((2,)) == (6,)
    model = Model([Linear(2, 3, seed=0), _Doubler(), Activation("softmax")])
    X = np.random.default_rng(3).standard_normal((4, 2))
    model._check_X(X)
    assert model._n_out() == 6
    y = np.array([0, 5, 2, 3])
    grads = model.gradients(X, y)
    assert [g.shape for g in grads] == [(3, 2), (3,)]
    # the fallback's forward pass leaves the gradients those of the training batch:
    eps, W = 1e-6, model.parameters()[0]
    W[0, 0] += eps
    up = model.cost(X, y, training=True)
    W[0, 0] -= 2 * eps
    down = model.cost(X, y, training=True)
    W[0, 0] += eps
    np.testing.assert_allclose(grads[0][0, 0], (up - down) / (2 * eps), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.5"):
        model.gradients(X, np.array([0, 6, 1, 1]))
