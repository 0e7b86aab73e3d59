"""``Checkpoint``: the training-loop callback that writes a checkpoint every few epochs.

The file format, and resuming from it, are :mod:`dlcourse.saving.checkpoint`'s.
"""

from __future__ import annotations

from pathlib import Path

from dlcourse._validation import check_positive_int
from dlcourse.saving.checkpoint import Run, save_checkpoint


class Checkpoint:
    """Training-loop callback: save a checkpoint every ``every`` epochs (and at the end).

    ``path`` is the file written (replaced atomically each time); it may contain
    ``{epoch}``, e.g. ``"ckpt-{epoch:03d}.npz"``, to keep one file per save. The loop calls
    checkpoints after all other callbacks of the epoch (so a schedule has already stepped).
    With ``at_end=True`` the last epoch is saved too (even when it is not a multiple of
    ``every``, e.g. after early stopping). ``saved`` lists the paths written. ``settings``
    (JSON-able) are recorded in every file (see :func:`dlcourse.saving.checkpoint.read_metadata`).
    """

    runs_last = True

    def __init__(self, path, every: int = 1, at_end: bool = True, settings: dict | None = None):
        self.path, self.every = str(path), check_positive_int(every, "every")
        self.at_end, self.settings = bool(at_end), dict(settings or {})
        self.saved: list[Path] = []
        self._run: Run | None = None
        self._last: int | None = None

    def bind(self, run: Run) -> None:
        """Called by the training loop before the first epoch."""
        self._run = run

    def _save(self, epoch: int) -> None:
        if self._run is None:
            raise RuntimeError("Checkpoint must be used as a callback of dlcourse.train.fit_loop")
        path = Path(self.path.format(epoch=epoch))
        self.saved.append(save_checkpoint(path, self._run, epoch, self.settings))
        self._last = epoch

    def on_epoch_end(self, model, epoch: int, history) -> bool:
        if epoch % self.every == 0:
            self._save(epoch)
        return False

    def on_train_end(self, model, history) -> None:
        if self.at_end and history.epoch and history.epoch[-1] != self._last:
            self._save(history.epoch[-1])


__all__ = ["Checkpoint"]
