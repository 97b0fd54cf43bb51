"""Colour photos that ship with scikit-image: real images for notebook 01, no download."""

from __future__ import annotations

import numpy as np

PHOTOS = ("astronaut", "chelsea", "coffee")


def sample_photos() -> dict[str, np.ndarray]:
    """Colour photos that ship with scikit-image (no download): name -> H×W×3 uint8.

    astronaut (512×512), chelsea the cat (300×451), coffee (400×600).
    """
    import skimage.data

    return {name: getattr(skimage.data, name)() for name in PHOTOS}


__all__ = ["PHOTOS", "sample_photos"]
