"""Every registered mechanism: shape, gates, maps, gradients, modes and bad input."""

from __future__ import annotations

import re

import pytest
import torch
from helpers import ATTENTION, all_params_have_grad, build, gate_outputs
from torch import nn

import scattn


def expected_maps(name, n, c, h, w):
    return {
        "se": {"gate": (n, c, 1, 1)},
        "eca": {"gate": (n, c, 1, 1)},
        "channel": {"gate": (n, c, 1, 1)},
        "spatial": {"gate": (n, 1, h, w)},
        "cbam": {"channel.gate": (n, c, 1, 1), "spatial.gate": (n, 1, h, w)},
        "scse": {"cse.gate": (n, c, 1, 1), "sse.gate": (n, 1, h, w)},
        "bam": {"gate": (n, c, h, w)},
        "coord": {"gate_h": (n, c, h, 1), "gate_w": (n, c, 1, w)},
        "spatial-add": {},  # the additive control has no gate: it shifts, it does not multiply
        "se-add": {},  # the additive control has no gate: it shifts, it does not multiply
        "gc": {},  # fusion by sum: the context is added
        "gc-scale": {"gate": (n, c, 1, 1)},
        "nonlocal": {},  # a softmax over positions weighs the values; nothing multiplies x
        "context-concat": {},  # concatenated and mixed: no product
    }[name]


def rebuild_output(name, x, maps, module):
    """The output written from the captured maps alone: they are what the module multiplies by."""
    if name in ("spatial-add", "se-add", "gc"):
        return x + module.context(x)
    if name == "nonlocal":
        f = module.position_weights(x)  # (N, HW, HW)
        values = module.g(x).flatten(2).transpose(1, 2)  # (N, HW, C')
        y = (f @ values).transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:])
        return module.bn(module.out(y)) + x
    if name == "context-concat":
        g = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
        return module.mix(torch.cat([x, g], 1))
    if name == "scse":
        return x * maps["cse.gate"] + x * maps["sse.gate"]
    if name == "bam":
        return x * (1 + maps["gate"])
    out = x
    for m in maps.values():
        out = out * m
    return out


def test_registry_lists_every_public_mechanism():
    assert scattn.available_attention() == [
        "none", "se", "eca", "channel", "spatial", "cbam", "scse", "bam", "coord", "spatial-add", "se-add",
        "gc", "gc-scale", "nonlocal", "context-concat",
    ]


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("train", [True, False])
def test_shape_maps_and_gates(name, train):
    n, c, h, w = 2, 24, 9, 5
    module = build(name, c).train(train)
    x = torch.randn(n, c, h, w)
    out, maps = gate_outputs(module, x)
    assert out.shape == x.shape
    assert {k: tuple(v.shape) for k, v in maps.items()} == expected_maps(name, n, c, h, w)
    for m in maps.values():
        assert ((m > 0) & (m < 1)).all()
    torch.testing.assert_close(out, rebuild_output(name, x, maps, module), rtol=1e-6, atol=1e-6)


# Blocks that start as the identity: a zero last layer (GCNet's "add" transform) or a zero
# BN scale (the non-local block) stops the gradient to the layers before it until it moves.
STARTS_AS_IDENTITY = {"gc": "transform.3.weight", "nonlocal": "bn.weight"}


@pytest.mark.parametrize("name", ATTENTION)
def test_gradients_reach_every_parameter_and_the_input(name):
    module = build(name, 32, reduction=4)
    if name in STARTS_AS_IDENTITY:  # move the zero away first (one training step would)
        with torch.no_grad():
            module.get_parameter(STARTS_AS_IDENTITY[name]).normal_()
    x = torch.randn(4, 32, 8, 8, requires_grad=True)
    (module(x) * torch.randn(4, 32, 8, 8)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in module.named_parameters():
        assert p.grad is not None, pname
        assert p.grad.abs().sum() > 0, f"{name}.{pname} got a zero gradient"


@pytest.mark.parametrize("name", sorted(STARTS_AS_IDENTITY))
def test_identity_at_init_and_only_the_zeroed_layer_learns_first(name):
    module = build(name, 16, reduction=4).eval()
    x = torch.randn(2, 16, 5, 6)
    torch.testing.assert_close(module(x), x)
    module.train()
    (module(x) * torch.randn_like(x)).sum().backward()
    zeroed = module.get_parameter(STARTS_AS_IDENTITY[name])
    assert zeroed.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ATTENTION)
def test_eval_mode_is_deterministic_and_batch_independent(name):
    module = build(name, 16).eval()
    x = torch.randn(3, 16, 6, 7)
    with torch.no_grad():
        whole = module(x)
        one = module(x[1:2])
    torch.testing.assert_close(whole[1:2], one)


def test_none_is_identity():
    x = torch.randn(2, 3, 4, 4)
    assert scattn.make_attention("none", 3)(x) is x
    assert scattn.make_attention(None, 3)(x) is x


def test_hidden_width_never_zero():
    assert scattn.ChannelAttention(3, reduction=16).mlp[0].out_features == 1
    assert scattn.SqueezeExcitation(8, reduction=16).fc1.out_features == 1
    assert scattn.BAM(4, reduction=16).channel_mlp[0].out_features == 1
    assert scattn.CoordinateAttention(64).conv1.out_channels == 8  # max(8, 64 // 32)


@pytest.mark.parametrize("channels, k", [(1, 1), (16, 3), (64, 3), (128, 5), (256, 5), (512, 5), (2048, 7)])
def test_eca_adaptive_kernel(channels, k):
    assert scattn.eca_kernel_size(channels) == k
    assert scattn.EfficientChannelAttention(channels).conv.kernel_size == (k,)


def test_eca_has_k_parameters():
    assert sum(p.numel() for p in scattn.EfficientChannelAttention(256).parameters()) == 5


def test_channel_attention_mlp_is_shared_and_bias_free_by_default():
    ca = scattn.ChannelAttention(32, reduction=8)
    linears = [m for m in ca.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 2  # one MLP, used by both pooled paths
    assert all(m.bias is None for m in linears)
    assert all(m.bias is not None for m in scattn.ChannelAttention(32, bias=True).mlp if isinstance(m, nn.Linear))


def test_spatial_attention_batch_norm_option():
    plain = scattn.SpatialAttention()
    with_bn = scattn.SpatialAttention(batch_norm=True)
    assert isinstance(plain.bn, nn.Identity) and plain.conv.bias is not None
    assert isinstance(with_bn.bn, nn.BatchNorm2d) and with_bn.conv.bias is None


def test_cbam_orders_differ_and_follow_their_equations():
    torch.manual_seed(1)
    x = torch.randn(2, 8, 6, 6)
    cbam = scattn.CBAM(8, reduction=2)
    outs = {}
    for order in ("channel-spatial", "spatial-channel", "parallel"):
        cbam.order = order
        outs[order] = cbam(x)
    ch, sp = cbam.channel, cbam.spatial
    torch.testing.assert_close(outs["channel-spatial"], sp(ch(x)))
    torch.testing.assert_close(outs["spatial-channel"], ch(sp(x)))
    torch.testing.assert_close(outs["parallel"], x * ch.attention_map(x) * sp.attention_map(x))
    assert not torch.allclose(outs["channel-spatial"], outs["spatial-channel"])


def test_scse_combine_modes():
    x = torch.randn(2, 8, 5, 5)
    add = scattn.SCSE(8, reduction=2, combine="add")
    mx = scattn.SCSE(8, reduction=2, combine="max")
    mx.load_state_dict(add.state_dict())
    u_c, u_s = x * add.cse.attention_map(x), x * add.sse.attention_map(x)
    torch.testing.assert_close(add(x), u_c + u_s)
    torch.testing.assert_close(mx(x), torch.maximum(u_c, u_s))


def test_bam_spatial_branch_is_dilated():
    bam = scattn.BAM(32, reduction=4, dilation=4)
    dilated = [m for m in bam.spatial_convs if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(dilated) == 2 and all(m.dilation == (4, 4) for m in dilated)


def test_spatial_kernel_one_has_no_spatial_context_but_seven_does():
    x = torch.randn(1, 4, 9, 9)
    y = x.clone()
    y[0, :, 0, 0] += 5.0  # change one corner position only
    for k, far_changes in ((1, False), (7, True)):
        sa = scattn.SpatialAttention(kernel_size=k)
        with torch.no_grad():
            diff = (sa.attention_map(x) - sa.attention_map(y)).abs()[0, 0]
        assert (diff[2:, 2:] > 0).any() == far_changes
        assert diff[0, 0] > 0


# ---- bad input: a ValueError that names what was expected -------------------------------

@pytest.mark.parametrize("name", ATTENTION)
def test_rejects_non_4d_input(name):
    module = build(name, 8)
    for shape in [(8, 4, 4), (2, 8, 4, 4, 1), (8,)]:
        with pytest.raises(ValueError, match=r"4-D tensor \(N, C, H, W\)"):
            module(torch.randn(*shape))


@pytest.mark.parametrize("name", [n for n in ATTENTION if n not in ("spatial", "spatial-add")])
def test_rejects_wrong_channel_count_naming_both(name):
    module = build(name, 8)
    with pytest.raises(ValueError, match=r"built for 8 channels but the input has 5"):
        module(torch.randn(2, 5, 4, 4))


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool, torch.complex64])
def test_rejects_input_that_is_not_floating_point_naming_the_dtype(name, dtype):
    module = build(name, 8)
    x = torch.ones(2, 8, 4, 4, dtype=dtype)
    calls = [module] + ([module.attention_map] if hasattr(module, "attention_map") else [])
    for call in calls:
        with pytest.raises(ValueError, match=rf"expects a floating-point tensor \(float32, .*got {dtype}"):
            call(x)


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("shape", [(2, 8, 0, 4), (2, 8, 4, 0)])
def test_rejects_an_empty_map_naming_its_shape(name, shape):
    with pytest.raises(ValueError, match=rf"expects H and W of at least 1, got shape {re.escape(str(shape))}"):
        build(name, 8)(torch.randn(*shape))


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("train", [True, False])
def test_an_empty_batch_gives_an_empty_output_and_changes_no_statistics(name, train):
    """N = 0 is a batch like any other (torch's layers take it): nothing to compute, nothing to learn."""
    module = build(name, 8).train(train)
    before = {k: v.clone() for k, v in module.state_dict().items() if v.is_floating_point()}
    out = module(torch.randn(0, 8, 5, 6))
    assert out.shape == (0, 8, 5, 6)
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm's running statistics included


@pytest.mark.parametrize("name", ATTENTION)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_input_is_never_hidden_and_stays_in_its_image(name, value):
    """As every mechanism did from the start: no check in forward (it would stop the GPU for a
    sync at every block), but a NaN or inf is passed on, never turned into a finite number, and
    in eval mode no other image sees it. fit and evaluate then stop with a FloatingPointError."""
    module = build(name, 8).eval()
    x = torch.randn(3, 8, 5, 6)
    x[1, 2, 3, 4] = value
    with torch.no_grad():
        out = module(x)
        clean = module(x[[0, 2]])
    assert not torch.isfinite(out[1]).all()
    torch.testing.assert_close(out[[0, 2]], clean)


@pytest.mark.parametrize("name", [n for n in ATTENTION])
@pytest.mark.parametrize("channels", [0, -3, 2.5, True])
def test_rejects_bad_channel_count(name, channels):
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        build(name, channels)


@pytest.mark.parametrize("name", ["se", "channel", "cbam", "scse", "bam", "coord", "se-add", "gc", "gc-scale"])
def test_rejects_bad_reduction(name):
    with pytest.raises(ValueError, match="reduction must be a positive integer"):
        build(name, 16, reduction=0)


@pytest.mark.parametrize("k", [0, -7, 2, 4, 6])
def test_rejects_bad_kernel_sizes(k):
    with pytest.raises(ValueError, match="kernel_size must be"):
        scattn.SpatialAttention(kernel_size=k)
    with pytest.raises(ValueError, match="kernel_size must be"):
        scattn.EfficientChannelAttention(16, kernel_size=k)
    with pytest.raises(ValueError, match="kernel_size must be"):
        scattn.CBAM(16, kernel_size=k)


def test_rejects_unknown_order_and_combine():
    with pytest.raises(ValueError, match=r"unknown order 'spatial-first'.*'channel-spatial'"):
        scattn.CBAM(16, order="spatial-first")
    with pytest.raises(ValueError, match=r"unknown combine 'mean'.*'add', 'max'"):
        scattn.SCSE(16, combine="mean")


def test_unknown_attention_lists_valid_names_and_suggests():
    with pytest.raises(ValueError, match=r"unknown attention 'cbma' \(did you mean 'cbam'\?\).*none, se, eca"):
        scattn.make_attention("cbma", 16)


def test_registry_is_case_and_underscore_tolerant():
    assert isinstance(scattn.make_attention("CBAM", 16), scattn.CBAM)
    assert isinstance(scattn.make_attention("Se", 16), scattn.SqueezeExcitation)
    assert isinstance(scattn.make_attention("se_add", 16), scattn.AdditiveSqueezeExcitation)
    assert scattn.make_attention(" GC_Scale ", 16).fusion == "scale"
    assert scattn.attention.attention_name("context_concat") == "context-concat"


def test_rejects_non_tensor():
    with pytest.raises(ValueError, match="expects a torch.Tensor"):
        scattn.SqueezeExcitation(4)([[1.0]])


def test_params_have_grads_helper_flags_missing_grads():
    module = build("se", 8)
    assert all_params_have_grad(module) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_registry_ignores_knobs_of_other_mechanisms_but_not_typos():
    assert scattn.make_attention("eca", 64, reduction=4).kernel_size == 3
    assert scattn.make_attention("spatial", 64, reduction=4, kernel_size=3).kernel_size == 3
    assert scattn.make_attention("cbam", 64, reduction=4).channel.mlp[0].out_features == 16
    with pytest.raises(TypeError, match="no attention mechanism takes 'reducton'"):
        scattn.make_attention("se", 64, reducton=4)


# ----------------------------------------------------------------------------- one protocol


@pytest.mark.parametrize("name", [n for n in ATTENTION if n != "spatial-add"])  # the control multiplies by nothing
def test_attention_map_is_what_forward_multiplies_by_and_checks_its_input(name):
    """attention_map(x) returns the captured gates' outputs (a tuple for several gates)."""
    torch.manual_seed(0)
    module = build(name, 8).eval()
    x = torch.randn(2, 8, 6, 5)
    _, captured = gate_outputs(module, x)
    got = module.attention_map(x)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(captured)
    for mine, theirs in zip(got, captured.values(), strict=True):
        torch.testing.assert_close(mine, theirs)
    bad = torch.randn(2, 8, 6) if name == "spatial" else torch.randn(2, 5, 6, 5)  # 3-D, or 5 channels
    with pytest.raises(ValueError, match="built for 8 channels|4-D"):
        module.attention_map(bad)


@pytest.mark.parametrize("name", ATTENTION)
def test_every_module_shows_its_choices(name):
    text = repr(build(name, 8))
    assert "(" in text and ("channels=8" in text or name in ("spatial", "spatial-add"))
    if name in ("spatial", "spatial-add"):
        assert "kernel_size=" in text


@pytest.mark.parametrize("name", ATTENTION)
def test_numpy_integers_are_accepted_where_ints_are(name):
    np = pytest.importorskip("numpy")
    module = scattn.make_attention(name, np.int64(8), reduction=np.int32(4))
    assert module(torch.randn(2, 8, 5, 5)).shape == (2, 8, 5, 5)


@pytest.mark.parametrize("build_bad,match", [
    (lambda: scattn.EfficientChannelAttention(64, gamma=0), "gamma must be a finite number > 0"),
    (lambda: scattn.EfficientChannelAttention(64, b=float("nan")), "b must be a finite number"),
    (lambda: scattn.eca_kernel_size(64, gamma=-2), "gamma"),
    (lambda: scattn.CoordinateAttention(64, min_hidden=0), "min_hidden must be a positive integer"),
    (lambda: scattn.BAM(64, dilation=0), "dilation must be a positive integer"),
    (lambda: scattn.SqueezeExcitation(64, reduction=2.0), "reduction must be a positive integer"),
    (lambda: scattn.SpatialAttention(kernel_size=True), "kernel_size must be a positive integer"),
])
def test_every_numeric_knob_is_checked_at_construction(build_bad, match):
    with pytest.raises(ValueError, match=match):
        build_bad()


# ---- the additive control ---------------------------------------------------------------


def test_additive_control_has_ses_parameters_and_adds_its_context():
    se, add = scattn.SqueezeExcitation(24, reduction=4), scattn.make_attention("se-add", 24, reduction=4)
    assert isinstance(add, scattn.AdditiveSqueezeExcitation)
    assert [p.shape for p in add.parameters()] == [p.shape for p in se.parameters()]
    assert sum(p.numel() for p in add.parameters()) == sum(p.numel() for p in se.parameters())
    assert not any(isinstance(m, scattn.Gate) for m in add.modules())
    # With SE's weights, SE multiplies by σ(b) where the control adds b: the same b.
    add.load_state_dict(se.state_dict())
    x = torch.randn(3, 24, 5, 6)
    b = torch.logit(se.attention_map(x))  # (N, C, 1, 1)
    torch.testing.assert_close(add(x), x + b, rtol=1e-4, atol=1e-4)


def test_additive_control_by_hand():
    add = scattn.AdditiveSqueezeExcitation(2, reduction=2)  # hidden width 1
    with torch.no_grad():
        add.fc1.weight.copy_(torch.tensor([[1.0, -1.0]]))
        add.fc1.bias.fill_(0.5)
        add.fc2.weight.copy_(torch.tensor([[2.0], [-3.0]]))
        add.fc2.bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.zeros(1, 2, 2, 2)
    x[0, 0] = torch.tensor([[1.0, 3.0], [0.0, 0.0]])  # mean 1
    x[0, 1] = torch.tensor([[2.0, 2.0], [-2.0, -2.0]])  # mean 0
    # z = (1, 0); h = ReLU(1 - 0 + 0.5) = 1.5; b = (2 · 1.5 + 0, -3 · 1.5 + 1) = (3, -3.5)
    expected = x + torch.tensor([3.0, -3.5]).view(1, 2, 1, 1)
    torch.testing.assert_close(add(x), expected)


def test_context_concat_by_hand():
    """W [x; g] + b = W_x x + W_g g + b, with g the image's mean feature at every position."""
    module = scattn.ContextConcat(3)
    x = torch.randn(2, 3, 4, 5)
    w = module.mix.weight[:, :, 0, 0]  # (C, 2C)
    w_x, w_g = w[:, :3], w[:, 3:]
    g = x.mean(dim=(2, 3))  # (N, C)
    expected = (torch.einsum("oc,nchw->nohw", w_x, x) + (g @ w_g.T)[:, :, None, None]
                + module.mix.bias[None, :, None, None])
    torch.testing.assert_close(module(x), expected)
    assert module.attention_map(x) == ()
