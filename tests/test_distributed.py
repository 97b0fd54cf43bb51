"""fit and the command line under torchrun: two CPU processes (gloo on 127.0.0.1) train as one.

The fit-level tests fork their ranks from this process (torch is imported already,
which saves each rank seconds of start-up) and give them the variables torchrun
sets; the command-line test runs torchrun itself.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

import scattn
from scattn.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from scattn.distributed import Ranks
from scattn.train import Recipe, fit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks its ranks (Linux)")

EPOCHS, GLOBAL_BATCH, SEED, N_TRAIN, LR = 2, 16, 0, 64, 0.1
# float32 sums in another order (DDP adds two half-batch gradients, one process sums over the
# whole batch): after 8 AdamW steps the weights differ by a few 1e-7 (measured: see docs/scaling.md)
TOLERANCE = 1e-5


def data(n: int = N_TRAIN, size: int = 8) -> TensorDataset:
    """Noise with (class 1) or without (class 0) a bright 3×3 square: learnable in a few steps."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.2 * torch.rand(n, 1, size, size, generator=g)
    for i in torch.nonzero(y).flatten().tolist():
        r, c = torch.randint(0, size - 2, (2,), generator=g).tolist()
        x[i, 0, r:r + 3, c:c + 3] = 1.0
    return TensorDataset(x, y)


def model() -> nn.Module:
    """A CNN with CBAM and no BatchNorm. BatchNorm normalises each rank's half of a batch on its own,
    and SyncBatchNorm, which would not, runs on GPUs only: only without it do one and two processes
    compute the same function of the same global batch."""
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        scattn.make_attention("cbam", 8, reduction=4),
        nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )


class DieAt(Dataset):
    """``dataset``, but the process kills itself (SIGKILL: no clean-up) at its ``at``-th fetch."""

    def __init__(self, dataset, at: int):
        self.dataset, self.at, self.fetched = dataset, at, 0

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        self.fetched += 1
        if self.fetched == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.dataset[i]


def train(out: Path, checkpoint_dir: Path | None = None, die_at: int | None = None) -> None:
    """One rank's run: fit on the global batch; rank 0 saves the weights and history to ``out``."""
    train = data()
    if die_at is not None and os.environ["RANK"] == "1":
        train = DieAt(train, die_at)
    loader = DataLoader(train, batch_size=GLOBAL_BATCH, shuffle=True, generator=torch.Generator())
    net = model()
    history = fit(net, loader, DataLoader(data(40), batch_size=8), EPOCHS, Recipe(lr=LR), seed=SEED,
                  checkpoint_dir=checkpoint_dir, quiet=True)
    ranks = scattn.distributed.current()
    assert ranks.distributed and ranks.world_size == int(os.environ["WORLD_SIZE"])
    if ranks.main:
        torch.save({"weights": net.state_dict(), "history": history.rows}, out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, work, args) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)  # as torchrun sets OMP_NUM_THREADS=1
    try:
        work(*args)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def run_ranks(world: int, work, *args, timeout: float = 120) -> list[int]:
    """``work(*args)`` in ``world`` forked processes that see torchrun's variables; their exit codes."""
    port = free_port()
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_rank, args=(r, world, port, work, args)) for r in range(world)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    return [p.exitcode for p in procs]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def without_timings(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "elapsed")} for r in rows]


@pytest.fixture(scope="module")
def one_process():
    """A single-process run on the same global batches: a DistributedSampler of one replica draws
    the permutation the ranks' samplers share, and fit tells it the epoch as it tells theirs.
    (It runs first: forked ranks then find torch's lazy imports done.)"""
    sampler = DistributedSampler(data(), num_replicas=1, rank=0, seed=SEED)
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, sampler=sampler)
    net = model()
    history = fit(net, loader, DataLoader(data(40), batch_size=8), EPOCHS, Recipe(lr=LR), seed=SEED, quiet=True)
    return {"weights": net.state_dict(), "history": history.rows}


@pytest.fixture(scope="module")
def two_ranks(one_process, tmp_path_factory):
    """An uninterrupted two-process run with a checkpoint: {"weights", "history"}."""
    d = tmp_path_factory.mktemp("two")
    assert run_ranks(2, train, d / "out.pt", d / "ckpt") == [0, 0]
    return torch.load(d / "out.pt", weights_only=True)


# ----------------------------------------------------------------------------- one process's view


def test_the_ranks_batches_together_are_the_global_batch():
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, shuffle=True)
    one = DataLoader(data(), batch_size=GLOBAL_BATCH, sampler=DistributedSampler(data(), 1, 0, seed=SEED))
    parts = [Ranks(r, 2, distributed=True).shard(loader, SEED) for r in range(2)]
    for epoch in range(2):
        for p in (one, *parts):
            Ranks.set_epoch(p, epoch)
        assert len(parts[0]) == len(parts[1]) == len(loader) == N_TRAIN // GLOBAL_BATCH
        for whole, b0, b1 in zip(one, *parts, strict=True):
            assert len(b0[1]) == len(b1[1]) == GLOBAL_BATCH // 2
            rows = lambda x: sorted(map(tuple, x.flatten(1).tolist()))  # noqa: E731
            assert rows(whole[0]) == rows(torch.cat([b0[0], b1[0]]))
    # the test set: each example scored by one rank
    slices = [Ranks(r, 3, distributed=True).shard_eval(DataLoader(data(40), batch_size=8)) for r in range(3)]
    assert sorted(i for s in slices for i in s.dataset.indices) == list(range(40))


def test_one_process_leaves_the_loaders_alone():
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, shuffle=True)
    ranks = Ranks()
    assert ranks.shard(loader, SEED) is loader and ranks.shard_eval(loader) is loader
    assert ranks.wrap(m := model()) is m and ranks.identity() == {}
    assert ranks.sum(torch.tensor(2.0), 3) == (torch.tensor(2.0), 3)


def test_a_global_batch_that_does_not_divide_and_other_loaders_are_refused():
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, shuffle=True)
    with pytest.raises(ValueError, match="batch size 16 is the global batch.*does not divide by 3"):
        Ranks(0, 3, distributed=True).shard(loader, SEED)
    with pytest.raises(TypeError, match="must be a DataLoader with a batch_size"):
        Ranks(0, 2, distributed=True).shard([(torch.zeros(2, 1, 8, 8), torch.zeros(2))], SEED)
    presharded = DataLoader(data(), batch_size=8, sampler=DistributedSampler(data(), 2, 0))
    with pytest.raises(ValueError, match="already has a DistributedSampler"):
        Ranks(0, 2, distributed=True).shard(presharded, SEED)


# ----------------------------------------------------------------------------- two processes


def test_two_processes_train_the_weights_one_process_trains(one_process, two_ranks):
    difference = max_difference(one_process["weights"], two_ranks["weights"])
    print(f"largest weight difference, 1 vs 2 processes: {difference:.2e}")
    assert 0 <= difference < TOLERANCE
    for one, two in zip(one_process["history"], two_ranks["history"], strict=True):
        assert one["train_loss"] == pytest.approx(two["train_loss"], abs=TOLERANCE)
        assert one["test_loss"] == pytest.approx(two["test_loss"], abs=TOLERANCE)
        assert one["train_acc"] == two["train_acc"] and one["test_acc"] == two["test_acc"]
    assert one["test_acc"] >= 0.9  # it learned: the comparison is not of two untrained networks


# Plain SGD (no momentum, a constant rate): each step moves the weights by lr × the gradient, so
# a gradient twice too large shows. AdamW divides the gradient by its own running scale: an
# all-reduce that summed the ranks' gradients instead of averaging them would pass the test above.
SGD = Recipe(optimizer="sgd", lr=LR, momentum=0.0, schedule="constant")


def sum_gradients(state, bucket):
    """A DDP communication hook that sums the ranks' gradients (DDP's own averages them): the bug."""
    work = torch.distributed.all_reduce(bucket.buffer(), async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def train_sgd(out: Path, reduction: str = "mean") -> None:
    """One rank's run with plain SGD; rank 0 saves the weights. ``reduction="sum"`` plants the bug."""
    if reduction == "sum":
        wrap = Ranks.wrap

        def summing(self, net):
            ddp = wrap(self, net)
            ddp.register_comm_hook(None, sum_gradients)
            return ddp

        Ranks.wrap = summing  # in this forked rank only
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, shuffle=True, generator=torch.Generator())
    net = model()
    fit(net, loader, None, EPOCHS, SGD, seed=SEED, quiet=True)
    if scattn.distributed.current().main:
        torch.save(net.state_dict(), out)


def test_plain_sgd_two_processes_average_the_gradients_and_a_sum_would_show(tmp_path):
    sampler = DistributedSampler(data(), num_replicas=1, rank=0, seed=SEED)
    alone = model()
    fit(alone, DataLoader(data(), batch_size=GLOBAL_BATCH, sampler=sampler), None, EPOCHS, SGD, seed=SEED,
        quiet=True)
    moved = max_difference(alone.state_dict(), model().state_dict())
    assert run_ranks(2, train_sgd, tmp_path / "mean.pt") == [0, 0]
    averaged = max_difference(alone.state_dict(), torch.load(tmp_path / "mean.pt", weights_only=True))
    assert run_ranks(2, train_sgd, tmp_path / "sum.pt", "sum") == [0, 0]
    summed = max_difference(alone.state_dict(), torch.load(tmp_path / "sum.pt", weights_only=True))
    print(f"SGD: weights moved {moved:.2e}; 1 vs 2 processes {averaged:.2e}, with summed gradients {summed:.2e}")
    assert averaged < TOLERANCE
    assert summed > 100 * TOLERANCE  # the comparison sees a wrong reduction


def test_a_run_killed_mid_epoch_resumes_on_two_processes_or_one(two_ranks, tmp_path):
    ckpt = tmp_path / "ckpt"
    # rank 1 dies at its 12th example of epoch 2 (it takes 32 per epoch, 8 per batch); rank 0 then fails too
    codes = run_ranks(2, train, tmp_path / "unused.pt", ckpt, N_TRAIN // 2 + 12)
    assert codes[1] == -signal.SIGKILL and codes[0] != 0
    assert load_checkpoint(ckpt / CHECKPOINT_NAME)["epoch"] == 1
    assert [p.name for p in ckpt.iterdir()] == [CHECKPOINT_NAME]  # no temporary file left
    shutil.copytree(ckpt, tmp_path / "copy")

    assert run_ranks(2, train, tmp_path / "resumed.pt", ckpt) == [0, 0]
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert same(resumed["weights"], two_ranks["weights"])  # bit for bit
    assert without_timings(resumed["history"]) == without_timings(two_ranks["history"])

    # Another process count keeps the global batch, the steps and the schedule: it resumes too.
    assert run_ranks(1, train, tmp_path / "alone.pt", tmp_path / "copy") == [0]
    alone = torch.load(tmp_path / "alone.pt", weights_only=True)
    difference = max_difference(alone["weights"], two_ranks["weights"])
    print(f"largest weight difference, resumed on 1 process vs 2 throughout: {difference:.2e}")
    assert difference < TOLERANCE

    # Outside torchrun a plain loader shuffles: not the same run, and the error says so.
    loader = DataLoader(data(), batch_size=GLOBAL_BATCH, shuffle=True, generator=torch.Generator())
    with pytest.raises(CheckpointError, match="distributed: 'torchrun"):
        fit(model(), loader, None, EPOCHS, Recipe(lr=LR), seed=SEED, checkpoint_dir=tmp_path / "copy", quiet=True)


# ----------------------------------------------------------------------------- torchrun and the CLI


def test_the_command_line_under_torchrun_writes_one_json_and_one_checkpoint(tmp_path):
    env = {**os.environ, "SCATTN_DATA": str(tmp_path / "data"), "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
               "127.0.0.1", "--master-port", str(free_port()), "-m", "scattn", "train", "--attention", "se",
               "--profile", "smoke", "--n-train", "64", "--n-test", "32", "--batch-size", "32", "--epochs", "1",
               "--device", "cpu", "--quiet", "--json", str(tmp_path / "run.json"),
               "--checkpoint-dir", str(tmp_path / "ckpt")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("wrote ") == 1 and done.stdout.count("se: test accuracy") == 1  # rank 0 alone
    rows = json.loads((tmp_path / "run.json").read_text())["rows"]
    assert [r["epoch"] for r in rows] == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "data", "run.json"]
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == [CHECKPOINT_NAME]
    state = load_checkpoint(tmp_path / "ckpt" / CHECKPOINT_NAME)
    assert state["identity"]["data"]["batch_size"] == 32  # the global batch, 16 per rank
    assert "torchrun" in state["identity"]["distributed"]
