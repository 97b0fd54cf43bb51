"""Several processes, one run: ``fit`` under ``torchrun`` with DistributedDataParallel.

    torchrun --nproc-per-node 4 -m scattn train --attention cbam     # 4 GPUs (or 4 CPU processes)

Each process (a *rank*) holds a copy of the model and trains on its share of every
batch; DistributedDataParallel (DDP) averages the gradients over the ranks after
each backward pass, so every rank takes the same optimiser step. The rules that
make a distributed run the same run as a single process:

- The train loader's ``batch_size`` is the *global* batch B: with W ranks each
  takes B / W examples. A DistributedSampler, seeded by fit's seed and told the
  epoch (``set_epoch``), permutes the data; rank r takes positions r, r + W, ...,
  so the ranks' k-th batches together are the k-th global batch of that
  permutation, and the steps per epoch (hence the schedule) do not depend on W.
- The gradient of the mean loss over B examples is the mean over ranks of each
  rank's mean over B / W examples: what DDP's averaging computes. BatchNorm is the
  exception: it normalises with each rank's own B / W examples (as the papers'
  multi-GPU ImageNet runs did); ``torch.nn.SyncBatchNorm`` (GPUs only) shares them.
- Rank 0 alone shows progress, prints and writes checkpoints and results; every
  rank reads a checkpoint to resume, and the others wait at a barrier while rank
  0 writes one. A checkpoint resumes under another number of processes as long
  as the global batch divides among them.

The backend is NCCL on GPUs (rank r uses ``cuda:LOCAL_RANK``) and gloo on the CPU.
Outside torchrun every function here is a no-op and ``fit`` runs as it always did.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, Subset

from .checkpoint import CheckpointError
from .runtime import model_device, torchrun_local_rank


def launched() -> bool:
    """True in a process that torchrun started (it sets RANK, WORLD_SIZE and LOCAL_RANK).

    Each such process computes on the GPU of its LOCAL_RANK: :func:`scattn.runtime.get_device`
    decides that, like every other device choice."""
    return torchrun_local_rank() is not None


@dataclass(frozen=True)
class Ranks:
    """This process's place in a run: rank ``rank`` of ``world_size`` (0 of 1 alone).

    The methods are what ``fit`` does differently on several ranks; with one
    process each returns its argument unchanged.
    """

    rank: int = 0
    world_size: int = 1
    distributed: bool = False  # one of a process group (torchrun's), even a group of one

    @property
    def main(self) -> bool:
        """Rank 0: the one that prints and writes files."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """DistributedDataParallel around ``model`` (it averages the gradients), or ``model`` alone."""
        if not self.distributed:
            return model
        on = model_device(model)
        return nn.parallel.DistributedDataParallel(model, device_ids=[on.index] if on.type == "cuda" else None)

    def shard(self, loader, seed: int | None):
        """This rank's loader: B / W examples of each global batch B, permuted by a DistributedSampler.

        ``loader`` must be a DataLoader over a map-style dataset with a batch size;
        its workers, collation and generator carry over. Without a seed the
        permutation is seeded by 0, the same on every rank.
        """
        if not self.distributed:
            return loader
        if not isinstance(loader, DataLoader) or loader.batch_size is None:
            raise TypeError("under torchrun, train_loader must be a DataLoader with a batch_size (the global "
                            f"batch, split among the ranks), got {type(loader).__name__}")
        if isinstance(loader.sampler, DistributedSampler):
            raise ValueError("train_loader already has a DistributedSampler: under torchrun pass the plain "
                             "loader with the global batch size, and fit splits each batch among the ranks")
        batch = loader.batch_size
        if batch % self.world_size:
            raise ValueError(f"the train loader's batch size {batch} is the global batch, split among the "
                             f"{self.world_size} processes, but it does not divide by {self.world_size}: use a "
                             "batch size divisible by the number of processes, or another number of processes")
        sampler = DistributedSampler(loader.dataset, num_replicas=self.world_size, rank=self.rank, shuffle=True,
                                     seed=0 if seed is None else seed, drop_last=loader.drop_last)
        return DataLoader(
            loader.dataset, batch_size=batch // self.world_size, sampler=sampler, num_workers=loader.num_workers,
            collate_fn=loader.collate_fn, pin_memory=loader.pin_memory, drop_last=loader.drop_last,
            timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
            multiprocessing_context=loader.multiprocessing_context, generator=loader.generator,
            prefetch_factor=loader.prefetch_factor, persistent_workers=loader.persistent_workers,
        )

    def shard_eval(self, loader):
        """This rank's slice of the test set (examples r, r + W, ...), each example scored once.

        A loader that cannot be sliced (not a DataLoader, or fewer examples than
        ranks) is scored whole by every rank: the same numbers, W times the work.
        """
        if not self.distributed or loader is None or not isinstance(loader, DataLoader) \
                or loader.batch_size is None or len(loader.dataset) < self.world_size:
            return loader
        part = Subset(loader.dataset, range(self.rank, len(loader.dataset), self.world_size))
        return DataLoader(part, batch_size=loader.batch_size, num_workers=loader.num_workers,
                          collate_fn=loader.collate_fn, pin_memory=loader.pin_memory)

    @staticmethod
    def set_epoch(loader, epoch: int) -> None:
        """Tell a DistributedSampler the epoch (0-based): each epoch its own permutation."""
        set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def sum(self, *values):
        """Each value (a tensor or a number) summed over the ranks, in its own type."""
        if not self.distributed:
            return values if len(values) > 1 else values[0]
        totals = []
        for v in values:
            t = v.clone() if isinstance(v, torch.Tensor) else \
                torch.tensor(v, dtype=torch.float64 if isinstance(v, float) else torch.int64, device=self._device())
            dist.all_reduce(t)
            totals.append(t if isinstance(v, torch.Tensor) else type(v)(t.item()))
        return tuple(totals) if len(totals) > 1 else totals[0]

    def combine_scores(self, scores: dict[str, float], part) -> dict[str, float]:
        """``evaluate``'s mean loss and accuracy over every rank's slice of the test set."""
        if not self.distributed:
            return scores
        n = len(part.dataset) if isinstance(part, DataLoader) else 1  # unsliced: equal weights, equal scores
        loss, hits, count = self.sum(scores["loss"] * n, round(scores["accuracy"] * n), n)
        return {"loss": loss / count, "accuracy": hits / count}

    def sync_buffers(self, model: nn.Module) -> None:
        """Rank 0's buffers (BatchNorm's running statistics) on every rank: what its checkpoint keeps.

        DDP sends them at the start of each forward pass, but each rank's last
        training step updates its own copy with its own examples.
        """
        if self.distributed:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def on_main(self, work: Callable[..., Any], *args) -> None:
        """``work(*args)`` on rank 0 alone (a checkpoint); the other ranks wait until it is done."""
        if self.main:
            work(*args)
        self.barrier()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def identity(self) -> dict[str, str]:
        """What a checkpoint records about the run's launch: resuming needs the same shuffle.

        Nothing for one process (a plain loader shuffles); under torchrun the
        DistributedSampler, with any number of processes.
        """
        if not self.distributed:
            return {}
        return {"distributed": "torchrun: a DistributedSampler shuffles, the global batch is split among the ranks"}

    def check_resume(self, epochs_done: int, path) -> None:
        """Every rank found the same checkpoint, or a :class:`CheckpointError` says which did not."""
        if not self.distributed:
            return
        found = [None] * self.world_size
        dist.all_gather_object(found, epochs_done)
        if len(set(found)) > 1:
            seen = ", ".join(f"rank {r}: {e} epoch(s)" for r, e in enumerate(found))
            raise CheckpointError(
                f"the ranks found different checkpoints at {path} ({seen}): on several machines the "
                "checkpoint directory must be one folder that every rank sees (a shared file system)."
            )

    def _device(self) -> torch.device:
        # NCCL reduces CUDA tensors only, gloo CPU ones
        return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" \
            else torch.device("cpu")


def join(on: torch.device) -> Ranks:
    """This process's :class:`Ranks`; under torchrun, first join its process group (once).

    NCCL when ``on`` is a GPU, gloo on the CPU. The group is destroyed when the
    process exits. Outside torchrun (and without a process group): rank 0 of 1.
    """
    if not dist.is_available():
        if launched():
            raise RuntimeError("this torch was built without torch.distributed, so it cannot run under torchrun")
        return Ranks()
    if not dist.is_initialized() and launched():
        if on.type == "cuda":
            torch.cuda.set_device(on)
        dist.init_process_group("nccl" if on.type == "cuda" else "gloo",
                                device_id=on if on.type == "cuda" else None)
        atexit.register(_leave)
    return current()


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    """True outside torchrun and on its rank 0 (read from the environment: no process group needed)."""
    return not launched() or os.environ["RANK"] == "0"


@contextlib.contextmanager
def quiet_unless_main() -> Iterator[None]:
    """Standard output of ranks other than 0 goes nowhere (their errors still show)."""
    if is_main():
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (a download, a data cache), then the other ranks of the
    process group joined already (they find it ready); alone, just the block."""
    ranks = current()
    if not ranks.main:
        ranks.barrier()
    yield
    if ranks.main:
        ranks.barrier()


def current() -> Ranks:
    """The :class:`Ranks` of the process group joined already (rank 0 of 1 without one)."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), distributed=True)
    return Ranks()


__all__ = ["Ranks", "current", "is_main", "join", "launched", "main_first", "quiet_unless_main"]
