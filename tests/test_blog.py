"""The blog post the course grew from, its two defects written as small fixtures.

These classes reproduce the *mistakes* described in DESIGN.md ("Where the course
started") in our own code, so the tests show what goes wrong and that the
package's modules, given the same inputs, work.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import scattn


class BlogSpatial(nn.Module):
    """Spatial gate from the channel-wise max alone, through a 1×1 conv that expects C channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, x):
        mx = x.max(dim=1, keepdim=True).values  # (N, 1, H, W): one channel, not C
        return x * torch.sigmoid(self.conv(mx))


class BlogChannel(nn.Module):
    """Channel gate whose max path reduces over dim=1 (the channels) instead of over H×W."""

    def __init__(self, channels: int, ratio: int = 16):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, channels // ratio, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(channels // ratio, channels, 1, bias=False),
        )

    def forward(self, x):
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))  # (N, C, 1, 1): correct
        mx = self.mlp(x.max(dim=1, keepdim=True).values)  # (N, 1, H, W): the wrong axis
        return x * torch.sigmoid(avg + mx)


@pytest.mark.parametrize("channels", [2, 3, 64])
def test_blog_spatial_fails_for_more_than_one_channel(channels):
    x = torch.randn(2, channels, 8, 8)
    with pytest.raises(RuntimeError, match=f"expected input.*to have {channels} channels, but got 1"):
        BlogSpatial(channels)(x)
    assert scattn.SpatialAttention()(x).shape == x.shape


def test_blog_spatial_at_one_channel_has_no_spatial_context():
    """At C = 1 it runs, but a 1×1 conv on one map is σ(a·max + b): no neighbour is consulted."""
    blog = BlogSpatial(1)
    x = torch.randn(1, 1, 8, 8)
    y = x.clone()
    y[0, 0, 0, 0] += 3.0
    with torch.no_grad():
        changed = (blog(x) != blog(y))[0, 0]
    assert changed.sum() == 1 and changed[0, 0]
    a, b = blog.conv.weight.item(), blog.conv.bias.item()
    torch.testing.assert_close(blog(x), x * torch.sigmoid(a * x + b))


@pytest.mark.parametrize("channels", [32, 64])
def test_blog_channel_max_path_breaks_the_shared_mlp(channels):
    x = torch.randn(2, channels, 8, 8)
    with pytest.raises(RuntimeError, match=f"expected input.*to have {channels} channels, but got 1"):
        BlogChannel(channels)(x)
    assert scattn.ChannelAttention(channels)(x).shape == x.shape


# The blog's construction itself makes torch warn about zero-element weights; that is the point.
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize("channels", [1, 3, 8, 15])
def test_blog_hidden_width_is_zero_below_the_ratio(channels):
    """C // 16 is 0 for C < 16: the blog's MLP has no hidden unit at all."""
    assert channels // 16 == 0
    try:
        blog = BlogChannel(channels)
    except RuntimeError:
        pass  # some torch versions refuse a conv with no output channels outright
    else:
        # Others build it, and then every gate is σ(0) = 0.5 whatever the input: nothing is learned.
        assert sum(p.numel() for p in blog.mlp.parameters()) == 0
    x = torch.randn(2, channels, 5, 5)
    for module in (scattn.ChannelAttention(channels), scattn.SqueezeExcitation(channels), scattn.CBAM(channels)):
        out = module(x)
        assert out.shape == x.shape
        assert sum(p.numel() for p in module.parameters()) > 0


def test_blog_order_is_spatial_first_and_differs_from_the_papers():
    x = torch.randn(2, 16, 6, 6)
    paper = scattn.CBAM(16, reduction=4)
    blog_order = scattn.CBAM(16, reduction=4, order="spatial-channel")
    blog_order.load_state_dict(paper.state_dict())
    assert not torch.allclose(paper(x), blog_order(x))
