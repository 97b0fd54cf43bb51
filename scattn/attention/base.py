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


class Gate(nn.Sigmoid):
    """σ, the last step of every attention map: values in (0, 1).

    It is an ``nn.Sigmoid`` with a name of its own, so hooks can find the maps.
    """


def hidden_width(channels: int, reduction: int, minimum: int = 1) -> int:
    """Width of a bottleneck MLP: C // r, never below ``minimum`` (C // r is 0 for C < r)."""
    return max(minimum, channels // reduction)


def check_input(module: nn.Module, x: torch.Tensor, channels: int | None = None) -> None:
    """Raise a ValueError naming what was expected for anything but an (N, C, H, W) tensor."""
    name = type(module).__name__
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} expects a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"{name} expects a 4-D tensor (N, C, H, W), got {x.dim()}-D with shape {tuple(x.shape)}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{name} was built for {channels} channels but the input has {x.shape[1]} "
            f"(shape {tuple(x.shape)}, channels are dim 1)"
        )
