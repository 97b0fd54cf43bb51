"""Checks of exercise 02 (and 03's fix): SE and CBAM's channel gate, two bottleneck MLPs."""

from __future__ import annotations

import torch

from ..i18n import t
from . import formulas, parts
from .learner import build, diagnose, gradients_reach, returned
from .report import Report

# C divisible by r; C not divisible by r (C // r rounds down); C < r (C // r is 0).
CONFIGS = ((16, 4), (20, 8), (8, 16))
SIZES = ", ".join(f"({c}, {r})" for c, r in CONFIGS)


def _inputs(c: int) -> list[torch.Tensor]:
    """W == C first (a gate viewed as (N, 1, 1, C) runs, wrongly, only then); H ≠ W; a batch of one."""
    g = torch.Generator().manual_seed(0)
    return [torch.randn(3, c, 9, c, generator=g), torch.randn(1, c, 5, 7, generator=g)]


def _learning_input(c: int) -> torch.Tensor:
    """Images with offsets of both signs, so that every hidden ReLU unit is active for some image."""
    g = torch.Generator().manual_seed(1)
    offsets = torch.tensor([2.0, -2.0, 1.0, -1.0, 0.5, -0.5])[:, None, None, None]
    return torch.randn(6, c, 5, 7, generator=g) + offsets


def _gate_shapes(x: torch.Tensor, name: str) -> dict[tuple, str]:
    n, c = x.shape[:2]
    return {(n, c, 1, 1): t("{name} (N×C×1×1)", name=name), (n, c): t("{name} (N×C)", name=name)}


def channel_attention(cls) -> None:
    """Check a CBAM channel gate class ``cls(channels, reduction=16)``."""
    __tracebackhide__ = True
    report = Report(t("Channel attention: M_c(F) = σ(MLP(AvgPool(F)) + MLP(MaxPool(F))), one shared MLP"))

    with report.step(t("builds ONE MLP C -> max(1, C // r) -> C for (C, r) = {sizes}", sizes=SIZES)):
        gates = {(c, r): build(cls, c, reduction=r) for c, r in CONFIGS}
        mlps = {(c, r): parts.mlp(gates[c, r], c, r, shared=True) for c, r in CONFIGS}
    report.stop_if_failed()

    with report.step(t("keeps the input's shape (H ≠ W, a batch of one)")):
        for (c, _), gate in gates.items():
            for x in _inputs(c):
                with torch.no_grad():
                    returned(gate, x, gate="channel", gates=_gate_shapes(x, t("channel map M_c")))
    report.stop_if_failed()

    with report.step(t("matches σ(MLP(mean over H×W) + MLP(max over H×W)) ⊗ x with your own weights")):
        for (c, r), gate in gates.items():
            weights = mlps[c, r].weights()
            for x in _inputs(c):
                with torch.no_grad():
                    out = returned(gate, x, gate="channel")
                    diagnose(out, x * formulas.channel_map(x, weights), formulas.channel_mutants(x, weights),
                             t("for channels={c}, reduction={r} the output differs from "
                               "σ(MLP(mean over H×W) + MLP(max over H×W)) ⊗ x", c=c, r=r))

    with report.step(t("a backward pass reaches both layers of the MLP (the gate can learn)")):
        c, r = CONFIGS[0]
        gradients_reach(gates[c, r], _learning_input(c), {t("the MLP's first layer"): mlps[c, r].down.weight,
                                                         t("the MLP's second layer"): mlps[c, r].up.weight})
    report.finish()


def squeeze_excitation(cls) -> None:
    """Check an SE class ``cls(channels, reduction=16)``: squeeze, excite, scale."""
    __tracebackhide__ = True
    report = Report(t("Squeeze-and-Excitation: s = σ(W2 δ(W1 GAP(u))), x̃ = s ⊗ u"))

    with report.step(t("builds FC layers C -> max(1, C // r) -> C for (C, r) = {sizes}", sizes=SIZES)):
        blocks = {(c, r): build(cls, c, reduction=r) for c, r in CONFIGS}
        mlps = {(c, r): parts.mlp(blocks[c, r], c, r, shared=False, layers=t("FC layers")) for c, r in CONFIGS}
    report.stop_if_failed()

    with report.step(t("keeps the input's shape (H ≠ W, a batch of one)")):
        for (c, _), block in blocks.items():
            for x in _inputs(c):
                with torch.no_grad():
                    returned(block, x, gate="channel", gates=_gate_shapes(x, t("excitation s")))
    report.stop_if_failed()

    with report.step(t("matches σ(W2 ReLU(W1 mean over H×W)) ⊗ x with your own weights")):
        for (c, r), block in blocks.items():
            weights = mlps[c, r].weights()
            for x in _inputs(c):
                with torch.no_grad():
                    out = returned(block, x, gate="channel")
                    diagnose(out, x * formulas.se_map(x, weights), formulas.se_mutants(x, weights),
                             t("for channels={c}, reduction={r} the output differs from "
                               "σ(W2 ReLU(W1 mean over H×W)) ⊗ x", c=c, r=r))

    with report.step(t("a backward pass reaches both FC layers (the excitation can learn)")):
        c, r = CONFIGS[0]
        gradients_reach(blocks[c, r], _learning_input(c), {t("the first FC layer"): mlps[c, r].down.weight,
                                                           t("the second FC layer"): mlps[c, r].up.weight})
    report.finish()
