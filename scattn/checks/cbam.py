"""Check of exercise 04: CBAM with a choice of order, each instance against the formula with its own weights."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..i18n import t
from . import formulas, parts
from .learner import build, close, diagnose, gradients_reach, returned
from .report import Mistake, Report

ORDERS = ("channel-spatial", "spatial-channel", "parallel")
# (channels, reduction, kernel_size): C divisible by r with the paper's 7×7 kernel; C not
# divisible by r with a 3×3 kernel; C < r.
CONFIGS = ((16, 4, 7), (20, 8, 3), (8, 16, 3))


@dataclass
class Parts:
    """One CBAM instance's channel MLP and spatial conv, found by their roles."""

    mlp: parts.MLP
    conv: nn.Conv2d
    norm: nn.BatchNorm2d | None

    @classmethod
    def of(cls, block: nn.Module, channels: int, reduction: int, kernel_size: int) -> Parts:
        return cls(parts.mlp(block, channels, reduction, shared=True, layers=t("a channel MLP")),
                   parts.spatial_conv(block, kernel_size), parts.spatial_norm(block))

    def formula(self, x, order):
        return formulas.cbam(x, order, self.mlp.weights(), parts.conv_weights(self.conv), self.norm)

    def mutants(self, x):
        return formulas.cbam_mutants(x, self.mlp.weights(), parts.conv_weights(self.conv), self.norm)


def _input(c: int, n: int = 3) -> torch.Tensor:
    """H ≠ W and W == C (a channel gate viewed as (N, 1, 1, C) runs, wrongly, only then)."""
    return torch.randn(n, c, 10, c, generator=torch.Generator().manual_seed(c))


def _gate_shapes(x: torch.Tensor) -> dict[tuple, str]:
    n, c, h, w = x.shape
    return {(n, 1, h, w): t("spatial map M_s (N×1×H×W)"), (n, c, 1, 1): t("channel map M_c (N×C×1×1)")}


def _unknown_order(cls, c, r, k) -> None:
    try:
        block = cls(c, reduction=r, kernel_size=k, order="sideways")
    except ValueError as error:
        missing = [o for o in ORDERS if o not in str(error)]
        if missing:
            raise Mistake(t("the ValueError says {message!r}; list the valid orders in it ({orders}) so that a "
                            "typo is easy to fix", message=str(error), orders=", ".join(map(repr, ORDERS)))) from None
        return
    except Exception as error:  # noqa: BLE001 -- the learner's exception, named in the hint
        raise Mistake(t("order='sideways' raised {error}; raise a ValueError that lists the valid orders",
                        error=f"{type(error).__name__}: {error}")) from None
    try:
        with torch.no_grad():
            block(_input(c, n=1))
    except ValueError:
        raise Mistake(t("order='sideways' fails only when the module runs: check it in __init__ and raise the "
                        "ValueError there, so a typo fails where it is written")) from None
    except Exception:  # noqa: BLE001 -- any other failure is still a silent acceptance at build time
        pass
    raise Mistake(t("order='sideways' was accepted; raise a ValueError in __init__ that lists the valid orders"))


def cbam(cls) -> None:
    """Check a CBAM class ``cls(channels, reduction=16, kernel_size=7, order="channel-spatial")``."""
    __tracebackhide__ = True
    report = Report(t("CBAM: F' = M_c(F) ⊗ F, then F'' = M_s(F') ⊗ F'"))

    with report.step(t("builds a shared channel MLP and a 2 -> 1 spatial conv (kernel_size 7 and 3, "
                       "reduction 4, 8, 16)")):
        blocks = {cfg: build(cls, cfg[0], reduction=cfg[1], kernel_size=cfg[2]) for cfg in CONFIGS}
        found = {cfg: Parts.of(blocks[cfg], *cfg) for cfg in CONFIGS}
    report.stop_if_failed()

    with report.step(t("an unknown order raises a ValueError that lists the valid orders")):
        _unknown_order(cls, *CONFIGS[0])

    with report.step(t("keeps the input's shape")):
        for cfg, block in blocks.items():
            for x in (_input(cfg[0]), _input(cfg[0], n=1)):
                with torch.no_grad():
                    returned(block, x, conv=found[cfg].conv, gates=_gate_shapes(x))
    report.stop_if_failed()

    with report.step(t("default order: channel first, then spatial (the paper), with your own weights")):
        for cfg, block in blocks.items():
            x = _input(cfg[0])
            with torch.no_grad():
                out = returned(block, x)
                diagnose(out, found[cfg].formula(x, "channel-spatial"), found[cfg].mutants(x),
                         t("for channels, reduction, kernel_size = {cfg} the output differs from CBAM's "
                           "channel-then-spatial formula", cfg=cfg))

    with report.step(t("order='spatial-channel' and order='parallel' compute their arrangements")):
        for order in ORDERS[1:]:
            for c, r, k in CONFIGS[:2]:
                block = build(cls, c, reduction=r, kernel_size=k, order=order)
                own = Parts.of(block, c, r, k)  # this instance's weights, whatever its structure
                x = _input(c)
                with torch.no_grad():
                    out = returned(block, x, what=t("your module with order={order!r}", order=order))
                    if close(out, own.formula(x, order)):
                        continue
                    for other in ORDERS:
                        if close(out, own.formula(x, other)):
                            raise Mistake(t("order={order!r} computes the {other} arrangement: pick the "
                                            "arrangement from the order argument in forward",
                                            order=order, other=other))
                raise Mistake(t("order={order!r} computes none of the three arrangements with its own weights "
                                "(channels={c}, reduction={r}, kernel_size={k})", order=order, c=c, r=r, k=k))

    with report.step(t("a backward pass reaches the channel MLP and the spatial conv (both can learn)")):
        cfg = CONFIGS[0]
        x = _input(cfg[0]) + torch.tensor([1.0, -1.0, 0.5])[:, None, None, None]
        gradients_reach(blocks[cfg], x, {t("the channel MLP's first layer"): found[cfg].mlp.down.weight,
                                         t("the channel MLP's second layer"): found[cfg].mlp.up.weight,
                                         t("the spatial conv's weight"): found[cfg].conv.weight})
    report.finish()

