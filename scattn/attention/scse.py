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
        self.channels = channels = check_positive("channels", channels)
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)  # W_sq
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """σ(q), N×1×H×W."""
        check_input(self, x, self.channels)
        return self.gate(self.conv(x))  # (N, C, H, W) -> (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class SCSE(nn.Module):
    """scSE: cSE (which is SE) and sSE side by side on the same input.

    Û_scSE = Û_cSE + Û_sSE            (combine="add", the paper)
    Û_scSE = max(Û_cSE, Û_sSE)        (combine="max", the later variant)

    The maps are ``self.cse.gate`` (N×C×1×1) and ``self.sse.gate`` (N×1×H×W);
    :meth:`attention_map` returns both.
    """

    def __init__(self, channels: int, reduction: int = 16, combine: str = "add"):
        super().__init__()
        self.channels = channels = check_positive("channels", channels)
        self.combine = check_choice("combine", combine, COMBINES)
        self.cse = SqueezeExcitation(channels, reduction)
        self.sse = SpatialSqueeze(channels)

    def attention_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cSE's s, N×C×1×1; sSE's σ(q), N×1×H×W), both computed from x."""
        check_input(self, x, self.channels)
        return self.cse.attention_map(x), self.sse.attention_map(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, q = self.attention_map(x)
        u_cse, u_sse = x * s, x * q  # (N, C, H, W) each
        return u_cse + u_sse if self.combine == "add" else torch.maximum(u_cse, u_sse)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, combine={self.combine!r}"
