"""Channel attention: one weight per channel (SE and its additive control, ECA, CBAM's channel gate)."""

from __future__ import annotations

from .parts import CAPTION, CHANNEL_MAP, SHAPE, branch_above, fuse, gate_to_product, into_output
from .sketch import Sketch


def se(s: Sketch, additive: bool = False) -> tuple[str, str]:
    s.box("u", "input", "$u$", "io")
    s.dot("tap")
    s.box("squeeze", "squeeze: global average pool", r"$z_c = \frac{1}{HW}\sum_{i,j} u_c(i,j)$", "pool")
    s.box("excite", "excitation: FC, ReLU, FC", "$W_2\\,\\delta(W_1 z)$\nC → C/r → C, with biases")
    fuse(s, additive, r"$s = \sigma(W_2\,\delta(W_1 z))$",
           r"$\tilde{x}_c = u_c + b_c$" if additive else r"$\tilde{x}_c = s_c \cdot u_c$")
    branch = ["squeeze", CHANNEL_MAP, "excite"] + ([] if additive else [CHANNEL_MAP, "gate"])
    right = branch_above(s, "u", branch, 1.25)
    into_output(s, branch[-1], "out_op", right, ("b: " if additive else "s: ") + CHANNEL_MAP, "u")
    if additive:
        return ("SE's additive control: the same context added, not multiplied (no gate)",
                "⊕ (+): element-wise sum, broadcast over H×W: the context can only shift a channel, not scale it")
    return "Squeeze-and-Excitation (Hu, Shen, Sun, CVPR 2018, Fig. 1 and Eqs. 2–4)", CAPTION


def eca(s: Sketch) -> tuple[str, str]:
    s.box("F", "input", "$F$", "io")
    s.dot("tap")
    s.box("gap", "global average pool", "$y = \\mathrm{GAP}(F)$, channels as a sequence", "pool")
    s.box("conv", "1-D conv across channels", "kernel $k = \\psi(C) = |\\log_2(C)/\\gamma + b/\\gamma|_{odd}$\n"
          "γ = 2, b = 1, no bias: k weights")
    fuse(s, False, r"$\omega = \sigma(\mathrm{C1D}_k(y))$", r"$F' = \omega \otimes F$", "prod")
    right = branch_above(s, "F", ["gap", "N×1×C", "conv", "N×1×C", "gate"], 1.35)
    into_output(s, "gate", "prod", right, f"ω: {CHANNEL_MAP}", "F")
    return "ECA: SE without the bottleneck (Wang et al., CVPR 2020, Fig. 2, Eqs. 9 and 12)", CAPTION


def channel(s: Sketch) -> tuple[str, str]:
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
    gate_to_product(s, "gate", "prod", 0, f"$M_c$: {CHANNEL_MAP}")
    s.arrow("F", "prod", label=f"F: {SHAPE}", segment=0)
    s.row(None, None, ["prod", SHAPE, "out"])
    return "CBAM's channel gate: what to look for (Woo et al., ECCV 2018, Sec. 3.1, Eq. 2)", CAPTION


def gc(s: Sketch, fusion: str = "add") -> tuple[str, str]:
    add = fusion == "add"
    s.box("x", "input", "$x$", "io")
    s.dot("tap")
    s.dot("read")
    s.box("key", "1×1 conv, softmax", "$\\alpha_j = \\mathrm{softmax}_j(W_k x_j)$\n"
          "C → 1, a weight per position")
    s.box("pool", "attention pooling", r"$c = \sum_j \alpha_j\, x_j$", "pool")
    s.box("transform", "transform: conv, LN, ReLU, conv",
          "$t = W_{v2}\\,\\mathrm{ReLU}(\\mathrm{LN}(W_{v1} c))$\n1×1 convs, C → C/r → C")
    fuse(s, add, r"$\sigma(t)$", r"$z_i = x_i + t$" if add else r"$z_i = x_i \otimes \sigma(t)$")
    branch = ["key", "α: N×1×H×W", "pool", CHANNEL_MAP, "transform"] + ([] if add else [CHANNEL_MAP, "gate"])
    right = branch_above(s, "x", branch, 1.35)
    s.place("out_op", right + 0.6, 0)
    gate_to_product(s, branch[-1], "out_op", 0, ("t: " if add else "σ(t): ") + CHANNEL_MAP)
    s.place("read", s.nodes["pool"].x, 0)  # the pool weighs x itself
    s.arrow("read", "pool", label=f"x: {SHAPE}")
    s.arrow("x", "read", head=False)
    s.arrow("read", "out_op", label=f"x: {SHAPE}")
    s.row(None, None, ["out_op", SHAPE, "out"])
    pool = "α: a learned global pool, where SE averages"
    if add:
        return ("Global context block, fusion by sum, the paper's choice (Cao et al., GCNet, ICCV Workshops 2019, "
                "Fig. 4(d))", f"⊕ (+): element-wise sum, broadcast over H×W: t can shift a channel, not scale it   "
                f"{pool}")
    return ("Global context block, fusion by a gate: SE with attention pooling (Cao et al., GCNet, "
            "ICCV Workshops 2019, Fig. 4(d), scaling fusion)", f"{CAPTION}   {pool}")
