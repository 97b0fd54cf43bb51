"""Cluttered digits: one handwritten digit among fragments of others, made offline.

Each canvas holds one scikit-learn digit at a random position among fragments cut
from other digits, as in the cluttered MNIST of Mnih et al. (2014, "Recurrent
Models of Visual Attention") and Jaderberg et al. (2015, "Spatial Transformer
Networks"), scaled down so that it needs no download and trains in minutes on a
laptop CPU::

    from scattn import data

    train = data.cluttered_digits("train")  # 6,000 canvases, 40×40
    image, label = train[0]                 # (1, 40, 40) float32 and a 0-d int64 tensor
    train.boxes[0]                          # (x0, y0, x1, y1) of the digit

The fragments never overlap the digit and are smaller than it, so a plain CNN
already reads these canvases well; notebook 05 and docs/results.md explain why
attention has little to add here, and the colour-cue task shows where it does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..arguments import non_negative_int, positive_int
from ..runtime import data_dir
from .cache import cached
from .canvases import Canvases
from .device import DeviceLoader, tensor_loaders
from .sources import SPLITS, crop, paste, source_digits, source_split, upsample

# The defaults. An 18-pixel digit covers a fifth of a 40×40 canvas, so where it is
# matters; six 7-pixel fragments (under half its side: strokes, never a whole digit)
# fill much of the rest. How well networks learn it is measured in docs/results.md.
CANVAS_SIZE = 40  # canvas side, pixels
DIGIT_SIZE = 18  # side of the target digit (an 8×8 scikit-learn digit, upsampled)
N_DISTRACTORS = 6  # fragments per canvas
DISTRACTOR_SIZE = 7  # side of a fragment, cut from another digit at DIGIT_SIZE
DEFAULT_COUNTS = {"train": 6000, "test": 1000}
CANDIDATE_CROPS = 4  # random crops tried per fragment
MIN_INK = 0.2  # mean intensity a crop needs to be used as a fragment
FORMAT_VERSION = 2  # bump when generation changes, so old cache files are not reused


class ClutteredDigits(Canvases):
    """Canvases with one target digit among distractor fragments.

    images   (N, 1, S, S) float32 in [0, 1]
    labels   (N,) int64, the target digit's class 0..9
    boxes    (N, 4) int64, (x0, y0, x1, y1) of the target on the canvas, x1/y1 exclusive
    sources  (N,) int64, index of the target in ``sklearn.datasets.load_digits()``
    distractor_sources (N, K) int64, the digits the K fragments were cut from

    ``dataset[i]`` is ``(image, label)``; the rest are attributes for plots and
    localisation scores. Build one with :func:`cluttered_digits`.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        boxes: torch.Tensor,
        sources: torch.Tensor | None = None,
        distractor_sources: torch.Tensor | None = None,
        params: dict | None = None,
    ):
        n = len(labels)
        if images.dim() != 4 or images.shape[0] != n or images.shape[1] != 1:
            raise ValueError(f"images must be (N, 1, S, S) with N = {n}, got {tuple(images.shape)}")
        if boxes.shape != (n, 4):
            raise ValueError(f"boxes must be (N, 4) with N = {n}, got {tuple(boxes.shape)}")
        self.images = images
        self.labels = labels
        self.boxes = boxes
        self.sources = sources
        self.distractor_sources = distractor_sources
        self.params = dict(params or {})


def cluttered_digits(
    split: str = "train",
    n: int | None = None,
    *,
    canvas_size: int = CANVAS_SIZE,
    digit_size: int = DIGIT_SIZE,
    n_distractors: int = N_DISTRACTORS,
    distractor_size: int = DISTRACTOR_SIZE,
    seed: int = 0,
    root: str | os.PathLike | None = None,
    cache: bool = True,
) -> ClutteredDigits:
    """``n`` cluttered-digit canvases of ``split`` ("train" or "test"), made from ``seed``.

    A canvas is ``canvas_size`` pixels square. The target, one scikit-learn digit
    upsampled to ``digit_size`` (bilinear), sits at a uniform random position;
    ``n_distractors`` fragments of ``distractor_size`` pixels, crops of other
    digits of the same split, sit anywhere that does not overlap the target's box
    (they may overlap each other). Strokes combine by maximum. Fragments are too
    small to pass for a whole digit but look like its strokes. They never cover the
    digit and differ from it in scale, so a plain CNN already ignores them; this is
    not a task on which attention has much to add (notebook 05, docs/results.md).

    The same arguments always give the same canvases. With ``cache=True`` they are
    stored in ``root`` (default :func:`scattn.runtime.data_dir`, ``$SCATTN_DATA``)
    under a name that encodes every argument, and read back next time; a damaged
    cache file is noticed (checksum, shapes) and rebuilt. ``n`` defaults to 6,000
    for train and 1,000 for test.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    n = DEFAULT_COUNTS[split] if n is None else n
    n, params = _check_params(n, canvas_size, digit_size, n_distractors, distractor_size, seed)

    if not cache:
        return _as_dataset(_generate(split, n, **params), split, params)

    path = Path(root if root is not None else data_dir()) / "cluttered_digits" / _cache_name(split, n, **params)
    s, k = params["canvas_size"], params["n_distractors"]
    spec = {
        "images": ((n, 1, s, s), np.uint8),
        "labels": ((n,), np.int64),
        "boxes": ((n, 4), np.int64),
        "sources": ((n,), np.int64),
        "distractor_sources": ((n, k), np.int64),
    }
    arrays = cached(path, spec, lambda: _generate(split, n, **params), {"split": split, "n": n, **params})
    return _as_dataset(arrays, split, params)


def cluttered_digits_loaders(
    n_train: int | None, n_test: int | None, batch_size: int, seed: int = 0,
    device: str | torch.device | None = None, **kwargs
) -> tuple[DataLoader, DataLoader] | tuple[DeviceLoader, DeviceLoader]:
    """Train and test loaders over :func:`cluttered_digits`; ``kwargs`` go to it.

    The train loader shuffles with its own generator seeded by ``seed``, so the
    batch order is reproducible whatever else used the global RNG; the test loader
    keeps the order. The canvases are tensors in memory, so no worker processes.
    With ``device`` (e.g. "cuda") they are :class:`~scattn.data.device.DeviceLoader` s
    that hold the canvases there: the same batches in the same order, made on the device.
    """
    train = cluttered_digits("train", n_train, seed=seed, **kwargs)
    test = cluttered_digits("test", n_test, seed=seed, **kwargs)
    return tensor_loaders(train, test, batch_size, seed, device)


def _check_params(n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> tuple[int, dict]:
    """``n`` and the generation parameters as plain ints (NumPy integers name the same cache
    file as ints), or a ValueError naming what was expected."""
    n, canvas_size, digit_size, distractor_size = (positive_int(name, value) for name, value in [
        ("n", n), ("canvas_size", canvas_size), ("digit_size", digit_size), ("distractor_size", distractor_size)])
    n_distractors, seed = non_negative_int("n_distractors", n_distractors), non_negative_int("seed", seed)
    if digit_size > canvas_size:
        raise ValueError(f"digit_size ({digit_size}) must fit on the canvas (canvas_size={canvas_size})")
    if distractor_size >= digit_size:
        raise ValueError(
            f"distractor_size ({distractor_size}) must be smaller than digit_size ({digit_size}), "
            "or a fragment could pass for a whole digit"
        )
    if n_distractors and canvas_size < digit_size + 2 * distractor_size - 1:
        raise ValueError(
            f"canvas_size ({canvas_size}) leaves no room for fragments beside the digit: "
            f"expected canvas_size >= digit_size + 2 * distractor_size - 1 "
            f"= {digit_size + 2 * distractor_size - 1}"
        )
    return n, dict(canvas_size=canvas_size, digit_size=digit_size, n_distractors=n_distractors,
                   distractor_size=distractor_size, seed=seed)


def _outside(rng, start: np.ndarray, length: int, size: int, limit: int) -> np.ndarray:
    """Uniform positions p in [0, limit] with [p, p + size) clear of [start, start + length)."""
    before = np.maximum(0, start - size + 1)  # p in [0, start - size]
    after = np.maximum(0, limit - (start + length) + 1)  # p in [start + length, limit]
    u = np.floor(rng.random(start.shape) * (before + after)).astype(np.int64)
    return np.where(u < before, u, start + length + (u - before))


def _generate(split, n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> dict:
    images8, labels8 = source_digits()
    train_idx, test_idx = source_split(seed)
    pool = train_idx if split == "train" else test_idx
    digits = upsample(images8[pool], digit_size)  # (P, d, d), the split's digits at full size
    rng = np.random.default_rng([seed, 1 + SPLITS.index(split)])
    S, d, f, K = canvas_size, digit_size, distractor_size, n_distractors

    canvas = np.zeros((n, S, S), dtype=np.float32)
    target = rng.integers(0, len(pool), n)  # index into pool
    x0 = rng.integers(0, S - d + 1, n)
    y0 = rng.integers(0, S - d + 1, n)
    paste(canvas, digits[target], y0, x0)

    donors = np.zeros((n, K), dtype=np.int64)
    for k in range(K):
        # A fragment comes from another digit: shift the donor off the target if they meet.
        donor = rng.integers(0, len(pool) - 1, n)
        donor = donor + (donor >= target)
        donors[:, k] = donor
        # The first of a few random crops with enough ink (else the inkiest), so every
        # fragment shows a piece of stroke rather than an empty corner.
        cy = rng.integers(0, d - f + 1, (n, CANDIDATE_CROPS))
        cx = rng.integers(0, d - f + 1, (n, CANDIDATE_CROPS))
        crops = crop(digits, np.repeat(donor, CANDIDATE_CROPS), cy.ravel(), cx.ravel(), f)
        crops = crops.reshape(n, CANDIDATE_CROPS, f, f)
        ink = crops.mean(axis=(2, 3))  # (N, candidates)
        enough = ink >= MIN_INK
        pick = np.where(enough.any(axis=1), enough.argmax(axis=1), ink.argmax(axis=1))  # (N,)
        fragment = crops[np.arange(n), pick]  # (N, f, f)
        # Anywhere on the canvas except over the target: x is free; where the columns
        # meet the target's, y is drawn from the rows above or below it.
        x = rng.integers(0, S - f + 1, n)
        y = rng.integers(0, S - f + 1, n)
        meets = (x < x0 + d) & (x + f > x0)
        y = np.where(meets, _outside(rng, y0, d, f, S - f), y)
        paste(canvas, fragment, y, x)

    images = np.round(canvas * 255).astype(np.uint8)[:, None]  # (N, S, S) -> (N, 1, S, S)
    boxes = np.stack([x0, y0, x0 + d, y0 + d], axis=1).astype(np.int64)
    return {
        "images": images,
        "labels": labels8[pool[target]],
        "boxes": boxes,
        "sources": pool[target].astype(np.int64),
        "distractor_sources": pool[donors].astype(np.int64),
    }


def _as_dataset(arrays: dict, split: str, params: dict) -> ClutteredDigits:
    # Canvases are kept as uint8 (also on disk) so that cached and fresh ones are equal.
    images = torch.from_numpy(arrays["images"]).float().div_(255)
    return ClutteredDigits(
        images,
        torch.from_numpy(arrays["labels"]),
        torch.from_numpy(arrays["boxes"]),
        torch.from_numpy(arrays["sources"]),
        torch.from_numpy(arrays["distractor_sources"]),
        params={"split": split, **params},
    )


def _cache_name(split, n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> str:
    return (
        f"cluttered-digits-v{FORMAT_VERSION}-{split}-n{n}-canvas{canvas_size}-digit{digit_size}"
        f"-distractors{n_distractors}x{distractor_size}-seed{seed}.npz"
    )


__all__ = ["CANVAS_SIZE", "DEFAULT_COUNTS", "DIGIT_SIZE", "DISTRACTOR_SIZE", "N_DISTRACTORS",
           "ClutteredDigits", "cluttered_digits", "cluttered_digits_loaders"]
