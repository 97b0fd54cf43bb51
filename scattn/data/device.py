"""A loader that keeps a GPU busy: the whole dataset on the device, augmented there in batches.

Colab gives two CPU cores. A DataLoader that crops and flips each CIFAR image in
Python on those cores cannot feed a GPU that trains ResNet-20 on thousands of
images a second. :class:`DeviceLoader` moves the dataset to the device once (CIFAR-10's
50,000 training images are 150 MB as uint8) and makes every batch there with a
few tensor operations: a gather for the shuffle, one padded gather for the random
crops and flips of the whole batch, and the per-channel normalisation::

    train = DeviceLoader(cifar10_train, 256, shuffle=True, crop_padding=4, flip=True,
                         mean=CIFAR10_MEAN, std=CIFAR10_STD, device="cuda",
                         generator=torch.Generator().manual_seed(0))

The augmentation is that of He et al. (2016), torchvision's ``RandomCrop(32,
padding=4)`` + ``RandomHorizontalFlip()``: pad each side with ``p`` zero pixels,
cut an H×W window at offsets (i, j) drawn uniformly from {0, ..., 2p}², and mirror
it left-right with probability 1/2.

All randomness of an epoch (the order, the offsets, the flips) is drawn at its
start on the CPU from ``generator`` (or torch's global RNG without one, as a
DataLoader does), so the same seed gives the same batches on any device, and
``fit(seed=...)`` and checkpoints treat ``.generator`` exactly as a DataLoader's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..arguments import non_negative_int, positive_int
from ..runtime import get_device


def dataset_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W), labels (N,) int64) of a dataset, without its transform.

    Takes the course's datasets (``.images`` and ``.labels``), torchvision's CIFAR
    (``.data`` N×H×W×C uint8 and ``.targets``) and a ``TensorDataset`` of (images, labels).
    """
    if hasattr(dataset, "images") and hasattr(dataset, "labels"):
        images, labels = torch.as_tensor(dataset.images), torch.as_tensor(dataset.labels)
    elif hasattr(dataset, "data") and hasattr(dataset, "targets"):
        images = torch.from_numpy(np.ascontiguousarray(dataset.data))  # (N, H, W, C) uint8
        images = images.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        labels = torch.as_tensor(dataset.targets)
    elif isinstance(dataset, torch.utils.data.TensorDataset) and len(dataset.tensors) == 2:
        images, labels = dataset.tensors
    else:
        raise TypeError(
            f"DeviceLoader needs a dataset with .images and .labels (the course's), .data and .targets "
            f"(torchvision's CIFAR) or a TensorDataset of (images, labels), got {type(dataset).__name__}"
        )
    if images.dim() != 4 or labels.shape != (images.shape[0],):
        raise ValueError(f"expected images (N, C, H, W) and labels (N,), got {tuple(images.shape)} and "
                         f"{tuple(labels.shape)}")
    return images.contiguous(), labels.long()


def random_crop_flip(images: torch.Tensor, padding: int, offsets: torch.Tensor,
                     flips: torch.Tensor | None) -> torch.Tensor:
    """Each image i padded with ``padding`` zeros, cut at ``offsets[i]`` = (row, col) in
    [0, 2·padding], and mirrored left-right where ``flips[i]``: one gather for the batch.

    out[i, c, y, x] = padded[i, c, row_i + y, col_i + x'] with x' = W - 1 - x if flipped, else x.
    """
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))  # (N, C, H, W) -> (N, C, H+2p, W+2p)
    rows = offsets[:, :1] + torch.arange(h, device=images.device)  # (N, H)
    cols = offsets[:, 1:] + torch.arange(w, device=images.device)  # (N, W)
    if flips is not None:
        cols = torch.where(flips[:, None], cols.flip(1), cols)  # (N, W), read right to left
    i = torch.arange(n, device=images.device)[:, None, None, None]  # (N, 1, 1, 1)
    ch = torch.arange(c, device=images.device)[None, :, None, None]  # (1, C, 1, 1)
    return padded[i, ch, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


class DeviceLoader:
    """Batches ``(images, labels)`` of a dataset held as one tensor on ``device``.

    ``shuffle`` draws a new order each epoch; ``crop_padding`` > 0 and ``flip`` add
    the random crop and horizontal flip described in the module docstring; ``mean``
    and ``std`` (per channel, pixels in [0, 1]) normalise after the crop, so the
    padding is black as in torchvision. uint8 images are scaled to [0, 1] floats.
    ``len()``, ``.dataset``, ``.batch_size`` and ``.generator`` are a DataLoader's.
    """

    def __init__(self, dataset, batch_size: int, *, shuffle: bool = False, crop_padding: int = 0,
                 flip: bool = False, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 device: str | torch.device | None = None, generator: torch.Generator | None = None,
                 drop_last: bool = False):
        self.dataset = dataset
        self.batch_size = positive_int("batch_size", batch_size)
        self.crop_padding = non_negative_int("crop_padding", crop_padding)
        self.shuffle, self.flip, self.drop_last = bool(shuffle), bool(flip), bool(drop_last)
        if generator is not None and (not isinstance(generator, torch.Generator) or generator.device.type != "cpu"):
            raise ValueError(f"generator must be a CPU torch.Generator (the draws are moved to the device), "
                             f"got {generator!r}")
        self.generator = generator
        self.device = get_device(device)
        images, labels = dataset_tensors(dataset)
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        channels = images.shape[1]
        self.mean = self.std = None
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        if mean is not None:
            if len(mean) != channels or len(std) != channels or min(std) <= 0:
                raise ValueError(f"mean and std need one value per channel ({channels}) and std > 0, "
                                 f"got {tuple(mean)} and {tuple(std)}")
            self.mean = torch.tensor(mean, device=self.device).view(1, channels, 1, 1)
            self.std = torch.tensor(std, device=self.device).view(1, channels, 1, 1)

    @property
    def augmentation(self) -> str | None:
        """What happens to a batch on the device, for a checkpoint's record of the run (None: nothing
        random, so the batches are a DataLoader's)."""
        steps = [f"random crop with padding {self.crop_padding}"] if self.crop_padding else []
        steps += ["horizontal flip"] if self.flip else []
        return ", ".join(steps) or None

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> torch.Tensor:
        """The epoch's order, drawn as a DataLoader with the same generator draws it: first the
        seed it hands its workers, then torch's RandomSampler permutations. The same seed
        therefore gives a DataLoader's batches (and a checkpoint of either resumes the other);
        tests/test_device_loader.py checks it against the installed torch."""
        n, g = len(self.labels), self.generator
        torch.empty((), dtype=torch.int64).random_(generator=g)  # DataLoader's worker base seed
        if not self.shuffle:
            return torch.arange(n)
        if g is None:  # RandomSampler without a generator seeds a fresh one from the global RNG
            g = torch.Generator().manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
        order = torch.randperm(n, generator=g)
        torch.randperm(n, generator=g)  # RandomSampler draws one more, of which it keeps 0 examples
        return order

    def _epoch_draws(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The epoch's order, crop offsets and flips, drawn on the CPU in a fixed order."""
        n, g = len(self.labels), self.generator
        order = self._order()
        offsets = torch.randint(0, 2 * self.crop_padding + 1, (n, 2), generator=g) if self.crop_padding else None
        flips = torch.rand(n, generator=g) < 0.5 if self.flip else None
        return tuple(None if t is None else t.to(self.device) for t in (order, offsets, flips))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order, offsets, flips = self._epoch_draws()
        for k in range(len(self)):
            part = slice(k * self.batch_size, (k + 1) * self.batch_size)
            index = order[part]  # (B,)
            x = self.images[index]  # (N, C, H, W) -> (B, C, H, W)
            if offsets is not None:
                x = random_crop_flip(x, self.crop_padding, offsets[part], None if flips is None else flips[part])
            elif flips is not None:
                x = torch.where(flips[part, None, None, None], x.flip(3), x)  # (B, C, H, W)
            if x.dtype == torch.uint8:
                x = x.float().div_(255)
            if self.mean is not None:
                x = (x - self.mean) / self.std  # (B, C, H, W), per-channel normalisation
            yield x, self.labels[index]

    def __repr__(self) -> str:
        augment = ", ".join(
            [f"crop_padding={self.crop_padding}"] * bool(self.crop_padding) + ["flip"] * self.flip
        )
        return (f"DeviceLoader({type(self.dataset).__name__} of {len(self.labels)} on {self.device}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}{', ' + augment if augment else ''})")




def tensor_loaders(train, test, batch_size: int, seed: int = 0, device: str | torch.device | None = None):
    """Train and test loaders over two in-memory datasets, as every offline task makes them.

    The train loader shuffles with its own generator seeded by ``seed``, so the batch
    order is reproducible whatever else used the global RNG; the test loader keeps the
    order. The data are tensors in memory, so no worker processes. With ``device``
    (e.g. "cuda") both are :class:`DeviceLoader` s that hold the data there: the same
    batches in the same order, made on the device.
    """
    generator = torch.Generator().manual_seed(seed)
    if device is not None:
        return (DeviceLoader(train, batch_size, shuffle=True, generator=generator, device=device),
                DeviceLoader(test, batch_size, device=device))
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(test, batch_size=batch_size, shuffle=False))


__all__ = ["DeviceLoader", "dataset_tensors", "random_crop_flip", "tensor_loaders"]
