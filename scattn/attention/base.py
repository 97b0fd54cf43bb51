"""What every attention module shares: the gate it multiplies by, and input checks.

Each module computes its map(s) through a :class:`Gate` submodule. A forward hook
on a gate sees the map the module multiplies by, so a notebook can plot the maps
of a forward pass it already ran (``scattn.maps.capture_attention`` does exactly
that). Every module follows one small protocol: ``forward(x)`` keeps x's shape;
``attention_map(x)`` returns what ``forward`` multiplies by, computed as ``forward``
computes it (a tensor, or a tuple of tensors for modules with several gates),
checking ``x`` the same way; ``extra_repr()`` shows the constructor's choices.
"""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import nchw


class Gate(nn.Sigmoid):
    """σ, the last step of every attention map: values in (0, 1).

    It is an ``nn.Sigmoid`` with a name of its own, so hooks can find the maps.
    """


def hidden_width(channels: int, reduction: int, minimum: int = 1) -> int:
    """Width of a bottleneck MLP: C // r, never below ``minimum`` (C // r is 0 for C < r)."""
    return max(minimum, channels // reduction)


def check_input(module: nn.Module, x: torch.Tensor, channels: int | None = None) -> None:
    """Raise a ValueError naming what was expected for anything but a floating-point
    (N, C, H, W) tensor with H, W >= 1 (and ``channels`` channels, when given)."""
    nchw(type(module).__name__, x, channels)
