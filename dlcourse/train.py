"""The mini-batch training loop and what ``Network`` and ``layers.Model`` share around it.

:class:`Trainable` is the common base of both: input checks, the L2 term, chunked
evaluation (cost, accuracy, predictions) and the ``fit`` wrapper, written once. A model
trained by :func:`fit_loop` provides

- ``parameters() -> list`` of arrays that the optimiser updates in place,
- ``gradients(X, Y, validate=False) -> list`` of the cost gradients, in the same order,
- ``loss_and_accuracy(X, Y) -> (cost, accuracy)`` over a whole data set,
- optionally ``parameter_vector()``: one 1-D array θ of which the parameters are views, in
  order (``Network`` has it); then an optimiser with ``elementwise = True`` gets ``[θ]``
  and ``[∇θ]`` instead of the lists of arrays (see :func:`stepper`).

An optimiser is any object with ``step(params, grads)`` that updates ``params`` in place
(optionally an ``lr`` attribute, recorded in the history). A callback is any object with
any of ``on_train_begin(model, history)``, ``on_epoch_end(model, epoch, history)`` (return
``True`` to stop training) and ``on_train_end(model, history)``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from dlcourse._arrays import views
from dlcourse._validation import InputChecks, check_positive_int
from dlcourse.backend import is_torch, namespace, to_backend
from dlcourse.data.splits import batches
from dlcourse.metrics import output_labels
from dlcourse.optim import SGD
from dlcourse.regularization import l2_cost
from dlcourse.saving.checkpoint import Run, load_checkpoint

CHUNK = 2048  # rows per forward pass when evaluating a whole data set


@dataclass
class History:
    """Per-epoch record of a training run; entry ``i`` of each list belongs to ``epoch[i]``.

    ``epoch`` counts from 1; ``time`` is the wall-clock seconds of that epoch (training and
    evaluation); ``val_cost``/``val_accuracy`` hold ``nan`` when no validation data is given.
    """

    epoch: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_cost: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        """The lists as a plain dict (copies), e.g. for ``pandas.DataFrame`` or JSON."""
        return {k: list(v) for k, v in asdict(self).items()}

    def __len__(self) -> int:
        return len(self.epoch)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell); IPython is not imported for this."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def is_interactive() -> bool:
    """True when someone watches: a Jupyter notebook, or standard output is a terminal."""
    isatty = getattr(sys.stdout, "isatty", None)
    return in_notebook() or bool(isatty and isatty())


def progress_bar(total: int, progress: bool, initial: int = 0):
    """A tqdm bar over epochs (the notebook widget in Jupyter), or ``None`` when ``progress``
    is False or nobody watches (see :func:`is_interactive`: logs and CI stay clean)."""
    if not progress or not is_interactive():
        return None
    try:
        if in_notebook():
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=initial, unit="epoch", leave=True, dynamic_ncols=True)


def fit_setup(optimizer, lr, l2) -> tuple[object, float]:
    """The optimiser and L2 strength that ``Network.fit`` and ``Model.fit`` train with.

    Without ``optimizer``: ``optim.SGD(lr)``, plain ``p <- p - lr * grad`` (``lr`` then
    required); with one, ``lr``
    (if given) is assigned to ``optimizer.lr``. ``l2`` (Nielsen's λ) must be finite and >= 0.
    """
    if optimizer is None:
        if lr is None:
            raise ValueError("fit needs a learning rate lr= when no optimizer is given")
        optimizer = SGD(lr)
    elif lr is not None:
        optimizer.lr = lr
    l2 = float(l2)
    if not math.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0; got {l2}")
    return optimizer, l2


def diverged(epoch: int, cost: float, lr: float) -> FloatingPointError:
    """The error that stops a run whose cost became NaN/inf, suggesting a smaller ``lr``."""
    return FloatingPointError(
        f"training diverged in epoch {epoch}: the cost became {cost} "
        f"(lr={lr:g}); try a smaller learning rate lr"
    )


def record_epoch(history: History, epoch: int, cost, acc, val, lr: float, start: float) -> None:
    """Append one epoch to ``history``: training ``cost``/``acc``, ``val = (val_cost,
    val_accuracy)``, ``lr`` and the seconds since ``start`` (a ``time.perf_counter()``)."""
    history.epoch.append(epoch)
    history.train_cost.append(cost)
    history.train_accuracy.append(acc)
    history.val_cost.append(val[0])
    history.val_accuracy.append(val[1])
    history.lr.append(lr)
    history.time.append(time.perf_counter() - start)


def epoch_end(callbacks, model, epoch: int, history: History) -> bool:
    """Call every callback's ``on_epoch_end``; True when any of them asks to stop."""
    stop = False
    for cb in callbacks:
        if hasattr(cb, "on_epoch_end") and cb.on_epoch_end(model, epoch, history):
            stop = True
    return stop


def train_end(callbacks, model, history: History) -> None:
    """Call every callback's ``on_train_end`` (after the last epoch, or a stop)."""
    for cb in callbacks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(model, history)


def elementwise(optimizer) -> bool:
    """True when the optimiser's whole step is elementwise: its ``elementwise`` is true and
    was declared by the class that ``step`` and ``_update`` come from or by a subclass of it.
    A subclass that overrides ``step`` (to treat weight matrices apart, say) inherits the flag
    but not its promise, so it is stepped array by array."""
    if "elementwise" in vars(optimizer):
        return bool(optimizer.elementwise)
    mro = type(optimizer).__mro__
    home = {name: next((c for c in mro if name in vars(c)), None)
            for name in ("elementwise", "step", "_update")}  # fmt: skip
    if home["elementwise"] is None or not optimizer.elementwise:
        return False
    return all(home[name] in home["elementwise"].__mro__ for name in ("step", "_update"))


def stepper(model, optimizer, params):
    """The loop's training step on one batch, ``step(X, Y)``: gradients, then the optimiser.

    Usually ``optimizer.step(params, model.gradients(X, Y, validate=False))``. When the
    model keeps its parameters as views of one vector θ (``model.parameter_vector()``) and
    the optimiser's step is elementwise (:func:`elementwise`) with no state per array yet,
    the gradients go into the matching views of one vector ∇θ, allocated once, and the
    optimiser is handed ``[θ]`` and ``[∇θ]``: the same arithmetic on the same numbers, but
    each of its operations runs once over all parameters instead of once per array. A
    model whose ``fast_gradients`` is true writes them there itself
    (``model.gradients_into``); otherwise they are copied from ``model.gradients``.
    ``benchmarks/bench_step_design.py`` measures the step.
    """
    vector = getattr(model, "parameter_vector", None)
    state = getattr(optimizer, "state", None)
    if vector is None or not elementwise(optimizer) or len(state or ()) > 1:
        return lambda X, Y: optimizer.step(params, model.gradients(X, Y, validate=False))
    theta = vector()
    grad = namespace(theta).empty_like(theta)  # ∇θ, laid out like θ
    grad_views = views(grad, [tuple(p.shape) for p in params])

    def step(X, Y):
        if getattr(model, "fast_gradients", False):
            model.gradients_into(X, Y, grad_views)
        else:
            for view, g in zip(grad_views, model.gradients(X, Y, validate=False)):
                view[...] = g
        optimizer.step([theta], [grad])

    return step


def fit_loop(
    model,
    X,
    Y,
    epochs: int,
    batch_size: int,
    optimizer,
    *,
    validation=None,
    callbacks=(),
    progress: bool = True,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
    track_train: bool = True,
    resume=None,
) -> History:
    """Train ``model`` on ``(X, Y)`` for ``epochs`` epochs of mini-batches; return the History.

    ``X`` (m, n_0) and ``Y`` (m, n_L) must already be validated arrays. Every epoch
    :func:`dlcourse.data.batches` draws one permutation of ``0..m-1`` from ``rng`` (or
    ``default_rng(seed)``) and cuts it into batches of ``batch_size`` rows (the last one may
    be smaller); a batch is gathered by indexing, so the data set is never copied. After each
    epoch the training cost and accuracy (skipped with ``track_train=False``) and, given
    ``validation=(X_val, Y_val)``, the validation ones are recorded. A non-finite training
    cost (or, with ``track_train=False``, non-finite parameters) raises
    ``FloatingPointError`` naming the epoch.

    ``epochs`` is the total: with ``resume=path`` (a file written by
    ``dlcourse.saving.Checkpoint``) the parameters, buffers, optimiser state, callback
    states (schedules), random generators and history are restored first and training
    continues from the checkpoint's epoch up to ``epochs``, exactly as if never stopped. The
    checkpoint's states win over those given (the optimiser's ``lr`` included: it may have
    been scheduled); a ``batch_size`` other than the checkpoint's is refused.
    Callbacks with a ``bind(run)`` method receive the :class:`dlcourse.saving.Run` before
    the first epoch; those with ``runs_last = True`` (checkpoints) run after the others.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method; got {optimizer!r}")
    rng = rng if rng is not None else np.random.default_rng(seed)
    params = model.parameters()
    history = History()
    callbacks = tuple(callbacks)
    callbacks = tuple(c for c in callbacks if not getattr(c, "runs_last", False)) + tuple(
        c for c in callbacks if getattr(c, "runs_last", False)
    )
    run = Run(model, optimizer, rng, callbacks, history, {"batch_size": batch_size})
    done = load_checkpoint(resume, run) if resume is not None else 0
    step = stepper(model, optimizer, params)
    for cb in callbacks:
        if hasattr(cb, "bind"):
            cb.bind(run)
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(model, history)

    def train_epoch():
        with np.errstate(over="ignore", invalid="ignore"):
            for X_batch, Y_batch in batches(X, Y, batch_size, rng):  # Chapter 5's iterator
                step(X_batch, Y_batch)
            return model.loss_and_accuracy(X, Y) if track_train else (math.nan,) * 2

    def evaluate(X_val, Y_val):
        with np.errstate(over="ignore", invalid="ignore"):
            return model.loss_and_accuracy(X_val, Y_val)

    def finite(cost):
        if track_train:
            return math.isfinite(cost)
        return all(bool((p.isfinite() if is_torch(p) else np.isfinite(p)).all()) for p in params)

    run_epochs(model, history, callbacks, train_epoch, evaluate, validation, first=done + 1,
               epochs=epochs, progress=progress, lr=lambda: getattr(optimizer, "lr", math.nan),
               finite=finite)  # fmt: skip
    return history


def run_epochs(model, history, callbacks, train_epoch, evaluate, validation, *, first, epochs,
               progress, lr, finite=math.isfinite):  # fmt: skip
    """The epoch bookkeeping of every training loop (:func:`fit_loop`, ``torchnet.fit_torch``).

    For ``epoch = first..epochs``: ``train_epoch() -> (cost, accuracy)`` trains one epoch and
    evaluates the training set; ``finite(cost)`` False stops with :func:`diverged`;
    ``evaluate(X_val, Y_val) -> (cost, accuracy)`` scores ``validation`` (if given); the
    epoch is recorded in ``history`` with ``lr()``, shown on the progress bar, and passed to
    the callbacks' ``on_epoch_end`` (any True stops); ``on_train_end`` ends the run.
    """
    bar = progress_bar(epochs, progress, initial=min(first - 1, epochs))
    try:
        for epoch in range(first, epochs + 1):
            start = time.perf_counter()
            cost, acc = train_epoch()
            lr_now = float(lr())
            if not finite(cost):
                raise diverged(epoch, cost, lr_now)
            val_cost, val_acc = evaluate(*validation) if validation is not None else (math.nan,) * 2
            record_epoch(history, epoch, cost, acc, (val_cost, val_acc), lr_now, start)
            if bar is not None:
                shown = {"cost": f"{cost:.4g}", "acc": f"{acc:.3f}"}
                if validation is not None:
                    shown.update(val_cost=f"{val_cost:.4g}", val_acc=f"{val_acc:.3f}")
                shown.update(lr=f"{lr_now:.3g}")
                bar.set_postfix(shown, refresh=False)
                bar.update(1)
            if epoch_end(callbacks, model, epoch, history):
                break
    finally:
        if bar is not None:
            bar.close()
    train_end(callbacks, model, history)


class Trainable(InputChecks):
    """What ``Network`` and ``layers.Model`` share: checks, L2 term, evaluation and ``fit``.

    A subclass sets ``cost_fn`` (a :class:`dlcourse.costs.Cost`), ``rng``, ``l2``,
    ``n_train``, ``dtype`` and ``device`` and provides ``parameters()``, ``gradients(X, Y,
    validate)``, ``_infer(X)`` (the output A^L of checked rows, in inference mode) and
    ``_decayed()`` (the weight matrices under the L2 penalty).
    """

    cost_fn: object
    rng: np.random.Generator
    l2: float
    n_train: int | None

    # ------------------------------------------------------------------ L2
    def _l2_n(self, m: int) -> int:
        """The n of Nielsen's l2 / 2n: the training-set size, or the batch's m before fit."""
        return self.n_train if self.n_train else m

    def _l2_term(self, m: int) -> float:
        """(l2 / 2n) Σ_l ||W^l||² over the decayed weight matrices (0.0 when l2 = 0)."""
        if not self.l2:
            return 0.0
        return l2_cost(self._decayed(), self.l2, self._l2_n(m))

    # ------------------------------------------------------------------ evaluation
    def _in_chunks(self, X):
        """``_infer`` over the rows of ``X`` in chunks of ``CHUNK`` rows, concatenated."""
        chunks = [self._infer(X[i : i + CHUNK]) for i in range(0, max(len(X), 1), CHUNK)]
        if is_torch(chunks[0]):
            import torch

            return torch.cat(chunks)
        return np.concatenate(chunks)

    def predict(self, X) -> np.ndarray:
        """Predicted class of each row, shape ``(m,)``: argmax of ``A^L``; with one output unit,
        1 where the output exceeds 0.5 and 0 elsewhere."""
        return output_labels(self.forward(X))

    def loss_and_accuracy(self, X, Y) -> tuple[float, float]:
        """Cost and accuracy of a whole (validated) data set, evaluated in chunks of rows.

        ``Y`` has shape ``(m, n_L)``; the accuracy compares the ``output_labels`` of outputs
        and targets.
        """
        m = X.shape[0]
        total, correct = 0.0, 0
        for i in range(0, m, CHUNK):
            A = self._infer(X[i : i + CHUNK])
            Yc = Y[i : i + CHUNK]
            total += float(self.cost_fn.fn(A, Yc)) * A.shape[0]
            correct += int((output_labels(A) == output_labels(Yc)).sum())
        return total / max(m, 1) + self._l2_term(m), correct / max(m, 1)

    def evaluate(self, X, y) -> float:
        """Accuracy in [0, 1] of ``predict(X)`` against labels ``y`` (shape ``(m,)``) or
        one-hot/target rows (shape ``(m, n_L)``)."""
        self._check_kinds(X=X, y=y)
        X = self._check_X(X)
        y = self._as_input(y, "y")
        pred = self.predict(X)
        truth = output_labels(self._check_Y(y, X.shape[0])) if y.ndim == 2 else y.reshape(-1)
        if tuple(truth.shape) != tuple(pred.shape):
            raise ValueError(f"y must hold {pred.shape[0]} labels; got shape {tuple(y.shape)}")
        if self.device is not None:
            truth = to_backend(truth, self.device)
        return float((pred == truth).sum()) / pred.shape[0] if pred.shape[0] else 0.0

    # ------------------------------------------------------------------ training
    def fit(self, X, Y, epochs, batch_size, optimizer=None, lr=None, l2=0.0, validation=None,
            callbacks=(), progress=True, resume=None):  # fmt: skip
        """Train by mini-batch gradient descent; return a ``dlcourse.train.History``.

        ``Y`` is ``(m, n_L)`` targets or ``(m,)`` integer labels (one-hot encoded when
        ``n_L > 1``). Without ``optimizer`` plain SGD ``W <- W - lr * grad`` is used and ``lr``
        is required; with one, ``lr`` (if given) is assigned to ``optimizer.lr``. ``l2`` is
        Nielsen's λ with ``n = len(X)``, in force during this call only (the model's own
        ``l2``/``n_train`` are restored afterwards). ``validation=(X_val, Y_val)`` adds
        validation cost and accuracy to the history. Each epoch visits the rows in a fresh
        random order drawn from the model's seeded generator. ``resume=path`` continues from a
        checkpoint written by ``dlcourse.saving.Checkpoint`` up to ``epochs`` in total
        (parameters, optimiser, schedule, generator and history restored; see
        :func:`fit_loop`).
        """
        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) != 2:
                raise TypeError("validation must be a pair (X_val, Y_val)")
            X_val = self._check_X(validation[0], "X_val")
            validation = (X_val, self._check_Y(validation[1], X_val.shape[0], "Y_val"))
        optimizer, l2 = fit_setup(optimizer, lr, l2)
        # the penalty holds while fitting; afterwards the model computes what it computed
        # before (a later cost or backprop adds no L2 that the caller did not set)
        before = (self.l2, self.n_train)
        self.l2, self.n_train = l2, X.shape[0]
        try:
            return fit_loop(self, X, Y, epochs, batch_size, optimizer, validation=validation,
                            callbacks=callbacks, progress=progress, rng=self.rng,
                            resume=resume)  # fmt: skip
        finally:
            self.l2, self.n_train = before
