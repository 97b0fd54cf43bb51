"""Global context without a gate: the non-local block (self-attention) and ParseNet's concatenation."""

from __future__ import annotations

from .parts import CHANNEL_MAP, SHAPE, gate_to_product
from .sketch import Sketch

HALF = SHAPE.replace("C", "C/2")  # N×C/2×H×W: the non-local block's inner width C' = C/2


def non_local(s: Sketch) -> tuple[str, str]:
    s.box("x", "input", "$x$", "io")
    for key in ("tap0", "tap1", "tap2"):
        s.dot(key)
    s.box("theta", "1×1 conv θ (queries)", r"$\theta(x) = W_\theta\, x$: C → C/2")
    s.box("phi", "1×1 conv φ (keys)", r"$\phi(x) = W_\phi\, x$: C → C/2")
    s.box("g", "1×1 conv g (values)", r"$g(x) = W_g\, x$: C → C/2")
    s.box("f", "attention matrix f", "$f_{ij} = \\mathrm{softmax}_j(\\theta(x_i)^\\top \\phi(x_j))$\n"
          "HW × HW per image, rows sum to 1")
    s.box("fg", "matrix product f·g", r"$y_i = \sum_j f_{ij}\, g(x_j)$")
    s.box("wz", "1×1 conv $W_z$, BN", "C/2 → C, BN's scale starts at 0")
    s.operator("sum", "sum")
    s.box("out", "output", r"$z_i = \mathrm{BN}(W_z y_i) + x_i$", "io")
    s.same_width("theta", "phi", "g")
    y_g, y_phi, y_theta = 1.2, 2.3, 3.4
    y_f = (y_theta + y_phi) / 2
    y_y = (y_f + y_g) / 2
    s.place("x", s.nodes["x"].w / 2, 0)
    tap_x = s.nodes["x"].w + 0.35
    s.place("tap0", tap_x, 0)
    s.place("tap1", tap_x, y_g)
    s.place("tap2", tap_x, y_phi)
    for key, y in (("theta", y_theta), ("phi", y_phi), ("g", y_g)):
        right = s.row(y, tap_x + 0.3, [key])
    s.arrow("tap0", "tap1", head=False)
    s.arrow("tap1", "tap2", head=False)
    s.arrow("tap1", "g")
    s.arrow("tap2", "phi")
    s.arrow("tap2", "theta", via=[(tap_x, y_theta)])
    f = s.nodes["f"]
    s.place("f", right + 0.5 + f.w / 2, y_f)
    s.arrow("theta", "f", via=[(f.x, y_theta)], label="θ: N×HW×C/2", segment=0)
    s.arrow("phi", "f", via=[(f.x, y_phi)], label="φ: N×C/2×HW", segment=0, side="below")
    fg = s.nodes["fg"]
    s.place("fg", f.x + f.w / 2 + 0.5 + fg.w / 2, y_y)
    s.arrow("f", "fg", via=[(fg.x, y_f)], label="f: N×HW×HW", segment=0)
    s.arrow("g", "fg", via=[(fg.x, y_g)], label="g: N×HW×C/2", segment=0)
    sum_x = fg.x + fg.w / 2 + 1.1
    s.place("wz", sum_x, y_g)  # W_z and BN on the way down to the sum
    s.place("sum", sum_x, 0)
    s.arrow("fg", "wz", via=[(sum_x, y_y)], label=f"y: {HALF}", segment=0)
    s.arrow("wz", "sum", label=SHAPE)
    s.arrow("x", "sum", label=f"x: {SHAPE}", segment=0)
    s.row(None, None, ["sum", SHAPE, "out"])
    return ("Non-local block: every position reads from every other (Wang, Girshick, Gupta, He, CVPR 2018, "
            "Fig. 2, Eqs. 1, 3, 6)", "⊕ (+): element-wise sum, the residual connection; nothing multiplies x   "
            "f: the self-attention of Transformers over the HW positions, O((HW)²) per image")


def context_concat(s: Sketch) -> tuple[str, str]:
    s.box("x", "input", "$x$", "io")
    s.dot("tap")
    s.box("gap", "global average pool", r"$g = \frac{1}{HW}\sum_{i,j} x(i,j)$", "pool")
    s.box("unpool", "unpool (copy to every position)", "$g$ at each $(i, j)$")
    s.box("cat", "concatenate", "$[x_i; g]$")
    s.box("conv", "1×1 conv, 2C → C", "$W$: C × 2C, with bias $b$")
    s.box("out", "output", r"$\tilde{x}_i = W\,[x_i; g] + b$", "io")
    y1 = 1.25
    s.place("x", s.nodes["x"].w / 2, 0)
    tap_x = s.nodes["x"].w + 0.35
    s.place("tap", tap_x, 0)
    right = s.row(y1, tap_x + 0.3, ["gap", CHANNEL_MAP, "unpool"])
    s.arrow("tap", "gap", via=[(tap_x, y1)])
    s.place("cat", right + 0.6, 0)
    gate_to_product(s, "unpool", "cat", 0, f"g: {SHAPE}")
    s.arrow("x", "cat", label=f"x: {SHAPE}", segment=0)
    s.row(None, None, ["cat", SHAPE.replace("C", "2C"), "conv", SHAPE, "out"])
    return ("ParseNet's global context: pool, copy back, concatenate; no gate (Liu, Rabinovich, Berg, 2015, "
            "Sec. 3.1)", "[·; ·]: concatenation along the channels. No sigmoid, no product: "
            "$W\\,[x_i; g] = W_x x_i + W_g\\, g$, a linear mix of x plus a shift per channel by the context")
