"""The perceptron and its learning rule (Chapter 1).

A perceptron with weights ``w`` (shape ``(n,)``) and bias ``b`` outputs

    f(x) = 1 if w·x + b > 0 else 0                      (the perceptron rule, eq. ``eq-perceptron``)

and learns from its mistakes with Rosenblatt's rule, written with targets
``t = 2 f*(x) − 1 ∈ {-1, +1}``:

    w ← w + η t x,   b ← b + η t        only when the prediction is wrong.

Labels may be given as ``{0, 1}`` or as ``{-1, +1}``; predictions come back in the
convention of the labels last fitted (``{0, 1}`` before any fit). Rows of ``X`` are
examples: ``X`` has shape ``(m, n)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "GATE_INPUTS",
    "TRUTH_TABLES",
    "AND",
    "OR",
    "NAND",
    "NOR",
    "XOR",
    "Perceptron",
    "logic_gate",
    "nand_perceptron",
    "half_adder",
]

#: The four input pairs of a two-input logic gate, one per row, in the order 00, 01, 10, 11.
GATE_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

#: Outputs of each gate for the rows of ``GATE_INPUTS``.
TRUTH_TABLES: dict[str, tuple[int, int, int, int]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
}
AND = TRUTH_TABLES["AND"]
OR = TRUTH_TABLES["OR"]
NAND = TRUTH_TABLES["NAND"]
NOR = TRUTH_TABLES["NOR"]
XOR = TRUTH_TABLES["XOR"]

# Label conventions: the sorted pair of label values -> its name.
_CONVENTIONS: dict[tuple[int, int], str] = {(0, 1): "{0, 1}", (-1, 1): "{-1, +1}"}


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Truth table of a two-input gate as data: ``X`` of shape ``(4, 2)``, ``y`` of shape ``(4,)``.

    ``name`` is one of ``AND, OR, NAND, NOR, XOR`` (case-insensitive); labels are in {0, 1}.
    """
    key = str(name).upper()
    if key not in TRUTH_TABLES:
        raise ValueError(f"unknown gate {name!r}; expected one of {sorted(TRUTH_TABLES)}")
    return GATE_INPUTS.copy(), np.array(TRUTH_TABLES[key], dtype=np.int64)


def _as_matrix(X, n_inputs: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1 and n_inputs is not None and X.shape[0] == n_inputs:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (m, n_inputs); got an array of shape {X.shape}")
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} features; the perceptron expects {n_inputs}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must contain only finite numbers; got NaN or infinity")
    return X


def _as_targets(y, m: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Check labels and return targets t in {-1, +1} and the label convention used."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels of shape (m,); got shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"X has {m} examples but y has {y.shape[0]} labels; expected as many")
    values = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("y must contain only finite labels in {0, 1} or {-1, +1}; got NaN/inf")
    seen = set(np.unique(values).tolist())
    if seen <= {0.0, 1.0}:
        convention = (0, 1)
    elif seen <= {-1.0, 1.0}:
        convention = (-1, 1)
    else:
        raise ValueError(
            f"labels must be in {{0, 1}} or in {{-1, +1}}; got the values {sorted(seen)}"
        )
    return np.where(values > 0, 1.0, -1.0), convention


class Perceptron:
    """A single perceptron ``f(x) = [w·x + b > 0]`` trained with the perceptron rule.

    Parameters
    ----------
    weights:
        Either the number of inputs ``n`` (weights start at zero) or the initial weight
        vector itself, shape ``(n,)``.
    bias:
        Initial bias ``b``.
    lr:
        Learning rate ``η > 0`` of the update ``w ← w + η t x``.
    seed:
        If given, :meth:`fit` visits the examples in a fresh random order each epoch,
        drawn from ``np.random.default_rng(seed)``; if ``None`` it visits them in order.

    After :meth:`fit`: ``mistakes`` (mistakes made in each epoch), ``converged`` (an epoch
    had no mistakes), ``history`` (``(w, b)`` after each epoch) and ``n_updates``.
    """

    def __init__(
        self,
        weights: int | Sequence[float] | np.ndarray,
        bias: float = 0.0,
        lr: float = 1.0,
        seed: int | None = None,
    ):
        if isinstance(weights, (int, np.integer)) and not isinstance(weights, bool):
            if weights < 1:
                raise ValueError(f"n_inputs must be a positive integer; got {weights}")
            w = np.zeros(int(weights))
        else:
            w = np.array(weights, dtype=np.float64).reshape(-1)
            if w.size == 0 or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"weights must be a positive int or a non-empty finite vector; got {weights!r}"
                )
        if not np.isfinite(bias):
            raise ValueError(f"bias must be a finite number; got {bias!r}")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive finite number; got {lr!r}")
        self.weights = w
        self.bias = float(bias)
        self.lr = float(lr)
        self.seed = seed
        self.labels: tuple[int, int] = (0, 1)
        self.mistakes: list[int] = []
        self.history: list[tuple[np.ndarray, float]] = []
        self.converged = False
        self.n_updates = 0

    @property
    def n_inputs(self) -> int:
        return self.weights.shape[0]

    def decision_function(self, X) -> np.ndarray:
        """Weighted input ``z = X @ w + b``: shape ``(m,)`` for ``X`` of shape ``(m, n)``."""
        X = _as_matrix(X, self.n_inputs)
        return X @ self.weights + self.bias

    def predict(self, X) -> np.ndarray:
        """Outputs ``[z > 0]`` as int labels of shape ``(m,)``, in the fitted convention.

        A single example of shape ``(n,)`` is treated as one row.
        """
        fires = self.decision_function(X) > 0
        low, high = self.labels
        return np.where(fires, high, low).astype(np.int64)

    def fit(self, X, y, epochs: int = 100) -> Perceptron:
        """Run the perceptron rule for at most ``epochs`` passes over ``(X, y)``.

        ``X``: shape ``(m, n)``; ``y``: shape ``(m,)`` with labels in {0, 1} or {-1, +1}.
        Training continues from the current weights and stops after the first epoch
        without a mistake (then ``converged`` is True). Returns ``self``.
        """
        X = _as_matrix(X, self.n_inputs)
        t, self.labels = _as_targets(y, X.shape[0])
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
        rng = None if self.seed is None else np.random.default_rng(self.seed)
        self.mistakes, self.history, self.converged = [], [], False
        for _ in range(int(epochs)):
            order = np.arange(X.shape[0]) if rng is None else rng.permutation(X.shape[0])
            wrong = 0
            for i in order:
                z = X[i] @ self.weights + self.bias
                if (1.0 if z > 0 else -1.0) != t[i]:
                    self.weights = self.weights + self.lr * t[i] * X[i]
                    self.bias = float(self.bias + self.lr * t[i])
                    wrong += 1
            self.mistakes.append(wrong)
            self.history.append((self.weights.copy(), self.bias))
            self.n_updates += wrong
            if wrong == 0:
                self.converged = True
                break
        return self

    def score(self, X, y) -> float:
        """Fraction of the examples in ``(X, y)`` classified correctly."""
        X = _as_matrix(X, self.n_inputs)
        t, _ = _as_targets(y, X.shape[0])
        return float(np.mean((self.decision_function(X) > 0) == (t > 0)))

    def __repr__(self) -> str:
        w = ", ".join(f"{v:.4g}" for v in self.weights)
        return f"Perceptron(weights=[{w}], bias={self.bias:.4g}, lr={self.lr:g})"


def nand_perceptron() -> Perceptron:
    """The NAND gate as a perceptron: weights ``(-2, -2)`` and bias ``3`` (Nielsen, ch. 1)."""
    return Perceptron([-2.0, -2.0], bias=3.0)


def half_adder(x1, x2) -> tuple[np.ndarray, np.ndarray]:
    """Add two bits with five NAND perceptrons; returns ``(sum, carry)`` as int arrays.

    ``x1`` and ``x2`` are bits (scalars or arrays of equal shape). The circuit is
    ``n = NAND(x1, x2)``, ``sum = NAND(NAND(x1, n), NAND(x2, n))`` and ``carry = NAND(n, n)``.
    """
    gate = nand_perceptron()
    x1 = np.asarray(x1, dtype=np.float64)
    x2 = np.asarray(x2, dtype=np.float64)
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape; got {x1.shape} and {x2.shape}")
    if not np.all(np.isin(x1, (0.0, 1.0)) & np.isin(x2, (0.0, 1.0))):
        raise ValueError("half_adder expects bits: every input must be 0 or 1")

    def nand(a, b):
        return gate.predict(np.stack([a.reshape(-1), b.reshape(-1)], axis=1)).reshape(a.shape)

    n = nand(x1, x2)
    total = nand(nand(x1, n), nand(x2, n))
    carry = nand(n, n)
    return total, carry
