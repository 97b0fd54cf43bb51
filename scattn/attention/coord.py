"""Coordinate attention (Hou, Zhou, Feng, CVPR 2021)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import Gate, check_input, hidden_width


class CoordinateAttention(nn.Module):
    """Channel attention that remembers where: pool along each axis separately.

    z^h_c(h) = (1/W) Σ_i x_c(h, i),   z^w_c(w) = (1/H) Σ_j x_c(j, w)   (Eqs. 4-5)
    f   = δ(F_1([z^h, z^w]))          shared 1×1 conv + BN + h-swish  (Eq. 6)
    g^h = σ(F_h(f^h)),  g^w = σ(F_w(f^w))                            (Eqs. 7-8)
    y_c(i, j) = x_c(i, j) · g^h_c(i) · g^w_c(j)                       (Eq. 9)

    Hidden width max(``min_hidden``, C // r) with r = 32 and a minimum of 8, as in
    the authors' code. The maps are
    ``self.gate_h`` (N×C×H×1) and ``self.gate_w`` (N×C×1×W).
    """

    def __init__(self, channels: int, reduction: int = 32, min_hidden: int = 8):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        self.min_hidden = min_hidden = positive_int("min_hidden", min_hidden)
        hidden = hidden_width(channels, reduction, minimum=min_hidden)
        self.conv1 = nn.Conv2d(channels, hidden, 1)  # F_1
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act = nn.Hardswish()  # δ, h-swish
        self.conv_h = nn.Conv2d(hidden, channels, 1)  # F_h
        self.conv_w = nn.Conv2d(hidden, channels, 1)  # F_w
        self.gate_h = Gate()
        self.gate_w = Gate()

    def attention_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(g^h, g^w), N×C×H×1 and N×C×1×W."""
        check_input(self, x, self.channels)
        h, w = x.shape[2:]
        z_h = x.mean(dim=3, keepdim=True)  # (N, C, H, W) -> (N, C, H, 1)
        z_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (N, C, 1, W) -> (N, C, W, 1)
        f = self.act(self.bn1(self.conv1(torch.cat([z_h, z_w], dim=2))))  # (N, hidden, H + W, 1)
        f_h, f_w = f.split([h, w], dim=2)  # (N, hidden, H, 1), (N, hidden, W, 1)
        g_h = self.gate_h(self.conv_h(f_h))  # (N, C, H, 1)
        g_w = self.gate_w(self.conv_w(f_w.transpose(2, 3)))  # (N, C, 1, W)
        return g_h, g_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g_h, g_w = self.attention_map(x)
        return x * g_h * g_w

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, min_hidden={self.min_hidden}"
