"""Convolutional Block Attention Module (Woo, Park, Lee, Kweon, ECCV 2018)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import choice, positive_int
from .base import check_input
from .channel import ChannelAttention
from .spatial import SpatialAttention

ORDERS = ("channel-spatial", "spatial-channel", "parallel")


class CBAM(nn.Module):
    """Channel attention, then spatial attention (Eq. 1):

    F'  = M_c(F) ⊗ F
    F'' = M_s(F') ⊗ F'

    ``order`` selects the arrangements of the paper's ablation (Table 3,
    "Combining methods of channel and spatial attention"; Table 4 holds the
    ImageNet results per architecture): "channel-spatial" (the paper's choice,
    best), "spatial-channel" (slightly worse), and "parallel", where both maps are
    computed from F and F' = M_c(F) ⊗ M_s(F) ⊗ F (the paper gives no equation for
    it; this is ours). ``mlp_bias=False`` follows the equation; the authors' code
    has biases in the channel MLP (``mlp_bias=True``), and a BatchNorm after the
    spatial conv (``batch_norm=True``).
    The maps are ``self.channel.gate`` (N×C×1×1) and ``self.spatial.gate``
    (N×1×H×W); :meth:`attention_map` returns both, each computed from what it
    reads in this order.
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
        self.channels = channels = positive_int("channels", channels)
        self.order = choice("order", order, ORDERS)
        self.channel = ChannelAttention(channels, reduction, bias=mlp_bias)
        self.spatial = SpatialAttention(kernel_size, batch_norm=batch_norm)

    def _gated(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """(output, (M_c, M_s)) in this module's order."""
        check_input(self, x, self.channels)
        if self.order == "channel-spatial":
            m_c = self.channel.attention_map(x)  # (N, C, 1, 1), from F
            f1 = x * m_c  # F'
            m_s = self.spatial.attention_map(f1)  # (N, 1, H, W), from F'
            return f1 * m_s, (m_c, m_s)
        if self.order == "spatial-channel":
            m_s = self.spatial.attention_map(x)  # from F
            f1 = x * m_s
            m_c = self.channel.attention_map(f1)  # from M_s ⊗ F
            return f1 * m_c, (m_c, m_s)
        m_c, m_s = self.channel.attention_map(x), self.spatial.attention_map(x)  # parallel: both read F
        return x * m_c * m_s, (m_c, m_s)

    def attention_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(M_c, N×C×1×1; M_s, N×1×H×W), each computed from what it reads in this order."""
        return self._gated(x)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._gated(x)[0]

    def extra_repr(self) -> str:
        return f"channels={self.channels}, order={self.order!r}"
