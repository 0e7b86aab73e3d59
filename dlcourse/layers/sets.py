"""Layers for sets and for gated combinations: :class:`SetPool` (a permutation-invariant
summary of the elements of a set) and :class:`MixtureOfExperts` (a softmax gate weighting
the outputs of expert networks).

A set of k elements with d features each is stored as an array ``(m, k, d)``; a layer applied
to each element alone is :class:`dlcourse.layers.PerElement`. ``PerElement → SetPool → MLP``
is the PointNet/Deep Sets pattern: ``f(X) = ρ(pool_i φ(x_i))`` does not depend on the order
of the elements.
"""

from __future__ import annotations

import numpy as np

from dlcourse.layers.base import Layer, _cached, _check_layers, batch_shape


class SetPool(Layer):
    """Pool over the element axis: ``(m, k, d) -> (m, d)``, ``mode`` "max" or "mean".

    - mean: ``out = (1/k) Σ_i x_i``; backward gives every element ``dout / k``.
    - max: ``out_j = max_i x_ij``; backward sends ``dout_j`` to the element holding the
      maximum. Where several elements tie for the maximum, the gradient is shared equally
      among them (as ``torch.amax`` does), so it is the same whatever the order of the
      elements.
    """

    input_ndim = 3  # (m, k, d)

    def __init__(self, mode: str = "max"):
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean'; got {mode!r}")
        self.mode = mode
        self._cache = None

    def forward(self, x, training=True):
        if getattr(x, "ndim", None) != 3:
            shape = tuple(getattr(x, "shape", ())) or type(x).__name__
            raise ValueError(f"SetPool expects input of shape (m, k, d); got {shape}")
        if self.mode == "mean":
            self._cache = x.shape
            return x.mean(axis=1)
        out = x.max(axis=1)
        winners = x == out[:, None, :]
        self._cache = winners / winners.sum(axis=1, keepdims=True)
        return out

    def backward(self, dout):
        cache = _cached(self, self._cache)
        if self.mode == "mean":
            m, k, d = cache
            return np.broadcast_to(dout[:, None, :] / k, (m, k, d)).copy()
        return cache * dout[:, None, :]

    def output_shape(self, input_shape):
        """``(k, d) -> (d,)``."""
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise ValueError(f"SetPool expects input of shape (m, k, d); got {batch_shape(shape)}")
        return shape[1:]

    def config(self):
        return {"type": "SetPool", "mode": self.mode}


class MixtureOfExperts(Layer):
    """``out = Σ_e π_e(x) · E_e(x)`` with gate probabilities ``π = softmax(G(x))``.

    ``experts``: layers mapping ``(m, n_in) -> (m, n_out)`` (all the same ``n_out``);
    ``gate``: a layer mapping ``(m, n_in) -> (m, E)`` (its logits). Backward, with
    ``o_e = E_e(x)``::

        ∂L/∂o_e = π_e ⊙ dout                        (each expert, weighted by its gate)
        ∂L/∂π_e = Σ_j dout_j o_ej                     (how useful each expert was)
        ∂L/∂logits = π ⊙ (∂L/∂π − Σ_e π_e ∂L/∂π_e)    (softmax Jacobian-vector product)
        ∂L/∂x = Σ_e E_e.backward(∂L/∂o_e) + G.backward(∂L/∂logits)

    After ``forward``, ``gates`` holds π of shape ``(m, E)``.
    """

    def __init__(self, experts, gate):
        experts = _check_layers(experts, "MixtureOfExperts")
        (gate,) = _check_layers([gate], "MixtureOfExperts gate")
        self.children = (*experts, gate)
        self.n_experts = len(experts)
        self.gates = None
        self._outputs = None

    @property
    def experts(self):
        return self.children[: self.n_experts]

    @property
    def gate(self):
        return self.children[-1]

    def forward(self, x, training=True):
        outputs = np.stack([e.forward(x, training) for e in self.experts], axis=1)  # (m, E, n)
        logits = self.gate.forward(x, training)
        if logits.shape != outputs.shape[:2]:
            raise ValueError(
                f"MixtureOfExperts: the gate must output one logit per expert, shape "
                f"{outputs.shape[:2]}; got {tuple(logits.shape)}"
            )
        z = logits - logits.max(axis=1, keepdims=True)
        pi = np.exp(z)
        pi /= pi.sum(axis=1, keepdims=True)
        self.gates, self._outputs = pi, outputs
        return np.einsum("me,men->mn", pi, outputs)

    def output_shape(self, input_shape):
        """``(n_in,) -> (n_out,)``: the experts' common output shape ``(n_out,)``, once the
        gate is checked to give ``(E,)``, one logit per expert."""
        shape = tuple(input_shape)
        outs = {tuple(e.output_shape(shape)) for e in self.experts}
        if len(outs) != 1 or len(next(iter(outs))) != 1:
            raise ValueError(f"MixtureOfExperts needs experts of one output shape (m, n_out); "
                             f"got {sorted(batch_shape(o) for o in outs)}")  # fmt: skip
        logits = tuple(self.gate.output_shape(shape))
        if logits != (self.n_experts,):
            raise ValueError(f"MixtureOfExperts: the gate must output one logit per expert, "
                             f"shape (m, {self.n_experts}); got {batch_shape(logits)}")  # fmt: skip
        return outs.pop()

    def backward(self, dout):
        outputs, pi = _cached(self, self._outputs), self.gates
        d_pi = np.einsum("mn,men->me", dout, outputs)
        d_logits = pi * (d_pi - np.sum(pi * d_pi, axis=1, keepdims=True))
        dx = self.gate.backward(d_logits)
        for e, expert in enumerate(self.experts):
            dx = dx + expert.backward(pi[:, e : e + 1] * dout)
        return dx

    def config(self):
        experts = [e.config() for e in self.experts]
        return {"type": "MixtureOfExperts", "experts": experts, "gate": self.gate.config()}


__all__ = ["SetPool", "MixtureOfExperts"]
