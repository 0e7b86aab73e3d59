"""Drawing a computational graph of :class:`~dlcourse.autodiff.Value` nodes with matplotlib.

The layout is layered from left to right: inputs on the left, the output on the
right. Value nodes are boxes showing label, data and grad; every operation is a
circle between its inputs and its result. No graphviz binary is needed.
"""

from __future__ import annotations

from dlcourse.autodiff.engine import Value, topological_order

__all__ = ["draw_graph", "graph_layout"]

OP_SYMBOLS: dict[str, str] = {
    "+": "+",
    "-": "−",
    "*": "×",
    "/": "÷",
    "**": "^",
    "neg": "−x",
    "exp": "exp",
    "log": "log",
    "tanh": "tanh",
    "sigmoid": "σ",
    "relu": "ReLU",
    "max": "max",
}

COLUMN_STEP = 1.5  # distance between neighbouring columns (value or operation), data units
ROW_STEP = 1.25  # distance between neighbouring rows
BOX_WIDTH, BOX_HEIGHT, OP_RADIUS = 1.8, 0.95, 0.32
FONT_PER_UNIT = 0.19  # text height per data unit: a box holds 15 monospace characters


def _op_symbol(op: str) -> str:
    if op.startswith("**") and op != "**":
        return "^" + op[2:]  # a power with a number exponent, e.g. "**2" -> "^2"
    return OP_SYMBOLS.get(op, op)


def graph_layout(root: Value, sweeps: int = 4) -> dict[tuple[str, int], tuple[int, float]]:
    """Column and row of every drawn node of the graph ending at ``root``.

    Keys are ``("value", id(v))`` and ``("op", id(v))`` (the operation that made ``v``);
    values are ``(column, row)``. Value nodes sit in even columns, operations in odd
    ones; each node is placed just left of its first use (columns count the longest
    path to ``root``, so inputs sit next to the operation that needs them). Rows come from a few
    barycentre sweeps, which keep the drawing free of most edge crossings.
    """
    values = topological_order(root)
    distance: dict[tuple[str, int], int] = {("value", id(root)): 0}  # longest path to root
    preds: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for v in reversed(values):  # every node comes after all the nodes that use it
        if v.parents:
            op_key = ("op", id(v))
            distance[op_key] = distance[("value", id(v))] + 1
            preds[("value", id(v))] = [op_key]
            preds[op_key] = [("value", id(p)) for p in dict.fromkeys(v.parents)]
            for p in preds[op_key]:
                distance[p] = max(distance.get(p, 0), distance[op_key] + 1)
    width = max(distance.values())
    order = [("value", id(v)) for v in values] + [("op", id(v)) for v in values if v.parents]
    column = {key: width - distance[key] for key in order}
    succs: dict[tuple[str, int], list[tuple[str, int]]] = {key: [] for key in column}
    for key, ps in preds.items():
        for p in ps:
            succs[p].append(key)

    columns: dict[int, list[tuple[str, int]]] = {}
    for key in column:  # insertion order = topological order: a stable starting order
        columns.setdefault(column[key], []).append(key)
    row = {key: float(i) for keys in columns.values() for i, key in enumerate(keys)}

    def reorder(neighbours: dict[tuple[str, int], list[tuple[str, int]]], order) -> None:
        for c in order:
            keys = columns[c]
            bary = {
                k: sum(row[n] for n in neighbours.get(k, [])) / len(neighbours[k])
                if neighbours.get(k)
                else row[k]
                for k in keys
            }
            keys.sort(key=lambda k: bary[k])
            centre = (len(keys) - 1) / 2
            for i, k in enumerate(keys):
                row[k] = i - centre

    for _ in range(sweeps):
        reorder(preds, sorted(columns))
        reorder(succs, sorted(columns, reverse=True))
    return {key: (column[key], row[key]) for key in column}


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def draw_graph(value: Value, ax=None, *, max_width: float = 24.0, max_height: float = 14.0):
    """Draw the computational graph that ends at ``value``; return the matplotlib Figure.

    Args:
        value: the output node (call ``value.backward()`` first to show gradients).
        ax: an Axes to draw into; by default a new Figure (not registered with pyplot)
            sized to the graph, at most ``max_width`` x ``max_height`` inches.

    Boxes are values (label, ``data``, ``grad``): inputs blue, the output orange,
    intermediates grey. Circles are operations. Readable up to about 40 nodes.
    """
    if not isinstance(value, Value):
        raise TypeError(f"draw_graph expects a Value; got {type(value).__name__}")
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    layout = graph_layout(value)
    nodes = {id(v): v for v in topological_order(value)}
    n_cols = 1 + max(c for c, _ in layout.values())
    n_rows = 1 + max(2 * abs(r) for _, r in layout.values())
    width_units = (n_cols - 1) * COLUMN_STEP + BOX_WIDTH + 0.4
    height_units = (n_rows - 1) * ROW_STEP + BOX_HEIGHT + 0.4
    if ax is None:
        scale = min(0.9, max_width / width_units, max_height / height_units)  # inch per unit
        fig = Figure(figsize=(width_units * scale, height_units * scale))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
        bbox = ax.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
        scale = min(bbox.width / width_units, bbox.height / height_units)
    fontsize = max(4.0, FONT_PER_UNIT * scale * 72)

    patches = {}
    for (kind, node_id), (c, r) in layout.items():
        x, y = c * COLUMN_STEP, -r * ROW_STEP
        v = nodes[node_id]
        if kind == "op":
            patch = Circle((x, y), OP_RADIUS, facecolor="#fff3c4", edgecolor="#8a6d00", lw=1.2)
            ax.text(x, y, _op_symbol(v.op), ha="center", va="center", fontsize=fontsize)
        else:
            colour = "#fde0c5" if v is value else "#d6e8fa" if not v.parents else "#ececec"
            patch = FancyBboxPatch(
                (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2),
                BOX_WIDTH,
                BOX_HEIGHT,
                boxstyle="round,pad=0,rounding_size=0.12",
                facecolor=colour,
                edgecolor="#444444",
                lw=1.0,
            )
            lines = ([v.label] if v.label else []) + [
                f"data {_fmt(v.data)}",
                f"grad {_fmt(v.grad)}",
            ]
            ax.text(
                x,
                y,
                "\n".join(lines),
                ha="center",
                va="center",
                fontsize=fontsize,
                family="monospace",
                linespacing=1.25,
            )
        patch.set_gid(kind)
        ax.add_patch(patch)
        patches[(kind, node_id)] = patch

    for node_id, v in nodes.items():
        if not v.parents:
            continue
        op = patches[("op", node_id)]
        edges = [(patches[("value", id(p))], op) for p in dict.fromkeys(v.parents)]
        for a, b in [*edges, (op, patches[("value", node_id)])]:
            arrow = FancyArrowPatch(
                posA=a.get_center() if hasattr(a, "get_center") else _box_centre(a),
                posB=b.get_center() if hasattr(b, "get_center") else _box_centre(b),
                patchA=a,
                patchB=b,
                arrowstyle="-|>",
                mutation_scale=6 + fontsize,
                color="#555555",
                lw=1.0,
                shrinkA=1,
                shrinkB=1,
            )
            arrow.set_gid("edge")
            ax.add_patch(arrow)

    pad = 0.2
    ax.set_xlim(-BOX_WIDTH / 2 - pad, (n_cols - 1) * COLUMN_STEP + BOX_WIDTH / 2 + pad)
    half = (n_rows - 1) * ROW_STEP / 2 + BOX_HEIGHT / 2 + pad
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def _box_centre(box) -> tuple[float, float]:
    return (box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2)
