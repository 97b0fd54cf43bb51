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
