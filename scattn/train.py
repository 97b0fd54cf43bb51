"""Training: ``fit`` and ``evaluate``, with a progress bar, a history and a checkpoint every epoch.

One call trains a model and returns its per-epoch history::

    history = fit(model, train_loader, test_loader, epochs=6, checkpoint_dir="runs/cbam")
    history          # a table: train/test loss and accuracy, seconds, lr per epoch
    fit(model, train_loader, epochs=6, recipe=Recipe(optimizer="sgd", lr=0.1))

The :class:`Recipe` holds how to optimise; its defaults: AdamW (weight decay 5e-4)
under a one-cycle schedule (Smith & Topin 2019), stepped every batch: the learning
rate rises from lr/25 to ``lr`` = 1e-2 over the first 25% of the steps, then anneals
by a cosine to lr/25,000. Fast early progress is what a short CPU budget needs.

Checkpoints and resuming live in :mod:`scattn.checkpoint`; the device, the number
format (mixed precision, channels_last) and ``torch.compile`` are decided once per
run by :func:`scattn.runtime.precision`; several processes under ``torchrun`` share a
run through :mod:`scattn.distributed`. ``compare`` (several variants over seeds) is
in :mod:`scattn.compare`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed
from .arguments import choice, number, positive_int, positive_number
from .checkpoint import Checkpoint, kept_on_disk, loader_generators, run_identity
from .runtime import Precision, check_seed, choose_profile, precision, seed_everything, train_mode
from .table import Table

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
DEFAULT_LR = {"adamw": 1e-2, "sgd": 0.2}  # peak learning rates of the one-cycle schedule


# ----------------------------------------------------------------------------- history


_HISTORY_FORMATS = {
    "train_loss": lambda v: f"{v:.4f}",
    "test_loss": lambda v: "–" if v is None else f"{v:.4f}",
    "train_acc": lambda v: f"{100 * v:.2f}%",
    "test_acc": lambda v: "–" if v is None else f"{100 * v:.2f}%",
    "seconds": lambda v: f"{v:.1f}",
    "elapsed": lambda v: f"{v:.1f}",
    "lr": lambda v: f"{v:.2e}",
}


@dataclass
class History:
    """Per-epoch records of a run: a list of plain dicts that renders as a table.

    Each row: epoch (1-based), train_loss, train_acc (running, during the epoch),
    test_loss, test_acc (None without a test loader), seconds (training time of
    the epoch, evaluation excluded), elapsed (training seconds so far) and lr (at
    the epoch's last step). ``interrupted`` is True when Ctrl-C stopped the run.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False

    COLUMNS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "elapsed", "lr")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def column(self, name: str) -> list:
        """One metric over the epochs, e.g. ``history.column("test_acc")``."""
        if name not in self.COLUMNS:
            raise ValueError(f"unknown column {name!r}; expected one of {', '.join(self.COLUMNS)}")
        return [r[name] for r in self.rows]

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's row."""
        if not self.rows:
            raise ValueError("the history is empty: no epoch has finished yet")
        return self.rows[-1]

    def table(self) -> Table:
        return Table(self.rows, self.COLUMNS, _HISTORY_FORMATS, title="interrupted" if self.interrupted else None)

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


# ----------------------------------------------------------------------------- evaluate


def evaluate(model: nn.Module, loader: Iterable, device: str | torch.device | Precision | None = None
             ) -> dict[str, float]:
    """Mean cross-entropy and accuracy over ``loader`` in eval mode: ``{"loss", "accuracy"}``.

    ``device`` as for :func:`fit` (a :class:`~scattn.runtime.Precision` is used as it is).
    The model's train/eval modes are restored afterwards. Non-finite outputs are an
    error, not an accuracy.
    """
    policy = precision(device)
    loss_sum = torch.zeros((), device=policy.device, dtype=torch.float64)
    correct = torch.zeros((), device=policy.device, dtype=torch.int64)
    bad = torch.zeros((), device=policy.device, dtype=torch.int64)
    n = 0
    with train_mode(model, False), torch.no_grad():
        for batch in loader:
            x, y = policy.batch(batch)
            with policy.autocast():
                logits = model(x).float()  # (N, classes)
            bad += (~torch.isfinite(logits).all(dim=1)).sum()
            loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
            n += y.numel()
    if n == 0:
        raise ValueError("evaluate got an empty loader: no batches to score")
    if bad.item():
        raise FloatingPointError(
            f"{bad.item()} of {n} images gave non-finite outputs (NaN or inf): the weights or the "
            "BatchNorm running statistics hold non-finite values (a NaN input in training poisons them)"
        )
    return {"loss": loss_sum.item() / n, "accuracy": correct.item() / n}


# ----------------------------------------------------------------------------- the recipe


@dataclass(frozen=True)
class Recipe:
    """How :func:`fit` optimises: one value, checked once, recorded in every checkpoint.

    optimizer        "adamw", or "sgd" with Nesterov momentum
    lr               the peak learning rate (default: 1e-2 for AdamW, 0.2 for SGD)
    weight_decay     decoupled for AdamW, L2 for SGD
    momentum         SGD's (AdamW ignores it)
    schedule         "onecycle", "cosine" with linear warm-up, or "constant"; stepped every batch
    warmup           share of the steps spent warming up, in (0, 1)
    label_smoothing  ε mixes the one-hot target with the uniform one: (1 − ε)·y + ε/K
    grad_clip        clip the gradient's norm to this (None: no clipping)
    """

    optimizer: str = "adamw"
    lr: float | None = None
    weight_decay: float = 5e-4
    momentum: float = 0.9
    schedule: str = "onecycle"
    warmup: float = 0.25
    label_smoothing: float = 0.0
    grad_clip: float | None = None

    def __post_init__(self):
        checked = {
            "optimizer": choice("optimizer", self.optimizer, OPTIMIZERS),
            "lr": DEFAULT_LR.get(self.optimizer) if self.lr is None else positive_number("lr", self.lr),
            "weight_decay": number("weight_decay", self.weight_decay, low=0.0),
            "momentum": number("momentum", self.momentum, low=0.0, high=1.0, high_open=True),
            "schedule": choice("schedule", self.schedule, SCHEDULES),
            "warmup": number("warmup (a share of the steps)", self.warmup, low=0.0, high=1.0, low_open=True,
                             high_open=True),
            "label_smoothing": number("label_smoothing", self.label_smoothing, low=0.0, high=1.0, high_open=True),
            "grad_clip": None if self.grad_clip is None else positive_number("grad_clip", self.grad_clip),
        }
        for name, value in checked.items():  # frozen: set the checked values once, here
            object.__setattr__(self, name, value)

    def settings(self) -> dict[str, Any]:
        """The eight settings as plain data (what a checkpoint's identity records)."""
        return asdict(self)


def make_optimizer(model: nn.Module, recipe: Recipe):
    """AdamW, or SGD with Nesterov momentum."""
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                               nesterov=recipe.momentum > 0, weight_decay=recipe.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)


def make_schedule(optimizer, recipe: Recipe, total_steps: int):
    """The learning-rate schedule, stepped once per batch."""
    name, lr, warmup = recipe.schedule, recipe.lr, recipe.warmup
    if name == "onecycle":
        # OneCycleLR divides by the index of the last warm-up step, warmup * total_steps - 1,
        # which is 0 for short runs such as 4 steps at 0.25: keep at least 1.5 warm-up steps.
        if total_steps >= 2 and warmup * total_steps < 1.5:
            warmup = 1.5 / total_steps
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total_steps, pct_start=warmup,
            div_factor=25.0, final_div_factor=1e3,
        )
    warm = max(1, round(warmup * total_steps)) if name == "cosine" else 0

    def factor(step: int) -> float:
        if name == "constant":
            return 1.0
        if step < warm:  # linear warm-up from ~0
            return (step + 1) / warm
        t = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))  # cosine to 0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _steps(loader) -> int:
    try:
        steps = len(loader)
    except TypeError:
        raise ValueError("train_loader must have a length (a DataLoader over a sized dataset)") from None
    if steps == 0:
        raise ValueError("train_loader is empty: no batches to train on")
    return steps


def _epochs(epochs, device: torch.device) -> int:
    return positive_int("epochs", choose_profile(device).epochs if epochs is None else epochs)


# ----------------------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train_loader,
    test_loader=None,
    epochs: int | None = None,
    recipe: Recipe | None = None,
    *,
    device: str | torch.device | Precision | None = None,
    seed: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    callbacks: Sequence[Callable[[dict[str, Any]], Any]] = (),
    quiet: bool = False,
    desc: str | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs with ``recipe``; return its :class:`History`.

    Minimises the cross-entropy as the :class:`Recipe` says (default: ``Recipe()``,
    AdamW under a one-cycle schedule). ``epochs`` defaults to the runtime profile's
    (``scattn.setup()``). ``device``: a name, a ``torch.device`` or a
    :class:`~scattn.runtime.Precision` decided once for the run (mixed precision,
    channels_last and ``torch.compile``: :func:`scattn.runtime.precision`; with CUDA
    the first two default to on).

    ``seed`` seeds Python, NumPy, torch and the loader's own shuffle generator:
    the same model, data and seed give the same history on the CPU. Build the
    model after seeding too if its initial weights should repeat.

    ``checkpoint_dir`` (e.g. a Google Drive folder on Colab) gets a checkpoint
    after every epoch; with ``resume=True`` the same run goes on from its last
    epoch (a finished run returns at once), and a checkpoint of another run (other
    model, data, seed or recipe) is a :class:`~scattn.checkpoint.CheckpointError`
    naming the differences. Ctrl-C keeps the last checkpoint and returns the history
    so far with ``interrupted=True``. ``quiet`` turns the progress bar off (``desc``
    labels it); what was loaded from or kept on disk is always said. ``callbacks``
    get each epoch's row after its checkpoint.

    A non-finite loss stops the run at once with a FloatingPointError (the last
    checkpoint stays good). A training batch of one example is skipped: BatchNorm
    cannot normalise a single value per channel. With ``compile`` the checkpoint
    keeps the plain model's weights.

    Under ``torchrun --nproc-per-node N`` each process trains its share of every
    batch with DistributedDataParallel (:mod:`scattn.distributed`): the loader's
    batch size is the global batch, rank 0 alone shows progress and writes the
    checkpoint, every rank returns the same history. ``callbacks`` run on every rank.
    """
    recipe = _recipe(recipe)
    seed = None if seed is None else check_seed("seed", seed)
    policy = precision(device)
    epochs, steps = _epochs(epochs, policy.device), _steps(train_loader)
    policy.prepare(model)
    ranks = distributed.join(policy.device)  # under torchrun: this process's rank; alone: rank 0 of 1
    net = torch.compile(model) if policy.compile else model  # shares model's parameters
    ddp = ranks.wrap(net)  # DistributedDataParallel under torchrun (it averages the gradients), else net
    if seed is not None:
        seed_everything(seed)
        for g in loader_generators(train_loader):
            g.manual_seed(seed)  # a loader's own generator too: same seed, same batches, even on reuse
    batches, test_part = ranks.shard(train_loader, seed), ranks.shard_eval(test_loader)  # this rank's share
    opt = make_optimizer(model, recipe)
    sched = make_schedule(opt, recipe, epochs * steps)
    scaler = torch.amp.GradScaler(policy.device.type, enabled=policy.loss_scaling)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)

    history, checkpoint = History(), None
    if checkpoint_dir is not None:
        identity = run_identity(model, train_loader, epochs=epochs, seed=seed, steps_per_epoch=steps,
                                **recipe.settings(), **ranks.identity())
        parts = {"model": model, "optimizer": opt, "scheduler": sched, "scaler": scaler}
        checkpoint = Checkpoint(checkpoint_dir, identity, parts, train_loader)
        history.rows = _resume(checkpoint, epochs, ranks) if resume else []
    start = len(history.rows)
    bar = tqdm(total=epochs * steps, initial=start * steps, desc=desc or "fit", unit="batch",
               disable=quiet or not ranks.main, dynamic_ncols=True)
    epoch = start
    try:
        for epoch in range(start, epochs):
            model.train()
            ranks.set_epoch(batches, epoch)
            loss_sum = torch.zeros((), device=policy.device, dtype=torch.float64)
            correct = torch.zeros((), device=policy.device, dtype=torch.int64)
            seen, t0 = 0, time.perf_counter()
            for step, batch in enumerate(batches):
                bar.update(1)
                x, y = policy.batch(batch)
                if y.numel() < 2:
                    continue  # BatchNorm cannot normalise one example; the next shuffle includes it
                with policy.autocast():
                    logits = ddp(x)
                    loss = criterion(logits.float(), y)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"the training loss is {loss.item()} at step {step + 1} of epoch {epoch + 1} "
                        f"(lr {recipe.lr}): lower the learning rate, set grad_clip, or check the data for NaN"
                    )
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if recipe.grad_clip is not None:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
                scaler.step(opt)
                scaler.update()
                sched.step()
                loss_sum += loss.detach() * y.numel()
                correct += (logits.detach().argmax(1) == y).sum()
                seen += y.numel()
                if not bar.disable and (step % 10 == 0 or step == steps - 1):  # .item() syncs CUDA: not every step
                    bar.set_postfix_str(f"epoch {epoch + 1}/{epochs} loss {loss_sum.item() / seen:.3f} "
                                        f"acc {correct.item() / seen:.3f}", refresh=False)
            if policy.device.type == "cuda":
                torch.cuda.synchronize(policy.device)
            seconds = time.perf_counter() - t0
            loss_sum, correct, seen = ranks.sum(loss_sum, correct, seen)  # over the whole global batches
            ranks.sync_buffers(model)  # rank 0's BatchNorm statistics, the ones its checkpoint keeps
            row = {"epoch": epoch + 1, "train_loss": loss_sum.item() / max(1, seen),
                   "train_acc": correct.item() / max(1, seen), "test_loss": None, "test_acc": None,
                   "seconds": seconds, "elapsed": seconds + (history.rows[-1]["elapsed"] if history.rows else 0.0),
                   "lr": opt.param_groups[0]["lr"]}
            if test_loader is not None:
                scores = ranks.combine_scores(evaluate(net, test_part, policy), test_part)
                row["test_loss"], row["test_acc"] = scores["loss"], scores["accuracy"]
                bar.set_postfix_str(f"epoch {epoch + 1}/{epochs} loss {row['train_loss']:.3f} "
                                    f"acc {row['train_acc']:.3f} test {row['test_acc']:.3f}")
            history.rows.append(row)
            if checkpoint is not None:
                ranks.on_main(checkpoint.save, epoch + 1, history.rows)  # the other ranks wait
            for cb in callbacks:
                cb(row)
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        bar.close()
    if history.interrupted and ranks.main:  # said even when quiet: what is on disk matters
        print(f"interrupted during epoch {epoch + 1}/{epochs}{_kept(checkpoint)}")
    return history


def _resume(checkpoint: Checkpoint, epochs: int, ranks: distributed.Ranks) -> list[dict[str, Any]]:
    """The history rows of the run ``checkpoint`` holds (its states loaded back), or none.
    Under torchrun every rank loads it, and all must find the same."""
    restored = checkpoint.restore()
    ranks.check_resume(None if restored is None else restored[0], checkpoint.path)
    if restored is None:
        return []
    done, rows = restored
    state = "finished" if done >= epochs else f"resuming at epoch {done + 1}/{epochs}"
    if ranks.main:
        print(f"loaded {checkpoint.path}: {done} epoch(s) done, {state}")  # said even when quiet
    return rows


def _kept(checkpoint: Checkpoint | None) -> str:
    """What an interrupted run left on disk, read from the disk."""
    return "" if checkpoint is None else "; " + kept_on_disk(checkpoint.path, "run fit again to resume")


def _recipe(recipe) -> Recipe:
    if recipe is None:
        return Recipe()
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a scattn.train.Recipe, e.g. Recipe(lr=0.01), got {type(recipe).__name__}")
    return recipe


__all__ = ["DEFAULT_LR", "OPTIMIZERS", "SCHEDULES", "History", "Recipe", "evaluate", "fit", "make_optimizer",
           "make_schedule"]
