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
        layers: str = "one MLP") -> MLP:
    """The bottleneck MLP of ``module``, built for ``channels`` and ``reduction``."""
    hidden = max(1, channels // reduction)
    dense = _dense_layers(module)
    downs = [d for d in dense if d.inp == channels and d.out != channels]
    if not downs:
        raw = _raw_parameters(module, channels)
        if raw:
            raise Mistake(f"the MLP's weights are raw parameters ({', '.join(raw)}); the exercise asks for "
                          f"nn.Linear layers (1×1 nn.Conv2d layers work too), and the check reads your weights "
                          f"from them")
        shapes = [tuple(p.shape) for p in module.parameters()]
        raise Mistake(f"expected {layers} {channels} -> {hidden} -> {channels} (nn.Linear or 1×1 nn.Conv2d) "
                      f"created in __init__; no layer of your module takes {channels} inputs (its parameters "
                      f"have shapes {shapes})")
    widths = sorted({d.out for d in downs})
    if hidden not in widths:
        width = widths[0]
        where = f"for channels={channels}, reduction={reduction}"
        units = f"{width} unit" + ("" if width == 1 else "s")
        if width == 0:
            raise Mistake(f"{where} the hidden width C // r is 0, a layer with no units: use max(1, C // r)")
        if width == math.ceil(channels / reduction):
            raise Mistake(f"{where} the hidden layer has {units}: you rounded C / r up. Use "
                          f"max(1, C // r) = {hidden}, rounded down (as the papers' code does)")
        if reduction != 16 and width == max(1, channels // 16):
            raise Mistake(f"{where} the hidden layer has {units}, as if reduction were 16: use the "
                          f"reduction argument, max(1, C // reduction) = {hidden}")
        raise Mistake(f"{where} the hidden layer has {units}; expected max(1, C // r) = {hidden}")
    downs = [d for d in downs if d.out == hidden]
    ups = [d for d in dense if d.inp == hidden and d.out == channels]
    if not ups:
        raise Mistake(f"no layer maps the {hidden} hidden units back to {channels} channels: the MLP is "
                      f"C -> C // r -> C, two layers")
    if shared and (len(downs) > 1 or len(ups) > 1):
        raise Mistake("the MLP is not shared: you built one MLP per pooled path. CBAM passes the average- and "
                      "max-pooled vectors through ONE MLP (the same weights) and adds the results")
    return MLP(downs[0], ups[0])


def spatial_conv(module: nn.Module, kernel_size: int) -> nn.Conv2d:
    """The conv of the spatial gate: the nn.Conv2d from 2 channels to 1."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    found = [c for c in convs if c.in_channels == 2 and c.out_channels == 1]
    if not found:
        raw = [name for name, p in module.named_parameters() if p.dim() == 4 and tuple(p.shape[:2]) == (1, 2)]
        if raw:
            raise Mistake(f"the spatial conv's kernel is a raw parameter ({', '.join(raw)}); the exercise asks "
                          f"for an nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2), and the check reads "
                          f"your weights from it")
        single = ([c for c in convs if c.out_channels == 1 and c.kernel_size != (1, 1)]
                  or [c for c in convs if c.out_channels == 1])
        if single:
            raise Mistake(f"the conv takes {single[0].in_channels} input channel(s); it should take 2, the "
                          f"channel-wise average map and the channel-wise max map, concatenated on dim=1")
        if not convs:
            raise Mistake("no nn.Conv2d found in your module: create it in __init__, self.conv = nn.Conv2d(2, 1, "
                          "kernel_size, padding=kernel_size // 2), so that its weights belong to the module and "
                          "learn (a conv made inside forward is a new, untrained one at every call)")
        raise Mistake(f"no conv maps 2 channels to 1 (yours: "
                      f"{', '.join(f'{c.in_channels} -> {c.out_channels}' for c in convs)}): the spatial gate "
                      f"turns the 2-channel [avg; max] descriptor into one map")
    if len(found) > 1:
        raise Mistake(f"found {len(found)} convs from 2 channels to 1; the spatial gate has one")
    conv = found[0]
    if conv.kernel_size != (kernel_size, kernel_size):
        raise Mistake(f"asked for kernel_size={kernel_size}, the conv's kernel is "
                      f"{conv.kernel_size[0]}×{conv.kernel_size[1]}: pass the kernel_size argument on to "
                      f"nn.Conv2d")
    if conv.dilation != (1, 1):
        raise Mistake(f"the conv is dilated (dilation={conv.dilation[0]}): CBAM's spatial gate is a plain "
                      f"{kernel_size}×{kernel_size} conv (dilation=1; BAM's spatial branch is the dilated one)")
    if conv.stride != (1, 1):
        raise Mistake(f"the conv has stride {conv.stride[0]}: the gate needs one weight per position, so "
                      f"stride=1")
    if conv.padding_mode != "zeros":
        raise Mistake(f"the conv pads with padding_mode={conv.padding_mode!r}; CBAM pads with zeros (the "
                      f"default)")
    return conv


def conv_weights(conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor | None]:
    return conv.weight.detach(), None if conv.bias is None else conv.bias.detach()


def spatial_norm(module: nn.Module) -> nn.BatchNorm2d | None:
    """A BatchNorm2d(1) after the spatial conv, as the CBAM authors' code has (eval mode: an affine map)."""
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d) and m.num_features == 1]
    return norms[0] if len(norms) == 1 else None
