"""Check of exercise 06: a trained model reaches a target accuracy."""

from __future__ import annotations

from torch import nn

from ..arguments import number
from ..i18n import t
from .learner import call
from .report import Mistake, Report


def accuracy(model: nn.Module, loader, target: float, device=None) -> float:
    """Evaluate ``model`` on ``loader`` and check it reaches ``target`` accuracy (a fraction, 0..1)."""
    __tracebackhide__ = True
    from ..train import evaluate

    target = number("target (an accuracy, e.g. 0.93)", target, low=0.0, high=1.0, low_open=True)
    report = Report(t("Accuracy on the test set: at least {target:.0%}", target=target))
    result = {}

    with report.step(t("reaches the target accuracy")):
        result = call(evaluate, model, loader, device=device, what=t("evaluating your model"))
        if result["accuracy"] < target:
            raise Mistake(t("{accuracy:.1%} < {target:.0%}. Put the attention on the residual branch after the "
                            "last BatchNorm (before the addition), train a few more epochs, or check the learning "
                            "rate", accuracy=result["accuracy"], target=target))
    if "accuracy" in result:
        report.note(t("test accuracy {accuracy:.1%}", accuracy=result["accuracy"]))
    report.finish()
    return result["accuracy"]
