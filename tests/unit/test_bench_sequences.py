"""``--quick`` runs of the sequence benchmarks: they run and write the JSON the chapters read
(shapes and ranges only; the numbers of a quick run mean nothing)."""

from __future__ import annotations

import json

import pytest
import test_bench_quick
from test_bench_quick import _load

results = test_bench_quick.results  # the fixture that sends the scripts' JSON to tmp_path


def test_seq2seq_quick(results):
    pytest.importorskip("torch")
    _load("seq2seq").main(["--quick"])
    data = json.loads((results / "seq2seq_quick.json").read_text(encoding="utf-8"))
    assert data["quick"] is True and {"cpu", "date"} <= set(data["machine"])
    assert [r["model"] for r in data["runs"]] == ["plain", "attention"]
    for name in ("plain", "attention"):
        s = data["summary"][name]
        assert s["tf_loss"]["mean"] > 0 and s["tf_loss"]["std"] == 0.0  # one seed
        for key in ("tf_token_acc", "free_token_acc", "exact_match", "beam5_exact_match"):
            assert 0.0 <= s[key]["mean"] <= 1.0
        # the beam finds outputs at least as probable on average as greedy decoding
        assert s["beam5_mean_log_prob"]["mean"] >= s["beam1_mean_log_prob"]["mean"] - 1e-9


def test_transformer_quick(results):
    _load("transformer").main(["--quick"])
    data = json.loads((results / "transformer_quick.json").read_text(encoding="utf-8"))
    assert data["quick"] is True
    assert set(data["main_summary"]) == {"pre", "post"}
    assert len(data["sweep_summary"]) == 2 * len(data["config"]["sweep_lrs"]) * 2
    for row in data["sweep_summary"]:
        assert row["norm"] in ("pre", "post") and row["warmup"] in (0, 100)
        assert 0.0 <= row["exact_match"]["mean"] <= 1.0
