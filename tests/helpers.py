"""Small helpers shared by the attention tests."""

from __future__ import annotations

import torch
from torch import nn

import scattn

# Channel counts that every mechanism must take, C < reduction included.
ATTENTION = [name for name in scattn.available_attention() if name != "none"]


def gate_outputs(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run ``module(x)`` once and return its output and every Gate's output by name."""
    maps: dict[str, torch.Tensor] = {}
    handles = [
        sub.register_forward_hook(lambda m, i, o, name=name: maps.__setitem__(name, o))
        for name, sub in module.named_modules()
        if isinstance(sub, scattn.Gate)
    ]
    try:
        out = module(x)
    finally:
        for h in handles:
            h.remove()
    return out, maps


def copy_into(param: torch.Tensor, value: torch.Tensor) -> None:
    """Copy ``value`` into ``param`` (reshaped, e.g. a Linear weight into a 1×1 conv)."""
    with torch.no_grad():
        param.copy_(value.reshape(param.shape))


def build(name: str, channels: int, **kwargs) -> nn.Module:
    return scattn.make_attention(name, channels, **kwargs)


def all_params_have_grad(module: nn.Module) -> list[str]:
    """Names of parameters whose grad is missing or not finite."""
    return [n for n, p in module.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
