"""Argument checks, one place for all: a bad value is a ValueError that names what was expected.

Integers may be Python or NumPy integers (``np.int64(3)`` from an array is a fine
channel count); booleans are not integers here, and floats are not either. Checks
return the value as a plain Python one, so that it prints and compares as such.
"""

from __future__ import annotations

import difflib
import math
import operator

import torch


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


def known_name(kind: str, value, names) -> str:
    """``value`` as one of ``names``, case, surrounding spaces and ``_`` for ``-`` ignored; else a
    ValueError listing them, with the closest one when there is one."""
    key = str(value).strip().lower().replace("_", "-")
    if key not in names:
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown {kind} {value!r}{hint}; expected one of {', '.join(names)}")
    return key


def nchw(owner: str, x, channels: int | None = None) -> torch.Tensor:
    """``x`` if it is a floating-point (N, C, H, W) tensor with H, W >= 1 and, when given,
    ``channels`` channels; else a ValueError saying what ``owner`` expects. N = 0 is a batch."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{owner} expects a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{owner} expects a 4-D tensor (N, C, H, W), got {x.dim()}-D with shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{owner} was built for {channels} channel{'s' * (channels != 1)} but the input has "
                         f"{x.shape[1]} (shape {tuple(x.shape)}, channels are dim 1)")
    if not x.is_floating_point():
        raise ValueError(f"{owner} expects a floating-point tensor (float32, float64, float16 or bfloat16), "
                         f"got {x.dtype}: convert it with x.float(), and images of 0..255 with x.float() / 255")
    if 0 in x.shape[2:]:
        raise ValueError(f"{owner} expects H and W of at least 1, got shape {tuple(x.shape)}")
    return x


__all__ = ["choice", "integer", "known_name", "nchw", "non_negative_int", "number", "odd_kernel_size",
           "positive_int", "positive_number"]
