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

import sys

from . import block, channel, combined, context, spatial
from .sketch import Sketch

DIAGRAMS = {
    "se": channel.se,
    "se-add": lambda s: channel.se(s, additive=True),
    "eca": channel.eca,
    "channel": channel.channel,
    "spatial": spatial.spatial,
    "spatial-add": lambda s: spatial.spatial(s, additive=True),
    "cbam": combined.cbam,
    "scse": combined.scse,
    "bam": combined.bam,
    "coord": combined.coord,
    "gc": channel.gc,
    "gc-scale": lambda s: channel.gc(s, fusion="scale"),
    "nonlocal": context.non_local,
    "context-concat": context.context_concat,
    "residual": block.residual,
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
    "spatial-add", GCNet's global context "gc" (fused by sum) and "gc-scale" (by a
    gate), "nonlocal", "context-concat" (ParseNet), or "residual" (where a module
    sits in a residual block; ``attention="cbam"`` names it). An unknown name or
    option is a ValueError listing what exists.
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
