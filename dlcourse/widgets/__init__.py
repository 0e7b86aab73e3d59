"""Interactive front-ends used by the chapters (ipywidgets + matplotlib).

Each explorer has a plain plotting function next to it that draws the same picture as a
static figure, so the HTML book shows a figure where a live kernel shows sliders. One
submodule per chapter widget:

* :mod:`~dlcourse.widgets.neuron` (Chapter 1) -- :func:`plot_neuron` / :func:`neuron_explorer`:
  one neuron ``a = f(w·x + b)`` with two inputs, its activation curve and decision line.
* :mod:`~dlcourse.widgets.approximation` (Chapter 2) -- :func:`plot_bump_approximation` /
  :func:`universal_approximation_explorer`: a sum of sigmoid bumps approximating a curve.
* :mod:`~dlcourse.widgets.activation` (Chapter 3) -- :func:`plot_activation` /
  :func:`activation_explorer`: an activation, its derivative and how many units saturate.
* :mod:`~dlcourse.widgets.minibatch_sgd` (Chapter 5) -- :func:`plot_minibatch_sgd` /
  :func:`minibatch_sgd_explorer`: mini-batch SGD on a two-parameter least-squares bowl.
* :mod:`~dlcourse.widgets.optimizer_race` (Chapter 6) -- :func:`plot_optimizer_race` /
  :func:`optimizer_race`: every optimiser of :mod:`dlcourse.optim` on the same surface.

:mod:`~dlcourse.widgets.player` -- :func:`static_player`: the same figures precomputed over a
slider's range and played in the page without a kernel (the published book's widgets).

ipywidgets is imported only when an explorer is built, so importing this package is cheap.
"""

from __future__ import annotations

from dlcourse.widgets import activation as _activation
from dlcourse.widgets import approximation as _approximation
from dlcourse.widgets import minibatch_sgd as _minibatch_sgd
from dlcourse.widgets import neuron as _neuron
from dlcourse.widgets import optimizer_race as _optimizer_race
from dlcourse.widgets import player as _player
from dlcourse.widgets.activation import *  # noqa: F403
from dlcourse.widgets.approximation import *  # noqa: F403
from dlcourse.widgets.minibatch_sgd import *  # noqa: F403
from dlcourse.widgets.neuron import *  # noqa: F403
from dlcourse.widgets.optimizer_race import *  # noqa: F403
from dlcourse.widgets.player import *  # noqa: F403

# The package exports what its modules export: each module's __all__ is the one list.
__all__ = [
    *_neuron.__all__,
    *_activation.__all__,
    *_approximation.__all__,
    *_minibatch_sgd.__all__,
    *_optimizer_race.__all__,
    *_player.__all__,
]
