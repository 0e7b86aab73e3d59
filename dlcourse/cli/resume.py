"""``dlcourse train --resume`` and Ctrl-C: what a checkpoint of the command must match, and
the command that continues an interrupted run.

A checkpoint written by ``dlcourse train --checkpoint DIR`` records the flags that decide
the run (:func:`run_settings`); ``--resume`` with any other value is refused, naming each
difference (:func:`check_resume`). After Ctrl-C the command prints where the run stands and
the exact command that continues it (:func:`interrupted_message`).
"""

from __future__ import annotations

import argparse
import shlex

from dlcourse.saving import read_metadata


def run_settings(args, sizes: list[int]) -> dict[str, object]:
    """The flags that decide the course of a run, as its checkpoints record them: a resume
    must repeat them (``--epochs`` too with the cosine schedule, whose T_max it sets)."""
    settings: dict[str, object] = {
        "--data": args.data,
        "--sizes": ",".join(map(str, sizes)),
        **{f"--{name}": getattr(args, name) for name in ("activation", "output", "cost", "init",
                                                        "optimizer", "lr", "momentum")},
        "--batch-size": args.batch_size,
        "--l2": args.l2,
        "--schedule": args.schedule,
        "--seed": args.seed,
        "--dtype": args.dtype,
        "--validate": args.validate,
        "--no-standardize": not args.standardize,
    }  # fmt: skip
    if args.schedule == "cosine":
        settings["--epochs"] = args.epochs
    return settings


def check_resume(path: str, settings: dict[str, object]) -> None:
    """Refuse to continue the checkpoint ``path`` with flags other than those it recorded."""
    saved = {k: v for k, v in read_metadata(path)["settings"].items() if k.startswith("--")}
    if not saved:
        raise ValueError(
            f"--resume {path}: this checkpoint does not record the flags of dlcourse train "
            "(it was written from Python, or by an older version), so they cannot be checked; "
            "continue it in Python with Network.fit(..., resume=path)"
        )

    def show(value):
        if value is None:
            return "not set"
        if isinstance(value, bool):
            return "given" if value else "not given"
        return f"{value:g}" if isinstance(value, float) else str(value)

    differ = [
        f"{flag} {show(saved.get(flag))} (this run: {show(settings.get(flag))})"
        for flag in dict.fromkeys([*saved, *settings])
        if saved.get(flag) != settings.get(flag)
    ]
    if differ:
        raise ValueError(
            f"--resume {path} was written with other settings: {'; '.join(differ)}. "
            "Repeat the checkpoint's values to continue it, or drop --resume to start afresh"
        )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while ``dlcourse train`` trained. ``resume_from`` is the newest checkpoint of
    the run (the one it wrote last, or the one it resumed from), or ``None``."""

    def __init__(self, resume_from):
        super().__init__(resume_from)
        self.resume_from = resume_from


def command_line(args: argparse.Namespace, defaults: dict, **changes) -> str:
    """The ``dlcourse train`` command of ``args`` with ``changes`` (dest=value) applied;
    flags at their ``defaults`` (dest -> value, in the parser's order) are left out."""
    words = ["dlcourse", "train"]
    for dest, default in defaults.items():
        value = changes[dest] if dest in changes else getattr(args, dest, default)
        flag = "--" + dest.replace("_", "-")
        if value is None or value == default:
            continue
        if isinstance(default, bool):  # a --flag (False by default) or --no-flag (True)
            words.append(flag.replace("--", "--no-") if default else flag)
        else:
            words += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    return shlex.join(words)


def interrupted_message(args: argparse.Namespace, resume_from, defaults: dict) -> str:
    """What ``dlcourse train`` prints after Ctrl-C: where the run stands, how to continue."""
    if resume_from is None:
        saved = (
            "nothing was saved yet" if args.checkpoint else "nothing was saved (no --checkpoint)"
        )
        again = command_line(args, defaults, checkpoint=args.checkpoint or "checkpoints")
        return (
            f"dlcourse train: interrupted; {saved}. A run started with --checkpoint DIR "
            f"can be continued after an interruption:\n  {again}"
        )
    try:
        state = f"the run after epoch {read_metadata(resume_from)['epoch']} of {args.epochs}"
    except (OSError, ValueError) as err:  # e.g. Ctrl-C while checking a bad --resume file
        state = f"no state that can be read ({err})"
    return (
        f"dlcourse train: interrupted. {resume_from} holds {state}; continue it with\n"
        f"  {command_line(args, defaults, resume=str(resume_from))}"
    )


__all__ = ["Interrupted", "check_resume", "command_line", "interrupted_message", "run_settings"]
