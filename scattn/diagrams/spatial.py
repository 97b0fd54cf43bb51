"""Spatial attention: one weight per position (CBAM's spatial gate and its additive control)."""

from __future__ import annotations

from .parts import CAPTION, SPATIAL_MAP, fuse, into_output
from .sketch import Sketch


def spatial(s: Sketch, additive: bool = False) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap0")
    s.dot("tap1")
    s.box("avg", "AvgPool over channels", "$F^s_{avg}$", "pool")
    s.box("max", "MaxPool over channels", "$F^s_{max}$", "pool")
    s.box("cat", "concatenate", "$[F^s_{avg}; F^s_{max}]$")
    s.box("conv", "conv k×k, 2 → 1", "$f^{k\\times k}$, k = 7, zero padding")
    fuse(s, additive, r"$M_s = \sigma(f^{k\times k}(\cdot))$",
           r"$F' = F + f^{k\times k}([F^s_{avg}; F^s_{max}])$" if additive else r"$F' = M_s(F) \otimes F$", "prod")
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
    into_output(s, chain[-1], "prod", right, ("a: " if additive else "$M_s$: ") + SPATIAL_MAP, "F")
    if additive:
        return ("The spatial gate's additive control: the same map added, not multiplied (no gate)",
                "⊕ (+): element-wise sum, broadcast over C: the map can only shift a position, not scale it")
    return "CBAM's spatial gate: where to look (Woo et al., ECCV 2018, Sec. 3.1, Eq. 3)", CAPTION
