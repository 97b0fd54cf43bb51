"""Attention by name: the one place that maps a string to a module."""

from __future__ import annotations

import difflib
from typing import Callable

from torch import nn

from .bam import BAM
from .base import check_positive
from .cbam import CBAM
from .channel import ChannelAttention
from .coord import CoordinateAttention
from .eca import EfficientChannelAttention
from .scse import SCSE
from .se import SqueezeExcitation
from .spatial import SpatialAttention

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "none": lambda channels: nn.Identity(),
    "se": SqueezeExcitation,
    "eca": EfficientChannelAttention,
    "channel": ChannelAttention,
    "spatial": lambda channels, **kwargs: SpatialAttention(**kwargs),
    "cbam": CBAM,
    "scse": SCSE,
    "bam": BAM,
    "coord": CoordinateAttention,
}


def available_attention() -> list[str]:
    """The names :func:`make_attention` accepts."""
    return list(_REGISTRY)


def make_attention(name: str | None, channels: int, **kwargs) -> nn.Module:
    """Build attention ``name`` for ``channels`` channels; "none" (or None) is an identity.

    >>> make_attention("cbam", 64, reduction=8)
    CBAM(...)
    """
    key = "none" if name is None else str(name).strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        close = difflib.get_close_matches(key, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown attention {name!r}{hint}; expected one of {', '.join(_REGISTRY)}"
        )
    check_positive("channels", channels)
    return _REGISTRY[key](channels, **kwargs)
