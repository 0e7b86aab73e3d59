"""What graded code may import: the course's own answers are not in the sandbox.

The sandbox (:mod:`dlcourse.grading.sandbox`) does not bind the ``dlcourse`` package into
the worker at all, so a submission cannot call the package's reference implementation of
the exercise it is graded on (``dlcourse.attention`` for exercise 16, the layers of
``dlcourse.layers`` for 14 and 15, ...), nor read its source. That alone is the
protection; this module only makes the failure readable. :func:`install`, run by the
worker before the student's code:

* puts a stand-in ``dlcourse`` module in ``sys.modules``, so that the notebooks' own
  ``import dlcourse`` and ``dlcourse.check("NN")`` cells still run (``check`` does
  nothing while grading);
* answers every other ``import dlcourse.X`` / ``dlcourse.X`` with an ``ImportError`` (or
  ``AttributeError``) whose message says what is going on: for the modules in
  :data:`FORBIDDEN` of the exercise at hand "exercise 16 may not import
  dlcourse.attention: write the computation yourself", for the rest that graded code may
  import NumPy and the standard library (and PyTorch in the PyTorch exercise) only;
* records each such attempt (:data:`ATTEMPTS`), which the worker reports to the grader.

Removing the hook gains nothing: the files are not there. Standard library only: the
worker loads this file by path, without the package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

# exercise -> the dlcourse modules holding its reference implementation (prefixes)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "01": ("dlcourse.perceptron",),
    "02": ("dlcourse.activations",),
    "03": ("dlcourse.losses", "dlcourse.costs"),
    "04": ("dlcourse.optim", "dlcourse.differentiation"),
    "05": ("dlcourse.autodiff",),
    "06": ("dlcourse.network", "dlcourse.layers", "dlcourse.gradcheck", "dlcourse.activations"),
    "07": ("dlcourse.train", "dlcourse.network", "dlcourse.metrics", "dlcourse.optim"),
    "08": ("dlcourse.optim", "dlcourse.schedules"),
    "09": ("dlcourse.regularization", "dlcourse.layers"),
    "10": ("dlcourse.torchnet", "dlcourse.network"),
    "11": ("dlcourse.layers",),
    "12": ("dlcourse.metrics", "dlcourse.tuning"),
    "13": ("dlcourse.layers", "dlcourse.gradcheck"),
    "14": ("dlcourse.layers", "dlcourse.gradcheck"),
    "15": ("dlcourse.layers", "dlcourse.gradcheck"),
    "16": ("dlcourse.attention", "dlcourse.activations", "dlcourse.gradcheck"),
    "17": ("dlcourse.layers", "dlcourse.gradcheck"),
    "18": ("dlcourse.layers", "dlcourse.gradcheck"),
    "19": ("dlcourse.layers", "dlcourse.attention", "dlcourse.gradcheck"),
    "20": ("dlcourse.vae", "dlcourse.gradcheck"),
}
TORCH_EXERCISES = ("10",)
ATTEMPTS: list[str] = []  # messages of the refused imports, in order


def allowed(exercise: str | None) -> str:
    """What graded code of ``exercise`` may import, as a sentence fragment."""
    torch = ", PyTorch" if exercise in TORCH_EXERCISES else ""
    return f"NumPy{torch} and the Python standard library"


def message(exercise: str | None, module: str) -> str:
    """Why ``module`` (``dlcourse.X``) cannot be used by graded code of ``exercise``."""
    for prefix in FORBIDDEN.get(str(exercise), ()):
        if module == prefix or module.startswith(prefix + "."):
            return f"exercise {exercise} may not import {prefix}: write the computation yourself"
    return (
        f"{module} is not available while grading: graded code may import "
        f"{allowed(exercise)}, not the course package (dlcourse.check does nothing here)"
    )


def _refuse(exercise: str | None, module: str) -> str:
    text = message(exercise, module)
    if text not in ATTEMPTS:
        ATTEMPTS.append(text)
    return text


class _Refuse(importlib.abc.MetaPathFinder):
    """Refuses every ``dlcourse.*`` import with :func:`message`."""

    def __init__(self, exercise: str | None):
        self.exercise = exercise

    def find_spec(self, name, path, target=None):
        if name.startswith("dlcourse."):
            raise ImportError(_refuse(self.exercise, name), name=name)
        return None


def _stand_in(exercise: str | None) -> types.ModuleType:
    module = types.ModuleType("dlcourse", "Stand-in for dlcourse while grading.")
    module.__path__ = []  # a package, so that ``import dlcourse.X`` asks the finders
    # a spec, so that importlib.util.find_spec("dlcourse") (the notebooks' install cell) finds
    # it installed instead of raising ValueError
    module.__spec__ = importlib.machinery.ModuleSpec("dlcourse", None, is_package=True)
    module.__version__ = "grading"
    module.check = lambda *args, **kwargs: None

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(_refuse(exercise, f"dlcourse.{name}"))

    module.__getattr__ = __getattr__
    return module


def install(exercise: str | None) -> None:
    """Make ``dlcourse`` the stand-in and refuse its submodules (see the module doc)."""
    for name in [n for n in sys.modules if n == "dlcourse" or n.startswith("dlcourse.")]:
        del sys.modules[name]
    sys.modules["dlcourse"] = _stand_in(exercise)
    sys.meta_path.insert(0, _Refuse(exercise))
