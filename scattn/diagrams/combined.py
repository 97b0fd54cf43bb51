"""Channel and spatial attention together: CBAM, scSE, BAM, coordinate attention."""

from __future__ import annotations

from .parts import CAPTION, CHANNEL_MAP, SHAPE, SPATIAL_MAP, gate_to_product
from .sketch import Sketch


def cbam(s: Sketch, order: str = "channel-spatial") -> tuple[str, str]:
    from ..attention.cbam import ORDERS

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
        gate_to_product(s, "g1", "p1", 0, f"$M_c(F)$: {CHANNEL_MAP}")
        gate_to_product(s, "g2", "p2", 0, f"$M_s(F)$: {SPATIAL_MAP}")
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
    gate_to_product(s, "g1", "p1", 0, f"{m1}: {shape1}")
    s.arrow("F", "p1", label=f"F: {SHAPE}", segment=0)
    tap1_x = s.nodes["p1"].x + 1.25
    s.place("tap1", tap1_x, 0)
    s.arrow("p1", "tap1", head=False, label=f"F′: {SHAPE}")
    s.row(y1, tap1_x + 0.3, ["g2"])
    g2 = s.nodes["g2"]
    s.arrow("tap1", "g2", via=[(tap1_x, y1)])
    s.place("p2", g2.x + g2.w / 2 + 0.45, 0)
    gate_to_product(s, "g2", "p2", 0, f"{m2}: {shape2}")
    s.arrow("tap1", "p2", segment=0)
    s.row(None, None, ["p2", SHAPE, "out"])
    when = ("the paper's choice, best in its ablation" if order == "channel-spatial"
            else "slightly worse in the ablation")
    return f"CBAM, {order} ({when}; Woo et al., ECCV 2018, Eq. 1)", CAPTION


def scse(s: Sketch, combine: str = "add") -> tuple[str, str]:
    from ..attention.scse import COMBINES

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
    gate_to_product(s, "g_c", "p_c", y_up, f"s: {CHANNEL_MAP}")
    gate_to_product(s, "g_s", "p_s", y_down, f"σ(q): {SPATIAL_MAP}")
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


def bam(s: Sketch) -> tuple[str, str]:
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


def coord(s: Sketch) -> tuple[str, str]:
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
