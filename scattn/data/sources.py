"""The handwritten digits every offline task is drawn from, and the drawing helpers.

scikit-learn ships 1,797 scans of 8×8 digits. :func:`source_split` divides them per
class into train and test sources *before* any canvas is composed, so no scan,
whole or as a fragment, appears on both sides. Tasks upsample the scans and paste
them on canvases with :func:`paste`, keeping the brighter pixel where strokes meet.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

TEST_FRACTION = 0.2  # of the 1,797 source digits, per class, kept for the test split
SPLITS = ("train", "test")

_DIGITS: tuple[np.ndarray, np.ndarray] | None = None


def source_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as (1797, 8, 8) float32 in [0, 1], and their labels."""
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        _DIGITS = (digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64))
    return _DIGITS


def source_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the 1,797 scikit-learn digits kept for train and for test canvases.

    The split is made per class (``TEST_FRACTION`` of each) before any canvas is
    composed, so no handwritten digit, whole or as a fragment, is in both splits.
    """
    labels = source_digits()[1]
    rng = np.random.default_rng([seed, 0])
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(TEST_FRACTION * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def upsample(images: np.ndarray, size: int) -> np.ndarray:
    """(M, 8, 8) scans -> (M, size, size), bilinear, clipped to [0, 1]."""
    x = torch.from_numpy(images)[:, None]  # (M, 8, 8) -> (M, 1, 8, 8)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x[:, 0].clamp_(0, 1).numpy()  # (M, size, size)


def paste(canvas: np.ndarray, patches: np.ndarray, y: np.ndarray, x: np.ndarray) -> None:
    """Draw patch i at (y[i], x[i]) on canvas i, in place, keeping the brighter pixel.

    ``canvas`` is (N, S, S) or (N, S, S, ...) with ``patches`` shaped to match
    (colour channels last). One fancy-indexed read and write for all N canvases
    instead of a Python loop: canvas i gets exactly one patch per call, so no
    index repeats.
    """
    n, p = patches.shape[:2]
    offsets = np.arange(p)
    rows = (y[:, None] + offsets)[:, :, None]  # (N, p, 1)
    cols = (x[:, None] + offsets)[:, None, :]  # (N, 1, p)
    where = (np.arange(n)[:, None, None], rows, cols)  # broadcasts to (N, p, p)
    canvas[where] = np.maximum(canvas[where], patches)


def crop(images: np.ndarray, j: np.ndarray, y: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """Crop i is images[j[i], y[i]:y[i] + size, x[i]:x[i] + size], for M crops at once."""
    offsets = np.arange(size)
    rows = (y[:, None] + offsets)[:, :, None]  # (M, size, 1)
    cols = (x[:, None] + offsets)[:, None, :]  # (M, 1, size)
    return images[j[:, None, None], rows, cols]  # (P, D, D) -> (M, size, size)


__all__ = ["SPLITS", "TEST_FRACTION", "crop", "paste", "source_digits", "source_split", "upsample"]
