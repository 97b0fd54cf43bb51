"""CBAM's channel attention gate (Woo et al., ECCV 2018, Sec. 3.1)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import Gate, check_input, hidden_width


class ChannelAttention(nn.Module):
    """What to look for: one weight per channel (feature detector), shared by all positions.

    M_c(F) = σ(MLP(AvgPool(F)) + MLP(MaxPool(F))),   MLP(v) = W_1 δ(W_0 v)
    F' = M_c(F) ⊗ F

    AvgPool and MaxPool pool *over space* (H×W), giving two C-vectors; ONE MLP with
    hidden width C // r (at least 1) is shared by both. Past the input layer a
    channel is a learned feature, not a colour. The equation has no biases, so
    ``bias=False`` by default; the authors' code (Jongchan/attention-module,
    ``MODELS/cbam.py``) uses ``nn.Linear`` layers with their default bias, which
    ``bias=True`` reproduces.
    The map is ``self.gate``'s output, N×C×1×1.
    """

    def __init__(self, channels: int, reduction: int = 16, bias: bool = False):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        self.bias = bool(bias)
        hidden = hidden_width(channels, reduction)
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden, bias=bias),  # W_0
            nn.ReLU(inplace=True),  # δ
            nn.Linear(hidden, channels, bias=bias),  # W_1
        )
        self.gate = Gate()

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """M_c(F), N×C×1×1."""
        check_input(self, x, self.channels)
        n, c = x.shape[:2]
        flat = x.flatten(2)  # (N, C, H, W) -> (N, C, HW)
        avg = flat.mean(dim=2)  # (N, C)
        # max() rather than amax(): its backward scatters to one argmax per channel,
        # much cheaper than amax's mask over all HW positions.
        mx = flat.max(dim=2).values  # (N, C)
        # The shared MLP runs once on both descriptors stacked along the batch.
        out = self.mlp(torch.cat([avg, mx], dim=0))  # (2N, C)
        return self.gate((out[:n] + out[n:]).view(n, c, 1, 1))  # (N, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention_map(x)  # broadcast over H, W

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, bias={self.bias}"
