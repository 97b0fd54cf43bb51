"""Global context block (Cao, Xu, Lin, Wei, Hu, "GCNet: Non-local Networks Meet Squeeze-Excitation
Networks and Beyond", ICCV Workshops 2019)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import choice, positive_int
from .base import Gate, check_input, hidden_width

FUSIONS = ("add", "scale")


class GlobalContext(nn.Module):
    """Context by attention pooling, a bottleneck transform, then fusion by sum or by gate.

    α_j = exp(W_k x_j) / Σ_m exp(W_k x_m)                  (context modelling: softmax over positions)
    c   = Σ_j α_j x_j                                        (one C-vector per image)
    t   = W_v2 ReLU(LN(W_v1 c)),  W_v1: C/r × C, W_v2: C × C/r  (transform, with biases)
    z_i = x_i + t          (fusion "add", the paper's choice, Eq. 3 and Table 2)
    z_i = x_i ⊙ σ(t)       (fusion "scale", SE-like: a channel gate)

    The paper's finding (Sec. 4): a non-local block's attention map is almost the
    same for every query position, so one query-independent map α suffices; with
    W_k, a softmax and the sum it is a *learned* global pool where SE averages.
    ``reduction`` r as in SE: hidden width C // r, at least 1 (the paper uses
    r = 16 on 256 to 2048 channels). LN is a LayerNorm over the C/r hidden
    channels, the paper's addition for optimisation. Like the authors' code (and
    unlike timm's, which zeroes the weight only), the last layer of the "add"
    transform starts at zero, so the block starts as the identity; W_k is
    Kaiming-initialised, as in both.

    "add" multiplies nothing: :meth:`attention_map` returns an empty tuple and
    :meth:`context` the added t. "scale" has a :class:`~scattn.Gate`, N×C×1×1.
    :meth:`position_weights` returns α, N×1×H×W, for either fusion.
    """

    def __init__(self, channels: int, reduction: int = 16, fusion: str = "add"):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        self.reduction = reduction = positive_int("reduction", reduction)
        self.fusion = choice("fusion", fusion, FUSIONS)
        hidden = hidden_width(channels, reduction)
        self.key = nn.Conv2d(channels, 1, 1)  # W_k
        self.transform = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),  # W_v1
            nn.LayerNorm([hidden, 1, 1]),  # over the hidden channels of the one context vector
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),  # W_v2
        )
        self.gate = Gate() if fusion == "scale" else None
        nn.init.kaiming_normal_(self.key.weight, mode="fan_in", nonlinearity="relu")
        if fusion == "add":  # the authors' code sets the last layer to zero, weight and bias
            nn.init.zeros_(self.transform[-1].weight)
            nn.init.zeros_(self.transform[-1].bias)

    def position_weights(self, x: torch.Tensor) -> torch.Tensor:
        """α, N×1×H×W: the softmax over positions that pools the context (sums to 1 per image)."""
        check_input(self, x, self.channels)
        n, _, h, w = x.shape
        logits = self.key(x).view(n, 1, h * w)  # (N, C, H, W) -> (N, 1, HW)
        return logits.softmax(dim=-1).view(n, 1, h, w)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """t, N×C×1×1: the transformed global context (added, or passed to the gate)."""
        alpha = self.position_weights(x)  # (N, 1, H, W)
        c = (x * alpha).sum(dim=(2, 3), keepdim=True)  # (N, C, H, W) -> (N, C, 1, 1)
        return self.transform(c)  # (N, C, 1, 1) -> (N, C/r, 1, 1) -> (N, C, 1, 1)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor | tuple[()]:
        """σ(t), N×C×1×1, for fusion "scale"; for "add" nothing is multiplied: ()."""
        t = self.context(x)
        return self.gate(t) if self.gate is not None else ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.context(x)
        return x * self.gate(t) if self.gate is not None else x + t  # broadcast over H, W

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, fusion={self.fusion!r}"
