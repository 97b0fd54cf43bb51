"""Concurrent spatial and channel squeeze & excitation (Roy, Navab, Wachinger, MICCAI 2018)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import choice, positive_int
from .base import Gate, check_input
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
        self.channels = channels = positive_int("channels", channels)
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

    Û_scSE = Û_cSE + Û_sSE            (combine="add", the MICCAI 2018 paper)
    Û_scSE = max(Û_cSE, Û_sSE)        (combine="max", element-wise)

    The max ("max-out") comes from the journal version, Roy, Navab, Wachinger,
    "Recalibrating Fully Convolutional Networks with Spatial and Channel 'Squeeze
    and Excitation' Blocks", IEEE TMI 38(2), 2019, which compares ways of combining
    the two branches; the authors' code (ai-med/squeeze_and_excitation) combines by
    max. Neither gate exceeds 1, but with "add" the output can reach 2·U.

    ``reduction``: the paper's cSE uses C/2 hidden units (r = 2), and so does the
    authors' code. The course keeps SE's r = 16 as the default, so that cSE and
    :class:`SqueezeExcitation` are the same module; pass ``reduction=2`` for the
    paper's (the course's models pass r = 4, see ``scattn.models.SMALL_REDUCTION``).
    The maps are ``self.cse.gate`` (N×C×1×1) and ``self.sse.gate`` (N×1×H×W);
    :meth:`attention_map` returns both.
    """

    def __init__(self, channels: int, reduction: int = 16, combine: str = "add"):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.combine = choice("combine", combine, COMBINES)
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
