"""CBAM blocks learners write for exercise 04, with the order argument."""
# ruff: noqa: N801

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import scattn

from . import right, wrong

CHECK = "cbam"
ORDERS = ("channel-spatial", "spatial-channel", "parallel")


# ---- the learner's own gates (exercises 01 and 02), reused below ---------------------------------

class MyChannel(nn.Module):
    def __init__(self, channels, reduction=16, hidden=None):
        super().__init__()
        hidden = hidden or max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def gate(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]

    def forward(self, x):
        return x * self.gate(x)


class MySpatial(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def gate(self, x):
        return torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))

    def forward(self, x):
        return x * self.gate(x)


# ---- right ------------------------------------------------------------------------------------

@right
class LikeTheSolution(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; expected one of {ORDERS}")
        self.order = order
        self.channel = scattn.ChannelAttention(channels, reduction)
        self.spatial = scattn.SpatialAttention(kernel_size)

    def forward(self, x):
        if self.order == "channel-spatial":
            return self.spatial(self.channel(x))
        if self.order == "spatial-channel":
            return self.channel(self.spatial(x))
        return x * self.channel.attention_map(x) * self.spatial.attention_map(x)


@right
class FromMyOwnGates(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        assert_msg = f"order must be one of {', '.join(ORDERS)}, got {order}"
        if order not in ORDERS:
            raise ValueError(assert_msg)
        self.order = order
        self.ca = MyChannel(channels, reduction)
        self.sa = MySpatial(kernel_size)

    def forward(self, x):
        if self.order == "parallel":
            return x * self.ca.gate(x) * self.sa.gate(x)
        first, second = (self.ca, self.sa) if self.order == "channel-spatial" else (self.sa, self.ca)
        return second(first(x))


@right
class ConvMLPRegisteredAfterTheSpatialConv(nn.Module):
    """The spatial conv first, then a 1×1-conv MLP: the last Conv2d is not the spatial one."""

    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order should be one of {ORDERS}")
        self.order = order
        self.spatial_conv = nn.Conv2d(2, 1, kernel_size, padding="same")
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def m_c(self, x):
        return torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))

    def m_s(self, x):
        return torch.sigmoid(self.spatial_conv(torch.cat([x.mean(1, True), x.max(1, True).values], 1)))

    def forward(self, x):
        if self.order == "channel-spatial":
            x = x * self.m_c(x)
            return x * self.m_s(x)
        if self.order == "spatial-channel":
            x = x * self.m_s(x)
            return x * self.m_c(x)
        return x * self.m_c(x) * self.m_s(x)


class _Parallel(nn.Module):
    def __init__(self, channels, reduction, kernel_size):
        super().__init__()
        self.channel = MyChannel(channels, reduction)
        self.spatial = MySpatial(kernel_size)

    def forward(self, x):
        return x * self.channel.gate(x) * self.spatial.gate(x)


@right
class OrdersAsSequentialBodies(nn.Module):
    """Each order builds its own body; the parameter names differ from one order to the next."""

    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        bodies = {
            "channel-spatial": lambda: nn.Sequential(MyChannel(channels, reduction), MySpatial(kernel_size)),
            "spatial-channel": lambda: nn.Sequential(MySpatial(kernel_size), MyChannel(channels, reduction)),
            "parallel": lambda: _Parallel(channels, reduction, kernel_size),
        }
        if order not in bodies:
            raise ValueError(f"order={order!r} is not one of {list(bodies)}")
        self.body = bodies[order]()

    def forward(self, x):
        return self.body(x)


@right
class ModuleDictOfGates(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in ("channel-spatial", "spatial-channel", "parallel"):
            raise ValueError("valid orders: 'channel-spatial', 'spatial-channel', 'parallel'")
        self.order = order
        self.gates = nn.ModuleDict({"spatial": MySpatial(kernel_size), "channel": MyChannel(channels, reduction)})

    def forward(self, x):
        run = {
            "channel-spatial": lambda t: self.gates["spatial"](self.gates["channel"](t)),
            "spatial-channel": lambda t: self.gates["channel"](self.gates["spatial"](t)),
            "parallel": lambda t: t * self.gates["channel"].gate(t) * self.gates["spatial"].gate(t),
        }
        return run[self.order](x)


@right
class AllInOneClass(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"{order} is not a valid order, use one of: {ORDERS}")
        self.order = order
        r = max(1, channels // reduction)
        self.fc = nn.Sequential(nn.Linear(channels, r), nn.ReLU(), nn.Linear(r, channels))
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        def m_c(t):
            return torch.sigmoid(self.fc(t.mean((2, 3))) + self.fc(t.amax((2, 3))))[..., None, None]

        def m_s(t):
            return torch.sigmoid(self.conv(torch.cat([t.mean(1, True), t.amax(1, True)], 1)))

        if self.order == "parallel":
            return m_s(x) * m_c(x) * x
        out = x
        for step in ((m_c, m_s) if self.order == "channel-spatial" else (m_s, m_c)):
            out = out * step(out)
        return out


# ---- wrong ------------------------------------------------------------------------------------

class _Learner(nn.Module):
    """A learner's CBAM that gets the order argument right; the mistakes below override forward."""

    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}")
        self.order = order
        self.channel = MyChannel(channels, reduction)
        self.spatial = MySpatial(kernel_size)

    def forward(self, x):
        if self.order == "channel-spatial":
            return self.spatial(self.channel(x))
        if self.order == "spatial-channel":
            return self.channel(self.spatial(x))
        return x * self.channel.gate(x) * self.spatial.gate(x)


@wrong("order is reversed", "channel attention FIRST")
class SpatialFirst(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            return self.channel(self.spatial(x))  # the blog's order
        return super().forward(x)


@wrong("both gates read the input F")
class ParallelByDefault(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            return x * self.channel.gate(x) * self.spatial.gate(x)
        return super().forward(x)


@wrong("multiplies the original F")
class SpatialMapTimesOriginalInput(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            f1 = self.channel(x)
            return x * self.spatial.gate(f1)
        return super().forward(x)


@wrong("channel gate is not applied")
class ForgetsTheChannelGate(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            self.channel(x)
            return self.spatial(x)
        return super().forward(x)


@wrong("channel gate: the average is used twice")
class ChannelGateAveragesTwice(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            a = self.channel.mlp(x.mean((2, 3)))
            f1 = x * torch.sigmoid(a + a)[..., None, None]
            return self.spatial(f1)
        return super().forward(x)


@wrong("kernel_size=3", "pass the kernel_size argument")
class IgnoresKernelSize(_Learner):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__(channels, reduction, kernel_size, order)
        self.spatial = MySpatial()  # always 7×7


@wrong("rounded C / r up")
class HiddenWidthRoundedUp(_Learner):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__(channels, reduction, kernel_size, order)
        self.channel = MyChannel(channels, hidden=math.ceil(channels / reduction))


@wrong("order='sideways' was accepted", "ValueError")
class NoOrderValidation(_Learner):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        nn.Module.__init__(self)
        self.order = order
        self.channel = MyChannel(channels, reduction)
        self.spatial = MySpatial(kernel_size)


@wrong("list the valid orders", "'channel-spatial', 'spatial-channel', 'parallel'")
class ValueErrorWithoutTheOrders(_Learner):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        if order not in ORDERS:
            raise ValueError("invalid order")
        super().__init__(channels, reduction, kernel_size, order)


@wrong("raised KeyError", "raise a ValueError")
class KeyErrorForUnknownOrder(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        super().__init__()
        self.arrangement = {"channel-spatial": 0, "spatial-channel": 1, "parallel": 2}[order]
        self.channel = MyChannel(channels, reduction)
        self.spatial = MySpatial(kernel_size)

    def forward(self, x):
        if self.arrangement == 0:
            return self.spatial(self.channel(x))
        if self.arrangement == 1:
            return self.channel(self.spatial(x))
        return x * self.channel.gate(x) * self.spatial.gate(x)


@wrong("fails only when the module runs", "in __init__")
class ValidatesOrderInForward(_Learner):
    def __init__(self, channels, reduction=16, kernel_size=7, order="channel-spatial"):
        nn.Module.__init__(self)
        self.order = order
        self.channel = MyChannel(channels, reduction)
        self.spatial = MySpatial(kernel_size)

    def forward(self, x):
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}")
        return super().forward(x)


@wrong("returned the spatial map M_s", "return x * gate")
class ReturnsTheSpatialMap(_Learner):
    def forward(self, x):
        return self.spatial.gate(self.channel(x))


@wrong("order='spatial-channel' computes the channel-spatial arrangement")
class IgnoresTheOrder(_Learner):
    def forward(self, x):
        return self.spatial(self.channel(x))


@wrong("order='parallel' computes the channel-spatial arrangement")
class ParallelIsSequential(_Learner):
    def forward(self, x):
        if self.order == "spatial-channel":
            return self.channel(self.spatial(x))
        return self.spatial(self.channel(x))


@wrong("no gradient reaches the spatial conv's weight")
class SpatialGateDetached(_Learner):
    def forward(self, x):
        if self.order == "channel-spatial":
            f1 = self.channel(x)
            return f1 * self.spatial.gate(f1).detach()  # "the map is only for plotting"
        return super().forward(x)
