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

# Every registered mechanism is cross-checked here against an independent implementation (the
# test that does it), or says why it has no peer and where it is checked instead. The
# completeness test (tests/test_completeness.py) holds the registry to this table.
CROSS_CHECKS = {
    "se": "test_squeeze_excitation_matches_torchvision",
    "eca": "test_eca_matches_timm",
    "channel": "test_channel_attention_matches_timm",
    "spatial": "test_spatial_attention_matches_timm",
    "cbam": "test_cbam_matches_timm",
    "coord": "test_coordinate_attention_matches_timm",
    "gc": "test_global_context_matches_timm",
    "gc-scale": "test_global_context_matches_timm",
    "nonlocal": "test_non_local_block_matches_timm",
}
NO_PEER = {
    "scse": "neither timm nor torchvision has scSE; its equation x·σ(cSE) + x·σ(sSE) is checked in "
            "test_attention.py (test_scse_combine_modes, test_shape_maps_and_gates)",
    "bam": "neither timm nor torchvision has BAM; F ⊗ (1 + M) is checked in test_attention.py "
           "(test_shape_maps_and_gates) and its dilated branch in test_bam_spatial_branch_is_dilated",
    "se-add": "the course's own control; checked against SE with SE's weights copied "
              "(test_attention.py, test_additive_control_has_ses_parameters_and_adds_its_context)",
    "spatial-add": "the course's own control; checked against the spatial gate with its weights copied "
                   "(test_spatial_additive.py: test_adds_what_the_gate_would_squash, test_formula_by_hand)",
    "context-concat": "neither timm nor torchvision has ParseNet's global context; W[x; g] = W_x x + W_g g is "
                      "checked by hand in test_attention.py (test_context_concat_by_hand)",
}


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


# ---- the global-context controls: GCNet's block and the non-local block --------------------


def load_global_context(theirs, ours: scattn.GlobalContext) -> None:
    """timm keeps the transform as ConvMlp (fc1, norm, act, fc2) under mlp_add or mlp_scale."""
    mlp = theirs.mlp_add if ours.fusion == "add" else theirs.mlp_scale
    copy_into(theirs.conv_attn.weight, ours.key.weight)
    copy_into(theirs.conv_attn.bias, ours.key.bias)
    for mine, timm_layer in ((ours.transform[0], mlp.fc1), (ours.transform[3], mlp.fc2)):
        copy_into(timm_layer.weight, mine.weight)
        copy_into(timm_layer.bias, mine.bias)
    copy_into(mlp.norm.weight, ours.transform[1].weight)
    copy_into(mlp.norm.bias, ours.transform[1].bias)
    mlp.norm.eps = ours.transform[1].eps  # timm's LayerNorm2d defaults to 1e-6, torch's to 1e-5


def randomise(module: nn.Module) -> None:
    """Non-trivial values everywhere (the "add" transform starts at zero, BN scales at one)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fusion,timm_kwargs", [("scale", {}),  # timm's "gc"
                                                 ("add", {"fuse_add": True, "fuse_scale": False})])  # "gca"
def test_global_context_matches_timm(shape, fusion, timm_kwargs):
    from timm.layers.global_context import GlobalContext as TimmGlobalContext

    c = shape[1]
    ours = scattn.GlobalContext(c, reduction=4, fusion=fusion)
    randomise(ours)
    theirs = TimmGlobalContext(c, rd_channels=ours.transform[0].out_channels, **timm_kwargs)
    load_global_context(theirs, ours)
    assert_same_function(ours, theirs, shape)


def test_global_context_registry_names_pick_the_fusion_and_timms_names_agree():
    from timm.layers import create_attn

    assert scattn.make_attention("gc", 32).fusion == "add"
    assert scattn.make_attention("gc-scale", 32).fusion == "scale"
    assert create_attn("gc", 32).mlp_scale is not None and create_attn("gc", 32).mlp_add is None
    assert create_attn("gca", 32).mlp_add is not None and create_attn("gca", 32).mlp_scale is None


def test_global_context_add_starts_as_the_identity():
    x = torch.randn(2, 16, 5, 4)
    torch.testing.assert_close(scattn.GlobalContext(16, reduction=4)(x), x)


def load_non_local(theirs, ours: scattn.NonLocalBlock) -> None:
    """timm's t, p, g, z, norm are the paper's θ, φ, g, W_z, BN. timm scales θᵀφ by 1/√C
    (C the block's input channels) before the softmax; the paper does not, so θ's weights
    and bias are copied divided by that scale: θᵀφ here equals timm's scaled product."""
    with torch.no_grad():
        for mine, timm_conv in ((ours.theta, theirs.t), (ours.phi, theirs.p), (ours.g, theirs.g),
                                (ours.out, theirs.z)):
            factor = theirs.scale if mine is ours.theta else 1.0
            copy_into(timm_conv.weight, mine.weight / factor)
            copy_into(timm_conv.bias, mine.bias / factor)
    theirs.norm.load_state_dict(ours.bn.state_dict())


@pytest.mark.parametrize("shape", [(2, 32, 9, 7), (3, 64, 8, 8), (2, 16, 1, 5)])
@pytest.mark.parametrize("train", [True, False])
def test_non_local_block_matches_timm(shape, train):
    from timm.layers.non_local_attn import NonLocalAttn

    c = shape[1]
    ours = scattn.NonLocalBlock(c).double()  # θ is rescaled on the way: in float64, not float32
    randomise(ours)
    with torch.no_grad():
        ours.bn.running_var.uniform_(0.5, 2.0)
        ours.bn.running_mean.normal_()
    theirs = NonLocalAttn(c, rd_channels=ours.inner_channels).double()
    load_non_local(theirs, ours)
    assert_same_function(ours.train(train), theirs.train(train), shape)


def test_non_local_cross_check_sees_a_missing_scale():
    """Copied without undoing timm's 1/√C, the functions differ: the harness can fail."""
    from timm.layers.non_local_attn import NonLocalAttn

    ours = scattn.NonLocalBlock(32)
    randomise(ours)
    theirs = NonLocalAttn(32, rd_channels=ours.inner_channels)
    theirs.load_state_dict({"t.weight": ours.theta.weight, "t.bias": ours.theta.bias,
                            "p.weight": ours.phi.weight, "p.bias": ours.phi.bias,
                            "g.weight": ours.g.weight, "g.bias": ours.g.bias,
                            "z.weight": ours.out.weight, "z.bias": ours.out.bias,
                            **{f"norm.{k}": v for k, v in ours.bn.state_dict().items()}})
    with pytest.raises(AssertionError):
        assert_same_function(ours.eval(), theirs.eval(), (2, 32, 6, 6))


def test_non_local_block_starts_as_the_identity():
    x = torch.randn(2, 16, 5, 4)
    torch.testing.assert_close(scattn.NonLocalBlock(16).eval()(x), x)
