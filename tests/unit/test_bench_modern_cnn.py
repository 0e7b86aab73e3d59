"""benchmarks/bench_modern_cnn.py: its schedule, its parity check of the converted networks
and its summary table (the training itself is the benchmark, never a test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_bench_quick import _load

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def bench():
    return _load("modern_cnn")


def test_learning_rate_warms_up_then_follows_a_cosine_to_zero(bench):
    steps, total = 10, 50
    lrs = [bench.lr_at(s, steps, total) for s in range(total)]
    np.testing.assert_allclose(lrs[:steps], bench.LR * np.arange(1, steps + 1) / steps)
    assert lrs[steps] == pytest.approx(bench.LR)  # the top of the cosine
    mid = steps + (total - steps) // 2
    assert lrs[mid] == pytest.approx(bench.LR / 2)
    assert all(a >= b for a, b in zip(lrs[steps:], lrs[steps + 1 :]))
    assert bench.lr_at(total, steps, total) == pytest.approx(0.0, abs=1e-15)


def test_parity_of_a_converted_resnet_is_rounding(bench):
    from dlcourse.cnn_models import resnet
    from dlcourse.torchlayers import layers_to_module

    model = resnet((2, 4), seed=0)  # float64: differences are rounding only
    net = layers_to_module(model)
    X = np.random.default_rng(0).random((8, 1, 28, 28))
    check = bench.parity(model, net, X, np.arange(8) % 10)
    for key in ("max_abs_diff_output_eval", "max_abs_diff_output_train",
                "max_abs_diff_grad", "max_abs_diff_output_eval_after"):  # fmt: skip
        assert check[key] < 1e-10, (key, check[key])
    assert check["max_abs_grad"] > 1e-3
    # a network whose copy differs is caught
    with __import__("torch").no_grad():
        next(net.parameters()).add_(0.1)
    assert bench.parity(model, net, X, np.arange(8) % 10)["max_abs_diff_output_eval"] > 1e-4


def test_augment_batch_keeps_shape_and_moves_pixels(bench):
    X = np.random.default_rng(1).random((16, 1, 28, 28)).astype(np.float32)
    out = bench.augment_batch(X, np.random.default_rng(0))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert not np.array_equal(out, X)
    assert out.sum() <= X.sum() + 1e-3  # crops only drop pixels, flips only move them


def test_table_groups_runs_by_configuration(bench):
    runs = [{"arch": "resnet", "augmentation": aug, "seed": seed, "epochs": 5, "params": 1,
             "mult_adds": 2, "train_cpu_s": 10.0 + seed, "test_accuracy": acc}
            for aug, seed, acc in ((False, 0, 0.9), (False, 1, 0.8), (True, 0, 0.95))]  # fmt: skip
    table = bench.table(runs)
    assert set(table) == {"resnet", "resnet+aug"}
    assert table["resnet"]["seeds"] == [0, 1]
    assert table["resnet"]["test_accuracy_mean"] == pytest.approx(0.85)
    assert table["resnet"]["test_accuracy_std"] == pytest.approx(0.05)
    assert table["resnet+aug"]["test_accuracy_per_seed"] == [0.95]
    assert math.isclose(table["resnet"]["train_cpu_s"][1], 11.0)


LOG = """\
resnet+aug seed 0: 78090 parameters, 9345920 multiply-adds; parity {'max_abs_diff_grad': 2e-4}
  epoch 1: 69 s CPU, test 66.70%
  epoch 2: 70 s CPU, test 85.10%
lenet5 seed 1: 61706 parameters, 416520 multiply-adds; parity {'batch': 64}
  epoch 1: 8 s CPU, test 83.31%
  epoch 2: 8 s CPU, test 85.38%
  epoch 3: 8 s CPU, test 87.58%
vgg seed 0: 72442 parameters, 7338880 multiply-adds; parity {'batch': 64}
"""


def test_runs_from_the_log_of_a_stopped_process(bench):
    runs = bench.runs_from_log(LOG, epochs=3)
    assert [(r["arch"], r["augmentation"], r["seed"]) for r in runs] == [
        ("resnet", True, 0),
        ("lenet5", False, 1),
    ]  # the vgg run printed no epoch: dropped
    resnet_run, lenet_run = runs
    assert resnet_run["partial"] and resnet_run["epochs"] == 2
    assert resnet_run["epochs_planned"] == 3
    assert resnet_run["test_accuracy"] == pytest.approx(0.851)
    assert resnet_run["train_cpu_s"] == 139 and resnet_run["parity"]["max_abs_diff_grad"] == 2e-4
    assert "partial" not in lenet_run and lenet_run["epochs"] == 3
    table = bench.table(runs)
    assert table["resnet+aug"]["partial"] and not table["lenet5"]["partial"]


def test_the_accuracy_table_reads_modern_cnn_json(tmp_path):
    accuracy = _load("accuracy")
    record = {
        "machine": {"date": "2026-12-07"},
        "table": {
            "lenet5": {
                "test_accuracy_per_seed": [0.88, 0.90],
                "epochs": 5,
                "train_cpu_s": [40, 42],
            },
            "resnet+aug": {"test_accuracy_per_seed": [0.9], "epochs": 5, "train_cpu_s": [340]},
        },
    }
    (tmp_path / "modern_cnn.json").write_text(__import__("json").dumps(record))
    rows = {r["name"]: r for r in accuracy.fashion_rows(tmp_path)}
    assert set(rows) == {"modern_cnn_lenet5", "modern_cnn_resnet+aug"}
    lenet = rows["modern_cnn_lenet5"]
    assert lenet["chapter"] == "Chapter 12" and lenet["seeds"] == 2 and lenet["epochs"] == 5
    assert lenet["test_accuracy_mean"] == pytest.approx(0.89) and lenet["wall_s"] == 41.0
    assert rows["modern_cnn_resnet+aug"]["test_accuracy_std"] == 0.0


@pytest.mark.parametrize("out", ["/tmp/part0", "parts/part0", "part0.json", ".."])
def test_a_results_name_that_is_a_path_is_refused_before_any_run(bench, out, capsys):
    """``--out`` names a file in benchmarks/results; a path used to fail only when the first
    run had finished and its results were written."""
    with pytest.raises(SystemExit) as stop:
        bench.main(["--runs", "lenet5", "--out", out])
    assert stop.value.code == 2
    assert "a results name is a plain file name without .json" in capsys.readouterr().err
