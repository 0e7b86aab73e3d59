"""Beam search, greedy decoding and temperature sampling against brute force and closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlcourse.beam import beam_search, greedy_decode
from dlcourse.sampling import sample_with_temperature, softmax_with_temperature

V, EOS, BOS = 4, 3, 4  # tokens 0..3, 3 = EOS; BOS is an extra input id


def toy_decoder(seed):
    """A decoder whose next-token distribution depends on the whole prefix (hashed into a
    random table): the state of each hypothesis is its prefix, a tuple in an object array."""
    rng = np.random.default_rng(seed)
    table = rng.normal(scale=2.0, size=(997, V))

    def logp(prefix):
        z = table[hash(prefix) % 997]
        return z - np.log(np.exp(z).sum())

    def step(tokens, state):
        new = np.empty(len(tokens), dtype=object)
        for i, (t, prefix) in enumerate(zip(tokens, state)):
            new[i] = prefix + ((int(t),) if t != BOS else ())
        return np.stack([logp(p) for p in new]), new

    start = np.empty(1, dtype=object)
    start[0] = ()
    return step, start, logp


def brute_force(logp, max_len):
    """The most probable sequence ending in EOS within max_len tokens, by enumeration."""
    best = (-np.inf, None)
    for n in range(max_len):
        for body in itertools.product(range(V - 1), repeat=n):
            s = sum(logp(body[:i])[body[i]] for i in range(n)) + logp(body)[EOS]
            best = max(best, (s, list(body)), key=lambda b: b[0])
    return best


@pytest.mark.parametrize("seed", range(6))
def test_beam_of_one_is_greedy(seed):
    step, state, _ = toy_decoder(seed)
    assert beam_search(step, state, BOS, EOS, 6, beam_width=1) == greedy_decode(
        step, state, BOS, EOS, 6
    )


@pytest.mark.parametrize("seed", range(6))
def test_wide_beam_finds_the_most_probable_sequence(seed):
    step, state, logp = toy_decoder(seed)
    best_score, best_tokens = brute_force(logp, 4)
    tokens, score = beam_search(step, state, BOS, EOS, 4, beam_width=V**4)
    assert tokens == best_tokens
    assert score == pytest.approx(best_score, abs=1e-12)
    # a beam never scores below greedy on a finished hypothesis here
    assert score >= greedy_decode(step, state, BOS, EOS, 4)[1] - 1e-12


def test_greedy_score_is_the_sum_of_its_log_probabilities():
    step, state, logp = toy_decoder(3)
    tokens, score = greedy_decode(step, state, BOS, EOS, 8)
    expected = sum(logp(tuple(tokens[:i]))[tokens[i]] for i in range(len(tokens)))
    if len(tokens) < 8:
        expected += logp(tuple(tokens))[EOS]
    assert score == pytest.approx(expected, abs=1e-12)


def test_decoding_bad_input():
    step, state, _ = toy_decoder(0)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(step, state, BOS, EOS, 0)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(step, state, BOS, EOS, 3, beam_width=0)
    with pytest.raises(ValueError, match="eos"):
        beam_search(step, state, BOS, -1, 3)
    with pytest.raises(ValueError, match=r"shape \(k, V\)"):
        greedy_decode(lambda t, s: (np.zeros(V), s), state, BOS, EOS, 3)


def test_temperature_limits_and_distribution():
    z = np.array([2.0, 1.0, 0.0, -1.0])
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(softmax_with_temperature(z, 1.0), p, rtol=1e-14)
    np.testing.assert_array_equal(softmax_with_temperature(z, 0.0), [1, 0, 0, 0])
    np.testing.assert_allclose(softmax_with_temperature(z, 1e6), np.full(4, 0.25), atol=1e-5)
    sharp = softmax_with_temperature(z, 0.5)
    np.testing.assert_allclose(sharp, p**2 / np.sum(p**2), rtol=1e-12)
    assert sample_with_temperature(z, 0.0, rng=1) == 0
    draws = sample_with_temperature(np.tile(z, (40000, 1)), 1.0, rng=np.random.default_rng(5))
    freq = np.bincount(draws, minlength=4) / len(draws)
    # four binomial standard errors at most
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / len(draws)))


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        softmax_with_temperature([1.0, 2.0], -1.0)
    with pytest.raises(ValueError, match="finite"):
        softmax_with_temperature([1.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="shape"):
        softmax_with_temperature(np.zeros((2, 2, 2)), 1.0)
