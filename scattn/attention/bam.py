"""Bottleneck Attention Module (Park, Woo, Lee, Kweon, BMVC 2018)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import Gate, check_input, hidden_width


class BAM(nn.Module):
    """Channel and spatial branches added inside one sigmoid, applied residually.

    M(F)   = σ(M_c(F) + M_s(F))                                    (Eq. 2)
    M_c(F) = BN(MLP(AvgPool(F))),  MLP: C -> C/r -> C with ReLU     (Eq. 3)
    M_s(F) = BN(f_3^{1×1}(f_2^{3×3}(f_1^{3×3}(f_0^{1×1}(F)))))    (Eq. 4)
    F'     = F + F ⊗ M(F) = F ⊗ (1 + M(F))                        (Eq. 1)

    f_0 reduces C to C/r, the two 3×3 convs are dilated by ``dilation`` (d = 4)
    to widen the context, f_3 reduces to one map; BN and ReLU follow f_0..f_2.
    M_c (N×C×1×1) and M_s (N×1×H×W) broadcast to N×C×H×W before the sum. The
    authors' code multiplies the branches instead of adding them; we follow the
    paper. The map is ``self.gate``'s output, N×C×H×W (the module multiplies by
    1 + map). Like any BatchNorm, training needs more than one value per channel.
    """

    def __init__(self, channels: int, reduction: int = 16, dilation: int = 4):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        self.dilation = dilation = positive_int("dilation", dilation)
        hidden = hidden_width(channels, reduction)
        self.channel_mlp = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
            nn.BatchNorm1d(channels),
        )
        self.spatial_convs = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),  # f_0
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation, bias=False),  # f_1
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation, bias=False),  # f_2
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1, bias=False),  # f_3
            nn.BatchNorm2d(1),
        )
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """M(F), N×C×H×W (the module multiplies by 1 + M(F))."""
        check_input(self, x, self.channels)
        n, c = x.shape[:2]
        m_c = self.channel_mlp(x.mean(dim=(2, 3))).view(n, c, 1, 1)  # (N, C) -> (N, C, 1, 1)
        m_s = self.spatial_convs(x)  # (N, C, H, W) -> (N, 1, H, W)
        return self.gate(m_c + m_s)  # broadcast to (N, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.attention_map(x))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, dilation={self.dilation}"
