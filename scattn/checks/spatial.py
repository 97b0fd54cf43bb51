"""Check of exercise 01 (and 03's fix): CBAM's spatial gate."""

from __future__ import annotations

import torch

from ..i18n import t
from . import formulas, parts
from .learner import build, diagnose, gradients_reach, returned
from .report import Report

KERNEL_SIZES = (7, 3)


def _inputs() -> list[torch.Tensor]:
    """H ≠ W; a batch of one; 1, 3 and 64 channels."""
    g = torch.Generator().manual_seed(0)
    return [torch.randn(n, c, h, w, generator=g) for n, c, h, w in
            ((3, 8, 10, 12), (1, 3, 7, 9), (2, 1, 6, 5), (2, 64, 6, 5))]


def spatial_attention(cls) -> None:
    """Check a CBAM spatial gate class ``cls(kernel_size=7)``."""
    __tracebackhide__ = True
    report = Report(t("Spatial attention: M_s(F) = σ(f^{{k×k}}([AvgPool_c(F); MaxPool_c(F)])), F' = M_s(F) ⊗ F"))
    inputs = _inputs()

    with report.step(t("builds one nn.Conv2d from 2 channels to 1, for kernel_size 7 and 3")):
        gates = {k: build(cls, kernel_size=k) for k in KERNEL_SIZES}
        convs = {k: parts.spatial_conv(gates[k], k) for k in KERNEL_SIZES}
    report.stop_if_failed()

    with report.step(t("keeps the input's shape (H ≠ W, a batch of one, 1, 3 and 64 channels)")):
        for k, gate in gates.items():
            for x in inputs:
                n, _, h, w = x.shape
                with torch.no_grad():
                    returned(gate, x, conv=convs[k], gate="spatial",
                             gates={(n, 1, h, w): t("spatial map M_s (N×1×H×W)")})
    report.stop_if_failed()

    with report.step(t("matches σ(conv([mean over C; max over C])) ⊗ x with your own weights")):
        for k, gate in gates.items():
            w, b = parts.conv_weights(convs[k])
            norm = parts.spatial_norm(gate)
            for x in inputs:
                with torch.no_grad():
                    out = returned(gate, x, conv=convs[k], gate="spatial")
                    diagnose(out, x * formulas.spatial_map(x, w, b, norm=norm),
                             formulas.spatial_mutants(x, w, b, norm),
                             t("with kernel_size={k} the output differs from σ(conv([mean over dim 1; "
                               "max over dim 1])) ⊗ x", k=k))

    with report.step(t("a backward pass reaches the conv's weights (the gate can learn)")):
        for k, gate in gates.items():
            gradients_reach(gate, inputs[0], {t("the conv's weight"): convs[k].weight})
    report.finish()
