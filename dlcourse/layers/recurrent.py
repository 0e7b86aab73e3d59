"""Recurrent layers on sequences, batch first: :class:`RNN`, :class:`LSTM`, :class:`GRU`, with
backpropagation through time (BPTT), and the two adaptors a sequence model needs:
:class:`LastStep` (keep h_T for sequence classification) and :class:`PerElement` (apply a
layer to every time step or set element).

Shapes (rows are examples): input ``x`` of shape ``(m, T, n_in)``, output the hidden state
at every step ``h`` of shape ``(m, T, n_hidden)``; the initial state is zero unless given.
Parameters are named and laid out as PyTorch's single-layer modules, in this order in
``params``/``grads``:

- ``W_ih`` ``(G·n_hidden, n_in)``, ``W_hh`` ``(G·n_hidden, n_hidden)``, ``b_ih``, ``b_hh``
  ``(G·n_hidden,)``, with G = 1 (RNN), 4 (LSTM, gates i, f, g, o) or 3 (GRU, gates r, z, n);
- initialised, like PyTorch, from U(−1/√n_hidden, 1/√n_hidden).

BPTT: ``backward(dout)`` takes ∂L/∂h_t for every t (shape of the output) and walks the
steps backwards, adding to each ∂L/∂h_t the gradient that flows back from step t + 1; the
parameter gradients are sums over the steps (the weights are shared in time). The weight
gradients are formed in one matrix product over all steps once the per-step errors are known.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.activations import sigmoid as _sigmoid
from dlcourse.layers.base import (
    Layer,
    _cached,
    _check_layers,
    _dtype,
    batch_shape,
    check_sequence,
    check_sequence_shape,
)


class _Recurrent(Layer):
    """Shared parameter set-up, input checks and bookkeeping of the three recurrent layers."""

    gates = 1
    kind = "RNN"
    input_ndim = 3  # (m, T, n_in): Model checks inputs with this many axes

    def __init__(self, n_in, n_hidden, seed=None, rng=None, dtype="float64"):
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_hidden = check_positive_int(n_hidden, "n_hidden")
        self.dtype = _dtype(dtype)
        rng = rng if rng is not None else np.random.default_rng(seed)
        G, H, bound = self.gates, self.n_hidden, 1.0 / np.sqrt(self.n_hidden)

        def uniform(*shape):
            return rng.uniform(-bound, bound, size=shape).astype(self.dtype)

        self.W_ih, self.W_hh = uniform(G * H, self.n_in), uniform(G * H, H)
        self.b_ih, self.b_hh = uniform(G * H), uniform(G * H)
        self.grad_W_ih, self.grad_W_hh = np.zeros_like(self.W_ih), np.zeros_like(self.W_hh)
        self.grad_b_ih, self.grad_b_hh = np.zeros_like(self.b_ih), np.zeros_like(self.b_hh)
        self.grad_h0 = None  # ∂L/∂h_0 after backward, shape (m, n_hidden)
        self._cache = None

    @property
    def params(self):
        return [self.W_ih, self.W_hh, self.b_ih, self.b_hh]

    @property
    def grads(self):
        return [self.grad_W_ih, self.grad_W_hh, self.grad_b_ih, self.grad_b_hh]

    def decayed(self):
        return [self.W_ih, self.W_hh]

    def _check_input(self, x, h0):
        check_sequence(self.kind, "input", x, self.n_in)
        m = x.shape[0]
        if h0 is None:
            return np.zeros((m, self.n_hidden), dtype=x.dtype)
        h0 = np.asarray(h0)
        if h0.shape != (m, self.n_hidden):
            raise ValueError(
                f"{self.kind} initial state must have shape ({m}, {self.n_hidden}); got {h0.shape}"
            )
        return h0

    def output_shape(self, input_shape):
        """``(T, n_in) -> (T, n_hidden)``: the hidden state at every step."""
        T, _ = check_sequence_shape(self.kind, "input", input_shape, self.n_in)
        return (T, self.n_hidden)

    def _weight_grads(self, x, h_prev, dA_ih, dA_hh):
        """Parameter gradients summed over batch and time (BPTT sums over shared weights).

        ``dA_ih``/``dA_hh`` (m, T, G·H): ∂L/∂ of the input and hidden pre-activations.
        """
        X = x.reshape(-1, self.n_in)
        Hp = h_prev.reshape(-1, self.n_hidden)
        dI = dA_ih.reshape(-1, dA_ih.shape[2])
        dH = dA_hh.reshape(-1, dA_hh.shape[2])
        self.grad_W_ih = dI.T @ X
        self.grad_W_hh = dH.T @ Hp
        self.grad_b_ih = dI.sum(axis=0)
        self.grad_b_hh = dH.sum(axis=0)
        return (dI @ self.W_ih).reshape(x.shape)  # ∂L/∂x for every step

    def config(self):
        return {"type": self.kind, "n_in": self.n_in, "n_hidden": self.n_hidden,
                "dtype": np.dtype(self.dtype).name}  # fmt: skip


class RNN(_Recurrent):
    """Elman recurrent layer: ``h_t = g(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)``, g = tanh
    (or ReLU), as ``torch.nn.RNN(batch_first=True)``.

    BPTT, with ``a_t`` the pre-activation and ``dh_t`` the total gradient reaching h_t::

        dh_t = dout_t + da_{t+1} W_hh          (from the output and from step t + 1)
        da_t = dh_t ⊙ g'(a_t)                  (tanh: 1 − h_t²)
        ∂L/∂W_ih = Σ_t da_tᵀ x_t,  ∂L/∂W_hh = Σ_t da_tᵀ h_{t−1},  ∂L/∂b = Σ_t Σ_rows da_t
        ∂L/∂x_t = da_t W_ih
    """

    kind = "RNN"

    def __init__(self, n_in, n_hidden, nonlinearity="tanh", seed=None, rng=None,
                 dtype="float64"):  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(n_in, n_hidden, seed=seed, rng=rng, dtype=dtype)

    def forward(self, x, training=True, h0=None):
        h_prev = self._check_input(x, h0)
        m, T, _ = x.shape
        A_in = x @ self.W_ih.T + self.b_ih  # input part of every step at once, (m, T, H)
        h = np.empty((m, T, self.n_hidden), dtype=A_in.dtype)
        h_start = h_prev
        for t in range(T):
            a_t = A_in[:, t] + h_prev @ self.W_hh.T + self.b_hh
            h_prev = h[:, t] = np.tanh(a_t) if self.nonlinearity == "tanh" else np.maximum(a_t, 0)
        self._cache = (x, h_start, h)
        return h

    def backward(self, dout):
        x, h0, h = _cached(self, self._cache)
        m, T, H = h.shape
        h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)  # h_{t−1} for every t
        da = np.empty_like(h)
        da_next = np.zeros((m, H), dtype=h.dtype)
        for t in reversed(range(T)):
            dh_t = dout[:, t] + da_next @ self.W_hh
            g_prime = 1.0 - h[:, t] ** 2 if self.nonlinearity == "tanh" else (h[:, t] > 0)
            da[:, t] = dh_t * g_prime
            da_next = da[:, t]
        self.grad_h0 = da_next @ self.W_hh
        return self._weight_grads(x, h_prev, da, da)

    def config(self):
        return {**super().config(), "nonlinearity": self.nonlinearity}


class LSTM(_Recurrent):
    """Long short-term memory, as ``torch.nn.LSTM(batch_first=True)``.

    With ``[i, f, g, o] = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh`` split in four::

        i, f, o = σ(·),  g = tanh(·)
        c_t = f ⊙ c_{t−1} + i ⊙ g
        h_t = o ⊙ tanh(c_t)

    BPTT carries two gradients back in time: ∂L/∂h (through W_hh) and ∂L/∂c, which passes
    from c_t to c_{t−1} multiplied only by the forget gate f — the additive path that lets
    gradients survive long lags. ``forward(x, h0=None, c0=None)``.
    """

    gates = 4
    kind = "LSTM"

    def forward(self, x, training=True, h0=None, c0=None):
        h_prev = self._check_input(x, h0)
        c_prev = self._check_input(x, c0)
        m, T, _ = x.shape
        H = self.n_hidden
        A_in = x @ self.W_ih.T + self.b_ih
        h = np.empty((m, T, H), dtype=A_in.dtype)
        c = np.empty_like(h)
        gates = np.empty((m, T, 4 * H), dtype=A_in.dtype)  # activated i, f, g, o
        h_start, c_start = h_prev, c_prev
        for t in range(T):
            a = A_in[:, t] + h_prev @ self.W_hh.T + self.b_hh
            i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H : 2 * H]), _sigmoid(a[:, 3 * H :])
            g = np.tanh(a[:, 2 * H : 3 * H])
            c_prev = c[:, t] = f * c_prev + i * g
            h_prev = h[:, t] = o * np.tanh(c_prev)
            gates[:, t] = np.concatenate([i, f, g, o], axis=1)
        self.c = c  # the cell states, (m, T, n_hidden)
        self._cache = (x, h_start, c_start, h, c, gates)
        return h

    def backward(self, dout):
        x, h0, c0, h, c, gates = _cached(self, self._cache)
        m, T, H = h.shape
        h_prev = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
        c_prev_all = np.concatenate([c0[:, None, :], c[:, :-1]], axis=1)
        dA = np.empty_like(gates)
        dh_next = np.zeros((m, H), dtype=h.dtype)
        dc_next = np.zeros_like(dh_next)
        for t in reversed(range(T)):
            i, f, g, o = np.split(gates[:, t], 4, axis=1)
            dh = dout[:, t] + dh_next
            tanh_c = np.tanh(c[:, t])
            dc = dh * o * (1.0 - tanh_c**2) + dc_next
            dA[:, t, :H] = dc * g * i * (1.0 - i)  # ∂L/∂a_i
            dA[:, t, H : 2 * H] = dc * c_prev_all[:, t] * f * (1.0 - f)  # ∂L/∂a_f
            dA[:, t, 2 * H : 3 * H] = dc * i * (1.0 - g**2)  # ∂L/∂a_g
            dA[:, t, 3 * H :] = dh * tanh_c * o * (1.0 - o)  # ∂L/∂a_o
            dh_next = dA[:, t] @ self.W_hh
            dc_next = dc * f
        self.grad_h0, self.grad_c0 = dh_next, dc_next
        return self._weight_grads(x, h_prev, dA, dA)


class GRU(_Recurrent):
    """Gated recurrent unit, as ``torch.nn.GRU(batch_first=True)``::

        r = σ(x_t W_irᵀ + b_ir + h_{t−1} W_hrᵀ + b_hr)
        z = σ(x_t W_izᵀ + b_iz + h_{t−1} W_hzᵀ + b_hz)
        n = tanh(x_t W_inᵀ + b_in + r ⊙ (h_{t−1} W_hnᵀ + b_hn))
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    (rows r, z, n of ``W_ih``/``W_hh``). The reset gate multiplies the hidden part of n
    *after* its bias, so the input and hidden pre-activation gradients differ in the n block.
    """

    gates = 3
    kind = "GRU"

    def forward(self, x, training=True, h0=None):
        h_prev = self._check_input(x, h0)
        m, T, _ = x.shape
        H = self.n_hidden
        A_in = x @ self.W_ih.T + self.b_ih
        h = np.empty((m, T, H), dtype=A_in.dtype)
        gates = np.empty((m, T, 3 * H), dtype=A_in.dtype)  # r, z, n
        hn_all = np.empty((m, T, H), dtype=A_in.dtype)  # h_{t−1} W_hnᵀ + b_hn
        h_start = h_prev
        for t in range(T):
            a_h = h_prev @ self.W_hh.T + self.b_hh
            r = _sigmoid(A_in[:, t, :H] + a_h[:, :H])
            z = _sigmoid(A_in[:, t, H : 2 * H] + a_h[:, H : 2 * H])
            hn_all[:, t] = a_h[:, 2 * H :]
            n = np.tanh(A_in[:, t, 2 * H :] + r * hn_all[:, t])
            h_prev = h[:, t] = (1.0 - z) * n + z * h_prev
            gates[:, t] = np.concatenate([r, z, n], axis=1)
        self._cache = (x, h_start, h, gates, hn_all)
        return h

    def backward(self, dout):
        x, h0, h, gates, hn_all = _cached(self, self._cache)
        m, T, H = h.shape
        h_prev_all = np.concatenate([h0[:, None, :], h[:, :-1]], axis=1)
        dA_ih = np.empty_like(gates)
        dA_hh = np.empty_like(gates)
        dh_next = np.zeros((m, H), dtype=h.dtype)
        for t in reversed(range(T)):
            r, z, n = np.split(gates[:, t], 3, axis=1)
            dh = dout[:, t] + dh_next
            da_n = dh * (1.0 - z) * (1.0 - n**2)
            da_z = dh * (h_prev_all[:, t] - n) * z * (1.0 - z)
            da_r = da_n * hn_all[:, t] * r * (1.0 - r)
            dA_ih[:, t] = np.concatenate([da_r, da_z, da_n], axis=1)
            dA_hh[:, t] = np.concatenate([da_r, da_z, da_n * r], axis=1)
            dh_next = dh * z + dA_hh[:, t] @ self.W_hh
        self.grad_h0 = dh_next
        return self._weight_grads(x, h_prev_all, dA_ih, dA_hh)


class LastStep(Layer):
    """The hidden state of the last step, ``(m, T, d) -> (m, d)``, for sequence classification.

    Backward puts ``dout`` at step T and zeros at every other step.
    """

    def __init__(self):
        self._shape = None

    def forward(self, x, training=True):
        if x.ndim != 3:
            raise ValueError(f"LastStep expects input of shape (m, T, d); got {tuple(x.shape)}")
        self._shape, self._dtype = x.shape, x.dtype
        return x[:, -1]

    def backward(self, dout):
        dx = np.zeros(_cached(self, self._shape), dtype=self._dtype)
        dx[:, -1] = dout
        return dx

    def output_shape(self, input_shape):
        """``(T, d) -> (d,)``."""
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise ValueError(f"LastStep expects input of shape (m, T, d); got {batch_shape(shape)}")
        return shape[1:]

    def config(self):
        return {"type": "LastStep"}


class PerElement(Layer):
    """Apply one layer to every time step (or set element): ``(m, T, d) -> (m, T, d')``.

    The same parameters serve every element (a per-step dense head, a PointNet-style shared
    MLP): the input is viewed as ``(m·T, d)``, so the parameter gradients are summed over
    the elements as well as over the batch.
    """

    input_ndim = 3

    def __init__(self, layer):
        self.children = tuple(_check_layers([layer], "PerElement"))
        self._shape = None

    def forward(self, x, training=True):
        if x.ndim != 3:
            raise ValueError(f"PerElement expects input of shape (m, T, d); got {tuple(x.shape)}")
        m, T, d = x.shape
        self._shape = x.shape
        out = self.children[0].forward(x.reshape(m * T, d), training)
        return out.reshape(m, T, out.shape[1])

    def backward(self, dout):
        m, T, d = _cached(self, self._shape)
        dx = self.children[0].backward(dout.reshape(m * T, dout.shape[2]))
        return dx.reshape(m, T, d)

    def output_shape(self, input_shape):
        """``(T, d) -> (T, d')`` with ``(d',)`` the inner layer's output shape for ``(d,)``."""
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise ValueError(
                f"PerElement expects input of shape (m, T, d); got {batch_shape(shape)}"
            )
        return (shape[0], *self.children[0].output_shape(shape[1:]))

    def config(self):
        return {"type": "PerElement", "layer": self.children[0].config()}


__all__ = ["RNN", "LSTM", "GRU", "LastStep", "PerElement"]
