"""The training loop: history, callbacks, checkpoints, exact resume, progress bar."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import dlcourse.train as train
from dlcourse.layers import Activation, Linear, Model
from dlcourse.network import Network
from dlcourse.optim import SGD, Adam
from dlcourse.regularization import EarlyStopping
from dlcourse.saving import Checkpoint, load_checkpoint, read_npz
from dlcourse.schedules import CosineAnnealingLR, StepLR

ROOT = Path(__file__).resolve().parents[2]

# The set-up shared by this file and the fresh process of the resume test.
SETUP = """
import numpy as np
from dlcourse.layers import Activation, BatchNorm1d, Dropout, Linear, Model
from dlcourse.network import Network
from dlcourse.optim import Adam
from dlcourse.schedules import CosineAnnealingLR

rng = np.random.default_rng(0)
X, y = rng.standard_normal((60, 6)), rng.integers(0, 3, 60)

def make(kind):
    if kind == "network":
        model = Network([6, 8, 3], "tanh", "softmax", "cross_entropy", init="he", seed=3)
    else:
        model = Model([Linear(6, 8, seed=1), BatchNorm1d(8), Activation("relu"),
                       Dropout(0.3, seed=2), Linear(8, 3, seed=4), Activation("softmax")],
                      "cross_entropy", seed=5)
    opt = Adam(lr=0.02)
    return model, opt, CosineAnnealingLR(opt, T_max=10)
"""
namespace: dict = {}
exec(SETUP, namespace)  # noqa: S102 - the same code as the subprocess runs
X, y, make = namespace["X"], namespace["y"], namespace["make"]


def small_problem():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    net = Network([4, 6, 3], "tanh", "softmax", "cross_entropy", init="xavier_normal", seed=0)
    return net, X, y


def test_history_contents():
    net, X, y = small_problem()
    opt = SGD(lr=0.5)
    history = net.fit(X, y, 4, 10, optimizer=opt, validation=(X[:10], y[:10]),
                      callbacks=[StepLR(opt, step_size=2, gamma=0.5)], progress=False)  # fmt: skip
    assert history.epoch == [1, 2, 3, 4] and len(history) == 4
    assert history.lr == [0.5, 0.5, 0.25, 0.25]  # the rate used during each epoch
    cost, acc = net.loss_and_accuracy(net._check_X(X), net._check_Y(y, 40))
    assert history.train_cost[-1] == pytest.approx(net.cost(X, y)) == pytest.approx(cost)
    assert history.train_accuracy[-1] == pytest.approx(net.evaluate(X, y)) == acc
    assert history.val_accuracy[-1] == pytest.approx(net.evaluate(X[:10], y[:10]))
    assert history.val_cost[-1] == pytest.approx(net.cost(X[:10], y[:10]))
    assert all(t >= 0 for t in history.time)
    as_dict = history.as_dict()
    assert set(as_dict) == {"epoch", "train_cost", "train_accuracy", "val_cost", "val_accuracy",
                            "lr", "time"}  # fmt: skip
    no_val = net.fit(X, y, 1, 10, lr=0.1, progress=False)
    assert math.isnan(no_val.val_cost[0]) and math.isnan(no_val.val_accuracy[0])


def test_custom_callback_and_early_stopping():
    net, X, y = small_problem()
    seen = []

    class Recorder:
        def on_train_begin(self, model, history):
            seen.append("begin")

        def on_epoch_end(self, model, epoch, history):
            seen.append(epoch)
            return epoch == 3  # stop after the third epoch

        def on_train_end(self, model, history):
            seen.append("end")

    history = net.fit(X, y, 10, 8, lr=0.1, callbacks=[Recorder()], progress=False)
    assert seen == ["begin", 1, 2, 3, "end"] and history.epoch == [1, 2, 3]
    stopper = EarlyStopping(monitor="train_cost", patience=2, min_delta=1e-3)
    history = net.fit(X, y, 50, 40, lr=1e-9, callbacks=[stopper], progress=False)  # stuck
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3 and len(history) == 3


def run_in_fresh_process(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["network", "model"])
def test_interrupt_and_resume_is_bit_for_bit(tmp_path, kind):
    model, opt, schedule = make(kind)
    straight = model.fit(X, y, 10, 16, optimizer=opt, callbacks=[schedule], progress=False)
    expected = [p.copy() for p in model.parameters()]

    first, opt, schedule = make(kind)
    path = tmp_path / "ckpt.npz"
    first.fit(X, y, 5, 16, optimizer=opt, callbacks=[Checkpoint(path, every=5), schedule],
              progress=False)  # fmt: skip
    out = tmp_path / "after.npz"
    code = SETUP + textwrap.dedent(f"""
        from dlcourse.saving import Checkpoint
        model, opt, schedule = make({kind!r})
        history = model.fit(X, y, 10, 16, optimizer=opt, callbacks=[schedule],
                            progress=False, resume={str(path)!r})
        arrays = {{f"p{{i}}": p for i, p in enumerate(model.parameters())}}
        np.savez({str(out)!r}, cost=np.array(history.train_cost), lr=np.array(history.lr),
                 epoch=np.array(history.epoch), **arrays)
    """)
    run_in_fresh_process(code)
    with np.load(out) as resumed:
        for i, p in enumerate(expected):
            np.testing.assert_array_equal(resumed[f"p{i}"], p)  # bit for bit
        np.testing.assert_array_equal(resumed["cost"], straight.train_cost)
        np.testing.assert_array_equal(resumed["lr"], straight.lr)
        np.testing.assert_array_equal(resumed["epoch"], np.arange(1, 11))


def test_checkpoint_every_and_contents(tmp_path):
    model, opt, schedule = make("network")
    ckpt = Checkpoint(tmp_path / "c-{epoch:02d}.npz", every=2)
    model.fit(X, y, 5, 16, optimizer=opt, callbacks=[ckpt, schedule], progress=False)
    assert [p.name for p in ckpt.saved] == ["c-02.npz", "c-04.npz", "c-05.npz"]  # + the end
    data = read_npz(ckpt.saved[-1])
    assert data["history.epoch"].tolist() == [1, 2, 3, 4, 5]
    assert int(data["callback.0.last_epoch"]) == 5  # schedule stepped before the save
    assert int(data["optimizer.state.0.step"]) == 5 * 4  # 4 batches per epoch
    with np.load(ckpt.saved[-1], allow_pickle=False) as f:  # no pickle anywhere
        assert "metadata" in f.files
    with pytest.raises(ValueError, match="every"):
        Checkpoint(tmp_path / "x.npz", every=0)


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    model, opt, schedule = make("network")
    path = tmp_path / "ckpt.npz"
    model.fit(X, y, 2, 16, optimizer=opt, callbacks=[Checkpoint(path), schedule], progress=False)
    before = path.read_bytes()

    def crash(file, **arrays):  # dies half-way through writing
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, 4, 16, optimizer=opt, callbacks=[schedule, Checkpoint(path)],
                  progress=False, resume=path)  # fmt: skip
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary left


def test_corrupt_or_mismatched_checkpoint(tmp_path):
    model, opt, schedule = make("network")
    path = tmp_path / "ckpt.npz"
    model.fit(X, y, 1, 16, optimizer=opt, callbacks=[Checkpoint(path), schedule], progress=False)
    good = path.read_bytes()
    bad = tmp_path / "bad.npz"
    for content in (b"", b"garbage", good[: len(good) // 2]):
        bad.write_bytes(content)
        fresh, opt, schedule = make("network")
        before = [p.copy() for p in fresh.parameters()]
        with pytest.raises(ValueError, match="bad.npz"):
            fresh.fit(X, y, 3, 16, optimizer=opt, callbacks=[schedule], progress=False,
                      resume=bad)  # fmt: skip
        assert bad.read_bytes() == content  # the file is left alone
        for p, q in zip(before, fresh.parameters()):
            np.testing.assert_array_equal(p, q)  # and nothing was half-restored
    other = Network([6, 5, 3], "tanh", "softmax", "cross_entropy", seed=0)
    with pytest.raises(ValueError, match="shape"):
        other.fit(X, y, 2, 16, optimizer=Adam(), callbacks=[CosineAnnealingLR(Adam(), 10)],
                  progress=False, resume=path)  # fmt: skip
    fresh, _, schedule = make("network")
    with pytest.raises(ValueError, match="optimizer"):
        fresh.fit(X, y, 2, 16, optimizer=SGD(lr=0.1), callbacks=[schedule], progress=False,
                  resume=path)  # fmt: skip
    assert path.read_bytes() == good


def _corrupt(arrays, meta):
    """The ways a checkpoint can hold an unusable state, each with the message it must give."""
    rng_state = [{**meta["rng"][0], "bit_generator": "MT19937"}, *meta["rng"][1:]]
    return {
        "optimizer eps": ({"optimizer.eps": np.array(-1.0)}, {},
                          "the optimizer state does not load (eps must lie in (0.0, inf)"),
        "moment shape": ({"optimizer.state.0.exp_avg": np.zeros(7)}, {},
                         "the optimizer state 'exp_avg' of parameter 0 has shape (7,); "
                         "expected (83,)"),
        "moment of no parameter": ({"optimizer.state.9.exp_avg": np.zeros(3)}, {},
                                   "parameter 9 has shape (3,); expected no parameter 9"),
        "schedule": ({"callback.0.last_epoch": np.array(-3)}, {},
                     "the state of callback CosineAnnealingLR does not load"),
        "random generator": ({}, {"rng": rng_state},
                             "random generator 0 does not load (state must be for a PCG64"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["optimizer eps", "moment shape", "moment of no parameter", "schedule",
             "random generator"]
)  # fmt: skip
def test_failed_resume_changes_nothing(tmp_path, case):
    model, opt, schedule = make("network")
    path = tmp_path / "ckpt.npz"
    model.fit(X, y, 2, 16, optimizer=opt, callbacks=[Checkpoint(path), schedule], progress=False)
    arrays = read_npz(path)
    meta = json.loads(str(arrays["metadata"][0]))
    # the names the cases corrupt: Adam's state of θ, all 83 parameters as one vector
    assert arrays["optimizer.state.0.exp_avg"].shape == (83,)
    array_changes, meta_changes, message = _corrupt(arrays, meta)[case]
    arrays.update(array_changes)
    arrays["metadata"] = np.array([json.dumps({**meta, **meta_changes})])
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)

    fresh, opt, schedule = make("network")
    fresh.fit(X, y, 1, 16, optimizer=opt, callbacks=[schedule], progress=False)  # some state
    before = [p.copy() for p in fresh.parameters()]
    opt_before, schedule_before = opt.state_dict(), schedule.state_dict()
    rng_before = fresh.rng.bit_generator.state
    with pytest.raises(ValueError) as info:
        fresh.fit(X, y, 4, 16, optimizer=opt, callbacks=[schedule], progress=False, resume=bad)
    assert "bad.npz: cannot resume from this checkpoint" in str(info.value)
    assert message in str(info.value)
    for p, q in zip(before, fresh.parameters()):
        np.testing.assert_array_equal(p, q)  # bit-identical: nothing was half-restored
    assert fresh.rng.bit_generator.state == rng_before
    assert schedule.state_dict() == schedule_before
    after = opt.state_dict()
    assert after.keys() == opt_before.keys()
    for key, value in opt_before.items():
        np.testing.assert_array_equal(after[key], value)


def test_resume_with_another_batch_size_is_refused(tmp_path):
    model, opt, schedule = make("network")
    path = tmp_path / "ckpt.npz"
    model.fit(X, y, 2, 16, optimizer=opt, callbacks=[Checkpoint(path), schedule], progress=False)
    fresh, opt, schedule = make("network")
    before = [p.copy() for p in fresh.parameters()]
    with pytest.raises(ValueError) as info:
        fresh.fit(X, y, 4, 8, optimizer=opt, callbacks=[schedule], progress=False, resume=path)
    assert str(info.value) == (
        f"{path}: cannot resume from this checkpoint: it was written with batch_size 16 "
        "(this run: 8)"
    )
    for p, q in zip(before, fresh.parameters()):
        np.testing.assert_array_equal(p, q)


def test_resume_past_the_end_trains_nothing(tmp_path):
    model, opt, schedule = make("network")
    path = tmp_path / "ckpt.npz"
    model.fit(X, y, 3, 16, optimizer=opt, callbacks=[Checkpoint(path), schedule], progress=False)
    fresh, opt, schedule = make("network")
    history = fresh.fit(X, y, 3, 16, optimizer=opt, callbacks=[schedule], progress=False,
                        resume=path)  # fmt: skip
    assert history.epoch == [1, 2, 3]
    for p, q in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(p, q)


def test_load_checkpoint_needs_a_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz", None)


def test_progress_bar_only_when_interactive(capsys, monkeypatch):
    net, X, y = small_problem()
    assert not train.is_interactive()  # pytest captures stdout: not a terminal
    net.fit(X, y, 2, 10, lr=0.1)  # progress=True, but nobody watches
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(train, "is_interactive", lambda: True)
    net.fit(X, y, 2, 10, lr=0.1, validation=(X, y))
    err = capsys.readouterr().err
    assert "2/2" in err and "cost=" in err and "val_acc=" in err and "lr=" in err
    net.fit(X, y, 2, 10, lr=0.1, progress=False)  # silenced explicitly
    assert capsys.readouterr() == ("", "")


def test_model_trains_through_the_same_loop():
    model = Model([Linear(6, 8, seed=1), Activation("tanh"), Linear(8, 3, seed=2),
                   Activation("softmax")], "cross_entropy", seed=0)  # fmt: skip
    history = model.fit(X, y, 20, 10, optimizer=Adam(lr=0.02), progress=False,
                        validation=(X, y), l2=0.1)  # fmt: skip
    assert history.train_cost[-1] < history.train_cost[0]
    assert history.train_accuracy[-1] > 0.6
    assert history.train_cost == pytest.approx(history.val_cost)  # same data, eval mode


def _small_models():
    net = Network([4, 5, 3], "tanh", "softmax", "cross_entropy", seed=3)
    rng = np.random.default_rng(3)
    model = Model([Linear(4, 5, rng=rng), Activation("tanh"), Linear(5, 3, rng=rng),
                   Activation("softmax")], cost="cross_entropy", seed=3)  # fmt: skip
    return [net, model]


class _Boom(Exception):
    pass


class _FailOnSecondEpoch:
    def on_epoch_end(self, model, epoch, history):
        if epoch == 1:
            raise _Boom


@pytest.mark.parametrize("kind", ["Network", "Model"])
@pytest.mark.parametrize("fails", [False, True])
def test_fit_with_l2_leaves_a_later_backprop_as_it_was(kind, fails):
    """Issue 29: ``fit(l2=...)`` penalises while it trains; afterwards the model's cost and
    gradients are those of its weights alone, as before fit (also when fit is interrupted)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 4)), rng.integers(0, 3, 24)
    model = {type(m).__name__: m for m in _small_models()}[kind]
    callbacks = [_FailOnSecondEpoch()] if fails else []
    try:
        model.fit(X, y, 3, 8, lr=0.1, l2=5.0, callbacks=callbacks, progress=False)
    except _Boom:
        assert fails
    assert (model.l2, model.n_train) == (0.0, None)
    # the same weights in a model that never saw an L2 term give the same cost and gradients
    twin = {type(m).__name__: m for m in _small_models()}[kind]
    for p, q in zip(twin.parameters(), model.parameters()):
        p[...] = q
    Y = np.eye(3)[y]
    assert model.cost(X, Y) == twin.cost(X, Y)
    for g, h in zip(model.gradients(X, Y), twin.gradients(X, Y)):
        np.testing.assert_array_equal(g, h)


def test_a_penalty_set_on_the_model_survives_fit():
    net = Network([4, 5, 3], "tanh", "softmax", "cross_entropy", seed=3)
    net.l2, net.n_train = 0.25, 100
    X, y = np.random.default_rng(1).standard_normal((10, 4)), np.arange(10) % 3
    net.fit(X, y, 1, 5, lr=0.1, l2=3.0, progress=False)
    assert (net.l2, net.n_train) == (0.25, 100)
