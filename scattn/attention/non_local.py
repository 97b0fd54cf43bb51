"""The non-local block (Wang, Girshick, Gupta, He, "Non-local Neural Networks", CVPR 2018)."""

from __future__ import annotations

import torch
from torch import nn

from ..arguments import positive_int
from .base import check_input


class NonLocalBlock(nn.Module):
    """Self-attention over positions inside a CNN: every position reads from every other.

    θ(x) = W_θ x,  φ(x) = W_φ x,  g(x) = W_g x       (1×1 convs, C -> C' = C/2, with biases)
    f_ij = exp(θ(x_i)ᵀ φ(x_j)) / Σ_m exp(θ(x_i)ᵀ φ(x_m))    (embedded Gaussian, Eq. 3: a softmax over j)
    y_i  = Σ_j f_ij g(x_j)                                   (Eq. 1)
    z_i  = BN(W_z y_i) + x_i                                 (Eq. 6, W_z: C' -> C)

    f is a matrix of HW × HW weights *per image*: position i's output mixes the
    values of all positions j, weighted by how well i's query θ(x_i) matches j's key
    φ(x_j). That is the attention of Transformers (Vaswani et al., 2017, without
    their 1/√d scale; Sec. 3.2 of the paper notes the correspondence) applied to
    the positions of a feature map, the bridge from the course's gates to
    self-attention (notebook 10). Unlike a gate it costs O((HW)²) per image.

    As in the paper (Sec. 4.1), the BN after W_z starts with zero scale, so the
    block starts as the identity. ``inner_channels`` C' defaults to C // 2 (at least
    1), the paper's bottleneck. The paper's optional sub-sampling of φ and g by
    max pooling is left out. Nothing multiplies x itself: :meth:`attention_map`
    returns an empty tuple; :meth:`position_weights` returns f, N×HW×HW.
    """

    def __init__(self, channels: int, inner_channels: int | None = None):
        super().__init__()
        self.channels = channels = positive_int("channels", channels)
        inner = max(1, channels // 2) if inner_channels is None else inner_channels
        self.inner_channels = inner = positive_int("inner_channels", inner)
        self.theta = nn.Conv2d(channels, inner, 1)  # W_θ: queries
        self.phi = nn.Conv2d(channels, inner, 1)  # W_φ: keys
        self.g = nn.Conv2d(channels, inner, 1)  # W_g: values
        self.out = nn.Conv2d(inner, channels, 1)  # W_z
        self.bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.bn.weight)  # the block starts as the identity

    def position_weights(self, x: torch.Tensor) -> torch.Tensor:
        """f, N×HW×HW: row i holds the softmax weights with which position i reads every position j."""
        check_input(self, x, self.channels)
        queries = self.theta(x).flatten(2).transpose(1, 2)  # (N, C, H, W) -> (N, HW, C')
        keys = self.phi(x).flatten(2)  # (N, C, H, W) -> (N, C', HW)
        return (queries @ keys).softmax(dim=-1)  # (N, HW, HW), rows sum to 1

    def attention_map(self, x: torch.Tensor) -> tuple[()]:
        """What the block multiplies x by: nothing (it adds BN(W_z y)); see :meth:`position_weights`."""
        check_input(self, x, self.channels)
        return ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.position_weights(x)  # checks x; (N, HW, HW)
        n, _, h, w = x.shape
        values = self.g(x).flatten(2).transpose(1, 2)  # (N, C, H, W) -> (N, HW, C')
        y = (f @ values).transpose(1, 2).reshape(n, self.inner_channels, h, w)  # (N, HW, C') -> (N, C', H, W)
        return self.bn(self.out(y)) + x  # (N, C', H, W) -> (N, C, H, W), plus the input

    def extra_repr(self) -> str:
        return f"channels={self.channels}, inner_channels={self.inner_channels}"
