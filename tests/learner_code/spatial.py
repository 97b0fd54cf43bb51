"""Spatial gates learners write for exercise 01 (and the fix in exercise 03)."""
# ruff: noqa: N801 -- class names describe the learner's code, not PEP 8 style

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import right, wrong

CHECK = "spatial_attention"


# ---- right ------------------------------------------------------------------------------------

@right
class LikeTheSolution(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        avg = x.mean(dim=1, keepdim=True)
        mx = x.amax(dim=1, keepdim=True)
        return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))


@right
class SamePaddingSigmoidModule(nn.Module):
    """padding="same", max(...).values and an nn.Sigmoid registered before the conv."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.act = nn.Sigmoid()
        self.conv = nn.Conv2d(in_channels=2, out_channels=1, kernel_size=kernel_size, padding="same", bias=False)

    def forward(self, x):
        max_map = torch.max(x, dim=1, keepdim=True).values
        mean_map = torch.mean(x, dim=1, keepdim=True)
        attention = self.act(self.conv(torch.cat((mean_map, max_map), 1)))
        return attention * x


@right
class SequentialBody(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2),
            nn.Sigmoid(),
        )

    def forward(self, x):
        d = torch.cat([torch.mean(x, 1, True), torch.max(x, 1, True)[0]], 1)
        return x * self.body(d)


@right
class PadsByHand(nn.Module):
    """Zero-pads the descriptor itself, so the conv needs no padding: the same computation."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.k = kernel_size
        self.conv = nn.Conv2d(2, 1, kernel_size)

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        p = self.k // 2
        d = F.pad(d, (p, p, p, p))  # zeros on every side
        return x * torch.sigmoid(self.conv(d))


@right
class ModuleDictAndStack(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.parts = nn.ModuleDict({
            "squash": nn.Sigmoid(),
            "mix": nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2),
        })

    def forward(self, x):
        descriptor = torch.stack([x.mean(dim=1), x.amax(dim=1)], dim=1)  # (N, H, W) twice -> (N, 2, H, W)
        return x * self.parts["squash"](self.parts["mix"](descriptor))


@right
class FunctionalConvWithModuleWeights(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def attention_map(self, x):
        c = x.shape[1]
        avg = x.sum(dim=1, keepdim=True) / c  # the mean, written as a sum over C divided by C
        mx, _ = x.max(dim=1, keepdim=True)
        z = F.conv2d(torch.cat([avg, mx], 1), self.conv.weight, self.conv.bias, padding=self.kernel_size // 2)
        return torch.sigmoid(z)

    def forward(self, x):
        return torch.mul(x, self.attention_map(x))


@right
class WithBatchNormLikeTheAuthors(nn.Module):
    """The CBAM authors' code: conv without bias, then BatchNorm (checked in eval mode)."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        pooled = torch.cat([x.mean(1).unsqueeze(1), x.max(1)[0].unsqueeze(1)], dim=1)
        return x * torch.sigmoid(self.bn(self.conv(pooled)))


# ---- wrong ------------------------------------------------------------------------------------

@wrong("average twice", "MAX")
class AverageTwice(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        avg = x.mean(dim=1, keepdim=True)
        return x * torch.sigmoid(self.conv(torch.cat([avg, avg], dim=1)))


@wrong("max twice", "average")
class MaxTwice(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        m = torch.max(x, 1, keepdim=True)[0]
        return x * torch.sigmoid(self.conv(torch.cat([m, m], 1)))


@wrong("[max; avg]", "order matters")
class MaxThenAverage(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)))


@wrong("sigmoid is missing")
class NoSigmoid(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * self.conv(d)


@wrong("raised RuntimeError", "pool over the channels (dim=1")
class MaxOverSpace(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        avg = x.mean(dim=1, keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)  # the mistake: over H×W
        return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))


@wrong("Pool over the channels (dim=1)")
class PoolsOverTheBatch(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        avg = x.mean(dim=0, keepdim=True)
        mx = x.amax(dim=0, keepdim=True)
        return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=0)))


@wrong("keepdim=True", "(N, 2, H, W)")
class ForgetsKeepdim(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        avg = x.mean(dim=1)
        mx = x.amax(dim=1)
        return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))


@wrong("padding = kernel_size // 2 = 3", "yours is (0, 0)")
class NoPadding(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size)

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(d))


@wrong("dilated", "dilation=1")
class DilatedWithMatchingPadding(nn.Module):
    """Keeps H×W (padding = dilation · (k - 1) / 2), but it is not CBAM's k×k conv."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=2 * (kernel_size // 2), dilation=2)

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(d))


@wrong("returned the spatial map", "return x * gate")
class ReturnsTheMap(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return torch.sigmoid(self.conv(d))


@wrong("takes 1 input channel", "average map and the")
class BlogStyleMaxOnly(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, kernel_size=1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(x.amax(dim=1, keepdim=True)))


@wrong("kernel_size=3", "pass the kernel_size argument")
class IgnoresKernelSize(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)  # always the paper's 7×7

    def forward(self, x):
        return x * torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))


@wrong("no gradient", "torch.no_grad()")
class GateUnderNoGrad(nn.Module):
    """Right values, but the gate is computed without autograd: its conv can never learn."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        with torch.no_grad():
            gate = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        return x * gate


@wrong("no gradient reaches the conv's weight", ".detach()")
class DetachedGate(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        gate = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        return x * gate.detach()  # "so the map does not change while I plot it"


@wrong("raw parameter", "asks for an nn.Conv2d")
class KernelAsRawParameter(nn.Module):
    """Correct arithmetic, but the exercise asks for nn.Conv2d and the check reads weights through it."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, 2, kernel_size, kernel_size) * 0.1)
        self.bias = nn.Parameter(torch.zeros(1))
        self.pad = kernel_size // 2

    def forward(self, x):
        d = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(F.conv2d(d, self.weight, self.bias, padding=self.pad))


@wrong("SUM over the channels")
class SumInsteadOfMean(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        s = torch.sum(x, dim=1, keepdim=True)  # "average pooling"
        m = torch.amax(x, dim=1, keepdim=True)
        return x * torch.sigmoid(self.conv(torch.cat([s, m], dim=1)))


@wrong("softmax over the positions")
class SoftmaxOverPositions(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        n, _, h, w = x.shape
        z = self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1))
        attn = F.softmax(z.view(n, -1), dim=-1).view(n, 1, h, w)  # "attention sums to one"
        return x * attn


@wrong("BAM's residual form")
class ResidualGate(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        g = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        return x + x * g


@wrong("returned None", "`return` statement is missing")
class ForgetsToReturn(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        g = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        x = x * g  # noqa: F841 -- the learner's mistake: no return


@wrong("returned a tuple of 2 values")
class ReturnsOutputAndMap(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        g = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        return x * g, g


@wrong("float64", "keep the input's dtype")
class GateThroughNumPy(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        z = self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1))
        g = 1 / (1 + np.exp(-z.detach().numpy().astype(np.float64)))
        return x * torch.from_numpy(g)


@wrong("padding_mode='reflect'", "zeros")
class ReflectPadding(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, padding_mode="reflect")

    def forward(self, x):
        return x * torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))


@wrong("raised NotImplementedError", "replace it with your code")
class StillTheStub(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()


@wrong("no nn.Conv2d found", "create it in __init__")
class ConvMadeInForward(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x):
        conv = nn.Conv2d(2, 1, self.kernel_size, padding=self.kernel_size // 2)
        return x * torch.sigmoid(conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))


@wrong("in place", "out = x * gate")
class MultipliesInPlace(nn.Module):
    """Right values, but x is overwritten while autograd still needs it: training would fail."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        gate = torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
        x *= gate  # "saves memory"
        return x
