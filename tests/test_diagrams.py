"""scattn.diagrams: every mechanism draws, and the drawing is readable by construction.

Readability is checked on the geometry (inches): no two texts overlap, no label sits
on a box, no arrow runs through a box it does not start or end at, every box is
connected, and the arrows join the boxes the equations say they join.
"""

from __future__ import annotations

import itertools
import math

import pytest
from matplotlib.figure import Figure

import scattn
from scattn.diagrams import DIAGRAMS, diagram, sketch

NO_DIAGRAM = {"none"}  # the identity: nothing to draw
CASES = ([(name, {}) for name in DIAGRAMS]
         + [("cbam", {"order": o}) for o in ("channel-spatial", "spatial-channel", "parallel")]
         + [("scse", {"combine": "max"}), ("residual", {"attention": "cbam"})]
         + [("residual", {"attention": a}) for a in ("gc", "gc-scale", "nonlocal", "context-concat")])


def overlap(a, b, tol=0.005) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def inside(node, x, y, tol=0.01) -> bool:
    if node.round:
        return math.hypot(x - node.x, y - node.y) < node.w / 2 - tol
    x0, y0, x1, y1 = node.rect()
    return x0 + tol < x < x1 - tol and y0 + tol < y < y1 - tol


def samples(points, step=0.02):
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        n = max(1, int(math.dist((x0, y0), (x1, y1)) / step))
        for i in range(n + 1):
            yield x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n


@pytest.mark.parametrize("name", scattn.available_attention())
def test_every_registered_mechanism_has_a_diagram(name):
    if name in NO_DIAGRAM:
        with pytest.raises(ValueError, match="nothing to draw; diagrams exist for se, "):
            diagram(name)
        return
    fig = diagram(name)
    assert isinstance(fig, Figure)
    fig.canvas.draw()  # renders without error


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda v: v if isinstance(v, str) else
                         "-".join(map(str, v.values())) or "default")
def test_the_drawing_is_readable(name, options):
    s = sketch(name, **options)
    nodes = {k: n for k, n in s.nodes.items()}
    texts = s.text_boxes()
    # no two texts overlap
    for (ta, a), (tb, b) in itertools.combinations(texts, 2):
        assert not overlap(a, b), f"{name}: {ta.get_text()!r} overlaps {tb.get_text()!r}"
    # labels, title and caption sit on no box; a box's own texts sit inside it
    own = {id(t): n for n in nodes.values() for t, _ in n.texts}
    for t, box in texts:
        if id(t) in own:
            x0, y0, x1, y1 = own[id(t)].rect()
            assert x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1, f"{t.get_text()!r} leaks"
            continue
        for key, n in nodes.items():
            if n.kind != "dot":
                assert not overlap(box, n.rect()), f"{name}: {t.get_text()!r} sits on node {key!r}"
        for e in s.edges:  # and no arrow runs through a label
            hits = [p for p in samples(e.points) if box[0] < p[0] < box[2] and box[1] < p[1] < box[3]]
            assert not hits, f"{name}: the arrow {e.start}->{e.end} crosses {t.get_text()!r}"
    # arrows start and end on their own nodes' outlines and cross no other node
    for e in s.edges:
        a, b = nodes[e.start], nodes[e.end]
        for node, p in ((a, e.points[0]), (b, e.points[-1])):
            if node.kind != "dot":
                on_outline = not inside(node, *p) and inside(node, *p, tol=-0.02)
                assert on_outline, f"{name}: {e.start}->{e.end} misses its node"
        for key, n in nodes.items():
            if key in (e.start, e.end) or n.kind == "dot":
                continue
            assert not any(inside(n, x, y) for x, y in samples(e.points)), \
                f"{name}: the arrow {e.start}->{e.end} runs through {key!r}"
    # every node is joined to the drawing
    joined = {k for e in s.edges for k in (e.start, e.end)}
    assert set(nodes) <= joined, f"{name}: unconnected nodes {set(nodes) - joined}"
    # the figure holds everything, drawn to scale
    fig = s.figure
    w, h = fig.get_size_inches()
    x0, x1 = s.ax.get_xlim()
    y0, y1 = s.ax.get_ylim()
    assert math.isclose(x1 - x0, w) and math.isclose(y1 - y0, h)
    for t, (bx0, by0, bx1, by1) in texts:
        assert x0 <= bx0 and bx1 <= x1 and y0 <= by0 and by1 <= y1, f"{t.get_text()!r} is cut off"
    assert w < 13 and h < 6.5, f"{name} is {w:.1f} × {h:.1f} inches: too big to read in a notebook"


def edges(s):
    return {(e.start, e.end) for e in s.edges}


def kinds(s):
    return {n.kind for n in s.nodes.values()}


def words(s):
    return " ".join(t.get_text() for t, _ in s.text_boxes())


def test_se_squeezes_excites_and_scales_the_input():
    s = sketch("se")
    assert {("squeeze", "excite"), ("excite", "gate"), ("gate", "out_op"), ("u", "out_op"),
            ("out_op", "out")} <= edges(s)
    assert s.nodes["gate"].kind == "gate" and s.nodes["out_op"].kind == "product"
    words = " ".join(t.get_text() for t, _ in s.text_boxes())
    assert "N×C×1×1" in words and "N×C×H×W" in words


def test_the_additive_controls_add_and_have_no_gate():
    for name in ("se-add", "spatial-add"):
        s = sketch(name)
        assert not [n for n in s.nodes.values() if n.kind == "gate"]
        assert [n for n in s.nodes.values() if n.kind == "sum"]
        assert not [n for n in s.nodes.values() if n.kind == "product"]


def test_cbam_orders_wire_the_gates_as_the_module_does():
    cs, sc, par = (sketch("cbam", order=o) for o in ("channel-spatial", "spatial-channel", "parallel"))
    first = {t.get_text() for t, _ in cs.nodes["g1"].texts}
    assert "channel gate" in first and "spatial gate" in {t.get_text() for t, _ in sc.nodes["g1"].texts}
    # in sequence the second gate reads F' (the tap after the first product); in parallel both read F
    assert ("tap1", "g2") in edges(cs) and ("p1", "tap1") in edges(cs)
    assert ("tap1", "g1") in edges(par) and ("tap1", "g2") in edges(par) and ("tap0", "tap1") in edges(par)
    assert ("p1", "p2") in edges(par)


def test_scse_combines_by_sum_or_max_and_bam_can_amplify():
    assert sketch("scse").nodes["join"].kind == "sum"
    assert sketch("scse", combine="max").nodes["join"].kind == "max"
    bam = sketch("bam")
    assert ("gate", "one") in edges(bam) and ("one", "prod") in edges(bam)


def test_the_context_blocks_wire_as_their_equations():
    gc, gc_scale = sketch("gc"), sketch("gc-scale")
    # α pools x itself; the transformed context is added (gc) or gates x (gc-scale)
    assert {("key", "pool"), ("read", "pool"), ("pool", "transform"), ("transform", "out_op")} <= edges(gc)
    assert gc.nodes["out_op"].kind == "sum" and "gate" not in kinds(gc)
    assert {("transform", "gate"), ("gate", "out_op")} <= edges(gc_scale)
    assert gc_scale.nodes["out_op"].kind == "product"
    # the non-local block: f from θ and φ, y = f g, then W_z and BN into the residual sum
    nl = sketch("nonlocal")
    assert {("theta", "f"), ("phi", "f"), ("f", "fg"), ("g", "fg"), ("fg", "wz"), ("wz", "sum"),
            ("x", "sum")} <= edges(nl)
    assert "N×HW×HW" in words(nl) and not kinds(nl) & {"gate", "product"}
    # ParseNet: pooled, copied back, concatenated with x, mixed by a 1×1 conv; nothing multiplied
    pn = sketch("context-concat")
    assert {("gap", "unpool"), ("unpool", "cat"), ("x", "cat"), ("cat", "conv")} <= edges(pn)
    assert "N×2C×H×W" in words(pn) and not kinds(pn) & {"gate", "product"}


def test_residual_places_the_module_before_the_addition():
    s = sketch("residual", attention="se")
    assert {("c2", "att"), ("att", "add"), ("tap", "add"), ("add", "relu")} <= edges(s)
    assert "attention A: SE" in {t.get_text() for t, _ in s.nodes["att"].texts}


@pytest.mark.parametrize(("name", "options", "message"), [
    ("sse", {}, "no diagram named 'sse'; diagrams exist for se, se-add, eca"),
    ("none", {}, "'none' is the identity"),
    ("cbam", {"order": "backwards"}, "unknown CBAM order 'backwards'; expected one of channel-spatial"),
    ("scse", {"combine": "mean"}, "unknown scSE combine 'mean'; expected one of add, max"),
    ("se", {"order": "parallel"}, "diagram 'se' takes no options; got order"),
    ("cbam", {"combine": "max"}, "diagram 'cbam' takes order; got combine"),
    ("residual", {"attention": "sse"}, "unknown attention 'sse'"),
])
def test_bad_names_and_options(name, options, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        diagram(name, **options)


def test_names_are_forgiving_like_the_registry():
    assert isinstance(diagram(" CBAM "), Figure)


def test_there_is_one_diagram_function():
    from scattn import plots

    assert not hasattr(plots, "diagram")  # one name: scattn.diagrams.diagram
