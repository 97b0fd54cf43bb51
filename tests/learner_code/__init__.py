"""A catalogue of learner code for the exercise checks, right and wrong, as learners write it.

Each module holds the implementations for one check (``CHECK``, a name in
``scattn.checks``). ``@wrong(phrase, ...)`` marks a mistaken implementation and the
phrases its hint must contain; ``@right`` marks a correct one the check must accept.
``tests/test_checks.py`` runs every entry; ``against_main.py`` runs them against an
older ``scattn/checks.py`` to see which verdicts changed.
"""

from __future__ import annotations


def wrong(*phrases: str):
    """Mark learner code the check must reject, with a hint containing every phrase."""
    def mark(obj):
        obj.verdict, obj.phrases = "wrong", phrases
        return obj

    return mark


def right(obj):
    """Mark learner code the check must accept."""
    obj.verdict, obj.phrases = "right", ()
    return obj


def entries(module):
    """(check name, implementation) for every marked object of a catalogue module, in file order."""
    marked = [obj for obj in vars(module).values() if "verdict" in getattr(obj, "__dict__", {})]  # not inherited
    return [(module.CHECK, obj) for obj in marked if obj.__module__ == module.__name__]
