"""Check of exercise 07, part 1: capturing every gate's map with forward hooks."""

from __future__ import annotations

import torch
from torch import nn

from ..i18n import t
from .learner import call, close, kind
from .report import Mistake, Report


def _model() -> nn.Module:
    from ..models import SmallCNN

    torch.manual_seed(0)
    return SmallCNN(attention="cbam").eval()


def _any_hooks(model: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def _stored(name: str, value) -> str | None:
    """What is wrong with the value stored for one gate, in the words of a hint; None if it is a tensor."""
    if isinstance(value, tuple):
        return t("the value for {name!r} is a tuple: that is the hook's `inputs` argument (a forward hook gets "
                 "module, inputs, output). Store output.detach()", name=name)
    if isinstance(value, list):
        return t("the value for {name!r} is a list: store one tensor per gate, maps[name] = output.detach() "
                 "(each gate runs once in this model)", name=name)
    problem = kind(value)
    if problem:
        return t("the value for {name!r} is {problem}. Store the tensor: output.detach()", name=name, problem=problem)
    return None


def capture_attention(fn) -> None:
    """Check ``fn(model, x) -> {layer name: map}`` against :func:`scattn.maps.capture_attention`."""
    __tracebackhide__ = True
    from .. import maps

    report = Report(t("capture_attention(model, x): every gate's map by layer name, via forward hooks"))
    model = _model()
    x = torch.rand(2, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    want = maps.capture_attention(model, x)

    with report.step(t("returns a dict {{layer name: map tensor}}")):
        got = call(fn, model, x, what=t("your function"))
        if not isinstance(got, dict):
            raise Mistake(t("your function returned {value}; return the dict maps, {{gate name: its output}}",
                            value=kind(got) or type(got).__name__))
        for name, value in got.items():
            problem = _stored(name, value)
            if problem:
                raise Mistake(problem)
    report.stop_if_failed()

    with report.step(t("maps every gate's output, keyed by its module name")):
        if set(got) != set(want):
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want), key=str)
            raise Mistake(t("layer names differ (missing {missing}, unexpected {extra}): hook every scattn.Gate "
                            "found by model.named_modules() and key the map by that name",
                            missing=missing[:3], extra=extra[:3]))
        for name in want:
            stored = got[name].detach()
            if stored.shape != want[name].shape:
                raise Mistake(t("the map for {name!r} has shape {shape} but the gate's output is {gate_shape}: "
                                "store the hook's output as it is (no squeeze, view or indexing)",
                                name=name, shape=tuple(stored.shape), gate_shape=tuple(want[name].shape)))
            if not close(stored.float().cpu(), want[name].float()):
                raise Mistake(t("the map for {name!r} differs from the gate's output: store the hook's OUTPUT "
                                "(the gate), not its input", name=name))

    with report.step(t("maps are detached (no autograd graph kept alive)")):
        if any(isinstance(value, torch.Tensor) and value.requires_grad for value in got.values()):
            raise Mistake(t("the maps still carry the autograd graph: run the forward under torch.no_grad() "
                            "or store output.detach()"))

    with report.step(t("hooks are removed afterwards, even when the forward pass raises")):
        if _any_hooks(model):
            raise Mistake(t("hooks are still registered after your function returned: keep the handles from "
                            "register_forward_hook and call handle.remove() in a finally block"))

        class Boom(Exception):
            pass

        def exploding(module, inputs):
            raise Boom

        failing = _model()
        handle = failing.fc.register_forward_pre_hook(exploding)
        try:
            fn(failing, x)
        except Boom:
            pass
        except Exception:  # noqa: BLE001 -- the learner's code may fail its own way; only the hooks matter here
            pass
        finally:
            handle.remove()
        if _any_hooks(failing):
            raise Mistake(t("when the forward pass fails, your hooks stay registered: remove them in a "
                            "finally block"))
    report.finish()
