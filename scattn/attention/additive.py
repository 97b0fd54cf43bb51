"""The additive control for SE: the same global context, added instead of multiplied."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import check_input, hidden_width


class AdditiveSqueezeExcitation(nn.Module):
    """SE's squeeze and MLP, with the result added as a per-channel bias: no gate.

    z   = (1 / HW) Σ_{i,j} u(i, j)                  (SE Eq. 2, global average pool)
    b   = W_2 δ(W_1 z),  W_1: C/r × C, W_2: C × C/r    (SE Eq. 3 without the sigmoid)
    x̃_c = u_c + b_c                                   (instead of SE's x̃_c = s_c · u_c)

    Why it is the control: it has exactly SE's parameters (the same two fully
    connected layers with bias) and sees exactly SE's global context, but it can
    only *shift* a channel, not scale it. If SE wins and this does not, the win
    comes from the multiplication, not from the extra parameters or from seeing the
    whole image. It is not a straw man: without the sigmoid the shift is unbounded,
    and in a block ``ReLU(x̃ + shortcut)`` a large negative shift switches a channel
    off, which is a crude form of gating. There is no :class:`~scattn.Gate`: nothing
    is multiplied, so :meth:`attention_map` returns an empty tuple; the shift is
    :meth:`context`, N×C×1×1.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        hidden = hidden_width(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden)  # W_1
        self.relu = nn.ReLU(inplace=True)  # δ
        self.fc2 = nn.Linear(hidden, channels)  # W_2

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """b, N×C×1×1: what is added to every position of each channel."""
        check_input(self, x, self.channels)
        n, c = x.shape[:2]
        z = x.mean(dim=(2, 3))  # squeeze: (N, C, H, W) -> (N, C)
        return self.fc2(self.relu(self.fc1(z))).view(n, c, 1, 1)  # (N, C) -> (N, C/r) -> (N, C, 1, 1)

    def attention_map(self, x: torch.Tensor) -> tuple[()]:
        """What the module multiplies by: nothing (it adds :meth:`context`)."""
        check_input(self, x, self.channels)
        return ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.context(x)  # broadcast over H, W

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"
