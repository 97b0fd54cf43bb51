"""Block diagrams of the attention mechanisms, drawn by code::

    from scattn.diagrams import diagram
    diagram("se")                        # one schematic per mechanism
    diagram("cbam", order="parallel")    # CBAM in each of its three arrangements
    diagram("scse", combine="max")       # scSE's two ways of combining
    diagram("residual", attention="cbam")   # where a module sits in a residual block

Boxes hold the operation and the equation of the module's docstring; arrows carry
the tensor's shape (N×C×H×W ...); ⊗ is an element-wise product (broadcast over
the axes of size 1), ⊕ a sum; the sigmoid gate σ is the orange box. Every
diagram returns a ``matplotlib.figure.Figure`` built without pyplot, drawn to
scale (one unit is one inch), like the figures of :mod:`scattn.plots`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from .attention import attention_name

# ----------------------------------------------------------------------------- the drawing kit

TITLE_SIZE, EQ_SIZE, LABEL_SIZE = 9.0, 8.0, 7.5
PAD_X, PAD_Y, LINE_GAP = 0.12, 0.08, 0.04  # inches around and between a box's lines
MIN_GAP = 0.45  # inches between two boxes joined by an arrow without a label
STYLE = {  # face colour and edge colour per kind of node
    "io": ("white", "0.35"),
    "pool": ("#dcefdc", "#3a7d3a"),
    "op": ("#dde8f6", "#35608f"),
    "gate": ("#ffd9a8", "#c05a00"),
    "attention": ("#f3e0f3", "#7d3a7d"),
}
LINE = "0.2"


@dataclass
class Node:
    """A box (``kind`` as in STYLE), a round operator (``"product"``, ``"sum"``, ``"max"``) or a junction dot."""

    kind: str
    w: float
    h: float
    texts: list = field(default_factory=list)  # (Text, dy from the centre)
    x: float = math.nan
    y: float = math.nan

    @property
    def round(self) -> bool:
        return self.kind in ("product", "sum", "max", "dot")

    def rect(self) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2, self.y - self.h / 2, self.x + self.w / 2, self.y + self.h / 2)

    def boundary(self, toward: tuple[float, float]) -> tuple[float, float]:
        """Where a straight line from the centre toward ``toward`` leaves this node."""
        dx, dy = toward[0] - self.x, toward[1] - self.y
        if self.kind == "dot" or (dx == 0 and dy == 0):
            return (self.x, self.y)
        if self.round:
            r = self.w / 2
            d = math.hypot(dx, dy)
            return (self.x + r * dx / d, self.y + r * dy / d)
        t = min(self.w / 2 / abs(dx) if dx else math.inf, self.h / 2 / abs(dy) if dy else math.inf)
        return (self.x + t * dx, self.y + t * dy)


@dataclass
class Edge:
    """A drawn connection: its polyline (inches), its label's Text (or None), its ends."""

    start: str
    end: str
    points: list
    label: object = None


class Sketch:
    """Nodes placed by hand or in rows, then arrows between them, on a 1-inch grid."""

    def __init__(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(30, 16))
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        self.ax.set_xlim(-5, 25)  # one unit is one inch from the start, so texts measure in inches
        self.ax.set_ylim(-8, 8)
        self.renderer = self.figure.canvas.get_renderer()
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.notes: list = []  # free texts: title, caption, notes

    # -- measuring text

    def _text(self, s: str, size: float, **kw):
        t = self.ax.text(0, 0, s, fontsize=size, ha="center", va="center", zorder=4, **kw)
        return t

    def _size(self, text) -> tuple[float, float]:
        box = text.get_window_extent(self.renderer)
        return box.width / self.figure.dpi, box.height / self.figure.dpi

    # -- nodes

    def box(self, key: str, title: str, equation: str | None = None, kind: str = "op") -> Node:
        lines = [self._text(title, TITLE_SIZE)]
        if equation:
            lines += [self._text(line, EQ_SIZE) for line in equation.split("\n")]
        sizes = [self._size(t) for t in lines]
        w = max(s[0] for s in sizes) + 2 * PAD_X
        h = sum(s[1] for s in sizes) + LINE_GAP * (len(lines) - 1) + 2 * PAD_Y
        node = Node(kind, w, h)
        top = h / 2 - PAD_Y
        for t, (_, th) in zip(lines, sizes, strict=True):
            node.texts.append((t, top - th / 2))
            top -= th + LINE_GAP
        return self._add(key, node)

    def operator(self, key: str, kind: str) -> Node:
        """⊗ (product), ⊕ (sum) or max, as a circle."""
        symbol = {"product": "×", "sum": "+", "max": "max"}[kind]
        t = self._text(symbol, 11 if kind != "max" else 7, fontweight="bold")
        d = 0.3 if kind != "max" else 0.42
        node = Node(kind, d, d, [(t, 0.0)])
        return self._add(key, node)

    def dot(self, key: str) -> Node:
        return self._add(key, Node("dot", 0.07, 0.07))

    def same_width(self, *keys: str) -> None:
        """Give boxes stacked in one column the width of the widest."""
        w = max(self.nodes[k].w for k in keys)
        for k in keys:
            self.nodes[k].w = w

    def _add(self, key: str, node: Node) -> Node:
        if key in self.nodes:
            raise KeyError(f"diagram node {key!r} defined twice")
        self.nodes[key] = node
        return node

    def place(self, key: str, x: float, y: float) -> Node:
        node = self.nodes[key]
        node.x, node.y = x, y
        return node

    def row(self, y: float | None, x: float | None, items: list) -> float:
        """Place nodes left to right at height y, from left edge x: ``[key, label, key, label, key]``.

        A label (a shape, or None) is drawn on the arrow to the next node, and the gap
        is wide enough for it. ``x=None``: the first node is already placed (y is then
        its height). Returns the right edge of the last node.
        """
        if x is None:
            first = self.nodes[items[0]]
            x, y = first.x - first.w / 2, first.y
        pending = None
        for i, item in enumerate(items):
            if i % 2:  # a label between two nodes
                pending = item
                continue
            node = self.nodes[item]
            if i:
                prev = items[i - 2]
                gap = MIN_GAP if pending is None else max(MIN_GAP, self._label_width(pending) + 0.2)
                x += gap
                self.place(item, x + node.w / 2, y)
                self.arrow(prev, item, label=pending)
            else:
                self.place(item, x + node.w / 2, y)
            x += node.w
        return x

    def fork(self, source: str, upper: list, lower: list, y_upper: float, y_lower: float) -> tuple[float, float]:
        """``source`` at the origin, then a junction right of it ("tap0") that rises to "tap1" at
        ``y_lower``: from there the row ``lower`` runs at ``y_lower`` and the row ``upper`` at
        ``y_upper`` (items as for :meth:`row`), both starting 0.3 right of the junction.
        Returns the right edges of the upper and the lower row."""
        self.place(source, self.nodes[source].w / 2, 0)
        tap_x = self.nodes[source].w + 0.35
        self.place("tap0", tap_x, 0)
        self.place("tap1", tap_x, y_lower)
        right_upper = self.row(y_upper, tap_x + 0.3, upper)
        right_lower = self.row(y_lower, tap_x + 0.3, lower)
        self.arrow("tap0", "tap1", head=False)
        self.arrow("tap1", lower[0])
        self.arrow("tap1", upper[0], via=[(tap_x, y_upper)])
        return right_upper, right_lower

    def _label_width(self, label: str) -> float:
        t = self._text(label, LABEL_SIZE)
        w = self._size(t)[0]
        t.remove()
        return w

    # -- edges

    def arrow(self, start: str, end: str, via=(), label: str | None = None, segment: int | None = None,
              head: bool = True, dashed: bool = False, side: str = "above") -> Edge:
        """A polyline from ``start`` to ``end`` through the points ``via``, its label on
        ``segment`` (default: the longest), above a horizontal segment or right of a vertical one
        (``side="below"`` / ``"left"`` for the other side). Resolved when the diagram is drawn,
        so the nodes may still move."""
        for key in (start, end):
            if key not in self.nodes:
                raise KeyError(f"no diagram node {key!r}")
        edge = Edge(start, end, [])
        edge.spec = {"via": [tuple(p) for p in via], "label": label, "segment": segment, "side": side,
                     "head": head, "dashed": dashed}
        self.edges.append(edge)
        return edge

    def _resolve(self, edge: Edge) -> None:
        a, b, spec = self.nodes[edge.start], self.nodes[edge.end], edge.spec
        via = spec["via"]
        first = a.boundary(via[0] if via else (b.x, b.y))
        last = b.boundary(via[-1] if via else (a.x, a.y))
        edge.points = points = [first, *via, last]
        if not spec["label"]:
            return
        lengths = [math.dist(p, q) for p, q in zip(points, points[1:], strict=False)]
        k = max(range(len(lengths)), key=lengths.__getitem__) if spec["segment"] is None else spec["segment"]
        (x0, y0), (x1, y1) = points[k], points[k + 1]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        if abs(y1 - y0) < 1e-9:  # horizontal: above (or below) the line
            below = spec["side"] == "below"
            edge.label = self.ax.text(mx, my + (-0.05 if below else 0.05), spec["label"], fontsize=LABEL_SIZE,
                                      ha="center", va="top" if below else "bottom", color="0.25", zorder=4)
        else:  # vertical: right (or left) of the line
            left = spec["side"] == "left"
            edge.label = self.ax.text(mx + (-0.06 if left else 0.06), my, spec["label"], fontsize=LABEL_SIZE,
                                      ha="right" if left else "left", va="center", color="0.25", zorder=4)

    def note(self, x: float, y: float, text: str, size: float = LABEL_SIZE, **kw):
        t = self.ax.text(x, y, text, fontsize=size, zorder=4, **kw)
        self.notes.append(t)
        return t

    # -- finishing

    def draw(self, title: str, caption: str | None = None):
        """Draw every node and edge, add the title and caption, size the figure to fit."""
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
        from matplotlib.path import Path

        missing = [k for k, n in self.nodes.items() if math.isnan(n.x)]
        if missing:
            raise RuntimeError(f"diagram nodes never placed: {missing}")
        for node in self.nodes.values():
            for t, dy in node.texts:
                t.set_position((node.x, node.y + dy))
            if node.kind == "dot":
                self.ax.add_patch(Circle((node.x, node.y), node.w / 2, color=LINE, zorder=3))
            elif node.round:
                self.ax.add_patch(Circle((node.x, node.y), node.w / 2, fc="white", ec=LINE, lw=1.1, zorder=3))
            else:
                face, edge = STYLE[node.kind]
                x0, y0, _, _ = node.rect()
                self.ax.add_patch(FancyBboxPatch((x0, y0), node.w, node.h, boxstyle="round,pad=0,rounding_size=0.06",
                                                 fc=face, ec=edge, lw=1.1, zorder=3))
        for e in self.edges:
            self._resolve(e)
            style = "-|>" if e.spec["head"] else "-"
            self.ax.add_patch(FancyArrowPatch(path=Path(e.points), arrowstyle=style, mutation_scale=9, color=LINE,
                                              lw=1.0, ls="--" if e.spec["dashed"] else "-", zorder=2))
        x0, y0, x1, y1 = self.extent()
        self.note(x0, y1 + 0.25, title, size=10, fontweight="bold", va="bottom", ha="left")
        if caption:
            self.note(x0, y0 - 0.2, caption, size=LABEL_SIZE, va="top", ha="left", color="0.3")
        x0, y0, x1, y1 = self.extent(texts=True)
        margin = 0.12
        self.figure.set_size_inches(x1 - x0 + 2 * margin, y1 - y0 + 2 * margin)
        self.ax.set_xlim(x0 - margin, x1 + margin)
        self.ax.set_ylim(y0 - margin, y1 + margin)
        return self.figure

    def text_boxes(self) -> list[tuple[object, tuple[float, float, float, float]]]:
        """Every text with its extent in inches (x0, y0, x1, y1), measured after drawing."""
        inv = self.ax.transData.inverted()
        out = []
        for t in self.ax.texts:
            (ax0, ay0), (ax1, ay1) = inv.transform(t.get_window_extent(self.renderer).get_points())
            out.append((t, (ax0, ay0, ax1, ay1)))
        return out

    def extent(self, texts: bool = False) -> tuple[float, float, float, float]:
        xs, ys = [], []
        for n in self.nodes.values():
            x0, y0, x1, y1 = n.rect()
            xs += [x0, x1]
            ys += [y0, y1]
        for e in self.edges:
            xs += [p[0] for p in e.points]
            ys += [p[1] for p in e.points]
        if texts:
            for _, (x0, y0, x1, y1) in self.text_boxes():
                xs += [x0, x1]
                ys += [y0, y1]
        return min(xs), min(ys), max(xs), max(ys)


# ----------------------------------------------------------------------------- pieces shared by diagrams

SHAPE = "N×C×H×W"
CHANNEL_MAP = "N×C×1×1"
SPATIAL_MAP = "N×1×H×W"
CAPTION = ("⊗ (×): element-wise product, broadcast over the axes of size 1   ⊕ (+): element-wise sum   "
           "orange: the sigmoid gate σ, values in (0, 1)")


def _gate_to_product(s: Sketch, gate: str, product: str, y_signal: float, label: str, side: str = "right"):
    """The gate's output runs right, then down (or up) into the ⊗ on the signal line."""
    g, p = s.nodes[gate], s.nodes[product]
    s.arrow(gate, product, via=[(p.x, g.y)], label=label, segment=1, side="left" if side == "left" else "right")


def _signal(s: Sketch, y: float, x: float, chain: list) -> float:
    return s.row(y, x, chain)


# ----------------------------------------------------------------------------- one diagram per mechanism


def _se(s: Sketch, additive: bool = False) -> tuple[str, str]:
    s.box("u", "input", "$u$", "io")
    s.dot("tap")
    s.box("squeeze", "squeeze: global average pool", r"$z_c = \frac{1}{HW}\sum_{i,j} u_c(i,j)$", "pool")
    s.box("excite", "excitation: FC, ReLU, FC", "$W_2\\,\\delta(W_1 z)$\nC → C/r → C, with biases")
    if additive:
        s.operator("out_op", "sum")
        s.box("out", "output", r"$\tilde{x}_c = u_c + b_c$", "io")
    else:
        s.box("gate", "gate", r"$s = \sigma(W_2\,\delta(W_1 z))$", "gate")
        s.operator("out_op", "product")
        s.box("out", "output", r"$\tilde{x}_c = s_c \cdot u_c$", "io")
    y1 = 1.25
    s.place("u", s.nodes["u"].w / 2, 0)
    tap_x = s.nodes["u"].w + 0.35
    s.place("tap", tap_x, 0)
    branch = ["squeeze", CHANNEL_MAP, "excite"] + ([] if additive else [CHANNEL_MAP, "gate"])
    right = s.row(y1, tap_x + 0.3, branch)
    last = branch[-1]
    s.arrow("tap", "squeeze", via=[(tap_x, y1)])
    s.place("out_op", right + 0.6, 0)
    _gate_to_product(s, last, "out_op", 0, ("b: " if additive else "s: ") + CHANNEL_MAP)
    s.arrow("u", "out_op", label=f"u: {SHAPE}", segment=0)
    s.row(None, None, ["out_op", SHAPE, "out"])
    if additive:
        return ("SE's additive control: the same context added, not multiplied (no gate)",
                "⊕ (+): element-wise sum, broadcast over H×W: the context can only shift a channel, not scale it")
    return "Squeeze-and-Excitation (Hu, Shen, Sun, CVPR 2018, Fig. 1 and Eqs. 2–4)", CAPTION


def _channel(s: Sketch) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap0")
    s.dot("tap1")
    s.box("avg", "AvgPool over H×W", "$F^c_{avg}$", "pool")
    s.box("max", "MaxPool over H×W", "$F^c_{max}$", "pool")
    s.box("mlp_a", "shared MLP", "$W_1\\,\\delta(W_0\\,v)$\nC → C/r → C, no biases")
    s.box("mlp_m", "shared MLP", "$W_1\\,\\delta(W_0\\,v)$\nC → C/r → C, no biases")
    s.operator("sum", "sum")
    s.box("gate", "gate", r"$M_c = \sigma(\mathrm{MLP}(F^c_{avg}) + \mathrm{MLP}(F^c_{max}))$", "gate")
    s.operator("prod", "product")
    s.box("out", "output", r"$F' = M_c(F) \otimes F$", "io")
    s.same_width("avg", "max")
    y_avg, y_max = 2.5, 1.2
    right, _ = s.fork("F", ["avg", CHANNEL_MAP, "mlp_a"], ["max", CHANNEL_MAP, "mlp_m"], y_avg, y_max)
    s.arrow("mlp_m", "mlp_a", head=False, dashed=True, label="same weights", side="right")
    sum_x = right + 0.5
    s.place("sum", sum_x, (y_avg + y_max) / 2)
    s.arrow("mlp_a", "sum", via=[(sum_x, y_avg)])
    s.arrow("mlp_m", "sum", via=[(sum_x, y_max)])
    right = s.row(None, None, ["sum", None, "gate"])
    s.place("prod", right + 0.55, 0)
    _gate_to_product(s, "gate", "prod", 0, f"$M_c$: {CHANNEL_MAP}")
    s.arrow("F", "prod", label=f"F: {SHAPE}", segment=0)
    s.row(None, None, ["prod", SHAPE, "out"])
    return "CBAM's channel gate: what to look for (Woo et al., ECCV 2018, Sec. 3.1, Eq. 2)", CAPTION


def _spatial(s: Sketch, additive: bool = False) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap0")
    s.dot("tap1")
    s.box("avg", "AvgPool over channels", "$F^s_{avg}$", "pool")
    s.box("max", "MaxPool over channels", "$F^s_{max}$", "pool")
    s.box("cat", "concatenate", "$[F^s_{avg}; F^s_{max}]$")
    s.box("conv", "conv k×k, 2 → 1", "$f^{k\\times k}$, k = 7, zero padding")
    if additive:
        s.operator("prod", "sum")
        s.box("out", "output", r"$F' = F + f^{k\times k}([F^s_{avg}; F^s_{max}])$", "io")
    else:
        s.box("gate", "gate", r"$M_s = \sigma(f^{k\times k}(\cdot))$", "gate")
        s.operator("prod", "product")
        s.box("out", "output", r"$F' = M_s(F) \otimes F$", "io")
    s.same_width("avg", "max")
    y_avg, y_max = 2.6, 1.3
    y_mid = (y_avg + y_max) / 2
    pools_right = max(s.fork("F", ["avg"], ["max"], y_avg, y_max))
    cat_x = pools_right + 1.0 + s.nodes["cat"].w / 2
    s.place("cat", cat_x, y_mid)
    s.arrow("avg", "cat", via=[(cat_x, y_avg)], label=SPATIAL_MAP, segment=0)
    s.arrow("max", "cat", via=[(cat_x, y_max)], label=SPATIAL_MAP, segment=0, side="below")
    chain = ["cat", "N×2×H×W", "conv"] + ([] if additive else [SPATIAL_MAP, "gate"])
    right = s.row(y_mid, cat_x - s.nodes["cat"].w / 2, chain)
    s.place("prod", right + 0.6, 0)
    _gate_to_product(s, chain[-1], "prod", 0, ("a: " if additive else "$M_s$: ") + SPATIAL_MAP)
    s.arrow("F", "prod", label=f"F: {SHAPE}", segment=0)
    s.row(None, None, ["prod", SHAPE, "out"])
    if additive:
        return ("The spatial gate's additive control: the same map added, not multiplied (no gate)",
                "⊕ (+): element-wise sum, broadcast over C: the map can only shift a position, not scale it")
    return "CBAM's spatial gate: where to look (Woo et al., ECCV 2018, Sec. 3.1, Eq. 3)", CAPTION


def _cbam(s: Sketch, order: str = "channel-spatial") -> tuple[str, str]:
    from .attention.cbam import ORDERS

    if order not in ORDERS:
        raise ValueError(f"unknown CBAM order {order!r}; expected one of {', '.join(ORDERS)}")
    channel = ("channel gate",
               r"$M_c = \sigma(\mathrm{MLP}(\mathrm{AvgPool}(\cdot)) + \mathrm{MLP}(\mathrm{MaxPool}(\cdot)))$")
    spatial = ("spatial gate",
               r"$M_s = \sigma(f^{7\times 7}([\mathrm{AvgPool}_c(\cdot); \mathrm{MaxPool}_c(\cdot)]))$")
    s.box("F", "input", "$F$", "io")
    s.dot("tap0")
    s.operator("p1", "product")
    s.operator("p2", "product")
    s.place("F", s.nodes["F"].w / 2, 0)
    tap_x = s.nodes["F"].w + 0.35
    s.place("tap0", tap_x, 0)
    if order == "parallel":
        s.box("g1", *channel, kind="gate")
        s.box("g2", *spatial, kind="gate")
        s.box("out", "output", r"$F' = M_c(F) \otimes M_s(F) \otimes F$", "io")
        s.dot("tap1")
        y1, y2 = 1.2, 2.3
        s.place("tap1", tap_x, y1)
        s.row(y1, tap_x + 0.3, ["g1"])
        g1 = s.nodes["g1"]
        s.row(y2, g1.x + g1.w / 2 - 0.6, ["g2"])
        s.arrow("tap0", "tap1", head=False)
        s.arrow("tap1", "g1")
        s.arrow("tap1", "g2", via=[(tap_x, y2)])
        s.place("p1", g1.x + g1.w / 2 + 0.45, 0)
        g2 = s.nodes["g2"]
        s.place("p2", max(g2.x + g2.w / 2 + 0.45, s.nodes["p1"].x + 1.6), 0)
        _gate_to_product(s, "g1", "p1", 0, f"$M_c(F)$: {CHANNEL_MAP}")
        _gate_to_product(s, "g2", "p2", 0, f"$M_s(F)$: {SPATIAL_MAP}")
        s.arrow("F", "p1", label=f"F: {SHAPE}", segment=0)
        s.arrow("p1", "p2", label=SHAPE)
        s.row(None, None, ["p2", SHAPE, "out"])
        return ("CBAM, parallel: both gates read F (Woo et al., ECCV 2018; an arrangement of the ablation, "
                "not the paper's choice)", CAPTION)
    first, second = (channel, spatial) if order == "channel-spatial" else (spatial, channel)
    m1, m2 = ("$M_c$", "$M_s$") if order == "channel-spatial" else ("$M_s$", "$M_c$")
    shape1, shape2 = (CHANNEL_MAP, SPATIAL_MAP) if order == "channel-spatial" else (SPATIAL_MAP, CHANNEL_MAP)
    s.box("g1", *first, kind="gate")
    s.box("g2", *second, kind="gate")
    s.dot("tap1")
    eq = (r"$F' = M_c(F) \otimes F,\ \ F'' = M_s(F') \otimes F'$" if order == "channel-spatial"
          else r"$F' = M_s(F) \otimes F,\ \ F'' = M_c(F') \otimes F'$")
    s.box("out", "output", eq, "io")
    y1 = 1.3
    s.row(y1, tap_x + 0.3, ["g1"])
    g1 = s.nodes["g1"]
    s.arrow("tap0", "g1", via=[(tap_x, y1)])
    s.place("p1", g1.x + g1.w / 2 + 0.45, 0)
    _gate_to_product(s, "g1", "p1", 0, f"{m1}: {shape1}")
    s.arrow("F", "p1", label=f"F: {SHAPE}", segment=0)
    tap1_x = s.nodes["p1"].x + 1.25
    s.place("tap1", tap1_x, 0)
    s.arrow("p1", "tap1", head=False, label=f"F′: {SHAPE}")
    s.row(y1, tap1_x + 0.3, ["g2"])
    g2 = s.nodes["g2"]
    s.arrow("tap1", "g2", via=[(tap1_x, y1)])
    s.place("p2", g2.x + g2.w / 2 + 0.45, 0)
    _gate_to_product(s, "g2", "p2", 0, f"{m2}: {shape2}")
    s.arrow("tap1", "p2", segment=0)
    s.row(None, None, ["p2", SHAPE, "out"])
    when = ("the paper's choice, best in its ablation" if order == "channel-spatial"
            else "slightly worse in the ablation")
    return f"CBAM, {order} ({when}; Woo et al., ECCV 2018, Eq. 1)", CAPTION


def _eca(s: Sketch) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap")
    s.box("gap", "global average pool", "$y = \\mathrm{GAP}(F)$, channels as a sequence", "pool")
    s.box("conv", "1-D conv across channels", "kernel $k = \\psi(C) = |\\log_2(C)/\\gamma + b/\\gamma|_{odd}$\n"
          "γ = 2, b = 1, no bias: k weights")
    s.box("gate", "gate", r"$\omega = \sigma(\mathrm{C1D}_k(y))$", "gate")
    s.operator("prod", "product")
    s.box("out", "output", r"$F' = \omega \otimes F$", "io")
    s.place("F", s.nodes["F"].w / 2, 0)
    tap_x = s.nodes["F"].w + 0.35
    s.place("tap", tap_x, 0)
    y1 = 1.35
    right = s.row(y1, tap_x + 0.3, ["gap", "N×1×C", "conv", "N×1×C", "gate"])
    s.arrow("tap", "gap", via=[(tap_x, y1)])
    s.place("prod", right + 0.6, 0)
    _gate_to_product(s, "gate", "prod", 0, f"ω: {CHANNEL_MAP}")
    s.arrow("F", "prod", label=f"F: {SHAPE}", segment=0)
    s.row(None, None, ["prod", SHAPE, "out"])
    return "ECA: SE without the bottleneck (Wang et al., CVPR 2020, Fig. 2, Eqs. 9 and 12)", CAPTION


def _scse(s: Sketch, combine: str = "add") -> tuple[str, str]:
    from .attention.scse import COMBINES

    if combine not in COMBINES:
        raise ValueError(f"unknown scSE combine {combine!r}; expected one of {', '.join(COMBINES)}")
    s.box("U", "input", "$U$", "io")
    s.dot("tap")
    s.dot("up")
    s.dot("down")
    s.box("gap", "global average pool", None, "pool")
    s.box("excite", "FC, ReLU, FC", "C → C/r → C (r = 2 in the paper)")
    s.box("g_c", "gate", r"$s = \sigma(W_2\,\delta(W_1 z))$", "gate")
    s.box("conv", "1×1 conv, C → 1", r"$q = W_{sq} \star U$")
    s.box("g_s", "gate", r"$\sigma(q)$", "gate")
    s.operator("p_c", "product")
    s.operator("p_s", "product")
    s.operator("join", "sum" if combine == "add" else "max")
    eq = (r"$\hat{U}_{scSE} = \hat{U}_{cSE} + \hat{U}_{sSE}$" if combine == "add"
          else r"$\hat{U}_{scSE} = \max(\hat{U}_{cSE}, \hat{U}_{sSE})$")
    s.box("out", "output", eq, "io")
    y_up, y_down, y_c, y_s = 1.1, -1.1, 2.3, -2.3
    s.place("U", s.nodes["U"].w / 2, 0)
    tap_x = s.nodes["U"].w + 0.35
    s.place("tap", tap_x, 0)
    s.place("up", tap_x, y_up)
    s.place("down", tap_x, y_down)
    s.arrow("U", "tap", head=False)
    s.arrow("tap", "up", head=False)
    s.arrow("tap", "down", head=False)
    right_c = s.row(y_c, tap_x + 0.3, ["gap", CHANNEL_MAP, "excite", CHANNEL_MAP, "g_c"])
    right_s = s.row(y_s, tap_x + 0.3, ["conv", SPATIAL_MAP, "g_s"])
    s.arrow("up", "gap", via=[(tap_x, y_c)])
    s.arrow("down", "conv", via=[(tap_x, y_s)])
    x_prod = max(right_c, right_s) + 0.6
    s.place("p_c", x_prod, y_up)
    s.place("p_s", x_prod, y_down)
    _gate_to_product(s, "g_c", "p_c", y_up, f"s: {CHANNEL_MAP}")
    _gate_to_product(s, "g_s", "p_s", y_down, f"σ(q): {SPATIAL_MAP}")
    s.arrow("up", "p_c", label=f"U: {SHAPE}", segment=0, side="below")
    s.arrow("down", "p_s", label=f"U: {SHAPE}", segment=0)
    join_x = x_prod + 1.6
    s.place("join", join_x, 0)
    s.arrow("p_c", "join", via=[(join_x, y_up)], label="cSE", segment=0)
    s.arrow("p_s", "join", via=[(join_x, y_down)], label="sSE", segment=0, side="below")
    s.row(None, None, ["join", SHAPE, "out"])
    source = ("Roy, Navab, Wachinger, MICCAI 2018" if combine == "add"
              else "the max of Roy, Navab, Wachinger, IEEE TMI 2019")
    caption = CAPTION + ("" if combine == "add" else "   max: element-wise maximum")
    return f"scSE: channel SE and spatial SE side by side, combined by {combine} ({source})", caption


def _bam(s: Sketch) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap0")
    s.dot("tap1")
    s.box("avg", "AvgPool over H×W", None, "pool")
    s.box("mlp", "MLP + BN", "C → C/r → C")
    s.box("f0", "1×1 conv", "$f_0$: C → C/r")
    s.box("f12", "two 3×3 convs", "$f_1, f_2$: dilation 4")
    s.box("f3", "1×1 conv, BN", "$f_3$: C/r → 1")
    s.operator("sum", "sum")
    s.box("gate", "gate", r"$M(F) = \sigma(M_c(F) + M_s(F))$", "gate")
    s.box("one", "1 + M(F)", "in (1, 2): can amplify")
    s.operator("prod", "product")
    s.box("out", "output", r"$F' = F \otimes (1 + M(F))$", "io")
    y_c, y_s = 2.5, 1.2
    y_mid = (y_c + y_s) / 2
    right_c, right_s = s.fork("F", ["avg", CHANNEL_MAP, "mlp"], ["f0", None, "f12", None, "f3"], y_c, y_s)
    sum_x = max(right_c, right_s) + 1.2
    s.place("sum", sum_x, y_mid)
    s.arrow("mlp", "sum", via=[(sum_x, y_c)], label=f"$M_c$: {CHANNEL_MAP}", segment=0)
    s.arrow("f3", "sum", via=[(sum_x, y_s)], label=f"$M_s$: {SPATIAL_MAP}", segment=0, side="below")
    right = s.row(None, None, ["sum", SHAPE, "gate"])
    s.place("prod", right + 0.55 + s.nodes["one"].w / 2, 0)
    s.place("one", s.nodes["prod"].x, 0.8)
    s.arrow("gate", "one", via=[(s.nodes["prod"].x, y_mid)], label=SHAPE, segment=1)
    s.arrow("one", "prod", label=SHAPE)
    s.arrow("F", "prod", label=f"F: {SHAPE}", segment=0)
    s.row(None, None, ["prod", SHAPE, "out"])
    return ("BAM: channel and spatial branches inside one sigmoid, applied residually "
            "(Park et al., BMVC 2018, Eqs. 1–4)", CAPTION + "   M_c + M_s broadcasts to N×C×H×W")


def _coord(s: Sketch) -> tuple[str, str]:
    s.box("x", "input", "$x$", "io")
    s.dot("tap0")
    s.dot("tap1")
    s.box("ph", "AvgPool along W", "$z^h_c(h) = \\frac{1}{W}\\sum_i x_c(h, i)$", "pool")
    s.box("pw", "AvgPool along H", "$z^w_c(w) = \\frac{1}{H}\\sum_j x_c(j, w)$", "pool")
    s.box("f1", "concat, shared 1×1 conv", "$f = \\delta(F_1([z^h, z^w]))$\nBN, h-swish δ, max(8, C/32) out")
    s.dot("split")
    s.box("fh", "1×1 conv", "$F_h$: → C")
    s.box("fw", "1×1 conv", "$F_w$: → C")
    s.box("gh", "gate", "$g^h = \\sigma(F_h(f^h))$", "gate")
    s.box("gw", "gate", "$g^w = \\sigma(F_w(f^w))$", "gate")
    s.operator("p1", "product")
    s.operator("p2", "product")
    s.box("out", "output", r"$y_c(i,j) = x_c(i,j)\, g^h_c(i)\, g^w_c(j)$", "io")
    s.same_width("ph", "pw")
    s.same_width("fh", "fw")
    s.same_width("gh", "gw")
    y_h, y_w = 2.6, 1.3
    y_mid = (y_h + y_w) / 2
    pools_right = max(s.fork("x", ["ph"], ["pw"], y_h, y_w))
    f1 = s.nodes["f1"]
    f1_x = pools_right + 1.0 + f1.w / 2
    s.place("f1", f1_x, y_mid)
    s.arrow("ph", "f1", via=[(f1_x - f1.w / 2 - 0.2, y_h), (f1_x - f1.w / 2 - 0.2, y_mid + 0.12)],
            label="N×C×H×1", segment=0)
    s.arrow("pw", "f1", via=[(f1_x - f1.w / 2 - 0.2, y_w), (f1_x - f1.w / 2 - 0.2, y_mid - 0.12)],
            label="N×C×1×W", segment=0, side="below")
    split_x = f1_x + f1.w / 2 + 0.35
    s.place("split", split_x, y_mid)
    s.arrow("f1", "split", head=False)
    left = split_x + 1.05
    right_h = s.row(y_h, left, ["fh", CHANNEL_MAP.replace("1×1", "H×1"), "gh"])
    right_w = s.row(y_w, left, ["fw", CHANNEL_MAP.replace("1×1", "1×W"), "gw"])
    s.arrow("split", "fh", via=[(split_x, y_h)], label="N×C/r×H×1", segment=1)
    s.arrow("split", "fw", via=[(split_x, y_w)], label="N×C/r×1×W", segment=1, side="below")
    s.place("p1", s.nodes["gw"].x, 0)
    s.place("p2", max(right_h, right_w) + 0.45, 0)
    s.arrow("gw", "p1", label="$g^w$: N×C×1×W")
    s.arrow("gh", "p2", via=[(s.nodes["p2"].x, y_h)], label="$g^h$: N×C×H×1", segment=1)
    s.arrow("x", "p1", label=f"x: {SHAPE}", segment=0)
    s.arrow("p1", "p2", label=SHAPE)
    s.row(None, None, ["p2", SHAPE, "out"])
    return ("Coordinate attention: pool along each axis, gate along each axis "
            "(Hou, Zhou, Feng, CVPR 2021, Fig. 2, Eqs. 4–9)", CAPTION)


NAMES = {"se": "SE", "se-add": "SE, additive control", "eca": "ECA", "channel": "CBAM's channel gate",
         "spatial": "CBAM's spatial gate", "spatial-add": "spatial, additive control", "cbam": "CBAM",
         "scse": "scSE", "bam": "BAM", "coord": "coordinate attention"}


def _residual(s: Sketch, attention: str = "attention") -> tuple[str, str]:
    if attention == "attention":
        label = "attention A"
    else:
        key = attention_name(attention)
        label = f"attention A: {NAMES.get(key, key)}"
    s.box("x", "input", "$x$", "io")
    s.dot("tap")
    s.box("c1", "conv 3×3, BN, ReLU", "stride s")
    s.box("c2", "conv 3×3, BN", None)
    s.box("att", label, "shape kept", "attention")
    s.operator("add", "sum")
    s.box("relu", "ReLU", None)
    s.box("out", "output", r"$y = \mathrm{ReLU}(A(\mathrm{BN}(\mathrm{conv}(\cdot))) + \mathrm{shortcut}(x))$", "io")
    branch = SHAPE.replace("H×W", "H′×W′")
    right = s.row(0, 0, ["x", f"x: {SHAPE}", "c1", branch, "c2", branch, "att"])
    s.place("tap", s.nodes["x"].w + 0.12, 0)
    s.place("add", right + 1.25, 0)
    s.arrow("att", "add", label=branch)
    s.row(None, None, ["add", None, "relu", None, "out"])
    y_short = -0.9
    s.arrow("tap", "add", via=[(s.nodes["tap"].x, y_short), (s.nodes["add"].x, y_short)],
            label="shortcut: identity, or 1×1 conv + BN when the shape changes", segment=1)
    return ("Where the module sits: on the residual branch, after the last BN, before the addition "
            "(SE, Fig. 3; CBAM, Fig. 3)", "⊕ (+): the addition of the residual block. The module scales the "
            "residual branch only; the shortcut carries x unscaled.")


# ----------------------------------------------------------------------------- the public function

DIAGRAMS = {
    "se": _se,
    "se-add": lambda s: _se(s, additive=True),
    "eca": _eca,
    "channel": _channel,
    "spatial": _spatial,
    "spatial-add": lambda s: _spatial(s, additive=True),
    "cbam": _cbam,
    "scse": _scse,
    "bam": _bam,
    "coord": _coord,
    "residual": _residual,
}
OPTIONS = {"cbam": {"order"}, "scse": {"combine"}, "residual": {"attention"}}


def sketch(name: str, **options) -> Sketch:
    """The drawn :class:`Sketch` (nodes, edges, texts) behind :func:`diagram`, for tests."""
    key = str(name).strip().lower()
    if key not in DIAGRAMS:
        if key in ("none", "identity"):
            raise ValueError(f"{name!r} is the identity: there is nothing to draw; diagrams exist for "
                             f"{', '.join(DIAGRAMS)}")
        raise ValueError(f"no diagram named {name!r}; diagrams exist for {', '.join(DIAGRAMS)}")
    allowed = OPTIONS.get(key, set())
    unknown = set(options) - allowed
    if unknown:
        takes = f"takes {', '.join(sorted(allowed))}" if allowed else "takes no options"
        raise ValueError(f"diagram {key!r} {takes}; got {', '.join(sorted(unknown))}")
    s = Sketch()
    title, caption = DIAGRAMS[key](s, **options)
    s.draw(title, caption)
    return s


def diagram(name: str, **options):
    """A block diagram of mechanism ``name`` as a matplotlib Figure (no pyplot).

    ``name``: "se", "eca", "channel" and "spatial" (CBAM's two gates), "cbam"
    (``order="channel-spatial"``, "spatial-channel" or "parallel"), "scse"
    (``combine="add"`` or "max"), "bam", "coord", the additive controls "se-add" and
    "spatial-add", or "residual" (where a module sits in a residual block;
    ``attention="cbam"`` names it). An unknown name or option is a ValueError
    listing what exists.
    """
    _show_in_jupyter()
    return sketch(name, **options).figure


def _show_in_jupyter() -> None:
    """In a Jupyter kernel, let a pyplot-free Figure display as a PNG.

    IPython registers its Figure formatter only once pyplot has loaded the inline
    backend (on the first pyplot figure), so a diagram shown before any pyplot
    figure would print as text. Outside IPython this does nothing.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    try:
        from IPython.core.pylabtools import select_figure_formats

        select_figure_formats(shell, {"png"})
    except Exception:  # an IPython without pylabtools: the figure still returns
        pass


__all__ = ["DIAGRAMS", "diagram"]
