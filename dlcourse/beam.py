"""Greedy and beam-search decoding for any model that scores the next token.

A decoder is described by one function ``step(tokens, state) -> (log_probs, new_state)``:
``tokens`` holds the last token of each of ``k`` hypotheses (shape ``(k,)``, integers),
``state`` is the decoder's state for those ``k`` rows (an array, or a tuple or list of
arrays, first axis ``k``; NumPy arrays or torch tensors), ``log_probs`` is ``(k, V)``
(log-probabilities of the next token) and ``new_state`` has the layout of ``state``.

A hypothesis ``y_1 … y_n`` ending in ``eos`` scores ``log p(y) = Σ_t log p(y_t | y_<t, x)``.
Greedy decoding keeps the single best token at every step; beam search keeps the ``B``
highest-scoring prefixes (the *beam*). Log-probabilities are never positive, so a prefix
can only lose score as it grows: once the best finished hypothesis scores at least as well
as every prefix still in the beam, no continuation can beat it and the search stops (the
result is then the most probable sequence among all those the beam kept). With ``B = 1``
beam search is greedy decoding.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int


def _select(state, rows):
    """Rows ``rows`` (an integer array) of a state, a tuple/list of states, or None."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, rows) for s in state)
    return state[rows] if isinstance(state, np.ndarray) else state[list(rows)]


def _as_numpy(log_probs, k: int) -> np.ndarray:
    lp = log_probs.detach().cpu().numpy() if hasattr(log_probs, "detach") else log_probs
    lp = np.asarray(lp, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[0] != k:
        raise ValueError(
            f"step must return log-probabilities of shape (k, V) with k = {k} "
            f"hypotheses; got shape {lp.shape}"
        )
    return lp


def _check(bos, eos, max_len):
    for name, value in (("bos", bos), ("eos", eos)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a token id (an int >= 0); got {value!r}")
    return check_positive_int(max_len, "max_len")


def greedy_decode(step, state, bos: int, eos: int, max_len: int):
    """Decode one sequence by taking the most probable token at every step.

    Returns ``(tokens, score)``: the tokens after ``bos`` up to and excluding ``eos`` (a
    list of ints; ``eos`` never emitted within ``max_len`` steps leaves ``max_len`` tokens)
    and their total log-probability, ``eos`` included when it was emitted.
    """
    max_len = _check(bos, eos, max_len)
    token, tokens, score = bos, [], 0.0
    for _ in range(max_len):
        log_probs, state = step(np.array([token]), state)
        lp = _as_numpy(log_probs, 1)[0]
        token = int(np.argmax(lp))
        score += float(lp[token])
        if token == eos:
            break
        tokens.append(token)
    return tokens, score


def beam_search(step, state, bos: int, eos: int, max_len: int, beam_width: int = 4):
    """The most probable sequence that a beam of ``beam_width`` prefixes finds.

    ``state`` is the decoder state of one example (first axis 1); the beam's ``k`` prefixes
    are decoded as a batch of ``k`` rows. At each step every prefix is extended by every
    token, the ``beam_width`` best extensions are kept, and those that end in ``eos`` move
    to the finished list. Returns ``(tokens, score)`` as :func:`greedy_decode`: the best
    finished hypothesis, or the best prefix when none finished within ``max_len`` steps.
    """
    max_len = _check(bos, eos, max_len)
    B = check_positive_int(beam_width, "beam_width")
    prefixes, scores = [[]], np.zeros(1)
    last = np.array([bos])
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_len):
        log_probs, state = step(last, state)
        lp = _as_numpy(log_probs, len(prefixes))
        total = scores[:, None] + lp  # (k, V): the score of every one-token extension
        flat = np.argsort(-total, axis=None, kind="stable")[:B]
        rows, toks = np.unravel_index(flat, total.shape)
        keep_rows, keep_toks, new_prefixes, new_scores = [], [], [], []
        for r, t in zip(rows, toks):
            s = float(total[r, t])
            if t == eos:
                finished.append((s, prefixes[r]))
            else:
                keep_rows.append(r)
                keep_toks.append(int(t))
                new_prefixes.append(prefixes[r] + [int(t)])
                new_scores.append(s)
        best_done = max((s for s, _ in finished), default=-np.inf)
        if not new_prefixes or best_done >= max(new_scores):
            break
        prefixes, scores = new_prefixes, np.array(new_scores)
        last = np.array(keep_toks)
        state = _select(state, np.array(keep_rows))
    else:
        finished.extend(zip(scores.tolist(), prefixes))
    score, tokens = max(finished, key=lambda f: f[0])
    return list(tokens), float(score)


__all__ = ["beam_search", "greedy_decode"]
