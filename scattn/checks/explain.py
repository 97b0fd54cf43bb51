"""A hint for the exceptions learners' attention code usually raises, read from its message."""

from __future__ import annotations

import re

import torch
from torch import nn

from ..i18n import t


def conv_changes_size(conv: nn.Module | None, size: tuple[int, int] | None) -> bool:
    """Whether the spatial conv alone turns a (1, 2, H, W) map into a different H×W."""
    if conv is None or size is None:
        return False
    try:
        with torch.no_grad():
            out = conv(torch.zeros(1, 2, *size, dtype=conv.weight.dtype))
    except Exception:  # noqa: BLE001 -- a conv that cannot even run on the descriptor: not a size question
        return False
    return tuple(out.shape[-2:]) != tuple(size)


def explain(error: BaseException, *, shown: bool = False, gate: str | None = None,
            conv: nn.Module | None = None, size: tuple[int, int] | None = None) -> str:
    """The hint for ``error``. ``shown``: the learner's lines were printed above it; ``gate``
    ("spatial" or "channel") and the spatial ``conv`` with the input's ``size`` make the
    broadcasting hint name the likely cause."""
    text = str(error)
    if isinstance(error, NotImplementedError):
        return t("the exercise cell still raises NotImplementedError: replace it with your code")
    if "to have" in text and "channels, but got" in text:
        got = re.search(r"expected input\[(\d+), (\d+), (\d+), (\d+)\]", text)
        if got and size and int(got[1]) == 1 and int(got[3]) == 2 * size[0] and int(got[4]) == size[1]:
            return t("the descriptor lost its channel dimension: pool with keepdim=True, so that the average "
                     "and the max are (N, 1, H, W) each and the descriptor (N, 2, H, W)")
        return t("a convolution received the wrong number of channels. Did you pool over the wrong axis? "
                 "Pool over the channels (dim=1) for a spatial map, over H×W (dims 2, 3) for channel weights")
    if "Sizes of tensors must match except in dimension 1" in text:
        return t("the two pooled maps have different shapes. For the spatial descriptor pool over the channels "
                 "(dim=1, keepdim=True), giving two N×1×H×W maps")
    if "mat1 and mat2 shapes cannot be multiplied" in text:
        return t("a Linear layer got a vector of the wrong length. The shared MLP expects C values per image: "
                 "pool over H×W (dims 2, 3), not over the channels")
    if "must match the size of tensor" in text:
        if conv_changes_size(conv, size):
            k = conv.kernel_size[0]
            return t("the conv's output is smaller or larger than its input, so the gate no longer lines up "
                     "with x: with a {k}×{k} kernel use padding = kernel_size // 2 = {half} (yours is {padding})",
                     k=k, half=k // 2, padding=conv.padding)
        if gate == "channel":
            return t("the gate does not broadcast against x: view the channel weights as (N, C, 1, 1), one "
                     "weight per channel for every position")
        if gate == "spatial":
            return t("the gate does not broadcast against x: the spatial map must be (N, 1, H, W), one weight "
                     "per position for every channel (pool with keepdim=True)")
        return t("two tensors do not broadcast. A channel gate must be N×C×1×1 and a spatial gate N×1×H×W so "
                 "that it multiplies every position or every channel")
    if "zero-element" in text or "non-positive" in text or "out_channels" in text:
        return t("a layer has no units: C // reduction is 0 when C < reduction; use max(1, C // reduction)")
    if "could not infer output dtype" in text and "Bool" in text:
        return t("the mean of a bool tensor is undefined: convert it first, inside.float().mean()")
    if "expected scalar type" in text or ("dtype" in text and "Double" in text):
        return t("float64 met float32: keep every tensor float32 (no .double(), no torch.tensor of a float64 "
                 "NumPy array)")
    if "in-place operation" in text or "inplace operation" in text:
        return t("your code changes a tensor in place (x *= gate, x.mul_(...), an inplace ReLU on a tensor "
                 "still needed); autograd cannot go back through that. Write out = x * gate and return out")
    if "numpy() on Tensor that requires grad" in text:
        return t("a tensor that carries gradients cannot become a NumPy array; stay in torch")
    if isinstance(error, TypeError) and ("positional argument" in text or "unexpected keyword" in text):
        return t("the check calls your code with the arguments the exercise names (for example "
                 "cls(channels, reduction=16) or cls(kernel_size=7)); keep that signature")
    if isinstance(error, AttributeError) and "'NoneType'" in text:
        return t("something your code uses is None: does a function or forward lack its `return`?")
    if shown:
        return t("look at the line of your code shown above and the shapes of the tensors it combines")
    return t("print the shapes of the tensors your code combines, one line at a time")
