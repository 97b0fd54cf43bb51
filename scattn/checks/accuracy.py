"""Check of exercise 06: a trained model reaches a target accuracy."""

from __future__ import annotations

from torch import nn

from ..arguments import number
from .learner import call
from .report import Mistake, Report


def accuracy(model: nn.Module, loader, target: float, device=None) -> float:
    """Evaluate ``model`` on ``loader`` and check it reaches ``target`` accuracy (a fraction, 0..1)."""
    __tracebackhide__ = True
    from ..train import evaluate

    target = number("target (an accuracy, e.g. 0.93)", target, low=0.0, high=1.0, low_open=True)
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
