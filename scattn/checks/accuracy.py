"""Check of exercise 06: a trained model reaches a target accuracy."""

from __future__ import annotations

from torch import nn

from .learner import call
from .report import Mistake, Report


def accuracy(model: nn.Module, loader, target: float, device=None) -> float:
    """Evaluate ``model`` on ``loader`` and check it reaches ``target`` accuracy (a fraction, 0..1)."""
    __tracebackhide__ = True
    from ..train import evaluate

    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1], e.g. 0.93, got {target!r}")
    report = Report(f"Accuracy on the test set: at least {target:.0%}")
    result = {}

    with report.step("reaches the target accuracy"):
        result = call(evaluate, model, loader, device=device, what="evaluating your model")
        if result["accuracy"] < target:
            raise Mistake(
                f"{result['accuracy']:.1%} < {target:.0%}. Put the attention on the residual branch after the "
                f"last BatchNorm (before the addition), train a few more epochs, or check the learning rate")
    if "accuracy" in result:
        report.note(f"test accuracy {result['accuracy']:.1%}")
    report.finish()
    return result["accuracy"]
