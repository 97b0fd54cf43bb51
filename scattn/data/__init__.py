"""The course's data: offline tasks made from scikit-learn's digits, CIFAR-10, sample photos.

- :func:`cluttered_digits` (``digits.py``): one digit among fragments of others.
- :func:`colour_cue_digits` (``cues.py``): two coloured digits and a colour bar that names one.
- :func:`spotlight_digits` (``spotlight.py``): several digits under lights; name the brightest-lit one.
- :func:`cifar10`, :func:`cifar100` (``cifar.py``): through torchvision, with a clear offline error.
- :class:`DeviceLoader` (``device.py``): the dataset on the GPU, shuffled and augmented there.
- :func:`sample_photos` (``photos.py``): photos that ship with scikit-image.

Every offline task draws its digits from the same seeded source split
(``sources.py``) and caches its canvases with a checksum (``cache.py``).
"""

from .cifar import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR100_MEAN,
    CIFAR100_STD,
    cifar10,
    cifar10_loaders,
    cifar10_transform,
    cifar100,
    cifar100_loaders,
)
from .cues import (
    COLOURS,
    ColourCueDigits,
    colour_cue_digits,
    colour_cue_loaders,
)
from .device import DeviceLoader
from .digits import (
    CANVAS_SIZE,
    DEFAULT_COUNTS,
    DIGIT_SIZE,
    DISTRACTOR_SIZE,
    N_DISTRACTORS,
    ClutteredDigits,
    cluttered_digits,
    cluttered_digits_loaders,
)
from .photos import PHOTOS, sample_photos
from .sources import TEST_FRACTION, source_split
from .spotlight import SpotlightDigits, spotlight_digits, spotlight_digits_loaders

__all__ = [
    "CANVAS_SIZE",
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "CIFAR100_MEAN",
    "CIFAR100_STD",
    "COLOURS",
    "DEFAULT_COUNTS",
    "DIGIT_SIZE",
    "DISTRACTOR_SIZE",
    "N_DISTRACTORS",
    "PHOTOS",
    "TEST_FRACTION",
    "ClutteredDigits",
    "DeviceLoader",
    "SpotlightDigits",
    "ColourCueDigits",
    "cifar10",
    "cifar10_loaders",
    "cifar10_transform",
    "cifar100",
    "cifar100_loaders",
    "cluttered_digits",
    "cluttered_digits_loaders",
    "colour_cue_digits",
    "colour_cue_loaders",
    "sample_photos",
    "source_split",
    "spotlight_digits",
    "spotlight_digits_loaders",
]
