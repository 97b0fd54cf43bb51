"""Checkpoints: a run saved after every epoch, loaded safely, resumed only by the same run.

``fit(..., checkpoint_dir=D)`` keeps one file, ``D/checkpoint.pt``, replaced after
every epoch by :func:`scattn.runtime.atomic_write`, so an interrupted run always
leaves its last complete epoch. The file holds only tensors and plain containers:
the ``state_dict()`` of the model, optimizer, schedule and gradient scaler (PyTorch's
own protocol), every random state, the history, and the run's *identity* (the model's
configuration, the data's specification, the seed and the hyperparameters, scattn's
version). It loads with ``torch.load(weights_only=True)``, which refuses anything
that could run code. A run resumes from a checkpoint only when the identities
match; otherwise the error names each field that differs.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .runtime import atomic_write, version

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = "scattn.fit/2"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, or that belongs to a different run.

    ``reason`` says what is wrong; the message adds how to start over from Python
    (the command line says it in its own terms).
    """

    def __init__(self, reason: str, restart: str = "call fit(..., resume=False) to start over"):
        self.reason = reason
        super().__init__(f"{reason} Use another checkpoint_dir, or {restart}.")


# ----------------------------------------------------------------------------- files


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` ``state`` to ``path`` atomically: readers see the old file or the new one."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by ``fit`` (``weights_only=True``, onto the CPU).

    Raises :class:`CheckpointError` naming the file when it is damaged, holds
    objects or code (refused: a scattn checkpoint never does), or is not one.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        text = str(e)
        if "GLOBAL" in text:  # the weights-only unpickler met a class or function to import
            raise CheckpointError(
                f"refused to load {path}: it holds Python objects or code, not only tensors and plain "
                "data. A scattn checkpoint never does, and unpickling such a file can run arbitrary "
                "code: do not load it unless you made it yourself, and delete it if you do not know "
                "where it came from."
            ) from None
        # torch's own message on a failed weights-only load starts by suggesting weights_only=False,
        # advice that is wrong for a file of unknown origin: keep only its specific line.
        detail = next((line.strip() for line in text.splitlines() if "Unsupported" in line), None)
        detail = detail or (text.splitlines()[0][:200] if text else type(e).__name__)
        raise CheckpointError(
            f"cannot read checkpoint {path} ({type(e).__name__}: {detail}): it may be corrupt, partly "
            "copied, or not a checkpoint at all."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a scattn training checkpoint (expected format {CHECKPOINT_FORMAT!r})."
        )
    return state


def kept_on_disk(path: str | os.PathLike, resume: str) -> str:
    """What the checkpoint at ``path`` keeps, read from the disk (never from memory: a run
    stopped while writing an epoch has that epoch in its history but not in its file)."""
    path = Path(path)
    if not path.exists():
        return f"nothing was saved ({path} does not exist)"
    try:
        epoch = load_checkpoint(path)["epoch"]
    except CheckpointError as e:
        return f"{path} cannot be read: {e.reason}"
    return f"{path} keeps epoch {epoch}: {resume}"


# ----------------------------------------------------------------------------- identity


def _plain(value):
    """A value as plain data that ``weights_only`` loading accepts and a message can print."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def model_identity(model: torch.nn.Module) -> dict[str, Any]:
    """The model's ``config`` (the course's models record their arguments) or, for any
    other module, a digest of its structure (its repr: layers, sizes, options)."""
    config = getattr(model, "config", None)
    if isinstance(config, Mapping):
        return {"class": type(model).__name__, **_plain(config)}
    digest = hashlib.sha256(repr(model).encode()).hexdigest()[:16]
    return {"class": type(model).__name__, "structure": digest}


def data_identity(loader) -> dict[str, Any]:
    """What the training data are: the dataset's class, size, generation parameters
    (``dataset.params`` where it has them: seed, canvas size, clutter ...), batch size and
    random augmentation (torchvision's transforms on the host, or a device-resident
    loader's: they draw differently, so a run does not resume on the other kind)."""
    dataset = getattr(loader, "dataset", None)
    spec: dict[str, Any] = {"dataset": type(dataset).__name__, "batch_size": getattr(loader, "batch_size", None)}
    augment = getattr(loader, "augmentation", None) or getattr(dataset, "transform", None)
    if augment is not None:  # torchvision's transforms on the host, or a device-resident loader's own
        spec["augmentation"] = " ".join(str(augment).split())
    try:
        spec["size"] = len(dataset)
    except TypeError:
        pass
    params = getattr(dataset, "params", None)
    if isinstance(params, Mapping):
        spec["params"] = _plain(params)
    return spec


def run_identity(model: torch.nn.Module, loader, **hyperparameters) -> dict[str, Any]:
    """Everything that makes a run this run, as plain data."""
    return {"model": model_identity(model), "data": data_identity(loader),
            **_plain(hyperparameters), "scattn": version()}


def _flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def identity_differences(saved: Mapping, now: Mapping) -> list[str]:
    """``field: saved -> now`` for every field that differs."""
    a, b = _flatten(saved), _flatten(now)
    return [f"{k}: {a.get(k, '(absent)')!r} in the checkpoint, {b.get(k, '(absent)')!r} now"
            for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


# ----------------------------------------------------------------------------- random states


def loader_generators(loader) -> list[torch.Generator]:
    """The torch.Generators that decide a DataLoader's shuffle, if it was given any.

    Without one, the sampler draws its seed from the global torch RNG, which the
    checkpoint stores anyway.
    """
    found: list[torch.Generator] = []
    candidates = [
        getattr(loader, "generator", None),
        getattr(getattr(loader, "sampler", None), "generator", None),
        getattr(getattr(getattr(loader, "batch_sampler", None), "sampler", None), "generator", None),
    ]
    for g in candidates:
        if isinstance(g, torch.Generator) and all(g is not h for h in found):
            found.append(g)
    return found


def rng_state(loader) -> dict[str, Any]:
    """Every random state a run depends on, as tensors and plain lists."""
    version_, mt, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": [version_, list(mt), gauss],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "loader": [g.get_state() for g in loader_generators(loader)],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], loader) -> None:
    torch.set_rng_state(state["torch"])
    version_, mt, gauss = state["python"]
    random.setstate((version_, tuple(mt), gauss))
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached"]))
    gens = loader_generators(loader)
    if len(gens) != len(state["loader"]):
        raise CheckpointError(
            f"the checkpoint saved {len(state['loader'])} shuffle generator(s) but the train loader "
            f"has {len(gens)}: resume with a loader built the same way."
        )
    for g, s in zip(gens, state["loader"], strict=True):
        g.set_state(s)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- one run's file


class Checkpoint:
    """The checkpoint of one run in ``directory``: saved after each epoch, restored to resume.

    ``parts`` are the objects whose ``state_dict()`` the run needs back (model,
    optimizer, schedule, gradient scaler); ``loader`` is the train loader whose
    shuffle generator is saved with the other random states.
    """

    def __init__(self, directory: str | os.PathLike, identity: dict[str, Any], parts: Mapping[str, Any], loader):
        self.path = Path(directory) / CHECKPOINT_NAME
        self.identity, self.parts, self.loader = identity, dict(parts), loader

    def save(self, epoch: int, history: list[dict[str, Any]]) -> None:
        save_checkpoint(self.path, {
            "format": CHECKPOINT_FORMAT,
            "epoch": epoch,
            "identity": self.identity,
            "state": {name: part.state_dict() for name, part in self.parts.items()},
            "rng": rng_state(self.loader),
            "history": history,
        })

    def restore(self) -> tuple[int, list[dict[str, Any]]] | None:
        """Load the states back; ``(epochs done, history rows)``, or None without a file."""
        if not self.path.exists():
            return None
        state = load_checkpoint(self.path)
        differences = identity_differences(state["identity"], self.identity)
        if differences:
            raise CheckpointError(f"{self.path} belongs to a different run: {'; '.join(differences)}.")
        for name, part in self.parts.items():
            try:
                part.load_state_dict(state["state"][name])
            except (RuntimeError, KeyError, ValueError) as e:  # missing / unexpected keys, other shapes
                raise CheckpointError(
                    f"{self.path} holds a different {name} ({str(e).splitlines()[0][:200]} ...)."
                ) from e
        set_rng_state(state["rng"], self.loader)
        return int(state["epoch"]), list(state["history"])


__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "Checkpoint", "CheckpointError", "data_identity",
           "identity_differences", "kept_on_disk", "load_checkpoint", "model_identity", "run_identity",
           "save_checkpoint"]
