"""``dlcourse train``: a tiny run, checkpoint and resume, --help, and clear errors."""

from __future__ import annotations

import re
import shlex

import pytest

from dlcourse.cli import build_parser, main
from dlcourse.cli.resume import command_line
from dlcourse.cli.train import flag_defaults

TINY = ["train", "--data", "digits", "--sizes", "64,16,10", "--epochs", "2", "--batch-size", "32",
        "--lr", "0.01"]  # fmt: skip


def accuracy(text: str) -> float:
    found = re.search(r"test accuracy: ([\d.]+) % \((\d+)/359\)", text)
    assert found, text
    return float(found.group(1))


def test_tiny_run_prints_epochs_and_accuracy(capsys):
    assert main(TINY) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out  # not a terminal: one line per epoch
    assert 50 < accuracy(out) <= 100


def test_no_progress_prints_only_the_result(capsys):
    assert main([*TINY, "--no-progress", "--optimizer", "sgd", "--lr", "0.1",
                 "--momentum", "0.9", "--schedule", "cosine", "--l2", "0.1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "epoch 1/2" not in out
    accuracy(out)


def test_checkpoint_and_resume_match_a_straight_run(tmp_path, capsys):
    assert main([*TINY, "--epochs", "3", "--no-progress"]) == 0
    straight = accuracy(capsys.readouterr().out)
    assert main([*TINY, "--epochs", "2", "--checkpoint", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    ckpt = tmp_path / "checkpoint.npz"
    assert ckpt.is_file()
    assert main([*TINY, "--epochs", "3", "--resume", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "epoch 2/3" not in out  # continues after epoch 2
    assert accuracy(out) == straight


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, f"{action.option_strings} has no help text"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "64,ten,10"], "comma-separated integers"),
        (["--optimizer", "adamm"], "invalid choice"),
        (["--epochs", "many"], "invalid int"),
    ],
)
def test_bad_flags_are_rejected_by_the_parser(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "63,10"], "must start with 64 and end with 10"),
        (["--epochs", "0"], "--epochs must be a positive integer"),
        (["--resume", "no/such/file.npz"], "no checkpoint file"),
        (["--momentum", "0.9"], "--momentum applies to sgd and rmsprop"),
    ],
)
def test_bad_settings_give_a_clear_error(argv, message, capsys):
    assert main([*TINY, *argv]) == 2
    assert message in capsys.readouterr().err


def test_corrupt_resume_file(tmp_path, capsys):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"junk")
    assert main([*TINY, "--resume", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert bad.read_bytes() == b"junk"


def test_resume_with_other_settings_is_refused_naming_each(tmp_path, capsys):
    assert main([*TINY, "--checkpoint", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    ckpt = tmp_path / "checkpoint.npz"
    before = ckpt.read_bytes()
    changed = ["--lr", "0.02", "--batch-size", "16", "--seed", "3", "--validate"]
    assert main([*TINY, "--epochs", "3", *changed, "--resume", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert f"--resume {ckpt} was written with other settings: " in err
    differences = ["--lr 0.01 (this run: 0.02)", "--batch-size 32 (this run: 16)",
                   "--seed 0 (this run: 3)", "--validate not given (this run: given)"]  # fmt: skip
    for difference in differences:
        assert difference in err
    assert "--epochs" not in err and "drop --resume to start afresh" in err
    assert ckpt.read_bytes() == before


def test_resume_of_a_checkpoint_without_cli_flags_is_refused(tmp_path, capsys):
    from dlcourse.data import load_digits
    from dlcourse.network import Network
    from dlcourse.saving import Checkpoint

    ds = load_digits(seed=0)
    net = Network([64, 16, 10], "relu", "softmax", "cross_entropy", "he", seed=0)
    ckpt = tmp_path / "checkpoint.npz"
    net.fit(ds.X_train, ds.y_train, 1, 32, lr=0.01, callbacks=[Checkpoint(ckpt)], progress=False)
    assert main([*TINY, "--resume", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert "does not record the flags of dlcourse train" in err and "resume=path" in err


def interrupt_in_call(monkeypatch, n: int) -> None:
    """Make the n-th training step (a call of Network.gradients_into, which fit uses for
    SGD, or Network.gradients) raise KeyboardInterrupt."""
    from dlcourse.network import Network

    calls = []

    def counted(original):
        def step(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        return step

    monkeypatch.setattr(Network, "gradients", counted(Network.gradients))
    monkeypatch.setattr(Network, "gradients_into", counted(Network.gradients_into))


def test_ctrl_c_prints_the_command_that_continues_the_run(tmp_path, capsys, monkeypatch):
    assert main([*TINY, "--epochs", "4", "--no-progress"]) == 0
    straight = accuracy(capsys.readouterr().out)
    ckpt = tmp_path / "checkpoint.npz"
    batches = -(-1438 // 32)  # training + validation parts of digits, batches of 32
    interrupt_in_call(monkeypatch, 2 * batches + 5)  # in epoch 3
    assert main([*TINY, "--epochs", "4", "--checkpoint", str(tmp_path)]) == 130
    captured = capsys.readouterr()
    assert "epoch 2/4" in captured.out and "epoch 3/4" not in captured.out
    assert "Traceback" not in captured.err
    message, command = captured.err.rstrip("\n").split("\n")
    assert message == (
        f"dlcourse train: interrupted. {ckpt} holds the run after epoch 2 of 4; continue it with"
    )
    assert command.startswith("  dlcourse train --sizes 64,16,10 --lr 0.01 --epochs 4 ")
    assert command.endswith(f"--checkpoint {tmp_path} --resume {ckpt}")
    monkeypatch.undo()
    assert main(shlex.split(command)[1:]) == 0  # the printed command, as a shell would split it
    out = capsys.readouterr().out
    assert "epoch 3/4" in out and "epoch 2/4" not in out
    assert accuracy(out) == straight  # as if never interrupted


def test_ctrl_c_without_checkpoint_says_how_to_get_one(capsys, monkeypatch):
    interrupt_in_call(monkeypatch, 3)
    assert main([*TINY, "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err == (
        "dlcourse train: interrupted; nothing was saved (no --checkpoint). A run started with "
        "--checkpoint DIR can be continued after an interruption:\n"
        "  dlcourse train --sizes 64,16,10 --lr 0.01 --epochs 2 --batch-size 32 --checkpoint "
        "checkpoints --no-progress\n"
    )


def test_command_line_round_trips_through_the_parser(tmp_path):
    argv = ["train", "--data", "moons", "--sizes", "2,8,2", "--activation", "tanh", "--lr",
            "0.05", "--seed", "3", "--validate", "--no-standardize", "--no-progress",
            "--checkpoint", str(tmp_path / "a b"), "--schedule", "cosine"]  # fmt: skip
    args = build_parser().parse_args(argv)
    again = build_parser().parse_args(shlex.split(command_line(args, flag_defaults()))[1:])
    assert {k: v for k, v in vars(again).items() if k != "func"} == {
        k: v for k, v in vars(args).items() if k != "func"
    }
