"""Where a module sits: the residual block."""

from __future__ import annotations

from ..attention import attention_name
from .parts import SHAPE
from .sketch import Sketch

NAMES = {"se": "SE", "se-add": "SE, additive control", "eca": "ECA", "channel": "CBAM's channel gate",
         "spatial": "CBAM's spatial gate", "spatial-add": "spatial, additive control", "cbam": "CBAM",
         "scse": "scSE", "bam": "BAM", "coord": "coordinate attention", "gc": "GC block",
         "gc-scale": "GC, gated", "nonlocal": "non-local", "context-concat": "ParseNet"}


def residual(s: Sketch, attention: str = "attention") -> tuple[str, str]:
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
            "(SE, Fig. 3; CBAM, Fig. 3)", "⊕ (+): the addition of the residual block. The module acts on the "
            "residual branch only; the shortcut carries x unchanged.")
