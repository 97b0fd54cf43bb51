"""ECA kernel-size functions learners write for exercise 05."""

from __future__ import annotations

import math

import numpy as np
import torch

from . import right, wrong

CHECK = "eca_kernel_size"


@right
def like_the_solution(channels, gamma=2, b=1):
    t = int((math.log2(channels) + b) / gamma)
    return t if t % 2 else t + 1


@right
def with_bit_length(channels):
    # floor(log2 C) from the integer itself: int((log2 C + 1) / 2) == (floor(log2 C) + 1) // 2
    t = (channels.bit_length() - 1 + 1) // 2
    return t + 1 - t % 2


@right
def numpy_log2(channels):
    t = int((np.log2(channels) + 1) / 2)
    k = t if t % 2 == 1 else t + 1
    return int(k)


@right
def odd_by_arithmetic(channels):
    t = int(abs((math.log(channels, 2) + 1) / 2))
    return t // 2 * 2 + 1


@wrong("some sizes are even", "t + 1")
def forgets_to_make_it_odd(channels):
    return int((math.log2(channels) + 1) / 2)


@wrong("Return an int", "int(...)")
def returns_a_float(channels):
    t = int((math.log2(channels) + 1) / 2)
    return float(t if t % 2 else t + 1)


@wrong("clamp k to at least 3")
def clamps_like_timm(channels):
    t = int(abs((math.log2(channels) + 1) / 2))
    return max(t if t % 2 else t + 1, 3)


@wrong("rounded (log2(C) + 1) / 2")
def rounds_instead_of_truncating(channels):
    t = round((math.log2(channels) + 1) / 2)
    return t if t % 2 else t + 1


@wrong("log base 2")
def natural_log(channels):
    t = int((math.log(channels) + 1) / 2)
    return t if t % 2 else t + 1


@wrong("t - 1", "t + 1")
def makes_it_odd_downwards(channels):
    t = int((math.log2(channels) + 1) / 2)
    return t if t % 2 else t - 1


@wrong("returned None", "`return` statement is missing")
def forgets_to_return(channels):
    t = int((math.log2(channels) + 1) / 2)
    k = t if t % 2 else t + 1  # noqa: F841 -- the learner's mistake: no return


@wrong("a Tensor", "Return an int")
def returns_a_tensor(channels):
    t = torch.floor((torch.log2(torch.tensor(float(channels))) + 1) / 2).int()
    return t + (1 - t % 2)
