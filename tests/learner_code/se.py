"""Squeeze-and-Excitation blocks learners write for exercise 02."""
# ruff: noqa: N801

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import right, wrong

CHECK = "squeeze_excitation"


@right
class LikeTheSolution(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, u):
        n, c = u.shape[:2]
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(u.mean(dim=(2, 3))))))
        return u * s.view(n, c, 1, 1)


@right
class TorchvisionStyleConvs(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        squeeze = max(1, channels // reduction)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


@right
class OneSequential(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.excite = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(channels, max(1, channels // reduction), bias=False), nn.ReLU(inplace=True),
            nn.Linear(max(1, channels // reduction), channels, bias=False), nn.Sigmoid(),
        )

    def forward(self, x):
        return x * self.excite(x)[..., None, None]


@right
class MatmulWithLayerWeights(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.up = nn.Linear(max(channels // reduction, 1), channels)
        self.down = nn.Linear(channels, max(channels // reduction, 1))

    def forward(self, x):
        z = x.flatten(2).mean(-1)
        h = F.relu(z @ self.down.weight.T + self.down.bias)
        s = torch.sigmoid(F.linear(h, self.up.weight, self.up.bias))
        return x * s.reshape(*s.shape, 1, 1)


class _Base(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, channels)


@wrong("squeeze uses max pooling", "global AVERAGE")
class MaxSqueeze(_Base):
    def forward(self, x):
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(x.amax(dim=(2, 3))))))
        return x * s[:, :, None, None]


@wrong("sigmoid is missing")
class NoSigmoid(_Base):
    def forward(self, x):
        return x * self.fc2(F.relu(self.fc1(x.mean((2, 3)))))[:, :, None, None]


@wrong("ReLU between the two FC layers is missing")
class NoReLU(_Base):
    def forward(self, x):
        return x * torch.sigmoid(self.fc2(self.fc1(x.mean((2, 3)))))[:, :, None, None]


@wrong("(N, C, 1, 1)")
class WrongView(_Base):
    def forward(self, x):
        n, c = x.shape[:2]
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3)))))).view(n, 1, 1, c)


@wrong("hidden width C // r is 0")
class HiddenWidthZero(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))[:, :, None, None]


@wrong("rounded C / r up")
class HiddenWidthRoundedUp(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, math.ceil(channels / reduction))
        self.fc2 = nn.Linear(math.ceil(channels / reduction), channels)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))[:, :, None, None]


@wrong("returned the excitation s (N×C)")
class ReturnsTheExcitation(_Base):
    def forward(self, x):
        return torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))


@wrong("no gradient reaches the first FC layer")
class ExcitationFromDetachedLayers(_Base):
    def forward(self, x):
        z = x.mean((2, 3))
        h = F.relu(F.linear(z, self.fc1.weight.detach(), self.fc1.bias.detach()))
        s = torch.sigmoid(F.linear(h, self.fc2.weight.data, self.fc2.bias.data))
        return x * s[:, :, None, None]


@wrong("created in __init__", "no layer of your module takes")
class LayersMadeInForward(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.channels, self.hidden = channels, max(1, channels // reduction)

    def forward(self, x):
        fc1, fc2 = nn.Linear(self.channels, self.hidden), nn.Linear(self.hidden, self.channels)
        return x * torch.sigmoid(fc2(F.relu(fc1(x.mean((2, 3))))))[:, :, None, None]
