"""Optimisers with torch.optim's algorithms, defaults and argument names.

Every optimiser updates a list of parameter arrays in place::

    opt = Adam(lr=1e-3)
    opt.step(net.parameters(), net.gradients(X, Y))

State (momentum buffers, moment estimates, step counts) is kept per parameter, keyed
by the parameter's *position* in the list, so the same list order must be passed on
every call. ``state_dict()`` returns a flat ``dict[str, number | ndarray]`` that
``np.savez`` stores without pickle; ``load_state_dict`` restores it so that training
resumes bit for bit. ``lr`` is a plain attribute: learning-rate schedules set it.

The arithmetic uses only operators and the array-API namespace of the parameters, so
NumPy arrays and torch tensors both work. As in torch.optim, each algorithm has a module
of its own (``sgd``, ``adagrad``, ``rmsprop``, ``adam``) on a common base (``base``).
"""

from __future__ import annotations

from typing import Any

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "OPTIMIZERS", "get_optimizer"]


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str | Optimizer, **kwargs: Any) -> Optimizer:
    """Build an optimiser from its name (``"sgd"``, ``"adam"``, ...) and keyword arguments."""
    if isinstance(name, Optimizer):
        return name
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[key](**kwargs)
