"""The ✓ / ✗ report of one exercise check: one ``with report.step(...)`` per property.

    report = Report("Spatial attention: ...")
    with report.step("builds one nn.Conv2d from 2 channels to 1"):
        gate = build(cls, kernel_size=7)      # anything raised in here becomes a ✗ line
    report.stop_if_failed()                   # later steps need what this one built
    with report.step("keeps the input's shape"):
        ...
    report.finish()                           # prints the lines; raises the hints

Whatever goes wrong inside a step, a :class:`Mistake` with its hint, an exception
from the learner's code or one from a value their code returned, ends that step
with a ✗ line and a hint. Nothing raised inside a step escapes as a traceback of
the checker.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from contextlib import contextmanager

import torch

from ..i18n import t
from .explain import explain


class Mistake(Exception):
    """A property failed; the message is the hint shown to the learner."""


class Report:
    """Collects ✓ / ✗ lines; :meth:`finish` prints them and raises an AssertionError with the hints."""

    def __init__(self, title: str):
        self.title = title
        self.lines: list[str] = []
        self.hints: list[str] = []

    @property
    def passed(self) -> bool:
        return not self.hints

    @contextmanager
    def step(self, description: str):
        """One property: ✓ when the block runs through, ✗ and a hint when anything in it raises."""
        try:
            yield
        except Mistake as mistake:
            self._fail(description, str(mistake))
        except Exception as error:  # noqa: BLE001 -- something of the learner's broke: report it, never crash
            if learner_frames(error):
                self._fail(description, describe(error, t("your code")))
            else:
                self._fail(description, t("the check could not use what your code returned ({error}); compare "
                                          "it with what the exercise asks", error=f"{type(error).__name__}: {error}"))
        else:
            self.lines.append(f"  ✓ {description}")

    def note(self, line: str) -> None:
        """An extra line under the last step (a measured value, say)."""
        self.lines.append(f"    {line}")

    def stop_if_failed(self) -> None:
        """End the check here if a step has failed: the steps below need what it tests."""
        __tracebackhide__ = True
        if self.hints:
            self.lines.append("  - " + t("the other checks run once the ✗ above is fixed"))
            self.finish()

    def finish(self) -> None:
        __tracebackhide__ = True  # IPython and pytest hide this frame; the hint is what matters
        print(self.title)
        print("\n".join(self.lines))
        if self.hints:
            raise AssertionError("\n".join(t("Hint: {hint}", hint=h) for h in self.hints))
        print(t("All checks passed."))

    def _fail(self, description: str, hint: str) -> None:
        self.lines.append(f"  ✗ {description}")
        self.hints.append(t("{step}: {hint}", step=description, hint=hint))


# ---- the learner's own frames of a traceback ---------------------------------------------------

_CHECKS = os.path.dirname(os.path.abspath(__file__))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))
_STDLIB = {os.path.abspath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}


def _is_learners(filename: str) -> bool:
    """False for frames of this checker, of torch and of Python's standard library."""
    path = os.path.abspath(filename)
    if path.startswith((_CHECKS + os.sep, _TORCH + os.sep)):
        return False
    in_stdlib = any(path.startswith(d + os.sep) for d in _STDLIB)
    return not in_stdlib or "-packages" in path


def _where(filename: str) -> str:
    """'Cell In[7]' for a notebook cell (as IPython writes it), else the file's path."""
    try:
        from IPython import get_ipython

        label = get_ipython().compile.format_code_name(filename)
        if label:
            return " ".join(label)
    except Exception:  # noqa: BLE001 -- outside IPython, or an IPython without this method
        pass
    return f'File "{filename}"'


def learner_frames(error: BaseException) -> list[str]:
    """The frames of ``error``'s traceback that are the learner's code, formatted, innermost last."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _is_learners(f.filename)]
    lines = []
    for frame in frames[-4:]:
        lines.append(f"        {_where(frame.filename)}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"          {frame.line.strip()}")
    return lines


def describe(error: BaseException, what: str, hint: str | None = None, **context) -> str:
    """'<what> raised <Type>: <message>', the learner's lines where it happened, then a hint."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = message.split(" Hint: ")[0]  # torch's own advice (anomaly detection) is not for learners
    if len(message) > 300:
        message = message[:300] + " ..."
    frames = learner_frames(error)
    raised = f"{type(error).__name__}: {message}" if message else type(error).__name__
    text = t("{what} raised {error}", what=what, error=raised)
    if frames:
        text += "\n      " + t("in your code:") + "\n" + "\n".join(frames)
    return f"{text}\n      -> {hint or explain(error, shown=bool(frames), **context)}"
