"""Global context by concatenation (Liu, Rabinovich, Berg, "ParseNet: Looking Wider to See Better", 2015)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import check_input


class ContextConcat(nn.Module):
    """The image's average feature, copied to every position, concatenated, mixed by a 1×1 conv.

    g   = (1 / HW) Σ_{i,j} x(i, j)                 (global average pool, one C-vector)
    x̃_i = W [x_i; g] + b,  W: C × 2C               (unpool: g at every position; concatenate; 1×1 conv)

    ParseNet's global context (Sec. 3.1): pool the whole image, unpool it back to
    the map's size, concatenate it with the local features, and let the next layer
    combine them. Here the next layer is a 1×1 convolution back to C channels, so
    the block keeps its input's shape. It brings every position the same global
    summary that SE sees, with no sigmoid and no product: W [x_i; g] = W_x x_i + W_g g
    is a linear mix of the local features plus a per-channel shift by the context,
    the additive control of SE with one linear layer in place of SE's MLP. ParseNet
    also L2-normalises both parts and learns their scales, because its layers had
    very different magnitudes; here the block sits after a BatchNorm, which already
    matches them, so that step is left out. Nothing is multiplied:
    :meth:`attention_map` returns an empty tuple.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.mix = nn.Conv2d(2 * channels, channels, 1)  # W, b

    def attention_map(self, x: torch.Tensor) -> tuple[()]:
        """What the block multiplies x by: nothing (it mixes x with the pooled context)."""
        check_input(self, x, self.channels)
        return ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, self.channels)
        g = x.mean(dim=(2, 3), keepdim=True).expand_as(x)  # (N, C, H, W) -> (N, C, 1, 1) -> (N, C, H, W)
        return self.mix(torch.cat([x, g], dim=1))  # (N, 2C, H, W) -> (N, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
