"""Attention by name: the one place that maps a string to a module."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

from torch import nn

from .additive import AdditiveSqueezeExcitation
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
    "spatial": lambda channels, kernel_size=7, batch_norm=False: SpatialAttention(kernel_size, batch_norm),
    "cbam": CBAM,
    "scse": SCSE,
    "bam": BAM,
    "coord": CoordinateAttention,
    "se-add": AdditiveSqueezeExcitation,  # the control: SE's context added, not multiplied
}


def available_attention() -> list[str]:
    """The names :func:`make_attention` accepts."""
    return list(_REGISTRY)


def _parameters(factory: Callable[..., nn.Module]) -> set[str]:
    return set(inspect.signature(factory).parameters) - {"channels"}


def make_attention(name: str | None, channels: int, **kwargs) -> nn.Module:
    """Build attention ``name`` for ``channels`` channels; "none" (or None) is an identity.

    Keyword arguments that belong to *other* mechanisms (``reduction`` for ECA,
    say) are ignored, so a model can pass one set of knobs whatever the name;
    a keyword no mechanism knows is an error.

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
    factory = _REGISTRY[key]
    known = set().union(*(_parameters(f) for f in _REGISTRY.values()))
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(
            f"make_attention got unknown keyword(s) {sorted(unknown)}; "
            f"the mechanisms take {sorted(known)}"
        )
    own = _parameters(factory)
    return factory(channels, **{k: v for k, v in kwargs.items() if k in own})
