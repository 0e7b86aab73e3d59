"""dlcourse.cnn_models: LeNet-5, the VGG-style network and the small ResNet of Chapter 12 —
shapes, parameter counts from the architectures' own arithmetic, torch parity in float64,
and the saliency maps of dlcourse.saliency against torch autograd."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.cnn_models import basic_block, lenet5, resnet, vgg_net
from dlcourse.layers import Residual, Sum, summary
from dlcourse.saliency import class_scores, saliency, score_gradient

torch = pytest.importorskip("torch")

from test_torchlayers import randomise  # noqa: E402 (non-trivial γ, β and running statistics)

from dlcourse.torchlayers import layers_to_module  # noqa: E402

TOL = 1e-10


def images(m=4, seed=0):
    return np.random.default_rng(seed).random((m, 1, 28, 28))


def conv_params(c_in, c_out, k):
    return c_out * (c_in * k * k + 1)


def test_lenet5_has_the_published_layer_sizes():
    model = lenet5(seed=0)
    # C1 156, C3 (all 6 maps) 2416, C5 48120, F6 10164, output 850 (LeCun et al. 1998, with
    # a full C3 instead of its 60-pair table)
    expected = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(16, 120, 5)
                + 84 * 121 + 10 * 85)  # fmt: skip
    assert expected == 61706
    s = summary(model, (1, 28, 28))
    assert s.params == expected
    shapes = [row.output_shape[1:] for row in s.rows if row.name.startswith("Conv2d")]
    assert shapes == [(6, 28, 28), (16, 10, 10), (120, 1, 1)]
    # multiply-adds: C1 6·28²·25, C3 16·10²·150, C5 120·400, F6 120·84, output 84·10
    assert s.mult_adds == 6 * 784 * 25 + 16 * 100 * 150 + 120 * 400 + 120 * 84 + 840


def test_vgg_net_blocks_and_counts():
    model = vgg_net((8, 16), convs_per_block=2, seed=0)
    s = summary(model, (1, 28, 28))
    expected = (conv_params(1, 8, 3) + conv_params(8, 8, 3) + conv_params(8, 16, 3)
                + conv_params(16, 16, 3) + 16 * 10 + 10)  # fmt: skip
    assert s.params == expected
    out = model.forward(images())
    assert out.shape == (4, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)


def test_basic_block_shortcuts():
    g = np.random.default_rng(0)
    same = basic_block(8, 8, 1, rng=g)
    assert isinstance(same.children[0], Residual)
    down = basic_block(8, 16, 2, rng=g)
    assert isinstance(down.children[0], Sum)  # projection shortcut
    x = np.random.default_rng(1).standard_normal((2, 8, 7, 7))
    assert down.forward(x).shape == (2, 16, 4, 4)
    assert same.forward(x).shape == x.shape
    assert (down.forward(x) >= 0).all()  # ends in ReLU


def test_resnet_stages_and_bad_widths():
    s = summary(resnet((4, 8, 16), seed=0), (1, 28, 28))
    shapes = [row.output_shape[1:] for row in s.rows if row.name.startswith("Conv2d")]
    # stem, stage 1 (2 convs), stage 2 (2 convs + projection), stage 3 (2 + projection)
    assert shapes[0] == (4, 28, 28) and shapes[-1] == (16, 7, 7)
    assert (8, 14, 14) in shapes and len(shapes) == 1 + 2 + 3 + 3
    with pytest.raises(ValueError, match="widths"):
        resnet(())
    with pytest.raises(ValueError, match="widths"):
        vgg_net((8, 0))


def test_same_seed_same_network_and_seeds_differ():
    a, b, c = resnet(seed=3), resnet(seed=3), resnet(seed=4)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert not np.allclose(a.parameters()[0], c.parameters()[0])


@pytest.mark.parametrize("build", [lenet5, lambda seed: vgg_net((4, 8), seed=seed),
                                   lambda seed: resnet((4, 8), seed=seed)])  # fmt: skip
def test_torch_copy_agrees_in_float64(build):
    model = build(seed=0)
    net = layers_to_module(model)
    X, y = images(6), np.arange(6) % 10
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(X)).numpy(), model.forward(X),
                                   rtol=0, atol=TOL)  # fmt: skip
    grads = [g.copy() for g in model.gradients(X, np.eye(10)[y])]
    net.train()
    loss = torch.nn.functional.nll_loss(torch.log(net(torch.from_numpy(X))), torch.from_numpy(y))
    loss.backward()
    for g, p in zip(grads, net.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("build", [lenet5, lambda seed: resnet((4, 8), seed=seed)])
def test_saliency_matches_torch_autograd(build):
    model = randomise(build(seed=1))
    X, classes = images(5, seed=2), np.array([0, 3, 9, 3, 1])
    S = saliency(model, X, classes)
    assert S.shape == X.shape
    body = layers_to_module(model)[:-1].eval()  # logits: without the final Softmax
    xt = torch.from_numpy(X).requires_grad_(True)
    body(xt)[torch.arange(5), torch.from_numpy(classes)].sum().backward()
    np.testing.assert_allclose(S, xt.grad.numpy(), rtol=0, atol=TOL)
    with torch.no_grad():
        np.testing.assert_allclose(class_scores(model, X), body(torch.from_numpy(X)).numpy(),
                                   rtol=0, atol=TOL)  # fmt: skip


def test_saliency_matches_finite_differences():
    model = randomise(resnet((2, 4), seed=0))
    X = images(1, seed=5)
    S = saliency(model, X, 7)
    h, rng = 1e-6, np.random.default_rng(0)
    for _ in range(5):
        i, j = rng.integers(0, 28, 2)
        up, down = X.copy(), X.copy()
        up[0, 0, i, j] += h
        down[0, 0, i, j] -= h
        fd = (class_scores(model, up)[0, 7] - class_scores(model, down)[0, 7]) / (2 * h)
        assert abs(fd - S[0, 0, i, j]) < 1e-7 * max(1.0, abs(fd))


def test_saliency_rejects_bad_classes():
    model = lenet5(seed=0)
    with pytest.raises(ValueError, match="class indices"):
        saliency(model, images(2), [0, 10])
    with pytest.raises(ValueError, match="class indices"):
        saliency(model, images(2), [0.5, 1])


def test_score_gradient_of_random_signs_matches_torch():
    model = randomise(resnet((2, 4), seed=3))
    X = images(3, seed=4)
    r = np.random.default_rng(0).choice([-1.0, 1.0], size=(3, 10))
    G = score_gradient(model, X, r)
    body = layers_to_module(model)[:-1].eval()
    xt = torch.from_numpy(X).requires_grad_(True)
    (body(xt) * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(G, xt.grad.numpy(), rtol=0, atol=TOL)
    # one-hot directions are the saliency of those classes
    np.testing.assert_allclose(score_gradient(model, X, np.eye(10)[[1, 2, 3]]),
                               saliency(model, X, [1, 2, 3]), rtol=0, atol=TOL)  # fmt: skip
    with pytest.raises(ValueError, match="shape of the scores"):
        score_gradient(model, X, r[:, :5])
