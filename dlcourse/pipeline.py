"""Pipeline parallelism (Chapter 15): the bubble, computed and simulated.

A network cut into ``p`` consecutive *stages*, one per device, processes a mini-batch as
``m`` micro-batches. Stage s can run the forward pass of micro-batch j only after stage
s − 1 has, and the backward pass only after stage s + 1 has. With every forward taking
``t_f`` and every backward ``t_b`` on every stage, a step of GPipe (all forwards, then all
backwards) lasts ``(m + p − 1)(t_f + t_b)``, of which each stage is busy ``m (t_f + t_b)``:
the idle fraction, the *bubble*, is (eq. ``eq-pipeline-bubble``)

    bubble = (p − 1) / (m + p − 1).

The 1F1B schedule (one forward, one backward) has the same bubble but holds the
activations of at most ``p − s`` micro-batches on stage s instead of all ``m``.

:func:`simulate` runs a schedule as a list of tasks per stage, each starting as soon as its
stage is free and its input has arrived; :func:`bubble_fraction` is the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SCHEDULES", "Task", "bubble_fraction", "schedule", "simulate"]

SCHEDULES = ("gpipe", "1f1b")


@dataclass(frozen=True)
class Task:
    """One forward (``"F"``) or backward (``"B"``) pass of micro-batch ``micro`` on
    ``stage``, running from ``start`` to ``end``."""

    stage: int
    micro: int
    kind: str
    start: float
    end: float


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def bubble_fraction(stages: int, micro_batches: int) -> float:
    """(p − 1) / (m + p − 1): the idle share of a pipeline step (eq. ``eq-pipeline-bubble``)."""
    p = _positive_int(stages, "stages")
    m = _positive_int(micro_batches, "micro_batches")
    return (p - 1) / (m + p - 1)


def schedule(stages: int, micro_batches: int, kind: str = "gpipe") -> list[list[tuple]]:
    """The order of the passes on each stage: a list (one per stage) of ``("F", j)`` and
    ``("B", j)``. GPipe: every forward, then the backwards in reverse order. 1F1B: stage s
    first runs ``min(p − s − 1, m)`` forwards, then alternates one forward and one backward,
    then runs the remaining backwards."""
    p = _positive_int(stages, "stages")
    m = _positive_int(micro_batches, "micro_batches")
    if kind not in SCHEDULES:
        raise ValueError(f"kind must be one of {SCHEDULES}; got {kind!r}")
    orders = []
    for s in range(p):
        if kind == "gpipe":
            orders.append([("F", j) for j in range(m)] + [("B", j) for j in reversed(range(m))])
            continue
        warmup = min(p - s - 1, m)
        order = [("F", j) for j in range(warmup)]
        forward, backward = warmup, 0
        while backward < m:
            if forward < m:
                order.append(("F", forward))
                forward += 1
            order.append(("B", backward))
            backward += 1
        orders.append(order)
    return orders


def simulate(stages: int, micro_batches: int, kind: str = "gpipe", t_forward: float = 1.0,
             t_backward: float = 2.0) -> dict:  # fmt: skip
    """Run the :func:`schedule` with passes of fixed length and return ``{"tasks": [Task],
    "makespan", "busy": per-stage busy time, "bubble": idle share of stages × makespan,
    "peak_stored": per stage, the most micro-batches whose forward has run and backward has
    not}``. A task starts when its stage has finished its previous task and its input is
    ready: ``F(s, j)`` needs ``F(s − 1, j)``, ``B(s, j)`` needs ``B(s + 1, j)`` (the last
    stage's ``B`` needs its own ``F``)."""
    orders = schedule(stages, micro_batches, kind)
    if not (t_forward > 0 and t_backward > 0):
        raise ValueError(f"pass times must be positive; got {t_forward} and {t_backward}")
    p = len(orders)
    end: dict[tuple, float] = {}
    free = [0.0] * p
    position = [0] * p
    tasks: list[Task] = []
    while any(position[s] < len(orders[s]) for s in range(p)):
        progressed = False
        for s in range(p):
            if position[s] == len(orders[s]):
                continue
            kind_, j = orders[s][position[s]]
            if kind_ == "F":
                needs = (s - 1, "F", j) if s > 0 else None
            else:
                needs = (s + 1, "B", j) if s < p - 1 else (s, "F", j)
            if needs is not None and needs not in end:
                continue
            start = max(free[s], end[needs] if needs else 0.0)
            stop = start + (t_forward if kind_ == "F" else t_backward)
            end[s, kind_, j] = free[s] = stop
            tasks.append(Task(s, j, kind_, start, stop))
            position[s] += 1
            progressed = True
        if not progressed:  # pragma: no cover - the schedules above never deadlock
            raise RuntimeError("the schedule deadlocked")
    makespan = max(free)
    busy = [sum(t.end - t.start for t in tasks if t.stage == s) for s in range(p)]
    peak = []
    for s in range(p):
        stored = best = 0
        for t in sorted((t for t in tasks if t.stage == s), key=lambda t: t.start):
            stored += 1 if t.kind == "F" else -1
            best = max(best, stored)
        peak.append(best)
    return {"tasks": tasks, "makespan": makespan, "busy": busy,
            "bubble": 1 - sum(busy) / (p * makespan), "peak_stored": peak}  # fmt: skip
