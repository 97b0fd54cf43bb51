"""Finding the parts of a learner's module by their role, never by their position or name.

The spatial conv is the ``nn.Conv2d`` from 2 channels to 1; the channel MLP is the
pair of ``nn.Linear`` or 1×1 ``nn.Conv2d`` layers C -> max(1, C // r) -> C. However
the learner registers them (attributes in any order, ``nn.Sequential``,
``nn.ModuleDict``, a gate module inside a block), the check reads their weights
from the layers themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..i18n import t
from .report import Mistake


@dataclass
class Dense:
    """A Linear or 1×1 conv layer, seen as a matrix W (out × in) with bias b."""

    layer: nn.Module
    out: int
    inp: int

    @property
    def weight(self) -> torch.Tensor:
        return self.layer.weight

    def wb(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        b = self.layer.bias
        return self.layer.weight.detach().reshape(self.out, self.inp), None if b is None else b.detach()


def _dense_layers(module: nn.Module) -> list[Dense]:
    found = []
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            found.append(Dense(layer, layer.out_features, layer.in_features))
        elif isinstance(layer, (nn.Conv1d, nn.Conv2d)) and set(layer.kernel_size) == {1} and layer.groups == 1:
            found.append(Dense(layer, layer.out_channels, layer.in_channels))
    return found


def _raw_parameters(module: nn.Module, channels: int) -> list[str]:
    """Names of parameters that look like MLP weights but sit in no Linear / 1×1 conv layer."""
    layered = {id(p) for d in _dense_layers(module) for p in d.layer.parameters()}
    return [name for name, p in module.named_parameters()
            if id(p) not in layered and p.dim() >= 2 and channels in p.shape[:2]]


@dataclass
class MLP:
    """The bottleneck C -> hidden -> C: its first (down) and second (up) layer."""

    down: Dense
    up: Dense

    def weights(self) -> tuple:
        """(W0, b0, W1, b1), detached."""
        return (*self.down.wb(), *self.up.wb())


def mlp(module: nn.Module, channels: int, reduction: int, *, shared: bool = True,
        layers: str | None = None) -> MLP:
    """The bottleneck MLP of ``module``, built for ``channels`` and ``reduction``; ``layers`` is what the
    hints call it ("one MLP" when not given)."""
    layers = layers or t("one MLP")
    hidden = max(1, channels // reduction)
    dense = _dense_layers(module)
    downs = [d for d in dense if d.inp == channels and d.out != channels]
    if not downs:
        raw = _raw_parameters(module, channels)
        if raw:
            raise Mistake(t("the MLP's weights are raw parameters ({names}); the exercise asks for nn.Linear "
                            "layers (1×1 nn.Conv2d layers work too), and the check reads your weights from them",
                            names=", ".join(raw)))
        shapes = [tuple(p.shape) for p in module.parameters()]
        raise Mistake(t("expected {layers} {c} -> {hidden} -> {c} (nn.Linear or 1×1 nn.Conv2d) created in "
                        "__init__; no layer of your module takes {c} inputs (its parameters have shapes {shapes})",
                        layers=layers, c=channels, hidden=hidden, shapes=shapes))
    widths = sorted({d.out for d in downs})
    if hidden not in widths:
        width = widths[0]
        units = t("{n} unit", n=width) if width == 1 else t("{n} units", n=width)
        if width == 0:
            raise Mistake(t("for channels={c}, reduction={r} the hidden width C // r is 0, a layer with no "
                            "units: use max(1, C // r)", c=channels, r=reduction))
        if width == math.ceil(channels / reduction):
            raise Mistake(t("for channels={c}, reduction={r} the hidden layer has {units}: you rounded C / r up. "
                            "Use max(1, C // r) = {hidden}, rounded down (as the papers' code does)",
                            c=channels, r=reduction, units=units, hidden=hidden))
        if reduction != 16 and width == max(1, channels // 16):
            raise Mistake(t("for channels={c}, reduction={r} the hidden layer has {units}, as if reduction were "
                            "16: use the reduction argument, max(1, C // reduction) = {hidden}",
                            c=channels, r=reduction, units=units, hidden=hidden))
        raise Mistake(t("for channels={c}, reduction={r} the hidden layer has {units}; expected "
                        "max(1, C // r) = {hidden}", c=channels, r=reduction, units=units, hidden=hidden))
    downs = [d for d in downs if d.out == hidden]
    ups = [d for d in dense if d.inp == hidden and d.out == channels]
    if not ups:
        raise Mistake(t("no layer maps the {hidden} hidden units back to {c} channels: the MLP is "
                        "C -> C // r -> C, two layers", hidden=hidden, c=channels))
    if shared and (len(downs) > 1 or len(ups) > 1):
        raise Mistake(t("the MLP is not shared: you built one MLP per pooled path. CBAM passes the average- and "
                        "max-pooled vectors through ONE MLP (the same weights) and adds the results"))
    return MLP(downs[0], ups[0])


def spatial_conv(module: nn.Module, kernel_size: int) -> nn.Conv2d:
    """The conv of the spatial gate: the nn.Conv2d from 2 channels to 1."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    found = [c for c in convs if c.in_channels == 2 and c.out_channels == 1]
    if not found:
        raw = [name for name, p in module.named_parameters() if p.dim() == 4 and tuple(p.shape[:2]) == (1, 2)]
        if raw:
            raise Mistake(t("the spatial conv's kernel is a raw parameter ({names}); the exercise asks for an "
                            "nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2), and the check reads your "
                            "weights from it", names=", ".join(raw)))
        single = ([c for c in convs if c.out_channels == 1 and c.kernel_size != (1, 1)]
                  or [c for c in convs if c.out_channels == 1])
        if single:
            raise Mistake(t("the conv takes {n} input channel(s); it should take 2, the channel-wise average map "
                            "and the channel-wise max map, concatenated on dim=1", n=single[0].in_channels))
        if not convs:
            raise Mistake(t("no nn.Conv2d found in your module: create it in __init__, self.conv = nn.Conv2d(2, "
                            "1, kernel_size, padding=kernel_size // 2), so that its weights belong to the module "
                            "and learn (a conv made inside forward is a new, untrained one at every call)"))
        raise Mistake(t("no conv maps 2 channels to 1 (yours: {convs}): the spatial gate turns the 2-channel "
                        "[avg; max] descriptor into one map",
                        convs=", ".join(f"{c.in_channels} -> {c.out_channels}" for c in convs)))
    if len(found) > 1:
        raise Mistake(t("found {n} convs from 2 channels to 1; the spatial gate has one", n=len(found)))
    conv = found[0]
    if conv.kernel_size != (kernel_size, kernel_size):
        raise Mistake(t("asked for kernel_size={k}, the conv's kernel is {kh}×{kw}: pass the kernel_size "
                        "argument on to nn.Conv2d", k=kernel_size, kh=conv.kernel_size[0], kw=conv.kernel_size[1]))
    if conv.dilation != (1, 1):
        raise Mistake(t("the conv is dilated (dilation={dilation}): CBAM's spatial gate is a plain {k}×{k} conv "
                        "(dilation=1; BAM's spatial branch is the dilated one)",
                        dilation=conv.dilation[0], k=kernel_size))
    if conv.stride != (1, 1):
        raise Mistake(t("the conv has stride {stride}: the gate needs one weight per position, so stride=1",
                        stride=conv.stride[0]))
    if conv.padding_mode != "zeros":
        raise Mistake(t("the conv pads with padding_mode={mode!r}; CBAM pads with zeros (the default)",
                        mode=conv.padding_mode))
    return conv


def conv_weights(conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor | None]:
    return conv.weight.detach(), None if conv.bias is None else conv.bias.detach()


def spatial_norm(module: nn.Module) -> nn.BatchNorm2d | None:
    """A BatchNorm2d(1) after the spatial conv, as the CBAM authors' code has (eval mode: an affine map)."""
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d) and m.num_features == 1]
    return norms[0] if len(norms) == 1 else None
