"""The layout engine of the block diagrams: boxes and operators placed on a 1-inch grid, arrows
between them with the tensor's shape on them, then drawn to scale on a pyplot-free Figure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
