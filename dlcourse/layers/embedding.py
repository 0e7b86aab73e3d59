"""Token embeddings and positional encodings for sequence models, batch first.

- :class:`Embedding`: token ids ``(m, T)`` to vectors ``(m, T, d)`` by a table lookup
  (``torch.nn.Embedding``);
- :class:`SinusoidalPositionalEncoding`: adds the fixed sines and cosines of Vaswani et al.
  (2017), :func:`sinusoidal_encoding`;
- :class:`LearnedPositionalEncoding`: adds a trained vector per position (as GPT-2, BERT).

Attention treats its inputs as a set: permuting the positions of ``x`` permutes the outputs
and nothing else. A positional encoding added to the token vectors is what tells the model
where each token sits.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers.base import Layer, _cached, _dtype, batch_shape


def _sequence_error(layer: str, d_model: int, shown) -> ValueError:
    return ValueError(f"{layer} expects input of shape (m, T, {d_model}) (batch first); "
                      f"got {shown}")  # fmt: skip


def _check_sequence(layer: str, x, d_model: int):
    if not hasattr(x, "ndim") or x.ndim != 3 or x.shape[2] != d_model:
        raise _sequence_error(layer, d_model, tuple(getattr(x, "shape", ())) or type(x).__name__)


def _check_sequence_shape(layer: str, input_shape, d_model: int) -> tuple[int, int]:
    """One example's shape ``(T, d_model)``, checked as :func:`_check_sequence` checks a batch."""
    shape = tuple(input_shape)
    if len(shape) != 2 or shape[1] != d_model:
        raise _sequence_error(layer, d_model, batch_shape(shape))
    return shape


class Embedding(Layer):
    """A lookup table ``W`` of shape ``(num_embeddings, embedding_dim)``: row ``i`` is the vector
    of token ``i``. ``out[..., :] = W[ids[...]]``, so ids ``(m, T)`` give ``(m, T, d)``.

    The lookup equals a Linear layer without bias applied to one-hot rows, ``onehot(ids) W``;
    hence the backward pass adds every ``dout`` row to the row of ``W`` it came from,
    ``∂L/∂W[i] = Σ_{positions with id i} dout`` (``np.add.at``, which accumulates repeated
    ids). The ids are not differentiable: ``backward`` returns zeros of their shape.

    ``W`` is drawn from N(0, 1) like torch's. ``padding_idx``: that row starts at zero and
    receives no gradient (a padding token that stays the zero vector). Ids may be an integer
    array or a float array of whole numbers (``Model`` hands its inputs over as floats).
    No L2 decay acts on ``W`` (``decayed()`` is empty).
    """

    input_ndim = 2  # (m, T) token ids

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, seed=None, rng=None,
                 dtype="float64"):  # fmt: skip
        self.num_embeddings = check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            ok = isinstance(padding_idx, (int, np.integer)) and not isinstance(padding_idx, bool)
            if not ok or not 0 <= padding_idx < self.num_embeddings:
                raise ValueError(f"padding_idx must be None or an id in [0, "
                                 f"{self.num_embeddings}); got {padding_idx!r}")  # fmt: skip
            padding_idx = int(padding_idx)
        self.padding_idx, self.dtype = padding_idx, _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        shape = (self.num_embeddings, self.embedding_dim)
        self.W = rng.standard_normal(shape).astype(self.dtype)
        if padding_idx is not None:
            self.W[padding_idx] = 0.0
        self.grad_W = np.zeros_like(self.W)
        self._ids = None

    @property
    def params(self):
        return [self.W]

    @property
    def grads(self):
        return [self.grad_W]

    def _check_ids(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim == 0:
            raise ValueError("Embedding expects an array of token ids, e.g. shape (m, T); got a "
                             "scalar")  # fmt: skip
        if np.issubdtype(ids.dtype, np.floating):
            if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
                raise TypeError("Embedding expects integer token ids; got floats that are not "
                                "whole numbers")  # fmt: skip
        elif not np.issubdtype(ids.dtype, np.integer) or ids.dtype == np.bool_:
            raise TypeError(f"Embedding expects integer token ids; got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise ValueError(f"token ids must lie in [0, {self.num_embeddings}); got "
                             f"{int(bad)}")  # fmt: skip
        return ids.astype(np.intp)

    def forward(self, x, training=True):
        ids = self._check_ids(x)
        self._ids, self._in = ids, np.asarray(x)
        return self.W[ids]

    def backward(self, dout):
        ids = _cached(self, self._ids)
        expected = (*ids.shape, self.embedding_dim)
        if tuple(dout.shape) != expected:
            raise ValueError(f"Embedding.backward expects dout of shape {expected}; "
                             f"got {tuple(dout.shape)}")  # fmt: skip
        self.grad_W = np.zeros_like(self.W)
        np.add.at(self.grad_W, ids.reshape(-1), dout.reshape(-1, self.embedding_dim))
        if self.padding_idx is not None:
            self.grad_W[self.padding_idx] = 0.0
        dtype = self._in.dtype if np.issubdtype(self._in.dtype, np.floating) else self.dtype
        return np.zeros(ids.shape, dtype=dtype)

    def output_shape(self, input_shape):
        """``(T,) -> (T, embedding_dim)``: a vector for every id, whatever the ids' shape."""
        return (*input_shape, self.embedding_dim)

    def config(self):
        return {"type": "Embedding", "num_embeddings": self.num_embeddings,
                "embedding_dim": self.embedding_dim, "padding_idx": self.padding_idx,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


def _check_base(base) -> float:
    ok = isinstance(base, (int, float, np.integer, np.floating)) and not isinstance(base, bool)
    if not (ok and np.isfinite(base) and base > 1):
        raise ValueError(f"base must be a number > 1; got {base!r}")
    return float(base)


def sinusoidal_encoding(T: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The ``(T, d_model)`` matrix of Vaswani et al. (2017), float64::

        PE[t, 2i]     = sin(t / base^(2i/d_model))
        PE[t, 2i + 1] = cos(t / base^(2i/d_model))

    Column pair i is a rotation with wavelength from 2π (i = 0) to ``base``·2π, so
    ``PE[t + k]`` is a fixed linear function of ``PE[t]`` for every offset k. An odd
    ``d_model`` drops the last cosine.
    """
    T = check_positive_int(T, "T")
    d_model = check_positive_int(d_model, "d_model")
    base = _check_base(base)
    t = np.arange(T, dtype=np.float64)[:, None]
    freq = base ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    pe = np.zeros((T, d_model))
    pe[:, 0::2] = np.sin(t * freq)
    pe[:, 1::2] = np.cos(t * freq[: d_model // 2])
    return pe


class SinusoidalPositionalEncoding(Layer):
    """``out = x + PE[:T]`` with the fixed :func:`sinusoidal_encoding` (no parameters).

    ``x``: ``(m, T, d_model)``, any T. Backward is the identity, ``dx = dout``. (The paper also
    multiplies the embeddings by √d_model before the addition; put that in the embedding's
    initial scale, or leave it out, as most small models do.)
    """

    input_ndim = 3

    def __init__(self, d_model, base=10000.0):
        self.d_model = check_positive_int(d_model, "d_model")
        self.base = _check_base(base)
        self._table = np.zeros((0, self.d_model))
        self._shape = None

    def table(self, T: int) -> np.ndarray:
        """``PE[:T]``, shape ``(T, d_model)``, computed once for the longest T seen."""
        if T > self._table.shape[0]:
            self._table = sinusoidal_encoding(T, self.d_model, self.base)
        return self._table[:T]

    def forward(self, x, training=True):
        _check_sequence("SinusoidalPositionalEncoding", x, self.d_model)
        self._shape = x.shape
        return x + self.table(x.shape[1]).astype(x.dtype, copy=False)

    def backward(self, dout):
        _cached(self, self._shape)
        return dout

    def output_shape(self, input_shape):
        """``(T, d_model)``, unchanged."""
        return _check_sequence_shape("SinusoidalPositionalEncoding", input_shape, self.d_model)

    def config(self):
        return {"type": "SinusoidalPositionalEncoding", "d_model": self.d_model,
                "base": self.base}  # fmt: skip


class LearnedPositionalEncoding(Layer):
    """``out = x + P[:T]`` with a trained table ``P`` of shape ``(max_len, d_model)``.

    ``x``: ``(m, T, d_model)`` with ``T ≤ max_len``. ``P`` is drawn from N(0, ``std``²)
    (std 0.02 as GPT-2). Backward: ``dx = dout``, ``∂L/∂P[t] = Σ_rows dout[:, t]`` for
    ``t < T`` and zero for the positions the batch did not reach. No L2 decay acts on ``P``.
    """

    input_ndim = 3

    def __init__(self, max_len, d_model, std=0.02, seed=None, rng=None, dtype="float64"):
        self.max_len = check_positive_int(max_len, "max_len")
        self.d_model = check_positive_int(d_model, "d_model")
        if not (np.isfinite(std) and std >= 0):
            raise ValueError(f"std must be a number >= 0; got {std!r}")
        self.std, self.dtype = float(std), _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        shape = (self.max_len, self.d_model)
        self.P = (self.std * rng.standard_normal(shape)).astype(self.dtype)
        self.grad_P = np.zeros_like(self.P)
        self._T = None

    @property
    def params(self):
        return [self.P]

    @property
    def grads(self):
        return [self.grad_P]

    def forward(self, x, training=True):
        _check_sequence("LearnedPositionalEncoding", x, self.d_model)
        if x.shape[1] > self.max_len:
            raise ValueError(f"LearnedPositionalEncoding holds {self.max_len} positions "
                             f"(max_len); got a sequence of length {x.shape[1]}")  # fmt: skip
        self._T = x.shape[1]
        return x + self.P[: self._T]

    def backward(self, dout):
        T = _cached(self, self._T)
        self.grad_P = np.zeros_like(self.P)
        self.grad_P[:T] = dout.sum(axis=0)
        return dout

    def output_shape(self, input_shape):
        """``(T, d_model)``, unchanged, for ``T ≤ max_len``."""
        T, d = _check_sequence_shape("LearnedPositionalEncoding", input_shape, self.d_model)
        if T > self.max_len:
            raise ValueError(f"LearnedPositionalEncoding holds {self.max_len} positions "
                             f"(max_len); got a sequence of length {T}")  # fmt: skip
        return (T, d)

    def config(self):
        return {"type": "LearnedPositionalEncoding", "max_len": self.max_len,
                "d_model": self.d_model, "std": self.std,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


__all__ = [
    "Embedding",
    "LearnedPositionalEncoding",
    "SinusoidalPositionalEncoding",
    "sinusoidal_encoding",
]
