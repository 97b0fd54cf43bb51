"""Attention by name: the one place that maps a string to a module."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from ..arguments import known_name, positive_int
from .additive import AdditiveSqueezeExcitation
from .bam import BAM
from .cbam import CBAM
from .channel import ChannelAttention
from .context import ContextConcat
from .coord import CoordinateAttention
from .eca import EfficientChannelAttention
from .gc import GlobalContext
from .non_local import NonLocalBlock
from .scse import SCSE
from .se import SqueezeExcitation
from .spatial import SpatialAttention
from .spatial_additive import AdditiveSpatial

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "none": lambda channels: nn.Identity(),
    "se": SqueezeExcitation,
    "eca": EfficientChannelAttention,
    "channel": ChannelAttention,
    "spatial": lambda channels, kernel_size=7, batch_norm=False: SpatialAttention(kernel_size, batch_norm),
    "cbam": CBAM,
    "scse": SCSE,
    "bam": BAM,
    "coord": CoordinateAttention,
    # the control for "spatial": the same k×k map added, not multiplied
    "spatial-add": lambda channels, kernel_size=7: AdditiveSpatial(kernel_size),
    "se-add": AdditiveSqueezeExcitation,  # the control: SE's context added, not multiplied
    # global context without SE's plain average: attention pooling, then a sum or a gate
    "gc": lambda channels, reduction=16: GlobalContext(channels, reduction, fusion="add"),
    "gc-scale": lambda channels, reduction=16: GlobalContext(channels, reduction, fusion="scale"),
    "nonlocal": lambda channels: NonLocalBlock(channels),  # self-attention over positions
    "context-concat": ContextConcat,  # global context concatenated: no product at all
}


def available_attention() -> list[str]:
    """The names :func:`make_attention` accepts."""
    return list(_REGISTRY)


def _parameters(factory: Callable[..., nn.Module]) -> set[str]:
    return set(inspect.signature(factory).parameters) - {"channels"}


def attention_name(name: str | None) -> str:
    """The registry's key for ``name`` ("CBAM", " se ", "se_add" and None -> "cbam", "se",
    "se-add", "none"), or a ValueError listing the names (with the closest one when there is one)."""
    return "none" if name is None else known_name("attention", name, list(_REGISTRY))


def make_attention(name: str | None, channels: int, **kwargs) -> nn.Module:
    """Build attention ``name`` for ``channels`` channels; "none" (or None) is an identity.

    The one place that routes keyword arguments: those that belong to *other*
    mechanisms (``reduction`` for ECA, say) are ignored, so a model can pass one
    set of knobs whatever the name; a keyword no mechanism takes is a TypeError
    that lists the ones they take.

    >>> make_attention("cbam", 64, reduction=8)
    CBAM(...)
    """
    factory = _REGISTRY[attention_name(name)]
    positive_int("channels", channels)
    known = set().union(*(_parameters(f) for f in _REGISTRY.values()))
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(
            f"no attention mechanism takes {', '.join(map(repr, sorted(unknown)))}; "
            f"the mechanisms take {', '.join(sorted(known))}"
        )
    own = _parameters(factory)
    return factory(channels, **{k: v for k, v in kwargs.items() if k in own})
