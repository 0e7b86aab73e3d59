"""Smoke test of the benchmark scripts' ``--quick`` mode: they run, and their JSON has the
shape the results appendix reads (never the speed, which depends on the machine)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINE_KEYS = {"cpu", "cores", "blas", "versions", "date"}


def _load(name: str):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / "benchmarks" / f"bench_{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def results(tmp_path, monkeypatch):
    """Send every JSON the scripts save to ``tmp_path`` instead of ``benchmarks/results``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import benchmarks._results as store

    monkeypatch.setattr(store, "RESULTS", tmp_path)
    # some scripts import the module by its bare name, from benchmarks/ on sys.path
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _results

    monkeypatch.setattr(_results, "RESULTS", tmp_path)
    return tmp_path


def _saved(folder: Path, name: str) -> dict:
    data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    assert MACHINE_KEYS <= set(data["machine"]), data["machine"]
    assert data["quick"] is True
    return data


def _positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_accuracy_quick(results):
    _load("accuracy").main(["--quick"])
    data = _saved(results, "accuracy")
    rows = data["digits"]["rows"]
    assert [r["name"] for r in rows] == ["nielsen_ch1", "nielsen_ch3", "best_mlp"]
    for row in rows:
        assert row["epochs"] == 2 and len(row["runs"]) == 1
        assert 0.0 <= row["test_accuracy_mean"] <= 1.0
        assert row["test_accuracy_std"] == 0.0  # one seed
        assert _positive(row["wall_s_mean"])
    # two epochs already beat guessing one class in ten
    assert max(r["test_accuracy_mean"] for r in rows) > 0.5
    assert data["digits"]["n_train"] + data["digits"]["n_test"] < 1797
    for row in data["fashion_mnist"]:
        assert 0.0 < row["test_accuracy_mean"] <= 1.0 and row["seeds"] >= 1
    assert all(0 < p["test_accuracy"] < 1 for p in data["published"])


def test_peers_quick(results):
    _load("peers").main(["--quick"])
    data = _saved(results, "peers")
    assert set(data["settings"]) == {"nielsen", "modern"}
    assert data["n_examples"] == 1000
    for setting in data["settings"].values():
        impls = [r["impl"] for r in setting["rows"]]
        assert impls[:2] == ["dlcourse float64", "dlcourse float32"]
        assert "per-example loop float64" in impls and "per-example loop float32" in impls
        assert impls[-1] == "scikit-learn"
        rows = {r["impl"]: r for r in setting["rows"]}
        for r in setting["rows"]:
            assert _positive(r["epoch_s"])
            assert r["us_per_step"] == pytest.approx(
                1e6 * r["epoch_s"] / (1000 // setting["batch"])
            )
            dtype = (
                "float64" if "float64" in r["impl"] or r["impl"] == "scikit-learn" else "float32"
            )
            loop = rows[f"per-example loop {dtype}"]["epoch_s"]
            assert r["speedup_vs_loop"] == pytest.approx(loop / r["epoch_s"])
        loop = rows["per-example loop float64"]
        assert 0 < loop["timed_examples"] < 1000  # timed on a subset, scaled to the epoch
        for t in setting["targets"]:
            assert _positive(t["speedup"]) and t["met"] == (t["speedup"] >= t["target"])
    nielsen = data["settings"]["nielsen"]["targets"]
    assert ("dlcourse float32", "per-example loop float32", 12.0) in [
        (t["impl"], t["vs"], t["target"]) for t in nielsen
    ]
    assert data["settings"]["modern"]["sizes"] == [784, 256, 128, 10]
    fashion = data["time_to_target"]
    if fashion is None:  # no Fashion-MNIST on this machine
        return
    assert fashion["n_train"] == 1000 and fashion["max_epochs"] == 1
    for name, entry in fashion["settings"].items():
        assert 0.5 < entry["target"] < 1
        impls = [r["impl"] for r in entry["rows"]]
        assert impls[:2] == ["dlcourse float64", "dlcourse float32"]
        assert ("per-example loop float64" in impls) == (name == "nielsen")
        assert impls[-1] == "scikit-learn"
        for r in entry["rows"]:
            assert r["epochs"] == len(r["test_accuracy_per_epoch"]) == 1
            assert 0.0 < r["test_accuracy_per_epoch"][-1] <= 1.0
            assert r["reached"] == (r["test_accuracy_per_epoch"][-1] >= entry["target"])
            assert (r["seconds"] is not None) == r["reached"]
            assert _positive(r["seconds_trained"])
    # the same network, data and order: the loop and the batch form agree
    rows = fashion["settings"]["nielsen"]["rows"]
    accs = {r["impl"]: r["test_accuracy_per_epoch"][-1] for r in rows}
    assert accs["dlcourse float64"] == pytest.approx(accs["per-example loop float64"], abs=0.01)


def test_scaling_quick(results):
    _load("scaling").main(["--quick"])
    data = _saved(results, "scaling")
    assert set(data["sweeps"]) == {"width", "depth", "batch"}
    assert all(_positive(p) for p in data["peak_gflops"].values())
    for points in data["sweeps"].values():
        assert len(points) == 2
        for p in points:
            assert p["sizes"][0] == 784 and p["sizes"][-1] == 10
            assert len(p["sizes"]) == p["depth"] + 2
            np_row = p["impls"]["numpy float32"]
            assert _positive(np_row["s_per_epoch"]) and _positive(np_row["gflops"])
            assert np_row["peak_mib"] > 0
            # the epoch time is the step time scaled to 60,000 examples
            assert np_row["s_per_epoch"] == pytest.approx(
                np_row["s_per_step"] / p["batch"] * 60_000
            )


def test_step_flops_counts_products():
    scaling = _load("scaling")
    # [784, 30, 10] at m = 1: forward 784*30 + 30*10, backward twice that less 784*30
    assert scaling.step_flops([784, 30, 10], 1) == 2 * (2 * (784 * 30 + 300) + 300)
    assert scaling.sizes_of(64, 3) == [784, 64, 64, 64, 10]


def test_dlcourse_bench_quick_passes_the_flag_to_every_script(tmp_path, capfd, monkeypatch):
    from dlcourse.cli import main

    folder = tmp_path / "benchmarks"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"bench_{name}.py").write_text(f"import sys\nprint('{name}', sys.argv[1:])\n")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick"]) == 0
    out = capfd.readouterr().out
    assert "a ['--quick']" in out and "b ['--quick']" in out
    assert main(["bench", "a", "--quick", "--", "--seeds", "2"]) == 0
    assert "a ['--quick', '--seeds', '2']" in capfd.readouterr().out


def test_make_bench_quick_runs_the_quick_mode():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "dlcourse bench $(if $(QUICK),--quick)" in makefile


def test_accuracy_table_reads_every_chapter_result_file(tmp_path):
    accuracy = _load("accuracy")
    files = {
        "fashion_mlp.json": {
            "runs": {
                "best": {"description": "best MLP", "runs": [
                    {"test_accuracy": 0.90, "test_accuracy_per_epoch": [0.8, 0.9]},
                    {"test_accuracy": 0.92, "test_accuracy_per_epoch": [0.8, 0.92]},
                ], "seconds_mean": 12.0},
                "nielsen_30": {"description": "Nielsen", "runs": [{"test_accuracy": 0.85}],
                               "epochs_max": 30},
            }
        },
        "cnn.json": {"architecture": "Conv2d-...", "epochs": 8, "machine": {"date": "2026-12-01"},
                     "dlcourse": {"test_accuracy_per_seed": [0.91, 0.93], "epoch_s_median": 10.0}},
        "recurrent.json": {"fashion_row_by_row": {"model": "GRU(28, 64)", "epochs": 2,
                                                  "test_accuracy": 0.85, "seconds": 99.0}},
    }  # fmt: skip
    for name, record in files.items():
        (tmp_path / name).write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "cnn_mlp.json").write_text("{not json", encoding="utf-8")  # skipped
    rows = accuracy.fashion_rows(tmp_path)
    assert [r["name"] for r in rows] == ["fashion_nielsen_30", "fashion_best", "cnn", "recurrent"]
    by_name = {r["name"]: r for r in rows}
    best = by_name["fashion_best"]
    assert best["chapter"] == "Chapter 9" and best["seeds"] == 2 and best["epochs"] == 2
    assert best["test_accuracy_mean"] == pytest.approx(0.91)
    assert best["test_accuracy_std"] == pytest.approx(0.02 / 2**0.5)
    assert best["wall_s"] == 12.0
    assert by_name["fashion_nielsen_30"]["epochs"] == 30
    cnn = by_name["cnn"]
    assert cnn["chapter"] == "Chapter 11" and cnn["wall_s"] == 80.0
    assert cnn["date"] == "2026-12-01"
    rnn = by_name["recurrent"]
    assert rnn["chapter"] == "Chapter 13" and rnn["test_accuracy_mean"] == 0.85
    assert rnn["label"] == "GRU(28, 64)" and rnn["wall_s"] == 99.0


def test_epoch_quick(results):
    _load("epoch").main(["--quick"])
    data = _saved(results, "epoch")
    assert data["n_examples"] == 10_000 and data["sizes"] == [784, 30, 10]
    keys = [r["key"] for r in data["rows"]]
    assert keys[:5] == ["loop", "vec64", "vec32", "fit64", "fit32"]
    for r in data["rows"]:
        assert _positive(r["wall_s"])
        assert (r["robust_s"] is None) == r["key"].startswith("fit")
    targets = {t["what"]: t for t in data["targets"]}
    assert targets["vectorised float32 vs the per-example loop"]["target"] == 12.0
    assert targets["vectorised float64 vs the per-example loop"]["target"] == 8.0
    wide = data["wide"]
    assert wide["sizes"] == [784, 1024, 10] and wide["batch"] == 256
    assert wide["peak_gflops"] == max(wide["peak_tall"], wide["peak_square"])
    fraction = targets["batch 256 [784, 1024, 10] epoch, fraction of the float32 matmul peak"]
    assert fraction["speedup"] == pytest.approx(wide["epoch"] / wide["peak_gflops"])
    assert fraction["met"] == (fraction["speedup"] >= 0.8)
    for t in data["targets"]:
        assert _positive(t["speedup"])
    assert data["memory"]["peak_bytes"] > 0


def test_search_quick(results):
    pytest.importorskip("optuna")
    from dlcourse.data import DataNotFoundError

    try:
        data = _load("search").main(["--quick"])
    except DataNotFoundError:
        pytest.skip("no Fashion-MNIST on this machine")
    saved = _saved(results, "search_quick")
    assert saved["methods"].keys() == data["methods"].keys()
    budget = saved["budget_epochs"]
    for key in ("random", "successive_halving", "hyperband"):
        (run,) = saved["methods"][key]["runs"]
        assert run["epochs_spent"] == budget  # every method spends the whole budget, no more
        assert sum(len(t["val"]) for t in run["trials"]) == budget
        assert run["trials_finished"] >= 1
        finished = [t for t in run["trials"] if t["state"] == "finished"]
        assert all(len(t["val"]) == saved["max_epochs"] for t in finished)
        assert run["best_val"] == max(t["val"][-1] for t in finished)
        assert 0.1 < run["best_test"] <= 1.0
    # no pruning: every trial runs to the end; the same sampler seed gives the same first trial
    rand = saved["methods"]["random"]["runs"][0]
    assert rand["trials_started"] == budget // saved["max_epochs"]
    halving = saved["methods"]["successive_halving"]["runs"][0]
    assert halving["trials"][0]["lr"] == rand["trials"][0]["lr"]
    assert halving["trials_started"] >= rand["trials_started"]
    rows = saved["warmup"]["rows"]
    assert {r["warmup_steps"] for r in rows} == {0, saved["warmup"]["warmup_steps"]}
    assert all(0.0 <= v <= 1.0 for r in rows for v in r["val"])


def test_generative_quick_and_merge(results):
    """Chapter 16's benchmark: the VAE and ring parts in quick mode, then two part files
    joined into one (the way the committed results were made)."""
    pytest.importorskip("torch")
    from dlcourse.data import available

    if not available("fashion"):
        pytest.skip("Fashion-MNIST is not on this machine")
    bench = _load("generative")
    bench.main(["--quick", "--parts", "vae,ring"])
    data = _saved(results, "generative_quick")
    judge = data["judge"]
    assert 0.5 < judge["test_accuracy"] <= 1.0 and _positive(judge["mmd_bandwidth"])
    (vae,) = data["vae"]["runs"]
    # two sets of real test images are closer to each other than any generator's samples
    for key in ("vae_mmd2", "ae_fitted_gaussian_mmd2", "ae_standard_normal_mmd2"):
        assert judge["real_vs_real_mmd2"] < vae[key]
    assert 0 < vae["vae_recon_cost"] < 100 and 0 < vae["ae_recon_cost"] < 100
    runs = data["ring"]["runs"]
    assert sorted(r["pack"] for r in runs) == [1, 4]
    for run in runs:
        assert [s["step"] for s in run["snapshots"]] == [100, 200, 300, 600]
        for snap in run["snapshots"]:
            assert 0 <= snap["modes"] <= 8 and 0.0 <= snap["high_quality"] <= 1.0
            assert sum(snap["counts"]) == round(2000 * snap["high_quality"])
        assert len(run["snapshots"][0]["samples"]) == 500

    base = {"machine": {}, "quick": False, "seeds": [0], "judge": judge, "ring": data["ring"]}
    (results / "generative.json").write_text(json.dumps(base), encoding="utf-8")
    for seed in (1, 2):
        part = {"judge": judge, "vae": {"epochs": 1, "runs": [{**vae, "seed": seed}]}}
        (results / f"generative_p{seed}.json").write_text(json.dumps(part), encoding="utf-8")
    bench.main(["--merge", "p1", "p2"])
    merged = json.loads((results / "generative.json").read_text(encoding="utf-8"))
    assert [r["seed"] for r in merged["vae"]["runs"]] == [1, 2]
    assert merged["ring"] == data["ring"] and merged["parts_merged"] == ["p1", "p2"]
    assert MACHINE_KEYS <= set(merged["machine"])
