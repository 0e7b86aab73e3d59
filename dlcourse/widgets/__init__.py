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

from dlcourse.widgets.activation import (
    ACTIVATION_PARAMETERS as ACTIVATION_PARAMETERS,
)
from dlcourse.widgets.activation import (
    SATURATION_LEVEL as SATURATION_LEVEL,
)
from dlcourse.widgets.activation import (
    ActivationExplorer,
    activation_explorer,
    activation_statistics,
    plot_activation,
)
from dlcourse.widgets.approximation import (
    DEFAULT_STEEPNESS as DEFAULT_STEEPNESS,
)
from dlcourse.widgets.approximation import (
    UniversalApproximationExplorer,
    plot_bump_approximation,
    universal_approximation_explorer,
)
from dlcourse.widgets.minibatch_sgd import (
    LeastSquaresBowl,
    MinibatchSGDExplorer,
    least_squares_bowl,
    minibatch_sgd_explorer,
    minibatch_sgd_path,
    plot_minibatch_sgd,
)
from dlcourse.widgets.neuron import NeuronExplorer, neuron_explorer, plot_neuron
from dlcourse.widgets.optimizer_race import (
    QUADRATIC_CURVATURES as QUADRATIC_CURVATURES,
)
from dlcourse.widgets.optimizer_race import (
    RACE_OPTIMIZERS,
    RACE_SURFACES,
    OptimizerRace,
    optimizer_race,
    plot_optimizer_race,
    race_paths,
)
from dlcourse.widgets.optimizer_race import (
    RaceSurface as RaceSurface,
)
from dlcourse.widgets.player import StaticPlayer, static_player

# What `from dlcourse.widgets import *` gives, as before the split into submodules; the
# names imported `as` themselves above (SATURATION_LEVEL, RaceSurface, ...) are importable
# by name but, as before, not part of the star import.
__all__ = [
    "NeuronExplorer",
    "neuron_explorer",
    "plot_neuron",
    "ActivationExplorer",
    "activation_explorer",
    "activation_statistics",
    "plot_activation",
    "UniversalApproximationExplorer",
    "plot_bump_approximation",
    "universal_approximation_explorer",
    "LeastSquaresBowl",
    "MinibatchSGDExplorer",
    "least_squares_bowl",
    "minibatch_sgd_explorer",
    "minibatch_sgd_path",
    "plot_minibatch_sgd",
    "OptimizerRace",
    "RACE_OPTIMIZERS",
    "RACE_SURFACES",
    "optimizer_race",
    "plot_optimizer_race",
    "race_paths",
    "StaticPlayer",
    "static_player",
]
