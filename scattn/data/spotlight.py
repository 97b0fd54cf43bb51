"""Spotlight digits: several digits, each under a light of its own; name the one lit brightest.

A task where *where* to look depends on context. Each canvas has two channels. The
first holds ``n_digits`` scikit-learn digits, one in each of as many cells of a 2×2
grid, each drawn at a random contrast. The second holds a bar (the "spotlight")
just below every digit, each at a random brightness. The label is the class of the
digit whose bar is brightest::

    from scattn import data

    train = data.spotlight_digits("train")  # 4,000 canvases, 2 × 40 × 40
    image, label = train[0]                 # (2, 40, 40) float32 and a 0-d int64 tensor
    train.classes[0], train.cues[0]         # the four digits' classes and their bars' brightness
    train.target[0]                         # which of the four is the answer

The digits of a canvas are of different classes, so the label says which one was
chosen. What decides is *relative* brightness: a bar of 0.5 wins on one canvas and
loses on the next. A digit's own contrast is drawn independently of its bar, so the
brightest digit is not a clue. docs/results.md (section 2) measures what a plain CNN,
a spatial gate, an additive map and an extra convolution make of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..arguments import choice, integer, non_negative_int, number, positive_int
from ..runtime import data_dir
from .cache import cached
from .canvases import Canvases
from .device import DeviceLoader, tensor_loaders
from .sources import SPLITS, paste, source_digits, source_split, upsample

CANVAS_SIZE = 40  # canvas side, pixels: a 2×2 grid of 20-pixel cells
DIGIT_SIZE = 12  # side of a digit (an 8×8 scikit-learn digit, upsampled)
N_DIGITS = 4  # digits per canvas, one per cell
CUE_GAP = 3  # rows between a digit's bottom edge and its bar
CUE_HEIGHT, CUE_WIDTH = 3, 8  # the bar, centred under the digit
CONTRAST = (0.2, 1.0)  # a digit's ink is multiplied by a uniform draw from this range
CUE_RANGE = (0.2, 1.0)  # a bar's brightness is a uniform draw from this range
CUE_MARGIN = 0.15  # the brightest bar beats the runner-up by at least this much
LIGHTS = ("all", "one")  # every digit lit, the brightest wins; or only the answer lit
BARS = ("below", "outside")  # every bar below its digit; or above it in the grid's top row
DEFAULT_COUNTS = {"train": 4000, "test": 1000}
FORMAT_VERSION = 1  # bump when generation changes, so old cache files are not reused
MAX_DRAWS = 1000  # rounds of redrawing the bars of canvases whose brightest bar does not lead enough


class SpotlightDigits(Canvases):
    """Canvases of digits under spotlights of random brightness.

    images   (N, 2, S, S) float32 in [0, 1]: channel 0 the digits, channel 1 the bars
    labels   (N,) int64, the class of the digit whose bar is the brightest
    classes  (N, K) int64, every digit's class (all different on a canvas)
    cues     (N, K) float32, every bar's brightness as drawn (the canvas holds it to 1/255; 0 is dark)
    contrasts (N, K) float32, every digit's contrast
    boxes    (N, K, 4) int64, (x0, y0, x1, y1) of every digit, x1/y1 exclusive
    sources  (N, K) int64, every digit's index in ``sklearn.datasets.load_digits()``
    target   (N,) int64, the index k of the answer: ``labels == classes[arange(N), target]``

    ``dataset[i]`` is ``(image, label)``. Build one with :func:`spotlight_digits`.
    """

    def __init__(self, images, labels, classes, cues, contrasts, boxes, sources, params: dict | None = None):
        n = len(labels)
        if images.dim() != 4 or images.shape[0] != n or images.shape[1] != 2:
            raise ValueError(f"images must be (N, 2, S, S) with N = {n}, got {tuple(images.shape)}")
        k = classes.shape[1] if classes.dim() == 2 else -1
        for name, value, shape in [("classes", classes, (n, k)), ("cues", cues, (n, k)),
                                   ("contrasts", contrasts, (n, k)), ("boxes", boxes, (n, k, 4)),
                                   ("sources", sources, (n, k))]:
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} must be {shape} (N = {n}, K = {k}), got {tuple(value.shape)}")
        self.images = images
        self.labels = labels
        self.classes = classes
        self.cues = cues
        self.contrasts = contrasts
        self.boxes = boxes
        self.sources = sources
        self.target = cues.argmax(dim=1)
        self.params = dict(params or {})

    def size_text(self) -> str:
        """The two channels, then H×W."""
        c, h, w = self.images.shape[1:]
        return f"{c}×{h}×{w}"


def spotlight_digits(
    split: str = "train",
    n: int | None = None,
    *,
    canvas_size: int = CANVAS_SIZE,
    digit_size: int = DIGIT_SIZE,
    n_digits: int = N_DIGITS,
    cue_gap: int = CUE_GAP,
    contrast: tuple[float, float] = CONTRAST,
    cue_range: tuple[float, float] = CUE_RANGE,
    cue_margin: float = CUE_MARGIN,
    lights: str = "all",
    bars: str = "below",
    seed: int = 0,
    root: str | os.PathLike | None = None,
    cache: bool = True,
) -> SpotlightDigits:
    """``n`` spotlight-digit canvases of ``split`` ("train" or "test"), made from ``seed``.

    The canvas (``canvas_size`` square) is cut into a 2×2 grid of cells; ``n_digits``
    (1 to 4) cells, chosen at random, get one digit each, of ``digit_size`` pixels,
    at a random place in the cell, its ink scaled by a contrast drawn uniformly from
    ``contrast``. ``cue_gap`` rows below each digit, a 3×8 bar in the second channel
    has a brightness drawn uniformly from ``cue_range``; the draws of a canvas are
    repeated until the brightest bar beats the second by ``cue_margin``. The digits
    of a canvas have different classes and come from the ``split``'s side of the
    shared source split (:func:`scattn.data.source_split`), so no handwritten digit
    is in both splits. ``lights="one"`` keeps only the answer's bar (the others are
    dark): selection by presence, on/off, instead of a contest. ``bars="outside"`` puts
    the top row's bars above their digits, so that with a large ``cue_gap`` no bar
    lies between two digits. With ``n_digits=1``
    the task is just naming one digit: the ceiling a network's recognition sets.

    The same arguments always give the same canvases; with ``cache=True`` they are
    stored in ``root`` (default :func:`scattn.runtime.data_dir`) under a name that
    encodes every argument, checksummed, and read back next time. ``n`` defaults to
    4,000 for train and 1,000 for test.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    n = DEFAULT_COUNTS[split] if n is None else n
    n, params = _check_params(n, canvas_size=canvas_size, digit_size=digit_size, n_digits=n_digits,
                              cue_gap=cue_gap, contrast=contrast, cue_range=cue_range, cue_margin=cue_margin,
                              lights=lights, bars=bars, seed=seed)
    if not cache:
        return _as_dataset(_generate(split, n, **params), split, params)

    k, s = params["n_digits"], params["canvas_size"]
    path = Path(root if root is not None else data_dir()) / "spotlight_digits" / _cache_name(split, n, **params)
    spec = {
        "images": ((n, 2, s, s), np.uint8),
        "labels": ((n,), np.int64),
        "classes": ((n, k), np.int64),
        "cues": ((n, k), np.float32),
        "contrasts": ((n, k), np.float32),
        "boxes": ((n, k, 4), np.int64),
        "sources": ((n, k), np.int64),
    }
    arrays = cached(path, spec, lambda: _generate(split, n, **params), {"split": split, "n": n, **params})
    return _as_dataset(arrays, split, params)


def spotlight_digits_loaders(
    n_train: int | None, n_test: int | None, batch_size: int, seed: int = 0,
    device: str | torch.device | None = None, **kwargs
) -> tuple[DataLoader, DataLoader] | tuple[DeviceLoader, DeviceLoader]:
    """Train and test loaders over :func:`spotlight_digits`; ``kwargs`` go to it.

    The train loader shuffles with its own generator seeded by ``seed``; the test
    loader keeps the order. The canvases are tensors in memory: no worker processes.
    With ``device`` (e.g. "cuda") they are :class:`~scattn.data.device.DeviceLoader` s
    holding the canvases there: the same batches, made on the device.
    """
    train = spotlight_digits("train", n_train, seed=seed, **kwargs)
    test = spotlight_digits("test", n_test, seed=seed, **kwargs)
    return tensor_loaders(train, test, batch_size, seed, device)


def _pair(name, value) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}") from None
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"{name} must satisfy 0 < low <= high <= 1, got {value!r}")
    return lo, hi


def _check_params(n, canvas_size, digit_size, n_digits, cue_gap, contrast, cue_range, cue_margin, lights, bars,
                  seed) -> tuple[int, dict]:
    """``n`` and the generation parameters as plain Python values (NumPy numbers name the same
    cache file as Python ones), or a ValueError naming what was expected."""
    lights, bars = choice("lights", lights, LIGHTS), choice("bars", bars, BARS)
    n, canvas_size, digit_size = (positive_int(name, value) for name, value in [
        ("n", n), ("canvas_size", canvas_size), ("digit_size", digit_size)])
    n_digits = integer("n_digits", n_digits)
    if n_digits not in (1, 2, 3, 4):
        raise ValueError(f"n_digits must be 1, 2, 3 or 4 (one per cell of a 2×2 grid), got {n_digits!r}")
    cue_gap, seed = non_negative_int("cue_gap", cue_gap), non_negative_int("seed", seed)
    contrast, cue_range = _pair("contrast", contrast), _pair("cue_range", cue_range)
    cue_margin = number("cue_margin", cue_margin, low=0.0)
    if digit_size < CUE_WIDTH:
        raise ValueError(f"digit_size ({digit_size}) must be at least the bar's width ({CUE_WIDTH})")
    cell, span = canvas_size // 2, digit_size + cue_gap + CUE_HEIGHT
    if span > cell:
        raise ValueError(
            f"a digit, its gap and its bar ({digit_size} + {cue_gap} + {CUE_HEIGHT} = {span} rows) must fit "
            f"in a cell of canvas_size // 2 = {cell} rows"
        )
    width = cue_range[1] - cue_range[0]
    if n_digits > 1 and cue_margin >= width:
        raise ValueError(
            f"cue_margin must be a number >= 0 and, with several digits, below the width of "
            f"cue_range {cue_range} ({width:g}), got {cue_margin!r}"
        )
    return n, dict(canvas_size=canvas_size, digit_size=digit_size, n_digits=n_digits, cue_gap=cue_gap,
                   contrast=contrast, cue_range=cue_range, cue_margin=cue_margin, lights=lights, bars=bars,
                   seed=seed)


def _generate(split, n, canvas_size, digit_size, n_digits, cue_gap, contrast, cue_range, cue_margin, lights,
              bars, seed) -> dict:
    images8, labels8 = source_digits()
    train_idx, test_idx = source_split(seed)
    pool = train_idx if split == "train" else test_idx
    digits = upsample(images8[pool], digit_size)  # (P, d, d), the split's digits at full size
    rng = np.random.default_rng([seed, 3, 1 + SPLITS.index(split)])
    S, d, K = canvas_size, digit_size, n_digits
    cell = S // 2

    # K different classes per canvas, then one source digit of each class.
    classes = np.argsort(rng.random((n, 10)), axis=1)[:, :K]  # (N, K)
    by_class = [np.flatnonzero(labels8[pool] == c) for c in range(10)]  # positions in pool
    counts = np.array([len(b) for b in by_class])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.concatenate(by_class)
    picks = order[starts[classes] + (rng.random((n, K)) * counts[classes]).astype(np.int64)]  # (N, K)

    # Bar brightness: redraw a canvas until its brightest bar leads by cue_margin. One draw of K
    # bars leads by m with chance (1 - m / width)^K: a margin close to the width would never end.
    def close(cues):  # (N,) True where the brightest bar does not lead the next by cue_margin
        top2 = np.sort(cues, axis=1)[:, -2:]
        return top2[:, -1] - top2[:, 0] < cue_margin if K > 1 else np.zeros(len(cues), dtype=bool)

    cues = rng.uniform(*cue_range, (n, K)).astype(np.float32)
    redraw = close(cues)
    for _ in range(MAX_DRAWS):
        if not redraw.any():
            break
        cues[redraw] = rng.uniform(*cue_range, (int(redraw.sum()), K))
        redraw = close(cues)
    if redraw.any():
        raise ValueError(
            f"cue_margin {cue_margin:g} is too close to the width of cue_range {cue_range} "
            f"({cue_range[1] - cue_range[0]:g}) for {K} bars: after {MAX_DRAWS} rounds of redrawing, "
            f"{int(redraw.sum())} of {n} canvases still had no bar that led by it; expected a smaller cue_margin "
            f"(K bars lead by m with chance (1 - m / width)^K per draw)"
        )
    if lights == "one":  # only the answer's bar is lit: selection is on/off, not a contest
        cues = np.where(cues == cues.max(axis=1, keepdims=True), cues, 0).astype(np.float32)
    contrasts = rng.uniform(*contrast, (n, K)).astype(np.float32)

    where = np.argsort(rng.random((n, 4)), axis=1)[:, :K]  # (N, K) distinct cells of the 2×2 grid
    x0 = (where % 2) * cell + rng.integers(0, cell - d + 1, (n, K))
    # A bar below its digit, or (bars="outside") above it in the top row, so that no bar
    # ever lies between two digits.
    above = (where // 2 == 0) if bars == "outside" else np.zeros((n, K), dtype=bool)
    y0 = (where // 2) * cell + rng.integers(0, cell - (d + cue_gap + CUE_HEIGHT) + 1, (n, K))
    y0 = y0 + above * (CUE_HEIGHT + cue_gap)
    bar_y = np.where(above, y0 - cue_gap - CUE_HEIGHT, y0 + d + cue_gap)

    ink = np.zeros((n, S, S), dtype=np.float32)
    light = np.zeros((n, S, S), dtype=np.float32)
    rows = np.arange(CUE_HEIGHT)[None, :, None]
    cols = np.arange(CUE_WIDTH)[None, None, :]
    for k in range(K):
        paste(ink, digits[picks[:, k]] * contrasts[:, k, None, None], y0[:, k], x0[:, k])
        # The bar: cells do not overlap, so a plain write is enough.
        by = bar_y[:, k, None, None]  # (N, 1, 1)
        bx = (x0[:, k] + (d - CUE_WIDTH) // 2)[:, None, None]
        light[np.arange(n)[:, None, None], by + rows, bx + cols] = cues[:, k, None, None]

    images = np.round(np.stack([ink, light], axis=1) * 255).astype(np.uint8)  # (N, 2, S, S)
    boxes = np.stack([x0, y0, x0 + d, y0 + d], axis=2).astype(np.int64)  # (N, K, 4)
    labels = labels8[pool[picks]]  # (N, K)
    return {
        "images": images,
        "labels": labels[np.arange(n), cues.argmax(axis=1)].astype(np.int64),
        "classes": labels.astype(np.int64),
        "cues": cues,
        "contrasts": contrasts,
        "boxes": boxes,
        "sources": pool[picks].astype(np.int64),
    }


def _as_dataset(arrays: dict, split: str, params: dict) -> SpotlightDigits:
    images = torch.from_numpy(arrays["images"]).float().div_(255)  # uint8 on disk and in memory alike
    return SpotlightDigits(
        images,
        torch.from_numpy(arrays["labels"]),
        torch.from_numpy(arrays["classes"]),
        torch.from_numpy(arrays["cues"]),
        torch.from_numpy(arrays["contrasts"]),
        torch.from_numpy(arrays["boxes"]),
        torch.from_numpy(arrays["sources"]),
        params={"split": split, **params},
    )


def _cache_name(split, n, canvas_size, digit_size, n_digits, cue_gap, contrast, cue_range, cue_margin, lights,
                bars, seed) -> str:
    return (
        f"spotlight-digits-v{FORMAT_VERSION}-{split}-n{n}-canvas{canvas_size}-digit{digit_size}-k{n_digits}"
        f"-gap{cue_gap}-contrast{contrast[0]:g}-{contrast[1]:g}-cue{cue_range[0]:g}-{cue_range[1]:g}"
        f"-margin{cue_margin:g}-lights-{lights}-bars-{bars}-seed{seed}.npz"
    )


__all__ = ["BARS", "CONTRAST", "CUE_MARGIN", "CUE_RANGE", "LIGHTS", "SpotlightDigits", "spotlight_digits",
           "spotlight_digits_loaders"]
