"""A slider that works without a kernel: figures precomputed over a parameter's range and
played by a few lines of JavaScript embedded in the page.

The ipywidgets explorers of the chapters need a running Python kernel; the published book has
none. :func:`static_player` draws the same figure for every value a slider would take, stores
the PNGs in the notebook output, and shows them with an HTML range input, so a reader of the
static page can still move the slider and watch the figure change::

    from dlcourse.widgets import plot_activation, static_player

    static_player(lambda std: plot_activation("sigmoid", std=std), [0.5, 1, 2, 4, 8],
                  label="standard deviation of z")
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from dlcourse.widgets._common import figure_png

__all__ = ["StaticPlayer", "static_player"]


class StaticPlayer:
    """Precomputed frames and their slider labels; displays as HTML (``_repr_html_``).

    ``frames``: PNG bytes, one per slider position; ``labels``: the value shown for each;
    ``start``: the initial position; ``alt``: the text alternative of the image.
    """

    def __init__(self, frames: Sequence[bytes], labels: Sequence[str], label: str,
                 start: int = 0, alt: str = "") -> None:  # fmt: skip
        if len(frames) == 0 or len(frames) != len(labels):
            raise ValueError(
                f"a player needs one label per frame and at least one frame; got "
                f"{len(frames)} frames and {len(labels)} labels"
            )
        if not 0 <= start < len(frames):
            raise ValueError(f"start must be between 0 and {len(frames) - 1}; got {start}")
        self.frames, self.labels = list(frames), [str(v) for v in labels]
        self.label, self.start = label, int(start)
        self.alt = alt or f"figure for each value of {label}"

    def _repr_html_(self) -> str:
        encoded = [base64.b64encode(f).decode("ascii") for f in self.frames]
        # a stable id from the content, so re-running the cell gives the same HTML
        key = hashlib.sha1("".join(encoded).encode()).hexdigest()[:12]
        uid = f"dlcourse-player-{key}"
        label, alt = html.escape(self.label), html.escape(self.alt)
        first = self.start
        return (
            f'<div class="dlcourse-player" id="{uid}" style="max-width:100%">'
            f'<img alt="{alt}" src="data:image/png;base64,{encoded[first]}" '
            f'style="max-width:100%;height:auto;background:white">'
            f'<div style="display:flex;gap:0.6em;align-items:center;flex-wrap:wrap">'
            f'<label for="{uid}-slider">{label}</label>'
            f'<input type="range" id="{uid}-slider" min="0" max="{len(encoded) - 1}" step="1" '
            f'value="{first}" style="flex:1;min-width:8em">'
            f'<output for="{uid}-slider" aria-live="polite">{html.escape(self.labels[first])}'
            f"</output></div>"
            f"<script>(function () {{"
            f"const frames = {json.dumps(encoded)}; const labels = {json.dumps(self.labels)};"
            f'const root = document.getElementById("{uid}");'
            f'const img = root.querySelector("img"); const slider = root.querySelector("input");'
            f'const shown = root.querySelector("output");'
            f'slider.addEventListener("input", function () {{'
            f'img.src = "data:image/png;base64," + frames[slider.value];'
            f"shown.textContent = labels[slider.value];}});"
            f"}})();</script></div>"
        )

    def __repr__(self) -> str:
        return f"StaticPlayer({len(self.frames)} frames of {self.label!r})"


def static_player(
    draw: Callable[[object], Figure],
    values: Sequence,
    label: str,
    *,
    start: int | None = None,
    fmt: Callable[[object], str] = lambda v: f"{v:g}" if isinstance(v, float) else str(v),
    dpi: int = 80,
    alt: str = "",
) -> StaticPlayer:
    """Draw ``draw(value)`` for every value (each call returns a Figure, closed afterwards)
    and return a :class:`StaticPlayer` whose slider steps through them.

    ``start`` (default: the middle value) is the position shown first; ``fmt`` turns a value
    into the text next to the slider; ``dpi`` sets the resolution of the frames.
    """
    values = list(values)
    if not values:
        raise ValueError("static_player needs at least one value")
    frames = []
    for value in values:
        fig = draw(value)
        if not isinstance(fig, Figure):
            raise TypeError(
                f"draw(value) must return a matplotlib Figure; got {type(fig).__name__}"
            )
        frames.append(figure_png(fig, dpi=dpi))
        plt.close(fig)
    start = len(values) // 2 if start is None else start
    return StaticPlayer(frames, [fmt(v) for v in values], label, start, alt)
