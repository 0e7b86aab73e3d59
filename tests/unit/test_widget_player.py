"""The kernel-free slider player of dlcourse.widgets: frames, labels, HTML, errors."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dlcourse.widgets import StaticPlayer, plot_activation, static_player  # noqa: E402


def test_one_frame_per_value_and_the_slider_steps_through_them():
    player = static_player(lambda std: plot_activation("sigmoid", std=std), [0.5, 2.0, 8.0],
                           label="std of z")  # fmt: skip
    assert len(player.frames) == 3 and player.labels == ["0.5", "2", "8"]
    assert len(set(player.frames)) == 3, "different values must give different figures"
    assert all(f.startswith(b"\x89PNG") for f in player.frames)
    page = player._repr_html_()
    slider = re.search(r'<input type="range" id="([\w-]+)-slider" min="0" max="(\d)"', page)
    assert slider and slider.group(2) == "2"
    shown = re.search(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(shown) == player.frames[1], "the middle frame is shown first"
    assert f'<label for="{slider.group(1)}-slider">std of z</label>' in page
    assert page == player._repr_html_(), "the HTML must be reproducible"
    assert not plt.get_fignums(), "the frames' figures must be closed"


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="at least one value"):
        static_player(lambda v: plt.figure(), [], label="x")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        static_player(lambda v: v, [1], label="x")
    with pytest.raises(ValueError, match="one label per frame"):
        StaticPlayer([b"a", b"b"], ["1"], label="x")
    with pytest.raises(ValueError, match="start must be between 0 and 1"):
        StaticPlayer([b"a", b"b"], ["1", "2"], label="x", start=5)
