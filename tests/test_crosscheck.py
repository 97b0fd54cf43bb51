"""Our layers against independent implementations, weights copied across, float64.

timm's CBAM puts a BatchNorm after the spatial conv (the authors' code) and rounds
its hidden width; torchvision's SqueezeExcitation uses 1×1 convs. We copy our
weights into theirs and ask for the same outputs and the same gradients.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from helpers import copy_into
from timm.layers.cbam import CbamModule, ChannelAttn, SpatialAttn
from timm.layers.eca import EcaModule
from torch import nn

import scattn

TOL = 1e-6
SHAPES = [(2, 32, 9, 7), (3, 64, 8, 8), (1, 5, 1, 1)]


def assert_same_function(ours: nn.Module, theirs: nn.Module, shape) -> None:
    """Same outputs and same input gradients, max abs difference <= 1e-6."""
    ours, theirs = ours.double(), theirs.double()
    x = torch.randn(*shape, dtype=torch.float64)
    grads = []
    outs = []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_(True)
        out = module(xi)
        (out * torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append(xi.grad)
    assert (outs[0] - outs[1]).abs().max() <= TOL
    assert (grads[0] - grads[1]).abs().max() <= TOL


def load_channel(theirs: ChannelAttn, ours: scattn.ChannelAttention) -> None:
    copy_into(theirs.fc1.weight, ours.mlp[0].weight)  # (hidden, C) -> (hidden, C, 1, 1)
    copy_into(theirs.fc2.weight, ours.mlp[2].weight)


def load_spatial(theirs: SpatialAttn, ours: scattn.SpatialAttention) -> None:
    copy_into(theirs.conv.conv.weight, ours.conv.weight)
    if isinstance(ours.bn, nn.BatchNorm2d):
        theirs.conv.bn.load_state_dict(ours.bn.state_dict(), strict=False)
    else:
        # The paper's equation has no BatchNorm: make timm's an identity, and drop our conv bias.
        theirs.conv.bn = nn.Identity()
        with torch.no_grad():
            ours.conv.bias.zero_()


@pytest.mark.parametrize("shape", SHAPES)
def test_channel_attention_matches_timm(shape):
    c = shape[1]
    ours = scattn.ChannelAttention(c, reduction=4)
    theirs = ChannelAttn(c, rd_channels=ours.mlp[0].out_features)
    load_channel(theirs, ours)
    assert_same_function(ours, theirs, shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel_size", [3, 7])
def test_spatial_attention_matches_timm(shape, kernel_size):
    ours = scattn.SpatialAttention(kernel_size)
    theirs = SpatialAttn(kernel_size)
    load_spatial(theirs, ours)
    assert_same_function(ours, theirs, shape)


@pytest.mark.parametrize("shape", SHAPES[:2])
@pytest.mark.parametrize("train", [True, False])
def test_cbam_with_batch_norm_matches_timm_batch_norm_included(shape, train):
    c = shape[1]
    ours = scattn.CBAM(c, reduction=8, batch_norm=True)
    with torch.no_grad():  # a BatchNorm that is not at its initial values
        ours.spatial.bn.weight.fill_(0.7)
        ours.spatial.bn.bias.fill_(-0.2)
        ours.spatial.bn.running_mean.fill_(0.3)
        ours.spatial.bn.running_var.fill_(2.0)
    theirs = CbamModule(c, rd_channels=ours.channel.mlp[0].out_features)
    load_channel(theirs.channel, ours.channel)
    load_spatial(theirs.spatial, ours.spatial)
    assert_same_function(ours.train(train), theirs.train(train), shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_cbam_matches_timm(shape):
    c = shape[1]
    ours = scattn.CBAM(c, reduction=16)
    theirs = CbamModule(c, rd_channels=ours.channel.mlp[0].out_features)
    load_channel(theirs.channel, ours.channel)
    load_spatial(theirs.spatial, ours.spatial)
    assert_same_function(ours, theirs, shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_squeeze_excitation_matches_torchvision(shape):
    c = shape[1]
    ours = scattn.SqueezeExcitation(c, reduction=4)
    theirs = torchvision.ops.SqueezeExcitation(c, ours.fc1.out_features)
    for mine, tv in ((ours.fc1, theirs.fc1), (ours.fc2, theirs.fc2)):
        copy_into(tv.weight, mine.weight)
        copy_into(tv.bias, mine.bias)
    assert_same_function(ours, theirs, shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7])
def test_eca_matches_timm(shape, kernel_size):
    ours = scattn.EfficientChannelAttention(shape[1], kernel_size=kernel_size)
    theirs = EcaModule(kernel_size=kernel_size)
    copy_into(theirs.conv.weight, ours.conv.weight)
    assert_same_function(ours, theirs, shape)


@pytest.mark.parametrize("channels", [64, 128, 256, 512, 1024, 2048])
def test_eca_adaptive_kernel_matches_timm_where_timm_does_not_clamp(channels):
    assert scattn.EfficientChannelAttention(channels).kernel_size == EcaModule(channels).conv.kernel_size[0]


def test_eca_small_channels_follow_the_paper_not_timms_minimum():
    assert scattn.EfficientChannelAttention(4).kernel_size == 1
    assert EcaModule(4).conv.kernel_size[0] == 3


def test_cross_check_detects_a_different_function():
    """The harness itself can fail: a CBAM with the wrong order is caught."""
    c = 32
    ours = scattn.CBAM(c, reduction=8, order="spatial-channel")
    theirs = CbamModule(c, rd_channels=ours.channel.mlp[0].out_features)
    load_channel(theirs.channel, ours.channel)
    load_spatial(theirs.spatial, ours.spatial)
    with pytest.raises(AssertionError):
        assert_same_function(ours, theirs, (2, c, 8, 8))


@pytest.mark.parametrize("shape", [(2, 32, 9, 7), (3, 64, 8, 8), (2, 8, 1, 5)])
@pytest.mark.parametrize("train", [True, False])
def test_coordinate_attention_matches_timm(shape, train):
    from timm.layers.coord_attn import CoordAttn

    c = shape[1]
    ours = scattn.CoordinateAttention(c)
    theirs = CoordAttn(c, rd_channels=ours.conv1.out_channels, bias=True)
    # Same parameter names and shapes: conv1, bn1, conv_h, conv_w.
    theirs.load_state_dict(ours.state_dict())
    assert_same_function(ours.train(train), theirs.train(train), shape)
