"""Each exercise check passes the reference and catches every listed mistake with its hint.

The mutants below are the mistakes learners make, written as learners would write them.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scattn
from scattn import checks


def fails_with(check, candidate, *phrases):
    with pytest.raises(AssertionError) as info:
        check(candidate)
    for phrase in phrases:
        assert phrase in str(info.value), f"{phrase!r} not in hint:\n{info.value}"
    return str(info.value)


# ---- spatial attention -------------------------------------------------------------------

class Spatial(nn.Module):
    """A learner's correct spatial gate; mutants override one step."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def pools(self, x):
        return x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)

    def gate(self, x):
        return torch.sigmoid(self.conv(torch.cat(self.pools(x), dim=1)))

    def forward(self, x):
        return x * self.gate(x)


class SpatialAvgTwice(Spatial):
    def pools(self, x):
        return x.mean(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)


class SpatialMaxWrongAxis(Spatial):
    def pools(self, x):
        return x.mean(dim=1, keepdim=True), x.amax(dim=(2, 3), keepdim=True)


class SpatialNoSigmoid(Spatial):
    def gate(self, x):
        return self.conv(torch.cat(self.pools(x), dim=1))


class SpatialBadPadding(Spatial):
    def __init__(self, kernel_size=7):
        super().__init__(kernel_size)
        self.conv = nn.Conv2d(2, 1, kernel_size)


class SpatialReturnsGate(Spatial):
    def forward(self, x):
        return self.gate(x)


class BlogStyleSpatial(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(x.amax(dim=1, keepdim=True)))


class SpatialBroken(Spatial):
    def forward(self, x):
        raise NotImplementedError()


def test_spatial_reference_and_learner_style_pass(capsys):
    checks.spatial_attention(scattn.SpatialAttention)
    checks.spatial_attention(Spatial)
    out = capsys.readouterr().out
    assert out.count("All checks passed.") == 2 and "✗" not in out


def test_spatial_average_twice():
    fails_with(checks.spatial_attention, SpatialAvgTwice, "average twice", "MAX")


def test_spatial_max_over_wrong_axis():
    fails_with(checks.spatial_attention, SpatialMaxWrongAxis, "raised RuntimeError", "pool over the channels (dim=1")


def test_spatial_missing_sigmoid():
    fails_with(checks.spatial_attention, SpatialNoSigmoid, "sigmoid is missing")


def test_spatial_padding_changes_map_size():
    fails_with(checks.spatial_attention, SpatialBadPadding, "padding", "kernel_size // 2")


def test_spatial_returning_the_gate():
    fails_with(checks.spatial_attention, SpatialReturnsGate, "returned the spatial gate", "return x * gate")


def test_spatial_blog_style_one_channel_conv():
    fails_with(checks.spatial_attention, BlogStyleSpatial, "takes 1 input channel", "average map and the")


def test_learner_exception_is_reported_not_crashed(capsys):
    hint = fails_with(checks.spatial_attention, SpatialBroken, "raised NotImplementedError")
    assert "replace it with your code" in hint
    assert "✗" in capsys.readouterr().out


# ---- channel attention --------------------------------------------------------------------

class Channel(nn.Module):
    """A learner's correct CBAM channel gate."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def vectors(self, x):
        return x.mean(dim=(2, 3)), x.amax(dim=(2, 3))

    def gate(self, x):
        avg, mx = self.vectors(x)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))

    def forward(self, x):
        n, c = x.shape[:2]
        return x * self.gate(x).view(n, c, 1, 1)


class ChannelAvgTwice(Channel):
    def vectors(self, x):
        return x.mean(dim=(2, 3)), x.mean(dim=(2, 3))


class ChannelMaxWrongAxis(Channel):
    def vectors(self, x):
        return x.mean(dim=(2, 3)), x.amax(dim=1).flatten(1)


class ChannelNoSigmoid(Channel):
    def gate(self, x):
        avg, mx = self.vectors(x)
        return self.mlp(avg) + self.mlp(mx)


class ChannelNotShared(Channel):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        hidden = max(1, channels // reduction)
        self.mlp_max = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def gate(self, x):
        avg, mx = self.vectors(x)
        return torch.sigmoid(self.mlp(avg) + self.mlp_max(mx))


class ChannelWrongBroadcast(Channel):
    def forward(self, x):
        n, c = x.shape[:2]
        return x * self.gate(x).view(n, 1, 1, c)


class ChannelZeroHidden(Channel):
    def __init__(self, channels, reduction=16):
        super().__init__(channels, reduction)
        hidden = channels // reduction
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))


class ChannelReturnsGate(Channel):
    def forward(self, x):
        return self.gate(x)[:, :, None, None]


def test_channel_reference_and_learner_style_pass(capsys):
    checks.channel_attention(scattn.ChannelAttention)
    checks.channel_attention(Channel)
    assert capsys.readouterr().out.count("All checks passed.") == 2


def test_channel_average_twice():
    fails_with(checks.channel_attention, ChannelAvgTwice, "average is used twice")


def test_channel_max_over_wrong_axis():
    fails_with(checks.channel_attention, ChannelMaxWrongAxis, "pool over H×W (dims 2, 3), not over the channels")


def test_channel_missing_sigmoid():
    fails_with(checks.channel_attention, ChannelNoSigmoid, "sigmoid is missing")


def test_channel_mlp_not_shared():
    fails_with(checks.channel_attention, ChannelNotShared, "MLP is not shared", "ONE MLP")


def test_channel_gate_broadcast_wrong_shape():
    fails_with(checks.channel_attention, ChannelWrongBroadcast, "broadcast with the wrong shape", "(N, C, 1, 1)")


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # the mutant's own zero-width layer
def test_channel_hidden_width_zero():
    fails_with(checks.channel_attention, ChannelZeroHidden, "hidden width C // r is 0", "max(1, C // r)")


def test_channel_returning_the_gate():
    fails_with(checks.channel_attention, ChannelReturnsGate, "returned the channel gate")


# ---- squeeze-and-excitation -------------------------------------------------------------------

class SE(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, channels)

    def squeeze(self, x):
        return x.mean(dim=(2, 3))

    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(self.squeeze(x)))))
        return x * s[:, :, None, None]


class SEMaxSqueeze(SE):
    def squeeze(self, x):
        return x.amax(dim=(2, 3))


class SENoSigmoid(SE):
    def forward(self, x):
        return x * self.fc2(F.relu(self.fc1(self.squeeze(x))))[:, :, None, None]


class SEConv(nn.Module):
    """SE written with 1×1 convolutions, as torchvision does: also correct."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1, self.fc2 = nn.Conv2d(channels, hidden, 1), nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))


def test_se_reference_and_conv_style_pass(capsys):
    checks.squeeze_excitation(scattn.SqueezeExcitation)
    checks.squeeze_excitation(SE)
    checks.squeeze_excitation(SEConv)
    assert capsys.readouterr().out.count("All checks passed.") == 3


def test_se_mistakes():
    fails_with(checks.squeeze_excitation, SEMaxSqueeze, "global AVERAGE")
    fails_with(checks.squeeze_excitation, SENoSigmoid, "sigmoid is missing")


# ---- CBAM -----------------------------------------------------------------------------------

class CBAMLearner(nn.Module):
    ORDERS = ("channel-spatial", "spatial-channel", "parallel")

    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {self.ORDERS}")
        self.order = order
        self.channel = Channel(channels, reduction)
        self.spatial = Spatial(kernel_size)

    def forward(self, x):
        if self.order == "channel-spatial":
            return self.spatial(self.channel(x))
        if self.order == "spatial-channel":
            return self.channel(self.spatial(x))
        return x * self.channel.gate(x)[:, :, None, None] * self.spatial.gate(x)


class CBAMReversed(CBAMLearner):
    def forward(self, x):
        return self.channel(self.spatial(x)) if self.order == "channel-spatial" else super().forward(x)


class CBAMNoValidation(CBAMLearner):
    ORDERS = CBAMLearner.ORDERS + ("sideways",)


def test_cbam_reference_and_learner_pass(capsys):
    checks.cbam(scattn.CBAM)
    checks.cbam(CBAMLearner)
    assert capsys.readouterr().out.count("All checks passed.") == 2


def test_cbam_order_reversed():
    fails_with(checks.cbam, CBAMReversed, "order is reversed", "channel attention FIRST")


def test_cbam_unknown_order_must_raise():
    fails_with(checks.cbam, CBAMNoValidation, "order='sideways' was accepted")


# ---- ECA kernel size ----------------------------------------------------------------------------

def eca_truncate(c):
    t = int((math.log2(c) + 1) / 2)
    return t if t % 2 else t + 1


@pytest.mark.parametrize("mutant, hint", [
    (lambda c: int((math.log2(c) + 1) / 2), "even"),
    (lambda c: eca_truncate(c) + 0.0, "return an int"),
    (lambda c: max(3, eca_truncate(c)), "clamp k to at least 3"),
    (lambda c: (lambda t: t if t % 2 else t + 1)(round((math.log2(c) + 1) / 2)), "rounded"),
    (lambda c: (lambda t: t if t % 2 else t + 1)(int((math.log(c) + 1) / 2)), "log base 2"),
])
def test_eca_kernel_mistakes(mutant, hint):
    checks.eca_kernel_size(eca_truncate)
    fails_with(checks.eca_kernel_size, mutant, hint)
