"""Calling the learner's code, and checking what it gives back before anything is compared.

Every call goes through :func:`call`, so an exception in the learner's code becomes a
hint with the learner's own lines; every value it returns goes through a validator
(type, dtype, shape, finiteness), so a ``None``, a tuple or a float64 tensor is
named as such instead of breaking a comparison further on.
"""

from __future__ import annotations

import inspect
import warnings

import torch
from torch import nn

from ..i18n import t
from .explain import conv_changes_size
from .report import Mistake, describe

TOL = 1e-5


def call(fn, *args, what: str | None = None, **kwargs):
    """``fn(*args)``; an exception in it becomes a :class:`Mistake` that shows where and why. ``what``
    names the call in the hint ("your code" when not given)."""
    context = {k: kwargs.pop(k) for k in ("gate", "conv", "size") if k in kwargs}
    if not callable(fn):
        raise Mistake(t("the check got {value} ({fn!r:.60}); pass your function or class itself, e.g. "
                        "checks.eca_kernel_size(eca_kernel_size), without calling it",
                        value=kind(fn) or type(fn).__name__, fn=fn))
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 -- the learner's bug, reported, never the checker crashing
        raise Mistake(describe(error, what or t("your code"), **context)) from error


def name_of(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def build(cls, *args, **kwargs) -> nn.Module:
    """``cls(*args, **kwargs)`` in eval mode, or a Mistake saying why it could not be built."""
    arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    if isinstance(cls, nn.Module):
        raise Mistake(t("the check got a built module ({name}(...)); pass the class itself, e.g. "
                        "checks.cbam({name}): the check builds it with several arguments", name=type(cls).__name__))
    with warnings.catch_warnings():
        # torch warns about a layer with 0 units; the check names that mistake itself.
        warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
        module = call(cls, *args, what=f"{name_of(cls)}({arguments})", **kwargs)
    if not isinstance(module, nn.Module):
        raise Mistake(t("{call} gave a {type}; build an nn.Module (class ...(nn.Module) with "
                        "super().__init__() first)", call=f"{name_of(cls)}({arguments})", type=type(module).__name__))
    return module.eval()


def kind(value) -> str | None:
    """What a value that is not a tensor is, in the words of a hint; None for a tensor."""
    if isinstance(value, torch.Tensor):
        return None
    if value is None:
        return t("None: a `return` statement is missing")
    if inspect.ismethod(value) or inspect.isbuiltin(value) or inspect.isfunction(value):
        return t("the method {name} itself, not its result: call it, e.g. {call}()",
                 name=getattr(value, "__name__", "?"), call=getattr(value, "__name__", "f"))
    if isinstance(value, tuple):
        return t("a tuple of {n} values: return one tensor", n=len(value))
    if isinstance(value, list):
        return t("a list of {n} values: return one tensor", n=len(value))
    if type(value).__module__ == "numpy":
        return t("a NumPy array: keep it a torch tensor (no .numpy(), no NumPy functions)")
    return t("a {type}", type=type(value).__name__)


def returned(module, x: torch.Tensor, *, what: str | None = None, gates: dict | None = None,
             conv: nn.Module | None = None, gate: str | None = None) -> torch.Tensor:
    """``module(x)``, checked to be a finite tensor of x's dtype and shape.

    ``what`` names the module in the hints ("your module" when not given); ``gates``
    maps a wrong output shape to the name of the map it is (the learner returned the
    gate instead of x * gate); ``conv`` is the spatial conv, to tell a padding mistake
    from any other change of size.
    """
    what = what or t("your module")
    size = tuple(x.shape[-2:])
    out = call(module, x.clone(), what=what, gate=gate, conv=conv, size=size)  # a clone: x stays as it was
    problem = kind(out)
    if problem:
        raise Mistake(t("{what} returned {problem} (expected one tensor shaped like the input: the input "
                        "re-weighted by the gate)", what=what, problem=problem))
    if out.dtype != x.dtype:
        raise Mistake(t("{what} returned a {got} tensor for a {want} input: keep the input's dtype (no .double(), "
                        "no torch.tensor or torch.from_numpy of float64 NumPy values)", what=what,
                        got=str(out.dtype).replace("torch.", ""), want=str(x.dtype).replace("torch.", "")))
    shape = tuple(out.shape)
    if shape != tuple(x.shape):
        if gates and shape in gates:
            raise Mistake(t("you returned the {gate}, shaped {shape}, instead of the input multiplied by it: "
                            "return x * gate", gate=gates[shape], shape=shape))
        if shape[:2] == tuple(x.shape[:2]) and conv_changes_size(conv, size):
            k = conv.kernel_size[0]
            raise Mistake(t("the output is {out_h}×{out_w} for a {h}×{w} input: the conv changes the map's size. "
                            "With a {k}×{k} kernel use padding = kernel_size // 2 = {half} (yours is {padding})",
                            out_h=shape[2], out_w=shape[3], h=size[0], w=size[1], k=k, half=k // 2,
                            padding=conv.padding))
        raise Mistake(t("the output's shape {shape} differs from the input's {input_shape}; attention re-weights "
                        "the input and keeps its shape", shape=shape, input_shape=tuple(x.shape)))
    if not torch.isfinite(out).all():
        raise Mistake(t("{what} returned NaN or infinite values for a finite input; look for a division or a log",
                        what=what))
    return out


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and torch.allclose(a, b, rtol=TOL, atol=TOL)


def diagnose(out: torch.Tensor, expected: torch.Tensor, mutants: dict[str, torch.Tensor], generic: str) -> None:
    """Pass if ``out`` matches; otherwise raise the hint of the mutant it matches, or ``generic``."""
    if close(out, expected):
        return
    for hint, mutant in mutants.items():
        if close(out, mutant):
            raise Mistake(hint)
    diff = (out - expected).abs().max().item()
    raise Mistake(t("{generic} (largest difference {diff:.3g})", generic=generic, diff=diff))


def gradients_reach(module: nn.Module, x: torch.Tensor, weights: dict[str, torch.Tensor],
                    what: str | None = None) -> None:
    """A backward pass through ``module`` must give every named weight a non-zero gradient; ``weights``'
    names and ``what`` are words of the hints."""
    for p in weights.values():
        p.grad = None
    x = x.detach().clone().requires_grad_(True)  # so that a detached gate still leaves a graph to inspect
    with torch.enable_grad():
        out = returned(module, x, what=what)
        if not out.requires_grad:
            raise Mistake(t("the output carries no gradient: the forward runs under torch.no_grad() (or "
                            "detaches its result), so in a network these weights would never learn. Compute it "
                            "with autograd on"))
        upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
        call(lambda: (out * upstream).sum().backward(), what=t("the backward pass through your module"))
    for name, p in weights.items():
        if not p.requires_grad:
            raise Mistake(t("{name} has requires_grad=False: frozen weights never learn; leave them trainable",
                            name=name))
        if p.grad is None:
            raise Mistake(t("no gradient reaches {name}: the gate is cut off from the graph (torch.no_grad(), "
                            ".detach(), .data, .item() or a NumPy round trip), so it could never learn. The "
                            "output can be right while training is not", name=name))
        if not p.grad.abs().max() > 0:
            raise Mistake(t("the gradient reaching {name} is zero everywhere: a step such as round(), a "
                            "threshold (gate > 0.5) or argmax has no gradient, so it could never learn", name=name))
