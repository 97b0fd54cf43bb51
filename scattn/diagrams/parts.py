"""What the diagrams share: the shapes on the arrows, the caption, the gate's wire into ⊗."""

from __future__ import annotations

from .sketch import Sketch

SHAPE = "N×C×H×W"
CHANNEL_MAP = "N×C×1×1"
SPATIAL_MAP = "N×1×H×W"
CAPTION = ("⊗ (×): element-wise product, broadcast over the axes of size 1   ⊕ (+): element-wise sum   "
           "orange: the sigmoid gate σ, values in (0, 1)")


def gate_to_product(s: Sketch, gate: str, product: str, y_signal: float, label: str, side: str = "right"):
    """The gate's output runs right, then down (or up) into the ⊗ on the signal line."""
    g, p = s.nodes[gate], s.nodes[product]
    s.arrow(gate, product, via=[(p.x, g.y)], label=label, segment=1, side="left" if side == "left" else "right")


def fuse(s: Sketch, additive: bool, gate: str, output: str, operator: str = "out_op") -> None:
    """The end of a block: the gate (orange) and ⊗, or only ⊕ for an additive control; then the output."""
    if not additive:
        s.box("gate", "gate", gate, "gate")
    s.operator(operator, "sum" if additive else "product")
    s.box("out", "output", output, "io")


def branch_above(s: Sketch, source: str, branch: list, y: float) -> float:
    """``source`` at the left, a tap just right of it, and ``branch`` as a row at height ``y``
    fed from the tap; returns the row's right end."""
    s.place(source, s.nodes[source].w / 2, 0)
    tap_x = s.nodes[source].w + 0.35
    s.place("tap", tap_x, 0)
    right = s.row(y, tap_x + 0.3, branch)
    s.arrow("tap", branch[0], via=[(tap_x, y)])
    return right


def into_output(s: Sketch, last: str, operator: str, right: float, label: str, source: str) -> None:
    """The branch's ``last`` box feeds ``operator`` on the signal line, which ``source`` feeds from
    the left; then the output."""
    s.place(operator, right + 0.6, 0)
    gate_to_product(s, last, operator, 0, label)
    s.arrow(source, operator, label=f"{source}: {SHAPE}", segment=0)
    s.row(None, None, [operator, SHAPE, "out"])
