"""Pipeline parallelism: the simulated bubble equals (p - 1) / (m + p - 1) for GPipe and 1F1B,
and 1F1B stores fewer micro-batches."""

from __future__ import annotations

import pytest

from dlcourse.pipeline import bubble_fraction, schedule, simulate


@pytest.mark.parametrize("kind", ["gpipe", "1f1b"])
@pytest.mark.parametrize(("p", "m"), [(1, 1), (1, 5), (2, 1), (2, 4), (4, 4), (4, 8), (5, 3)])
def test_simulated_bubble_equals_the_formula(kind, p, m):
    run = simulate(p, m, kind, t_forward=1.0, t_backward=2.0)
    assert run["makespan"] == pytest.approx((m + p - 1) * 3.0)
    assert run["bubble"] == pytest.approx(bubble_fraction(p, m), abs=1e-12)
    assert run["busy"] == [pytest.approx(3.0 * m)] * p


def test_every_task_runs_once_and_waits_for_its_input():
    p, m = 4, 6
    for kind in ("gpipe", "1f1b"):
        tasks = simulate(p, m, kind)["tasks"]
        assert len(tasks) == 2 * p * m
        end = {(t.stage, t.kind, t.micro): t.end for t in tasks}
        assert len(end) == 2 * p * m
        for t in tasks:
            if t.kind == "F" and t.stage > 0:
                assert t.start >= end[t.stage - 1, "F", t.micro]
            if t.kind == "B":
                before = (t.stage + 1, "B", t.micro) if t.stage < p - 1 else (t.stage, "F", t.micro)
                assert t.start >= end[before]
        for s in range(p):  # one task at a time per stage
            own = sorted((t for t in tasks if t.stage == s), key=lambda t: t.start)
            assert all(a.end <= b.start for a, b in zip(own, own[1:]))


def test_1f1b_stores_at_most_p_minus_s_micro_batches_gpipe_all_m():
    p, m = 4, 8
    assert simulate(p, m, "gpipe")["peak_stored"] == [m] * p
    assert simulate(p, m, "1f1b")["peak_stored"] == [p - s for s in range(p)]


def test_bubble_shrinks_with_more_micro_batches():
    assert bubble_fraction(4, 1) == pytest.approx(0.75)
    assert bubble_fraction(4, 12) == pytest.approx(0.2)
    assert bubble_fraction(1, 7) == 0.0


def test_unequal_pass_times_keep_the_gpipe_formula():
    run = simulate(3, 5, "gpipe", t_forward=1.0, t_backward=1.0)
    assert run["bubble"] == pytest.approx(2 / 7)


def test_schedule_lists_each_pass_once():
    for order in schedule(3, 4, "1f1b"):
        assert sorted(order) == sorted([("F", j) for j in range(4)] + [("B", j) for j in range(4)])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bubble_fraction(0, 4), "stages"),
        (lambda: bubble_fraction(2, 1.5), "micro_batches"),
        (lambda: schedule(2, 2, "interleaved"), "kind must be"),
        (lambda: simulate(2, 2, t_forward=0.0), "positive"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
