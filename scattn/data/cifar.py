"""CIFAR-10 and CIFAR-100 through torchvision: the augmentation of He et al. (2016), a clear
offline error, and device-resident loaders for a GPU runtime."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..runtime import data_dir
from .device import DeviceLoader

# Per-channel mean and standard deviation of the 50,000 training images (pixels in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
# The same for CIFAR-100's 50,000 training images (over all pixels, as for CIFAR-10).
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
CROP_PADDING = 4  # RandomCrop(32, padding=4), as He et al. (2016)


def cifar10_transform(augment: bool, mean=CIFAR10_MEAN, std=CIFAR10_STD):
    """ToTensor + Normalize, after RandomCrop(32, padding=4) + RandomHorizontalFlip if ``augment``.

    The augmentation of He et al. (2016) for CIFAR ResNets.
    """
    from torchvision import transforms

    steps = [transforms.RandomCrop(32, padding=CROP_PADDING), transforms.RandomHorizontalFlip()] if augment else []
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    return transforms.Compose(steps)


def cifar10(root=None, train: bool = True, download: bool = True, augment: bool | None = None):
    """CIFAR-10 as a ``torchvision.datasets.CIFAR10``, normalised, augmented when training.

    ``root`` defaults to :func:`scattn.runtime.data_dir`; torchvision keeps the
    batches in ``root/cifar-10-batches-py``. ``augment`` defaults to ``train``.
    Without the files and without the internet this raises a RuntimeError that says
    where to put them; the course's cluttered digits need no download at all.
    """
    from torchvision.datasets import CIFAR10

    return _load(CIFAR10, "CIFAR-10", "163 MB", "data_batch_1..5, test_batch, batches.meta",
                 root, train, download, augment, CIFAR10_MEAN, CIFAR10_STD)


def cifar100(root=None, train: bool = True, download: bool = True, augment: bool | None = None):
    """CIFAR-100 as a ``torchvision.datasets.CIFAR100``: 100 fine classes, normalised, augmented
    when training (as :func:`cifar10`).

    The files hold a fine label (100 classes) and a coarse one (20 superclasses) per
    image; torchvision, and so the course, trains on the fine ones, named in
    ``dataset.classes`` from the ``meta`` file. torchvision keeps the files in
    ``root/cifar-100-python``; offline errors are :func:`cifar10`'s.
    """
    from torchvision.datasets import CIFAR100

    return _load(CIFAR100, "CIFAR-100", "161 MB", "train, test, meta",
                 root, train, download, augment, CIFAR100_MEAN, CIFAR100_STD)


def _load(cls, name: str, size: str, files: str, root, train, download, augment, mean, std):
    root = Path(root if root is not None else data_dir())
    augment = train if augment is None else augment
    try:
        return cls(str(root), train=train, transform=cifar10_transform(augment, mean, std), download=download)
    except (RuntimeError, OSError) as err:  # URLError (no network) is an OSError
        folder = root / cls.base_folder
        how = (
            "the download failed (no internet?)" if download
            else "download=False and the files are missing or damaged"
        )
        call = cls.__name__.lower()
        raise RuntimeError(
            f"{name} is not available: {how} ({err}).\n{_damaged_archive(cls, root / cls.filename)}"
            f"  - With internet, {call}(download=True) fetches {cls.url}\n"
            f"    ({size}) into {root} and unpacks it.\n"
            f"  - Offline, copy the unpacked '{cls.base_folder}' folder ({files}) to {folder},\n"
            f"    or put {cls.filename} in {root} and use download=True;\n"
            f"    set $SCATTN_DATA or pass root= to use another folder.\n"
            f"  - The course's offline task, scattn.data.cluttered_digits(), needs no download at all."
        ) from err


def _damaged_archive(cls, archive: Path) -> str:
    """Remove a partial or damaged download (it would be taken for the real one); say so."""
    from torchvision.datasets.utils import check_integrity

    if not archive.is_file() or check_integrity(str(archive), cls.tgz_md5):
        return ""
    size = archive.stat().st_size
    archive.unlink()
    return (f"  - Removed {archive}: a partial or damaged archive ({size:,} bytes, MD5 not "
            f"{cls.tgz_md5}; an interrupted download leaves one). Download it again.\n")


def _loaders(load, mean, std, batch_size, root, download, num_workers, device, seed):
    if device is None:  # torchvision's transforms in worker processes
        train, test = load(root, train=True, download=download), load(root, train=False, download=download)
        options = dict(batch_size=batch_size, num_workers=num_workers, pin_memory=torch.cuda.is_available(),
                       persistent_workers=num_workers > 0)
        return DataLoader(train, shuffle=True, **options), DataLoader(test, shuffle=False, **options)
    # On the device: raw pixels there once, crop, flip and normalisation in batches.
    train = load(root, train=True, download=download, augment=False)
    test = load(root, train=False, download=download, augment=False)
    norm = dict(mean=mean, std=std, device=device)
    return (DeviceLoader(train, batch_size, shuffle=True, crop_padding=CROP_PADDING, flip=True,
                         generator=torch.Generator().manual_seed(seed), **norm),
            DeviceLoader(test, batch_size, **norm))


def cifar10_loaders(batch_size: int, root=None, download: bool = True, num_workers: int = 2, *,
                    device: str | torch.device | None = None, seed: int = 0):
    """Shuffled, augmented train loader and plain test loader for CIFAR-10.

    Without ``device``: DataLoaders with torchvision's transforms in ``num_workers``
    processes (the shuffle uses torch's global RNG). With ``device`` (e.g. "cuda"):
    :class:`~scattn.data.device.DeviceLoader` s holding the images there, augmenting
    in batches on the device and shuffling with their own generator seeded by ``seed``.
    """
    return _loaders(cifar10, CIFAR10_MEAN, CIFAR10_STD, batch_size, root, download, num_workers, device, seed)


def cifar100_loaders(batch_size: int, root=None, download: bool = True, num_workers: int = 2, *,
                     device: str | torch.device | None = None, seed: int = 0):
    """:func:`cifar10_loaders` for CIFAR-100 (fine labels, 100 classes)."""
    return _loaders(cifar100, CIFAR100_MEAN, CIFAR100_STD, batch_size, root, download, num_workers, device, seed)


__all__ = ["CIFAR100_MEAN", "CIFAR100_STD", "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "CROP_PADDING",
           "cifar10", "cifar100", "cifar100_loaders", "cifar10_loaders", "cifar10_transform"]
