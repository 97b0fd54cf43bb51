"""The course's data: cluttered digits (offline), CIFAR-10 (torchvision), sample photos.

Cluttered digits is the default task, built for a question attention answers:
*where* is the object? Each canvas holds one handwritten digit at a random
position among fragments cut from other digits, as in the cluttered MNIST of
Mnih et al. (2014, "Recurrent Models of Visual Attention") and Jaderberg et al.
(2015, "Spatial Transformer Networks"), scaled down to scikit-learn's 8×8 digits
so that it needs no download and trains in minutes on a laptop CPU::

    from scattn import data

    train = data.cluttered_digits("train")  # 6,000 canvases, 40×40
    image, label = train[0]                 # (1, 40, 40) float32 and a 0-d int64 tensor
    train.boxes[0]                          # (x0, y0, x1, y1) of the digit

CIFAR-10 comes through torchvision (and needs the internet once); the sample
photos ship with scikit-image.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from .runtime import data_dir

# --------------------------------------------------------------------------------------
# Cluttered digits
# --------------------------------------------------------------------------------------

# The defaults. An 18-pixel digit covers a fifth of a 40×40 canvas, so where it is
# matters; six 7-pixel fragments (under half its side: strokes, never a whole digit)
# fill much of the rest. The task is learnable but not at once: SmallCNN with CBAM
# sits near chance for the first epoch, then reaches 98% test accuracy after 6
# epochs of 6,000 canvases (scattn.train.fit's defaults, AdamW one-cycle, seed 0),
# well within a few minutes on 2 CPU cores.
CANVAS_SIZE = 40  # canvas side, pixels
DIGIT_SIZE = 18  # side of the target digit (an 8×8 scikit-learn digit, upsampled)
N_DISTRACTORS = 6  # fragments per canvas
DISTRACTOR_SIZE = 7  # side of a fragment, cut from another digit at DIGIT_SIZE
DEFAULT_COUNTS = {"train": 6000, "test": 1000}
TEST_FRACTION = 0.2  # of the 1,797 source digits, per class, kept for the test split
CANDIDATE_CROPS = 4  # random crops tried per fragment
MIN_INK = 0.2  # mean intensity a crop needs to be used as a fragment
FORMAT_VERSION = 1  # bump when generation changes, so old cache files are not reused

_SPLITS = ("train", "test")


class ClutteredDigits(Dataset):
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

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]

    def __repr__(self) -> str:
        size = tuple(self.images.shape[2:])
        extra = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"ClutteredDigits({len(self)} canvases of {size[0]}×{size[1]}{', ' + extra if extra else ''})"


def source_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the 1,797 scikit-learn digits kept for train and for test canvases.

    The split is made per class (``TEST_FRACTION`` of each) before any canvas is
    composed, so no handwritten digit, whole or as a fragment, is in both splits.
    """
    labels = _source_digits()[1]
    rng = np.random.default_rng([seed, 0])
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(TEST_FRACTION * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


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
    small to pass for a whole digit but look like its strokes, so a model must find
    the digit before it can name it.

    The same arguments always give the same canvases. With ``cache=True`` they are
    stored in ``root`` (default :func:`scattn.runtime.data_dir`, ``$SCATTN_DATA``)
    under a name that encodes every argument, and read back next time; a damaged
    cache file is noticed (checksum, shapes) and rebuilt. ``n`` defaults to 6,000
    for train and 1,000 for test.
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    n = DEFAULT_COUNTS[split] if n is None else n
    params = dict(
        canvas_size=canvas_size,
        digit_size=digit_size,
        n_distractors=n_distractors,
        distractor_size=distractor_size,
        seed=seed,
    )
    _check_params(n, **params)

    if not cache:
        return _as_dataset(_generate(split, n, **params), split, params)

    path = Path(root if root is not None else data_dir()) / "cluttered_digits" / _cache_name(split, n, **params)
    arrays = _load_cache(path, n, canvas_size, n_distractors)
    if arrays is None:
        arrays = _generate(split, n, **params)
        _save_cache(path, arrays)
    return _as_dataset(arrays, split, params)


def cluttered_digits_loaders(
    n_train: int | None, n_test: int | None, batch_size: int, seed: int = 0, **kwargs
) -> tuple[DataLoader, DataLoader]:
    """Train and test loaders over :func:`cluttered_digits`; ``kwargs`` go to it.

    The train loader shuffles with its own generator seeded by ``seed``, so the
    batch order is reproducible whatever else used the global RNG; the test loader
    keeps the order. The canvases are tensors in memory, so no worker processes.
    """
    train = cluttered_digits("train", n_train, seed=seed, **kwargs)
    test = cluttered_digits("test", n_test, seed=seed, **kwargs)
    generator = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
        DataLoader(test, batch_size=batch_size, shuffle=False),
    )


def _check_params(n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> None:
    for name, value in [("n", n), ("canvas_size", canvas_size), ("digit_size", digit_size),
                        ("distractor_size", distractor_size)]:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(n_distractors, bool) or not isinstance(n_distractors, (int, np.integer)) or n_distractors < 0:
        raise ValueError(f"n_distractors must be an integer >= 0, got {n_distractors!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
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


_DIGITS: tuple[np.ndarray, np.ndarray] | None = None


def _source_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as (1797, 8, 8) float32 in [0, 1], and their labels."""
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        _DIGITS = (digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64))
    return _DIGITS


def _upsample(images: np.ndarray, size: int) -> np.ndarray:
    x = torch.from_numpy(images)[:, None]  # (M, 8, 8) -> (M, 1, 8, 8)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x[:, 0].clamp_(0, 1).numpy()  # (M, size, size)


def _paste(canvas: np.ndarray, patches: np.ndarray, y: np.ndarray, x: np.ndarray) -> None:
    """Draw patch i at (y[i], x[i]) on canvas i, in place, keeping the brighter pixel.

    One fancy-indexed read and write for all N canvases instead of a Python loop:
    canvas i gets exactly one patch per call, so no index repeats.
    """
    n, p = patches.shape[:2]
    offsets = np.arange(p)
    rows = (y[:, None] + offsets)[:, :, None]  # (N, p, 1)
    cols = (x[:, None] + offsets)[:, None, :]  # (N, 1, p)
    where = (np.arange(n)[:, None, None], rows, cols)  # broadcasts to (N, p, p)
    canvas[where] = np.maximum(canvas[where], patches)


def _crop(images: np.ndarray, j: np.ndarray, y: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """Crop i is images[j[i], y[i]:y[i] + size, x[i]:x[i] + size], for M crops at once."""
    offsets = np.arange(size)
    rows = (y[:, None] + offsets)[:, :, None]  # (M, size, 1)
    cols = (x[:, None] + offsets)[:, None, :]  # (M, 1, size)
    return images[j[:, None, None], rows, cols]  # (P, D, D) -> (M, size, size)


def _outside(rng, start: np.ndarray, length: int, size: int, limit: int) -> np.ndarray:
    """Uniform positions p in [0, limit] with [p, p + size) clear of [start, start + length)."""
    before = np.maximum(0, start - size + 1)  # p in [0, start - size]
    after = np.maximum(0, limit - (start + length) + 1)  # p in [start + length, limit]
    u = np.floor(rng.random(start.shape) * (before + after)).astype(np.int64)
    return np.where(u < before, u, start + length + (u - before))


def _generate(split, n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> dict:
    images8, labels8 = _source_digits()
    train_idx, test_idx = source_split(seed)
    pool = train_idx if split == "train" else test_idx
    digits = _upsample(images8[pool], digit_size)  # (P, d, d), the split's digits at full size
    rng = np.random.default_rng([seed, 1 + _SPLITS.index(split)])
    S, d, f, K = canvas_size, digit_size, distractor_size, n_distractors

    canvas = np.zeros((n, S, S), dtype=np.float32)
    target = rng.integers(0, len(pool), n)  # index into pool
    x0 = rng.integers(0, S - d + 1, n)
    y0 = rng.integers(0, S - d + 1, n)
    _paste(canvas, digits[target], y0, x0)

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
        crops = _crop(digits, np.repeat(donor, CANDIDATE_CROPS), cy.ravel(), cx.ravel(), f)
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
        _paste(canvas, fragment, y, x)

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


_ARRAYS = ("images", "labels", "boxes", "sources", "distractor_sources")


def _cache_name(split, n, canvas_size, digit_size, n_distractors, distractor_size, seed) -> str:
    return (
        f"cluttered-digits-v{FORMAT_VERSION}-{split}-n{n}-canvas{canvas_size}-digit{digit_size}"
        f"-distractors{n_distractors}x{distractor_size}-seed{seed}.npz"
    )


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in _ARRAYS:
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _load_cache(path: Path, n: int, canvas_size: int, n_distractors: int) -> dict | None:
    """The arrays stored at ``path``, or None when missing, unreadable, misshapen or altered."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in _ARRAYS}
            digest = str(stored["sha256"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        warnings.warn(f"cache file {path} could not be read ({err}); rebuilding it", stacklevel=3)
        return None
    expected = {
        "images": ((n, 1, canvas_size, canvas_size), np.uint8),
        "labels": ((n,), np.int64),
        "boxes": ((n, 4), np.int64),
        "sources": ((n,), np.int64),
        "distractor_sources": ((n, n_distractors), np.int64),
    }
    for key, (shape, dtype) in expected.items():
        if arrays[key].shape != shape or arrays[key].dtype != dtype:
            warnings.warn(
                f"cache file {path} holds {key} of shape {arrays[key].shape} and dtype "
                f"{arrays[key].dtype}, expected {shape} and {np.dtype(dtype)}; rebuilding it",
                stacklevel=3,
            )
            return None
    if _digest(arrays) != digest:
        warnings.warn(f"cache file {path} fails its checksum; rebuilding it", stacklevel=3)
        return None
    return arrays


def _save_cache(path: Path, arrays: dict) -> None:
    """Write to a temporary file next to ``path``, then rename: readers never see half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, sha256=np.array(_digest(arrays)), **arrays)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as err:  # a read-only or full disk costs the cache, not the data
        warnings.warn(f"could not cache cluttered digits at {path} ({err}); continuing without", stacklevel=3)


# --------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------

# Per-channel mean and standard deviation of the 50,000 training images (pixels in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def cifar10_transform(augment: bool):
    """ToTensor + Normalize, after RandomCrop(32, padding=4) + RandomHorizontalFlip if ``augment``.

    The augmentation of He et al. (2016) for CIFAR ResNets.
    """
    from torchvision import transforms

    steps = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()] if augment else []
    steps += [transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    return transforms.Compose(steps)


def cifar10(root=None, train: bool = True, download: bool = True, augment: bool | None = None):
    """CIFAR-10 as a ``torchvision.datasets.CIFAR10``, normalised, augmented when training.

    ``root`` defaults to :func:`scattn.runtime.data_dir`; torchvision keeps the
    batches in ``root/cifar-10-batches-py``. ``augment`` defaults to ``train``.
    Without the files and without the internet this raises a RuntimeError that says
    where to put them; the course's cluttered digits need no download at all.
    """
    from torchvision.datasets import CIFAR10

    root = Path(root if root is not None else data_dir())
    augment = train if augment is None else augment
    try:
        return CIFAR10(str(root), train=train, transform=cifar10_transform(augment), download=download)
    except (RuntimeError, OSError) as err:  # URLError (no network) is an OSError
        folder = root / CIFAR10.base_folder
        how = (
            "the download failed (no internet?)" if download
            else "download=False and the files are missing or damaged"
        )
        raise RuntimeError(
            f"CIFAR-10 is not available: {how} ({err}).\n"
            f"  - With internet, cifar10(download=True) fetches {CIFAR10.url}\n"
            f"    (163 MB) into {root} and unpacks it.\n"
            f"  - Offline, copy the unpacked 'cifar-10-batches-py' folder (data_batch_1..5, test_batch,\n"
            f"    batches.meta) to {folder}, or put {CIFAR10.filename} in {root} and use download=True;\n"
            f"    set $SCATTN_DATA or pass root= to use another folder.\n"
            f"  - The course's offline task, scattn.data.cluttered_digits(), needs no download at all."
        ) from err


def cifar10_loaders(
    batch_size: int, root=None, download: bool = True, num_workers: int = 2
) -> tuple[DataLoader, DataLoader]:
    """Shuffled, augmented train loader and plain test loader for CIFAR-10."""
    train = cifar10(root, train=True, download=download)
    test = cifar10(root, train=False, download=download)
    options = dict(
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
    )
    return DataLoader(train, shuffle=True, **options), DataLoader(test, shuffle=False, **options)


# --------------------------------------------------------------------------------------
# Sample photos
# --------------------------------------------------------------------------------------

PHOTOS = ("astronaut", "chelsea", "coffee")


def sample_photos() -> dict[str, np.ndarray]:
    """Colour photos that ship with scikit-image (no download): name -> H×W×3 uint8.

    astronaut (512×512), chelsea the cat (300×451), coffee (400×600).
    """
    import skimage.data

    return {name: getattr(skimage.data, name)() for name in PHOTOS}


__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "ClutteredDigits",
    "cifar10",
    "cifar10_loaders",
    "cifar10_transform",
    "cluttered_digits",
    "cluttered_digits_loaders",
    "source_split",
    "sample_photos",
]
