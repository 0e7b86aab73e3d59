"""ZeRO memory arithmetic against the numbers of the ZeRO paper's Figure 1."""

from __future__ import annotations

import pytest

from dlcourse.sharding import STAGES, zero_memory

GB = 1e9


@pytest.mark.parametrize(("stage", "gigabytes"), [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_the_zero_papers_example(stage, gigabytes):
    # Rajbhandari et al. (2020), Figure 1: 7.5 billion parameters, 64 devices, K = 12
    total = zero_memory(7.5e9, 64, stage)["total"] / GB
    assert total == pytest.approx(gigabytes, abs=0.05)


def test_parts_add_up_and_shard_in_order():
    previous = None
    for stage in STAGES:
        memory = zero_memory(1e6, 4, stage)
        assert memory["total"] == pytest.approx(
            memory["params"] + memory["grads"] + memory["optimizer"]
        )
        if previous is not None:
            assert memory["total"] < previous
        previous = memory["total"]
    assert zero_memory(1e6, 4, 1)["optimizer"] == pytest.approx(12e6 / 4)
    assert zero_memory(1e6, 4, 1)["grads"] == pytest.approx(2e6)
    assert zero_memory(1e6, 4, 2)["grads"] == pytest.approx(2e6 / 4)
    assert zero_memory(1e6, 4, 2)["params"] == pytest.approx(2e6)
    assert zero_memory(1e6, 4, 3)["params"] == pytest.approx(2e6 / 4)


def test_one_device_shards_nothing():
    totals = {zero_memory(3e6, 1, stage)["total"] for stage in STAGES}
    assert totals == {16 * 3e6}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_params": -1, "n_devices": 2, "stage": 0}, "n_params"),
        ({"n_params": 10, "n_devices": 0, "stage": 0}, "n_devices"),
        ({"n_params": 10, "n_devices": 2, "stage": 4}, "stage must be"),
        ({"n_params": 10, "n_devices": 2, "stage": 1, "optimizer_bytes": -4}, "optimizer_bytes"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zero_memory(**kwargs)
