"""What every generated canvas dataset shares: (image, label) pairs and the parameters that made them."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class Canvases(Dataset):
    """A base for the offline tasks (cluttered, colour-cue and spotlight digits).

    A subclass sets ``images`` (N, C, H, W), ``labels`` (N,) and ``params`` (the
    generation parameters, shown in the repr); indexing gives ``(image, label)``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    params: dict

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]

    def size_text(self) -> str:
        """How the repr names a canvas's size: H×W."""
        h, w = self.images.shape[2:]
        return f"{h}×{w}"

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({len(self)} canvases of {self.size_text()}{', ' + extra if extra else ''})"
