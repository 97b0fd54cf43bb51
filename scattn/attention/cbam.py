"""Convolutional Block Attention Module (Woo, Park, Lee, Kweon, ECCV 2018)."""

from __future__ import annotations

import torch
from torch import nn

from .base import check_choice, check_input, check_positive
from .channel import ChannelAttention
from .spatial import SpatialAttention

ORDERS = ("channel-spatial", "spatial-channel", "parallel")


class CBAM(nn.Module):
    """Channel attention, then spatial attention (Eq. 1):

    F'  = M_c(F) ⊗ F
    F'' = M_s(F') ⊗ F'

    ``order`` selects the arrangements of the paper's ablation (Table 4):
    "channel-spatial" (the paper's choice, best), "spatial-channel" (slightly
    worse), and "parallel", where both maps are computed from F and
    F' = M_c(F) ⊗ M_s(F) ⊗ F (the paper gives no equation for it; this is ours).
    The maps are ``self.channel.gate`` (N×C×1×1) and ``self.spatial.gate`` (N×1×H×W).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        order: str = "channel-spatial",
        mlp_bias: bool = False,
        batch_norm: bool = False,
    ):
        super().__init__()
        check_positive("channels", channels)
        check_choice("order", order, ORDERS)
        self.channels = channels
        self.order = order
        self.channel = ChannelAttention(channels, reduction, bias=mlp_bias)
        self.spatial = SpatialAttention(kernel_size, batch_norm=batch_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, self.channels)
        if self.order == "channel-spatial":
            return self.spatial(self.channel(x))
        if self.order == "spatial-channel":
            return self.channel(self.spatial(x))
        # parallel: both maps read the same F.
        return x * self.channel.attention_map(x) * self.spatial.attention_map(x)

    def extra_repr(self) -> str:
        return f"order={self.order!r}"
