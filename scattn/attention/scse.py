"""Concurrent spatial and channel squeeze & excitation (Roy, Navab, Wachinger, MICCAI 2018)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Gate, check_choice, check_input, check_positive
from .se import SqueezeExcitation

COMBINES = ("add", "max")


class SpatialSqueeze(nn.Module):
    """sSE: squeeze the channels, excite each position.

    q = W_sq ⋆ U  (a 1×1 conv C -> 1),   Û_sSE = σ(q) ⊗ U

    Unlike CBAM's spatial gate it has no spatial context: each position's weight
    depends on that position's C values alone. The map is ``self.gate``'s output,
    N×1×H×W.
    """

    def __init__(self, channels: int):
        super().__init__()
        check_positive("channels", channels)
        self.channels = channels
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)  # W_sq
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.conv(x))  # (N, C, H, W) -> (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, self.channels)
        return x * self.attention_map(x)


class SCSE(nn.Module):
    """scSE: cSE (which is SE) and sSE side by side on the same input.

    Û_scSE = Û_cSE + Û_sSE            (combine="add", the paper)
    Û_scSE = max(Û_cSE, Û_sSE)        (combine="max", the later variant)

    The maps are ``self.cse.gate`` (N×C×1×1) and ``self.sse.gate`` (N×1×H×W).
    """

    def __init__(self, channels: int, reduction: int = 16, combine: str = "add"):
        super().__init__()
        check_positive("channels", channels)
        check_choice("combine", combine, COMBINES)
        self.channels = channels
        self.combine = combine
        self.cse = SqueezeExcitation(channels, reduction)
        self.sse = SpatialSqueeze(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, self.channels)
        u_cse = x * self.cse.attention_map(x)  # (N, C, H, W)
        u_sse = x * self.sse.attention_map(x)  # (N, C, H, W)
        return u_cse + u_sse if self.combine == "add" else torch.maximum(u_cse, u_sse)

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}"
