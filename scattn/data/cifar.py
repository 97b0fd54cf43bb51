"""CIFAR-10 through torchvision: the augmentation of He et al. (2016) and a clear offline error."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..runtime import data_dir

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
            f"CIFAR-10 is not available: {how} ({err}).\n{_damaged_archive(root / CIFAR10.filename)}"
            f"  - With internet, cifar10(download=True) fetches {CIFAR10.url}\n"
            f"    (163 MB) into {root} and unpacks it.\n"
            f"  - Offline, copy the unpacked 'cifar-10-batches-py' folder (data_batch_1..5, test_batch,\n"
            f"    batches.meta) to {folder}, or put {CIFAR10.filename} in {root} and use download=True;\n"
            f"    set $SCATTN_DATA or pass root= to use another folder.\n"
            f"  - The course's offline task, scattn.data.cluttered_digits(), needs no download at all."
        ) from err


def _damaged_archive(archive: Path) -> str:
    """Remove a partial or damaged download (it would be taken for the real one); say so."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    if not archive.is_file() or check_integrity(str(archive), CIFAR10.tgz_md5):
        return ""
    size = archive.stat().st_size
    archive.unlink()
    return (f"  - Removed {archive}: a partial or damaged archive ({size:,} bytes, MD5 not "
            f"{CIFAR10.tgz_md5}; an interrupted download leaves one). Download it again.\n")


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



__all__ = ["CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "cifar10", "cifar10_loaders", "cifar10_transform"]
