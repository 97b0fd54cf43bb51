"""Argument checks, one place for all: a bad value is a ValueError that names what was expected.

Integers may be Python or NumPy integers (``np.int64(3)`` from an array is a fine
channel count); booleans are not integers here, and floats are not either.
"""

from __future__ import annotations

import math
import operator


def integer(name: str, value, minimum: int | None = None) -> int:
    """``value`` as an int, at least ``minimum``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)  # int and NumPy integers; not float, str or bool
    except TypeError:
        raise ValueError(f"{name} must be {_kind(minimum)}, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be {_kind(minimum)}, got {number}")
    return number


def _kind(minimum: int | None) -> str:
    return {None: "an integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")


def positive_int(name: str, value) -> int:
    return integer(name, value, minimum=1)


def non_negative_int(name: str, value) -> int:
    return integer(name, value, minimum=0)


def odd_kernel_size(name: str, value) -> int:
    """Odd, positive kernel sizes keep H×W with padding k // 2."""
    value = positive_int(name, value)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd so that padding {name} // 2 keeps the map's size, got {value}")
    return value


def number(name: str, value, *, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval [low, high] (each end open if asked)."""
    if isinstance(value, bool):
        value = None
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    inside = math.isfinite(x) and (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not inside:
        raise ValueError(f"{name} must be a finite number{_range(low, high, low_open, high_open)}, got {value!r}")
    return x


def _range(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """' in [0, 1)', ' > 0', '' (any finite number): the allowed values in words."""
    if math.isinf(high) and math.isinf(low):
        return ""
    if math.isinf(high):
        return f" {'>' if low_open else '>='} {low:g}"
    if math.isinf(low):
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def positive_number(name: str, value) -> float:
    return number(name, value, low=0.0, low_open=True)


def choice(name: str, value, choices) -> str:
    if value not in tuple(choices):
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


__all__ = ["choice", "integer", "non_negative_int", "number", "odd_kernel_size", "positive_int",
           "positive_number"]
