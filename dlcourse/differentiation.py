"""Numerical and symbolic differentiation, to compare with manual and automatic differentiation.

* :func:`numerical_derivative`: finite differences, forward (error O(h)) or central
  (error O(h^2)).
* :func:`step_size_study`: the error of finite differences over a range of steps h.
  Large h: truncation error (the Taylor terms the formula drops) dominates and
  falls like h or h^2; small h: round-off error (f evaluated to ~machine epsilon,
  then divided by h) dominates and grows like eps/h. The total error, plotted
  on log-log axes, is V-shaped with its minimum at an intermediate h, near
  eps^(1/2) for forward and eps^(1/3) for central differences.
* :func:`symbolic_derivative`: exact derivatives with SymPy (imported on first use).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DIFFERENCE_METHODS",
    "StepSizeStudy",
    "numerical_derivative",
    "step_size_study",
    "symbolic_derivative",
]

EPS = float(np.finfo(np.float64).eps)

DIFFERENCE_METHODS: dict[str, Callable] = {
    # f'(x) ~ (f(x + h) - f(x)) / h, truncation error (h/2) f''(x)
    "forward": lambda f, x, h: (f(x + h) - f(x)) / h,
    # f'(x) ~ (f(x) - f(x - h)) / h, truncation error (h/2) f''(x)
    "backward": lambda f, x, h: (f(x) - f(x - h)) / h,
    # f'(x) ~ (f(x + h) - f(x - h)) / 2h, truncation error (h^2/6) f'''(x)
    "central": lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
}

# the step that balances truncation and round-off error, up to a factor depending on f
OPTIMAL_STEP: dict[str, float] = {
    "forward": EPS ** (1 / 2),
    "backward": EPS ** (1 / 2),
    "central": EPS ** (1 / 3),
}


def _method(method: str) -> Callable:
    if method not in DIFFERENCE_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(DIFFERENCE_METHODS)}")
    return DIFFERENCE_METHODS[method]


def numerical_derivative(
    f: Callable, x: float | np.ndarray, h: float = 1e-5, method: str = "central"
) -> float | np.ndarray:
    """Finite-difference approximation of f'(x).

    Args:
        f: a scalar function of one variable; if ``x`` is an array, ``f`` must act
            elementwise and the result has the shape of ``x``.
        x: the point(s) at which to differentiate.
        h: the step, > 0.
        method: ``"central"`` (default), ``"forward"`` or ``"backward"``.
    """
    diff = _method(method)
    if not np.isscalar(h) or not h > 0:
        raise ValueError(f"h must be a positive number; got {h!r}")
    if isinstance(x, np.ndarray):
        return diff(f, x.astype(np.float64), float(h))
    return float(diff(f, float(x), float(h)))


@dataclass
class StepSizeStudy:
    """Absolute errors |numerical - exact| of finite differences for each step in ``hs``.

    ``errors[method]`` has the shape of ``hs``; ``best_h[method]`` is the step with the
    smallest error and ``optimal_h[method]`` the textbook estimate (eps^(1/2) or eps^(1/3)).
    """

    x: float
    exact: float
    hs: np.ndarray
    errors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def best_h(self) -> dict[str, float]:
        return {m: float(self.hs[np.argmin(e)]) for m, e in self.errors.items()}

    @property
    def optimal_h(self) -> dict[str, float]:
        return {m: OPTIMAL_STEP[m] for m in self.errors}

    def plot(self, ax=None):
        """Log-log plot of error against h, one line per method; returns the Axes."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(6, 4)).add_subplot()
        tiny = np.finfo(np.float64).tiny  # an exact result (error 0) cannot go on a log axis
        for method, err in self.errors.items():
            ax.loglog(self.hs, np.maximum(err, tiny), marker="o", ms=3, label=method)
            ax.axvline(OPTIMAL_STEP[method], ls=":", color="grey", lw=0.8)
        ax.set_xlabel("step h")
        ax.set_ylabel("absolute error")
        ax.legend()
        return ax


def step_size_study(
    f: Callable,
    df: Callable | float,
    x: float,
    hs: Sequence[float] | np.ndarray | None = None,
    methods: Sequence[str] = ("forward", "central"),
) -> StepSizeStudy:
    """Error of finite differences against the exact derivative for many step sizes.

    Args:
        f: the function; ``df``: its exact derivative (a function, or the number f'(x)).
        x: the point.
        hs: steps to try (default 10^-16 ... 10^0, four per decade).
        methods: keys of :data:`DIFFERENCE_METHODS`.
    """
    hs = np.logspace(-16, 0, 65) if hs is None else np.asarray(hs, dtype=np.float64)
    if hs.ndim != 1 or hs.size == 0 or np.any(hs <= 0):
        raise ValueError(f"hs must be a non-empty 1-D sequence of positive steps; got {hs!r}")
    exact = float(df(x) if callable(df) else df)
    study = StepSizeStudy(x=float(x), exact=exact, hs=hs)
    for method in methods:
        diff = _method(method)
        approx = np.array([diff(f, float(x), float(h)) for h in hs])
        study.errors[method] = np.abs(approx - exact)
    return study


def symbolic_derivative(expr, var="x", order: int = 1):
    """The exact derivative d^order(expr)/d(var)^order as a SymPy expression.

    Args:
        expr: a string such as ``"sin(x) * exp(x)"`` or a SymPy expression.
        var: the variable, a name or a SymPy ``Symbol``.
        order: how many times to differentiate (>= 1).

    Use ``sympy.lambdify(var, result)`` to evaluate the result numerically.
    """
    import sympy  # lazy: SymPy is only needed for this comparison (the "book" extra)

    if isinstance(expr, str):
        try:
            expr = sympy.sympify(expr)
        except (sympy.SympifyError, SyntaxError, TypeError) as err:
            raise ValueError(f"cannot parse the expression {expr!r}: {err}") from err
    elif not isinstance(expr, sympy.Basic):
        raise TypeError(f"expr must be a string or a SymPy expression; got {type(expr).__name__}")
    if isinstance(var, str):
        var = sympy.Symbol(var)
    elif not isinstance(var, sympy.Symbol):
        raise TypeError(f"var must be a name or a SymPy Symbol; got {type(var).__name__}")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer; got {order!r}")
    return sympy.diff(expr, var, order)
