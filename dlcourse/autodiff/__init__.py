"""Scalar reverse-mode automatic differentiation, in three small modules:

- :mod:`~dlcourse.autodiff.engine` — ``Value`` (every operation with its local backward
  rule next to it), ``maximum``, ``topological_order``;
- :mod:`~dlcourse.autodiff.nn` — ``Neuron``, ``Layer`` and ``MLP`` built from ``Value``
  nodes, whose gradients equal ``Network.backprop`` (BP1–BP4) for the same weights;
- :mod:`~dlcourse.autodiff.drawing` — ``draw_graph``, a matplotlib picture of a graph.
"""

from __future__ import annotations

from dlcourse.autodiff.drawing import draw_graph, graph_layout
from dlcourse.autodiff.engine import Value, maximum, topological_order
from dlcourse.autodiff.nn import MLP, Layer, Neuron

__all__ = [
    "MLP",
    "Layer",
    "Neuron",
    "Value",
    "draw_graph",
    "graph_layout",
    "maximum",
    "topological_order",
]
