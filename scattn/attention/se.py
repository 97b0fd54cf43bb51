"""Squeeze-and-Excitation (Hu, Shen, Sun, CVPR 2018; journal version Hu, Shen, Albanie, Sun, Wu, IEEE TPAMI 2020)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import Gate, check_input, hidden_width


class SqueezeExcitation(nn.Module):
    """Squeeze, excite, scale.

    z = F_sq(u) = (1 / HW) Σ_{i,j} u(i, j)                    (Eq. 2, global average pool)
    s = F_ex(z) = σ(W_2 δ(W_1 z)),  W_1: C/r × C, W_2: C × C/r  (Eq. 3)
    x̃_c = s_c · u_c                                            (Eq. 4)

    Fully connected layers with bias, ReLU δ, sigmoid σ; hidden width C // r, at
    least 1. The map is ``self.gate``'s output, N×C×1×1.

    Two findings often quoted about SE come from the journal version, not the CVPR
    paper: its ablation (TPAMI 2020, Sec. 6) removes the FC biases, having "found
    empirically that on ResNet architectures" this helps model channel dependencies,
    and its squeeze ablation (Sec. 6.2, Table 11) finds average pooling slightly
    better than max pooling. The equations have no biases; this module keeps them,
    as torchvision's ``SqueezeExcitation`` does.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        hidden = hidden_width(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden)  # W_1
        self.relu = nn.ReLU(inplace=True)  # δ
        self.fc2 = nn.Linear(hidden, channels)  # W_2
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """s, N×C×1×1."""
        check_input(self, x, self.channels)
        n, c = x.shape[:2]
        z = x.mean(dim=(2, 3))  # squeeze: (N, C, H, W) -> (N, C)
        s = self.fc2(self.relu(self.fc1(z)))  # excite: (N, C) -> (N, C/r) -> (N, C)
        return self.gate(s.view(n, c, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)  # scale

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"
