"""Compare attention variants: each trained over the same seeds on the same data, tabulated.

    results = compare(["none", "se", "cbam"], seeds=[0, 1, 2])
    results                  # accuracy mean ± std, params, FLOPs, s/epoch per variant
    results.at_time()        # the equal-time view: accuracy after the same training time

For seed s every variant starts from the same RNG state and sees the same batches,
so the per-seed differences between variants are *paired*: compare them with
:mod:`scattn.stats`, not the means' standard deviations.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed
from .bench import count_flops, count_params
from .runtime import Precision, check_seed, choose_profile, data_device, precision, seed_everything
from .table import Table
from .train import History, Recipe, fit


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def _pct(mean: float, std: float) -> str:
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


@dataclass
class ComparisonTable:
    """Attention variants trained over several seeds: one row per variant.

    Row keys: attention, accuracy_mean, accuracy_std (final test accuracy over
    seeds; sample std), accuracies (one per seed), params, flops (per image,
    forward), seconds_per_epoch (training only, median over seeds and epochs),
    epochs. ``histories[attention]`` holds each seed's :class:`History` for
    equal-time comparisons (:meth:`at_time`) and curves (``plots.plot_history``).
    """

    rows: list[dict[str, Any]]
    histories: dict[str, list[History]]

    def table(self) -> Table:
        rows = [{**r, "accuracy": (r["accuracy_mean"], r["accuracy_std"])} for r in self.rows]
        return Table(
            rows,
            ["attention", "accuracy", "params", "flops", "seconds_per_epoch", "epochs"],
            formats={
                "accuracy": lambda v: _pct(*v),
                "params": lambda v: f"{v:,}",
                "flops": lambda v: f"{v / 1e6:.2f}M",
                "seconds_per_epoch": lambda v: f"{v:.2f}",
            },
            headers={"accuracy": "test acc % (mean ± std)", "flops": "FLOPs/image",
                     "seconds_per_epoch": "s/epoch"},
            title=f"{len(next(iter(self.histories.values()), []))} seed(s) per variant",
        )

    @property
    def budget(self) -> float:
        """Seconds the cheapest variant needs for all its epochs: epochs × its s/epoch."""
        return min(r["epochs"] * r["seconds_per_epoch"] for r in self.rows)

    def epochs_within(self, seconds: float) -> dict[str, int]:
        """Epochs each variant can train in ``seconds``: ⌊seconds / its s/epoch⌋, at most its epochs.

        A variant's cost is its median epoch time over all seeds (the s/epoch column),
        not each run's own clock: on a shared machine one slow epoch of one run
        (a neighbour's job, the process warming up) would otherwise decide the verdict.
        """
        return {r["attention"]: min(r["epochs"], math.floor(seconds / r["seconds_per_epoch"] + 1e-9))
                for r in self.rows}

    def at_time(self, seconds: float | None = None) -> Table:
        """Equal-time view: each variant's test accuracy (mean ± std over seeds) after the
        epochs it can train in ``seconds`` (:meth:`epochs_within`; default :attr:`budget`).
        A variant that cannot finish one epoch in the budget shows "–"."""
        seconds = self.budget if seconds is None else seconds
        done = self.epochs_within(seconds)
        rows = []
        for name, runs in self.histories.items():
            accs = [h[done[name] - 1]["test_acc"] for h in runs] if done[name] > 0 else []
            accs = [a for a in accs if a is not None]
            rows.append({
                "attention": name,
                "accuracy": _mean_std(accs) if accs else None,
                "epochs_done": done[name],
                "runs": f"{len(accs)}/{len(runs)}",
            })
        return Table(
            rows,
            formats={"accuracy": lambda v: "–" if v is None else _pct(*v)},
            headers={"accuracy": f"test acc % at {seconds:.1f} s", "epochs_done": "epochs in budget"},
            title=f"equal time: {seconds:.1f} s of training (each variant at its median s/epoch)",
        )

    def __str__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def to_markdown(self) -> str:
        return self.table().to_markdown()


def _default_model(attention: str) -> nn.Module:
    from .models import SmallCNN

    return SmallCNN(attention=attention)


def compare(
    attentions: Sequence[str] = ("none", "se", "cbam"),
    seeds: Sequence[int] | None = None,
    *,
    make_model: Callable[[str], nn.Module] | None = None,
    data=None,
    epochs: int | None = None,
    recipe: Recipe | None = None,
    device: str | torch.device | Precision | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = True,
    quiet: bool = False,
) -> ComparisonTable:
    """Train every attention variant once per seed on the same data with the same recipe; tabulate.

    ``make_model(attention)`` builds a fresh model (default: ``models.SmallCNN``);
    it is called right after ``seed_everything(seed)``, so seed s gives every
    variant the same shuffle order and comparable initial weights. ``data`` is
    ``(train_loader, test_loader)`` or a function returning them (default: the
    runtime profile's cluttered digits, held on the GPU by the gpu profile). Runs go
    seed by seed, variants inside, so a slow spell of a shared machine spreads over all
    variants rather than landing on one. One progress bar counts the epochs of all
    runs. ``checkpoint_dir`` gets one subdirectory per run, so an interrupted
    comparison resumes where it stopped. ``recipe`` and ``device`` as for :func:`fit`.
    """
    policy = precision(device)  # decided once for every run
    profile = choose_profile(policy.device)
    seeds = tuple(check_seed("each seed", s) for s in (profile.seeds if seeds is None else seeds))
    attentions = tuple(attentions)
    if not attentions or not seeds:
        raise ValueError("compare needs at least one attention and one seed")
    for what, values in (("attentions", attentions), ("seeds", seeds)):
        if len(set(values)) != len(values):
            raise ValueError(f"{what} repeat: {list(values)}; each must appear once (a repeated run "
                             "would be counted twice)")
    make_model = make_model or _default_model
    if data is None:
        from .data import cluttered_digits_loaders

        # The gpu profile holds the data on the GPU; under torchrun fit shards a DataLoader instead.
        on = None if distributed.launched() else data_device(profile, policy.device)
        train_loader, test_loader = cluttered_digits_loaders(profile.n_train, profile.n_test,
                                                             profile.batch_size, device=on)
    else:
        train_loader, test_loader = data() if callable(data) else data
    image = _first_input(train_loader)
    epochs = profile.epochs if epochs is None else epochs

    histories: dict[str, list[History]] = {a: [] for a in attentions}
    cost: dict[str, tuple[int, int]] = {}
    bar = tqdm(total=len(attentions) * len(seeds) * epochs, desc="compare", unit="epoch",
               disable=quiet or not distributed.is_main(), dynamic_ncols=True)

    def progress(row: dict) -> None:
        bar.update(1)
        if row["test_acc"] is not None:
            bar.set_postfix_str(f"{name}, seed {seed}: epoch {row['epoch']} test {100 * row['test_acc']:.1f}%")

    try:
        for seed in seeds:
            for name in attentions:
                seed_everything(seed)
                model = make_model(name)
                if name not in cost:
                    cost[name] = (count_params(model), count_flops(model.to(policy.device), (1, *image)))
                bar.set_postfix_str(f"{name}, seed {seed}")
                ckpt = Path(checkpoint_dir) / f"{name}-seed{seed}" if checkpoint_dir is not None else None
                h = fit(model, train_loader, test_loader, epochs, recipe, device=policy, seed=seed,
                        checkpoint_dir=ckpt, resume=resume, callbacks=[progress], quiet=True)
                if h.interrupted:
                    raise KeyboardInterrupt
                histories[name].append(h)
                bar.n = sum(len(hs) for hs in histories.values()) * epochs  # resumed epochs count too
                bar.refresh()
    finally:
        bar.close()

    rows = []
    for name in attentions:
        hs = histories[name]
        accs = [h.final["test_acc"] if h.final["test_acc"] is not None else h.final["train_acc"]
                for h in hs]
        mean, std = _mean_std(accs)
        rows.append({
            "attention": name,
            "accuracy_mean": mean,
            "accuracy_std": std,
            "accuracies": accs,
            "params": cost[name][0],
            "flops": cost[name][1],
            # the median: one slow epoch (the process's first, or a busy neighbour) does not move it
            "seconds_per_epoch": statistics.median(r["seconds"] for h in hs for r in h.rows),
            "epochs": len(hs[0]),
        })
    return ComparisonTable(rows, histories)


def _first_input(loader) -> tuple[int, ...]:
    """(C, H, W) of one example, read from the dataset when possible (no RNG drawn)."""
    dataset = getattr(loader, "dataset", None)
    if dataset is not None:
        try:
            return tuple(dataset[0][0].shape)
        except (TypeError, IndexError, KeyError):
            pass
    return tuple(next(iter(loader))[0].shape[1:])


__all__ = ["ComparisonTable", "compare"]
