"""Efficient Channel Attention (Wang et al., CVPR 2020)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..arguments import number, odd_kernel_size, positive_int, positive_number
from .base import Gate, check_input


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """k = ψ(C) = |log2(C)/γ + b/γ|_odd (Eq. 12), rounded as in the authors' code.

    t = int(|log2(C) + b| / γ), then k = t if t is odd, else t + 1.
    C = 64 -> 3, C = 256 -> 5, C = 2048 -> 7. timm also enforces k >= 3; we do not,
    so small C give k = 1 as the formula says.
    """
    channels = positive_int("channels", channels)
    gamma = positive_number("gamma", gamma)
    b = number("b", b)
    t = int(abs(math.log2(channels) + b) / gamma)
    return t if t % 2 else t + 1


class EfficientChannelAttention(nn.Module):
    """SE without the bottleneck: a 1-D convolution across neighbouring channels.

    ω = σ(C1D_k(y)),  y = GAP(F)  (Eq. 9),   F' = ω ⊗ F

    k channels interact locally, with k from :func:`eca_kernel_size` when not
    given. No dimensionality reduction, k parameters in all. The map is
    ``self.gate``'s output, N×C×1×1.
    """

    def __init__(self, channels: int, kernel_size: int | None = None, gamma: int = 2, b: int = 1):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        if kernel_size is None:
            kernel_size = eca_kernel_size(channels, gamma, b)
        self.kernel_size = kernel_size = odd_kernel_size("kernel_size", kernel_size)
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """ω, N×C×1×1."""
        check_input(self, x, self.channels)
        n, c = x.shape[:2]
        y = x.mean(dim=(2, 3)).view(n, 1, c)  # (N, C, H, W) -> (N, 1, C): channels as a sequence
        return self.gate(self.conv(y).view(n, c, 1, 1))  # (N, 1, C) -> (N, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, kernel_size={self.kernel_size}"
