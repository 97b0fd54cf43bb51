"""The additive control for CBAM's spatial gate: the same map, added instead of multiplied."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import odd_kernel_size
from .base import check_input


class AdditiveSpatial(nn.Module):
    """CBAM's spatial descriptor and k×k convolution, with the result added: no gate.

    a(F) = f^{k×k}([AvgPool_c(F); MaxPool_c(F)])      (CBAM Eq. 3 without the sigmoid)
    F'   = F + a(F)                                   (instead of F' = σ(a(F)) ⊗ F)

    ``a`` is one N×1×H×W map, added to every channel. It has exactly the parameters
    of :class:`~scattn.SpatialAttention` with the same ``kernel_size`` (a 2 → 1
    convolution with bias, 2k² + 1) and sees the same neighbourhood, but it can only
    *shift* a position, not scale it. Where a ReLU follows, a large negative shift
    still switches a position off (on/off selection); where global average pooling
    follows directly, the shift only adds mean(a) to every channel, so it cannot
    select a place at all. There is no :class:`~scattn.Gate`; the map is
    :meth:`context`, N×1×H×W.
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        odd_kernel_size("kernel_size", kernel_size)
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """a(F), N×1×H×W: what is added to every channel at each position."""
        check_input(self, x)
        avg = x.mean(dim=1, keepdim=True)  # (N, C, H, W) -> (N, 1, H, W)
        mx = x.max(dim=1, keepdim=True).values  # (N, C, H, W) -> (N, 1, H, W)
        return self.conv(torch.cat([avg, mx], dim=1))  # (N, 2, H, W) -> (N, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.context(x)  # context checks x; broadcast over C

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"
