"""CBAM channel gates learners write for exercise 02 (and the fix in exercise 03)."""
# ruff: noqa: N801

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import right, wrong

CHECK = "channel_attention"


# ---- right ------------------------------------------------------------------------------------

@right
class LikeTheSolution(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden, bias=False), nn.ReLU(),
                                 nn.Linear(hidden, channels, bias=False))

    def forward(self, x):
        n, c = x.shape[:2]
        avg = x.mean(dim=(2, 3))
        mx = x.amax(dim=(2, 3))
        return x * torch.sigmoid(self.mlp(avg) + self.mlp(mx)).view(n, c, 1, 1)


@right
class BlogFixedWithConvs(nn.Module):
    """The shared MLP as 1×1 convolutions on (N, C, 1, 1) descriptors."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, kernel_size=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, kernel_size=1, bias=False),
        )

    def forward(self, x):
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + mx)


@right
class AdaptivePoolingModules(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.flatten = nn.Flatten()
        self.shared_mlp = nn.Sequential(
            nn.Linear(channels, max(1, channels // reduction)),
            nn.ReLU(),
            nn.Linear(max(1, channels // reduction), channels),
        )
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        a = self.shared_mlp(self.flatten(self.avg_pool(x)))
        m = self.shared_mlp(self.flatten(self.max_pool(x)))
        return x * self.sigmoid(a + m)[:, :, None, None]


@right
class ModuleDictUpLayerFirst(nn.Module):
    """Layers kept in a ModuleDict, the second layer registered before the first."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        r = int(channels / reduction) or 1
        self.layers = nn.ModuleDict({"expand": nn.Linear(r, channels), "squeeze": nn.Linear(channels, r)})

    def mlp(self, v):
        return self.layers["expand"](F.relu(self.layers["squeeze"](v)))

    def forward(self, x):
        flat = x.flatten(2)
        w = torch.sigmoid(self.mlp(flat.mean(-1)) + self.mlp(flat.max(-1).values))
        return x * w.unsqueeze(-1).unsqueeze(-1)


@right
class BatchedMLPAndEinsum(nn.Module):
    """Runs the shared MLP once on both descriptors stacked along the batch, scales with einsum."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, x):
        n = x.shape[0]
        both = torch.cat([x.mean((2, 3)), x.amax((2, 3))], dim=0)  # (2N, C)
        out = self.fc2(torch.relu(self.fc1(both)))
        weights = torch.sigmoid(out[:n] + out[n:])
        return torch.einsum("nchw,nc->nchw", x, weights)


@right
class FunctionalPooling(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.c = channels
        self.w_out = nn.Conv2d(max(1, channels // reduction), channels, 1)
        self.w_in = nn.Conv2d(channels, max(1, channels // reduction), 1)

    def forward(self, x):
        def mlp(v):
            return self.w_out(F.relu(self.w_in(v)))

        gate = torch.sigmoid(mlp(F.adaptive_avg_pool2d(x, 1)) + mlp(F.adaptive_max_pool2d(x, 1)))
        return gate * x


# ---- wrong ------------------------------------------------------------------------------------

class _Base(nn.Module):
    """What most learners start from: one shared Linear MLP."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))


@wrong("average is used twice", "MAX over H×W")
class AverageTwice(_Base):
    def forward(self, x):
        a = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.mlp(a) + self.mlp(a))[:, :, None, None]


@wrong("max is used twice")
class MaxTwice(_Base):
    def forward(self, x):
        m = x.amax(dim=(2, 3))
        return x * torch.sigmoid(self.mlp(m) + self.mlp(m))[:, :, None, None]


@wrong("pool over H×W (dims 2, 3), not over the channels")
class MaxOverChannels(_Base):
    def forward(self, x):
        avg = x.mean(dim=(2, 3))
        mx = x.amax(dim=1).flatten(1)  # the blog's max, over the channels
        return x * torch.sigmoid(self.mlp(avg) + self.mlp(mx))[:, :, None, None]


@wrong("wrong number of channels", "over H×W (dims 2, 3) for channel weights")
class BlogStyleConvMLP(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x):
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        mx = self.mlp(x.amax(dim=1, keepdim=True))
        return x * torch.sigmoid(avg + mx)


@wrong("sigmoid is missing")
class NoSigmoid(_Base):
    def forward(self, x):
        return x * (self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("MLP is not shared", "ONE MLP")
class TwoMLPs(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        h = max(1, channels // reduction)
        self.mlp_avg = nn.Sequential(nn.Linear(channels, h), nn.ReLU(), nn.Linear(h, channels))
        self.mlp_max = nn.Sequential(nn.Linear(channels, h), nn.ReLU(), nn.Linear(h, channels))

    def forward(self, x):
        return x * torch.sigmoid(self.mlp_avg(x.mean((2, 3))) + self.mlp_max(x.amax((2, 3))))[:, :, None, None]


@wrong("(N, C, 1, 1)")
class ViewsTheGateWrong(_Base):
    def forward(self, x):
        n, c = x.shape[:2]
        w = torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
        return x * w.view(n, 1, 1, c)


@wrong("hidden width C // r is 0", "max(1, C // r)")
class HiddenWidthZero(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                 nn.Linear(channels // reduction, channels))

    def forward(self, x):
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("rounded C / r up", "max(1, C // r) = 2")
class HiddenWidthRoundedUp(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = math.ceil(channels / reduction)  # never 0, but not C // r either
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("as if reduction were 16", "use the reduction argument")
class IgnoresReduction(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // 16)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x):
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("returned the channel map", "return x * gate")
class ReturnsTheMap(_Base):
    def forward(self, x):
        return torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("sigmoid is applied to each path")
class SigmoidPerPath(_Base):
    def forward(self, x):
        a = torch.sigmoid(self.mlp(x.mean((2, 3))))
        m = torch.sigmoid(self.mlp(x.amax((2, 3))))
        return x * (a + m)[..., None, None]


@wrong("only one pooled path")
class AverageOnlyLikeSE(_Base):
    def forward(self, x):
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))))[:, :, None, None]


@wrong("ReLU between the MLP's two layers is missing")
class NoReLU(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        h = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, h), nn.Linear(h, channels))

    def forward(self, x):
        return x * torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))[:, :, None, None]


@wrong("softmax over the channels")
class SoftmaxOverChannels(_Base):
    def forward(self, x):
        w = F.softmax(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))), dim=1)
        return x * w[:, :, None, None]


@wrong("no gradient reaches the MLP's first layer")
class DescriptorsDetached(_Base):
    def forward(self, x):
        with torch.no_grad():
            w = torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
        return x * w[:, :, None, None]


@wrong("float64")
class Float64Gate(_Base):
    def forward(self, x):
        w = torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
        return x * torch.tensor(np.asarray(w.tolist()))[:, :, None, None]


@wrong("raw parameters", "nn.Linear layers")
class RawParameterMLP(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        h = max(1, channels // reduction)
        self.w0 = nn.Parameter(torch.randn(h, channels) * 0.1)
        self.w1 = nn.Parameter(torch.randn(channels, h) * 0.1)

    def forward(self, x):
        def mlp(v):
            return F.relu(v @ self.w0.t()) @ self.w1.t()

        return x * torch.sigmoid(mlp(x.mean((2, 3))) + mlp(x.amax((2, 3))))[:, :, None, None]
