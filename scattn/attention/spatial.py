"""CBAM's spatial attention gate (Woo et al., ECCV 2018, Sec. 3.1)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import odd_kernel_size
from .base import Gate, check_input


class SpatialAttention(nn.Module):
    """Where to look: one weight per position, shared by all channels.

    M_s(F) = σ(f^{k×k}([AvgPool_c(F); MaxPool_c(F)])),   F' = M_s(F) ⊗ F

    AvgPool_c and MaxPool_c pool *over the channels* at every position, giving two
    N×1×H×W maps; a k×k convolution (k = 7 in the paper, 3 in its ablation) mixes
    them over a neighbourhood, so the gate sees spatial context. This is a gate
    computed from local features, not a similarity between pixels (that is
    non-local / self-attention).

    ``batch_norm=True`` adds the BatchNorm the authors' code puts after the conv
    (the paper's equation has none). The conv has a bias unless a BatchNorm follows.
    The map is ``self.gate``'s output, N×1×H×W.
    """

    def __init__(self, kernel_size: int = 7, batch_norm: bool = False):
        super().__init__()
        self.kernel_size = kernel_size = odd_kernel_size("kernel_size", kernel_size)
        self.batch_norm = bool(batch_norm)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(1) if batch_norm else nn.Identity()
        self.gate = Gate()

    def descriptor(self, x: torch.Tensor) -> torch.Tensor:
        """[AvgPool_c(F); MaxPool_c(F)], the two-channel summary the conv reads."""
        avg = x.mean(dim=1, keepdim=True)  # (N, C, H, W) -> (N, 1, H, W)
        # max() with indices rather than amax(): same values, and its backward is a
        # scatter to the argmax instead of amax's compare-with-every-element mask.
        mx = x.max(dim=1, keepdim=True).values  # (N, C, H, W) -> (N, 1, H, W)
        return torch.cat([avg, mx], dim=1)  # (N, 2, H, W)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """M_s(F), N×1×H×W."""
        check_input(self, x)
        return self.gate(self.bn(self.conv(self.descriptor(x))))  # (N, 2, H, W) -> (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)  # broadcast over C

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, batch_norm={self.batch_norm}"
