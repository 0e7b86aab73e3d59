"""Tensor parallelism of one linear layer: two (and three) gloo processes on 127.0.0.1 give
the outputs and gradients of one process."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")

from dlcourse.tensor_parallel import check_tensor_parallel  # noqa: E402

TOL = 1e-12  # float64; the all-reduce and the split products only reorder sums


def test_two_processes_equal_one_for_both_splits():
    result = check_tensor_parallel(("column", "row"), world_size=2, n_in=6, n_out=4, m=5)
    for kind, gaps in result.items():
        for name in ("y", "grad_x", "grad_weight", "grad_bias"):
            assert gaps[name] < TOL, (kind, name, gaps[name])
    # each rank holds half of W: two output rows each, or three input columns each
    assert result["column"]["weight_shapes"] == [(2, 6), (2, 6)]
    assert result["row"]["weight_shapes"] == [(4, 3), (4, 3)]


def test_three_processes_column_split():
    gaps = check_tensor_parallel("column", world_size=3, n_in=5, n_out=6, m=4, seed=1)["column"]
    assert max(gaps[k] for k in ("y", "grad_x", "grad_weight", "grad_bias")) < TOL
    assert gaps["weight_shapes"] == [(2, 5)] * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": "diagonal"}, "kinds must be"),
        ({"world_size": 0}, "world_size"),
        ({"kinds": "column", "n_out": 5}, "out_features = 5 must be divisible"),
        ({"kinds": "row", "n_in": 7}, "in_features = 7 must be divisible"),
    ],
)
def test_bad_arguments_are_refused_before_any_process_starts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_tensor_parallel(**kwargs)
