"""Colour-cue digits: two coloured digits, and a bar whose colour says which one is the label.

A task for channel attention, made offline from the same seeded source split as
cluttered digits::

    from scattn import data

    train = data.colour_cue_digits("train")   # 6,000 RGB canvases, 40×40
    image, label = train[0]                   # (3, 40, 40) float32 and a 0-d int64 tensor
    train.boxes[0]                            # (2, 4): (x0, y0, x1, y1) of both digits
    train.target[0], train.cue_colour[0]      # which of the two is the label, and the bar's colour

Each canvas holds two digits of different classes drawn in two different colours,
below a bar across the top of the canvas in the colour of the target digit. Both
digits are equally clear; only the bar says which one to name. A network that reads
the digits but not the cue is right about half the time.

The bar and the digits are far apart on purpose: the bar sits in the top
``cue_height`` rows and the digits at least ``cue_gap`` rows below it. A small
network whose receptive field is shorter than that distance cannot combine "the bar
is red" with "this stroke is red" in its convolutions; its first image-wide step is
global average pooling followed by a linear layer, which adds evidence and cannot
make one digit's features count only when the bar has its colour. A channel gate
(SE) computes exactly such a product: it pools the whole map, sees the bar, and
multiplies the channels that respond to the bar's colour up and the others down.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..arguments import integer, non_negative_int, positive_int
from ..runtime import data_dir
from .cache import cached
from .canvases import Canvases
from .device import tensor_loaders
from .sources import SPLITS, paste, source_digits, source_split, upsample

CUE_CANVAS_SIZE = 40  # canvas side, pixels
CUE_DIGIT_SIZE = 12  # side of each digit (an 8×8 scikit-learn digit, upsampled)
CUE_HEIGHT = 8  # rows of the colour bar at the top of the canvas
CUE_GAP = 20  # rows at least between the bar and the digits
# The palette: pure red, green and blue, so that at the input each colour is one channel.
COLOURS = ("red", "green", "blue")
PALETTE = 2  # colours in use: the first 2 (red, green) or all 3 of COLOURS
OVERLAP = False  # True: both digits in one place, one per colour channel
_RGB = np.eye(3, dtype=np.float32)  # colour index -> (r, g, b)
CUE_DEFAULT_COUNTS = {"train": 6000, "test": 1000}
FORMAT_VERSION = 1  # bump when generation changes, so old cache files are not reused
MAX_DRAWS = 1000  # rounds of redrawing overlapping placements before giving up


class ColourCueDigits(Canvases):
    """Canvases with two coloured digits and a colour bar that names the target.

    images       (N, 3, S, S) float32 in [0, 1], RGB
    labels       (N,) int64, the target digit's class 0..9
    boxes        (N, 2, 4) int64, (x0, y0, x1, y1) of digit 0 and digit 1, x1/y1 exclusive
    digit_labels (N, 2) int64, the classes of both digits (always different)
    colours      (N, 2) int64, the colour of each digit, an index into ``COLOURS``
    target       (N,) int64, 0 or 1: which digit is the label
    cue_colour   (N,) int64, the bar's colour, ``colours[i, target[i]]``
    sources      (N, 2) int64, both digits' indices in ``sklearn.datasets.load_digits()``

    ``dataset[i]`` is ``(image, label)``; the rest are attributes for plots and
    checks. Build one with :func:`colour_cue_digits`.
    """

    def __init__(self, images, labels, boxes, digit_labels, colours, target, sources, params=None):
        n = len(labels)
        if images.dim() != 4 or images.shape[0] != n or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, S, S) with N = {n}, got {tuple(images.shape)}")
        if boxes.shape != (n, 2, 4):
            raise ValueError(f"boxes must be (N, 2, 4) with N = {n}, got {tuple(boxes.shape)}")
        self.images = images
        self.labels = labels
        self.boxes = boxes
        self.digit_labels = digit_labels
        self.colours = colours
        self.target = target
        self.cue_colour = colours.gather(1, target[:, None])[:, 0]  # (N, 2) -> (N,)
        self.sources = sources
        self.params = dict(params or {})


def colour_cue_digits(
    split: str = "train",
    n: int | None = None,
    *,
    seed: int = 0,
    canvas_size: int = CUE_CANVAS_SIZE,
    digit_size: int = CUE_DIGIT_SIZE,
    cue_height: int = CUE_HEIGHT,
    cue_gap: int = CUE_GAP,
    palette: int = PALETTE,
    overlap: bool = OVERLAP,
    root: str | os.PathLike | None = None,
    cache: bool = True,
) -> ColourCueDigits:
    """``n`` colour-cue canvases of ``split`` ("train" or "test"), made from ``seed``.

    A canvas is ``canvas_size`` pixels square and black. Its top ``cue_height``
    rows are a bar in one colour of ``COLOURS``. Below it, at least ``cue_gap``
    rows lower, two scikit-learn digits of different classes, upsampled to
    ``digit_size`` (bilinear), sit at uniform random positions that do not
    overlap, drawn in two different colours of the first ``palette`` (2 or 3) of
    ``COLOURS`` (intensity × colour). The bar has the
    colour of one of them, chosen at random: that digit's class is the label.

    Digits come from ``split``'s side of :func:`scattn.data.source_split` (``seed``),
    as in :func:`cluttered_digits`. The same arguments always give the same
    canvases; with ``cache=True`` they are stored in ``root`` (default
    :func:`scattn.runtime.data_dir`) under a name that encodes every argument and
    checked against a checksum when read back. ``n`` defaults to 6,000 for train
    and 1,000 for test.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    n = CUE_DEFAULT_COUNTS[split] if n is None else n
    n, params = _check_params(n, canvas_size=canvas_size, digit_size=digit_size, cue_height=cue_height,
                              cue_gap=cue_gap, palette=palette, overlap=overlap, seed=seed)

    if not cache:
        return _as_dataset(_generate(split, n, **params), split, params)

    s = params["canvas_size"]
    path = Path(root if root is not None else data_dir()) / "colour_cue_digits" / _cache_name(split, n, **params)
    spec = {
        "images": ((n, 3, s, s), np.uint8),
        "labels": ((n,), np.int64),
        "boxes": ((n, 2, 4), np.int64),
        "digit_labels": ((n, 2), np.int64),
        "colours": ((n, 2), np.int64),
        "target": ((n,), np.int64),
        "sources": ((n, 2), np.int64),
    }
    arrays = cached(path, spec, lambda: _generate(split, n, **params), {"split": split, "n": n, **params})
    return _as_dataset(arrays, split, params)


def colour_cue_loaders(
    n_train: int | None, n_test: int | None, batch_size: int, seed: int = 0,
    device: str | torch.device | None = None, **kwargs
):
    """Train and test loaders over :func:`colour_cue_digits`; ``kwargs`` go to it.

    As :func:`cluttered_digits_loaders` (:func:`~scattn.data.device.tensor_loaders`):
    the train loader shuffles with its own generator seeded by ``seed``, the test
    loader keeps the order, and ``device`` holds both on that device.
    """
    train = colour_cue_digits("train", n_train, seed=seed, **kwargs)
    test = colour_cue_digits("test", n_test, seed=seed, **kwargs)
    return tensor_loaders(train, test, batch_size, seed, device)


def _check_params(n, canvas_size, digit_size, cue_height, cue_gap, palette, overlap, seed) -> tuple[int, dict]:
    """``n`` and the generation parameters as plain Python values (NumPy integers name the same
    cache file as ints), or a ValueError naming what was expected."""
    n, canvas_size, digit_size, cue_height = (positive_int(name, value) for name, value in [
        ("n", n), ("canvas_size", canvas_size), ("digit_size", digit_size), ("cue_height", cue_height)])
    cue_gap, seed = non_negative_int("cue_gap", cue_gap), non_negative_int("seed", seed)
    if not isinstance(overlap, bool):
        raise ValueError(f"overlap must be True or False, got {overlap!r}")
    palette = integer("palette", palette)
    if palette not in (2, 3):
        raise ValueError(f"palette must be 2 (red, green) or 3 (red, green, blue), got {palette!r}")
    if not overlap and 2 * digit_size > canvas_size:
        raise ValueError(
            f"two digits of digit_size {digit_size} must fit side by side: expected "
            f"canvas_size >= 2 * digit_size = {2 * digit_size}, got {canvas_size}"
        )
    if cue_height + cue_gap + digit_size > canvas_size:
        raise ValueError(
            f"no room below the bar: expected cue_height + cue_gap + digit_size "
            f"({cue_height} + {cue_gap} + {digit_size}) <= canvas_size ({canvas_size})"
        )
    return n, dict(canvas_size=canvas_size, digit_size=digit_size, cue_height=cue_height, cue_gap=cue_gap,
                   palette=palette, overlap=overlap, seed=seed)


def _overlap(x, y, u, v, d) -> np.ndarray:
    """Whether d×d boxes at (x, y) and (u, v) share a pixel."""
    return (np.abs(x - u) < d) & (np.abs(y - v) < d)


def _generate(split, n, canvas_size, digit_size, cue_height, cue_gap, palette, overlap, seed) -> dict:
    images8, labels8 = source_digits()
    train_idx, test_idx = source_split(seed)
    pool = train_idx if split == "train" else test_idx
    digits = upsample(images8[pool], digit_size)  # (P, d, d)
    pool_labels = labels8[pool]
    # A stream of its own (cluttered digits use [seed, 1 or 2]): no draw is shared with them.
    rng = np.random.default_rng([seed, 3 + SPLITS.index(split)])
    S, d = canvas_size, digit_size
    top = cue_height + cue_gap  # highest row a digit may start at

    # Two digits of different classes.
    first = rng.integers(0, len(pool), n)
    second = rng.integers(0, len(pool), n)
    for _ in range(MAX_DRAWS):
        same = pool_labels[second] == pool_labels[first]
        if not same.any():
            break
        second[same] = rng.integers(0, len(pool), int(same.sum()))
    which = np.stack([first, second], axis=1)  # (N, 2), indices into pool

    # Positions: uniform over the area below the bar, redrawn until the two boxes are apart.
    # Both are redrawn: the first may sit where no place is left for the second.
    def draw(k: int) -> np.ndarray:  # (k, 2 digits, 2 coordinates: x, y)
        return np.stack([rng.integers(0, S - d + 1, (k, 2)), rng.integers(top, S - d + 1, (k, 2))], axis=2)

    xy = draw(n)
    if overlap:  # one place for both: each colour channel holds one whole digit
        xy[:, 1] = xy[:, 0]
    for _ in range(0 if overlap else MAX_DRAWS):
        bad = _overlap(xy[:, 0, 0], xy[:, 0, 1], xy[:, 1, 0], xy[:, 1, 1], d)
        if not bad.any():
            break
        xy[bad] = draw(int(bad.sum()))
    else:
        if not overlap:
            raise RuntimeError("could not place two digits apart; make the canvas larger")

    # Two different colours per canvas, and which digit the bar names.
    colours = np.argsort(rng.random((n, palette)), axis=1)[:, :2]  # (N, 2), distinct
    target = rng.integers(0, 2, n)

    canvas = np.zeros((n, S, S, 3), dtype=np.float32)
    for k in range(2):
        patch = digits[which[:, k]][..., None] * _RGB[colours[:, k]][:, None, None, :]  # (N, d, d, 3)
        paste(canvas, patch, xy[:, k, 1], xy[:, k, 0])
    cue = _RGB[colours[np.arange(n), target]]  # (N, 3)
    canvas[:, :cue_height] = cue[:, None, None, :]

    images = np.round(canvas * 255).astype(np.uint8).transpose(0, 3, 1, 2)  # (N, S, S, 3) -> (N, 3, S, S)
    boxes = np.concatenate([xy, xy + d], axis=2)  # (N, 2, 4): x0, y0, x1, y1
    digit_labels = pool_labels[which]
    return {
        "images": np.ascontiguousarray(images),
        "labels": digit_labels[np.arange(n), target].astype(np.int64),
        "boxes": boxes.astype(np.int64),
        "digit_labels": digit_labels.astype(np.int64),
        "colours": colours.astype(np.int64),
        "target": target.astype(np.int64),
        "sources": pool[which].astype(np.int64),
    }


def _as_dataset(arrays: dict, split: str, params: dict) -> ColourCueDigits:
    images = torch.from_numpy(arrays["images"]).float().div_(255)
    t = {k: torch.from_numpy(arrays[k]) for k in
         ("labels", "boxes", "digit_labels", "colours", "target", "sources")}
    return ColourCueDigits(images, t["labels"], t["boxes"], t["digit_labels"], t["colours"],
                           t["target"], t["sources"], params={"split": split, **params})


def _cache_name(split, n, canvas_size, digit_size, cue_height, cue_gap, palette, overlap, seed) -> str:
    return (f"colour-cue-v{FORMAT_VERSION}-{split}-n{n}-canvas{canvas_size}-digit{digit_size}"
            f"-cue{cue_height}-gap{cue_gap}-palette{palette}{'-overlap' if overlap else ''}-seed{seed}.npz")


__all__ = ["COLOURS", "CUE_CANVAS_SIZE", "CUE_DEFAULT_COUNTS", "CUE_DIGIT_SIZE", "CUE_GAP", "CUE_HEIGHT",
           "OVERLAP", "PALETTE", "ColourCueDigits", "colour_cue_digits", "colour_cue_loaders"]
