"""The encoder–decoder GRU (PyTorch): recurrences equal to the course's GRU, decoding
consistent with beam search, learning on a small reversal task."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlcourse.beam import beam_search  # noqa: E402
from dlcourse.data.sequences import BOS, EOS, PAD, reversal_task, strip  # noqa: E402
from dlcourse.layers import GRU  # noqa: E402
from dlcourse.seq2seq import Seq2Seq, evaluate, exact_match, shift_right, train_seq2seq  # noqa: E402


def test_encoder_and_decoder_are_the_course_gru():
    model = Seq2Seq(hidden=6, embed=5, attention=False, seed=1).double()
    src, tgt = reversal_task(3, 2, 4, seed=0)
    states, _, _, s0 = model.encode(src)
    gru = GRU(5, 6)
    for p, t in zip(
        gru.params,
        (
            model.encoder.weight_ih_l0,
            model.encoder.weight_hh_l0,
            model.encoder.bias_ih_l0,
            model.encoder.bias_hh_l0,
        ),
    ):
        p[...] = t.detach().numpy()
    x = model.src_embed(torch.from_numpy(src)).detach().numpy()
    np.testing.assert_allclose(gru.forward(x), states.detach().numpy(), rtol=1e-12, atol=1e-14)
    cell = model.decoder
    for p, t in zip(gru.params, (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)):
        p[...] = t.detach().numpy()
    e = model.tgt_embed(torch.from_numpy(shift_right(tgt)[:, :1])).detach().numpy()
    s1 = cell(torch.from_numpy(e[:, 0]), s0).detach().numpy()
    np.testing.assert_allclose(
        gru.forward(e, h0=s0.detach().numpy())[:, 0], s1, rtol=1e-12, atol=1e-14
    )


def test_shift_right_and_exact_match():
    tgt = np.array([[3, 4, EOS, PAD], [5, EOS, PAD, PAD]])
    np.testing.assert_array_equal(shift_right(tgt), [[BOS, 3, 4, EOS], [BOS, 5, EOS, PAD]])
    pred = np.array([[3, 4, EOS, 7], [5, 6, EOS, PAD]])
    np.testing.assert_array_equal(exact_match(pred, tgt), [True, False])
    np.testing.assert_array_equal(exact_match(np.array([[3, 4, 1, 1]]), tgt[:1]), [False])


@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_learns_and_greedy_equals_beam_of_one(attention):
    src, tgt = reversal_task(3000, 2, 4, seed=0)
    ts, tt = reversal_task(100, 2, 4, seed=1)
    model = Seq2Seq(hidden=32, embed=16, attention=attention, seed=0)
    before = evaluate(model, ts, tt)
    losses = train_seq2seq(model, src, tgt, steps=250, batch_size=32, lr=1e-2, seed=0)
    after = evaluate(model, ts, tt)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    assert after["tf_loss"] < 0.5 * before["tf_loss"] and after["exact_match"] > 0.5
    assert after["tf_token_acc"] >= after["free_token_acc"] - 1e-12
    greedy = model.greedy(ts[:20], tt.shape[1])
    for row, g in zip(ts[:20], greedy):
        step, state = model.stepper(row)
        tokens, _ = beam_search(step, state, BOS, EOS, tt.shape[1], beam_width=1)
        assert tokens == strip(g)
    if attention:
        model(ts, shift_right(tt))
        a = model.alignments.numpy()
        assert a.shape == (100, tt.shape[1], ts.shape[1])
        np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-6)
        assert np.all(a[np.broadcast_to((ts == PAD)[:, None, :], a.shape)] == 0)  # pads masked
