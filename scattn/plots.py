"""Figures and tables for the notebooks: curves, overlays, channel-weight bars, results.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so
library code never calls ``plt.show()`` and a notebook shows each figure once
(the value of the cell). Save one with ``fig.savefig("curves.png")``.

(``Table``, the text/HTML table, lives in :mod:`scattn.table`; block diagrams of the
mechanisms are drawn by :mod:`scattn.diagrams`.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from .compare import ComparisonTable
from .train import History

# matplotlib is imported inside the figure functions: importing scattn.plots stays cheap.

# ----------------------------------------------------------------------------- helpers


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.0, 3.2), **kwargs):
    """A pyplot-free Figure and its axes array (always 2-D)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _history_groups(histories) -> dict[str, list]:
    """Normalise what plot_history accepts to {label: [History, ...]}."""
    if isinstance(histories, ComparisonTable):
        return {k: list(v) for k, v in histories.histories.items()}
    if isinstance(histories, History):
        return {"run": [histories]}
    if isinstance(histories, Mapping):
        return {
            str(k): [v] if isinstance(v, History) else list(v) for k, v in histories.items()
        }
    if isinstance(histories, Sequence):
        return {f"run {i}": [h] for i, h in enumerate(histories)}
    raise ValueError(
        "plot_history expects a History, a list of them, a dict {label: History or list "
        f"of History}}, or a ComparisonTable; got {type(histories).__name__}"
    )


# ----------------------------------------------------------------------------- figures

METRICS = {"loss": ("train_loss", "test_loss"), "accuracy": ("train_acc", "test_acc")}


def _check_metrics(metrics: Sequence[str]) -> None:
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown metric {m!r}; expected one of {', '.join(METRICS)}")


def plot_history(histories, metrics: Sequence[str] = ("loss", "accuracy"), x: str = "epoch"):
    """Training curves, one panel per metric: train dashed, test solid.

    ``histories``: a History, a list of them, ``{label: History}``, ``{label:
    [History per seed]}`` (drawn as the mean with a min–max band) or a
    ComparisonTable. ``x="time"`` puts cumulative training seconds on the x-axis:
    the equal-time view, where a slower variant's curve ends further right.
    """
    import numpy as np

    if x not in ("epoch", "time"):
        raise ValueError(f"x must be 'epoch' or 'time', got {x!r}")
    _check_metrics(metrics)
    groups = _history_groups(histories)
    fig, axes = _figure(1, len(metrics))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, (label, runs) in enumerate(groups.items()):
            color = f"C{i}"
            n = min(len(h) for h in runs)
            if n == 0:
                continue
            if x == "epoch":
                xs = np.arange(1, n + 1)
            else:
                xs = np.mean([h.column("elapsed")[:n] for h in runs], axis=0)
            for key, style in zip(METRICS[metric], ("--", "-"), strict=True):
                values = [h.column(key)[:n] for h in runs]
                if any(v is None for vals in values for v in vals):
                    continue
                ys = np.asarray(values, dtype=float)
                part = key.split("_")[0]
                ax.plot(xs, ys.mean(0), style, color=color, label=f"{label} ({part})", marker=".")
                if len(runs) > 1:
                    ax.fill_between(xs, ys.min(0), ys.max(0), color=color, alpha=0.15, lw=0)
        ax.set_xlabel("epoch" if x == "epoch" else "training time (s)")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize="small")
    return fig


def plot_overlay(
    images,
    maps,
    boxes=None,
    titles: Sequence[str] | None = None,
    ncols: int = 6,
    alpha: float = 0.5,
    cmap: str = "jet",
):
    """Each image in grey with its attention map on top, upsampled to the image size.

    images: (N, C, H, W) or (N, H, W); maps: (N, h, w) or (N, 1, h, w) at any resolution (see
    ``scattn.maps.spatial_map``); boxes: optional (N, 4) (x0, y0, x1, y1) drawn
    as rectangles, x1/y1 exclusive.
    """
    import torch.nn.functional as F
    from matplotlib.patches import Rectangle

    images = torch.as_tensor(images).detach().float().cpu()
    maps = torch.as_tensor(maps).detach().float().cpu()
    if images.dim() == 4:
        images = images.mean(dim=1)  # (N, C, H, W) -> (N, H, W): grey
    if maps.dim() == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]  # (N, 1, h, w) -> (N, h, w), e.g. a spatial gate as captured
    if images.dim() != 3 or maps.dim() != 3:
        raise ValueError(
            f"plot_overlay expects images (N, C, H, W) or (N, H, W) and maps (N, h, w); "
            f"got images {tuple(images.shape)} and maps {tuple(maps.shape)}"
        )
    if images.shape[0] != maps.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {maps.shape[0]} maps")
    n, h, w = images.shape
    up = F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = _figure(nrows, ncols, size=(1.8, 1.9))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].numpy(), cmap="gray")
        ax.imshow(up[i].numpy(), cmap=cmap, alpha=alpha)
        if boxes is not None:
            x0, y0, x1, y1 = (float(v) for v in boxes[i])
            # imshow puts pixel centres at integers: a box of whole pixels starts at -0.5.
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", lw=1.2))
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
    return fig


def plot_channel_weights(weights, top: int | None = None, title: str | None = None):
    """Bars of channel attention weights: mean over the batch, with its std as error bars.

    weights: (C,), (N, C) or (N, C, 1, 1), e.g. ``maps["layer3.attention.gate"]``.
    ``top=k`` keeps the k channels with the largest mean weight, sorted.
    """
    import numpy as np

    w = torch.as_tensor(weights).detach().float().cpu()
    if w.dim() == 4 and w.shape[2:] == (1, 1):
        w = w.flatten(1)  # (N, C, 1, 1) -> (N, C)
    if w.dim() == 1:
        w = w[None]
    if w.dim() != 2:
        raise ValueError(
            f"channel weights must be (C,), (N, C) or (N, C, 1, 1), got shape {tuple(weights.shape)}"
        )
    mean, std = w.mean(0).numpy(), (w.std(0) if w.shape[0] > 1 else torch.zeros(w.shape[1])).numpy()
    idx = np.arange(len(mean))
    if top is not None:
        idx = np.argsort(-mean)[:top]
    fig, axes = _figure(size=(max(4.0, 0.18 * len(idx)), 3.0))
    ax = axes[0][0]
    ax.bar(np.arange(len(idx)), mean[idx], yerr=std[idx] if w.shape[0] > 1 else None, color="C0")
    ax.set_xticks(np.arange(len(idx)), [str(i) for i in idx], fontsize="x-small", rotation=90)
    ax.set_ylim(0, 1)
    ax.set_xlabel("channel")
    ax.set_ylabel("weight (gate output)")
    if title:
        ax.set_title(title)
    return fig


def plot_comparison(table, budget: float | None = None):
    """A ComparisonTable as a figure: every seed's final test accuracy per variant (dots, the
    mean as a bar across them), and test accuracy against training time, the equal-time view
    (epochs × the variant's s/epoch, as ``table.at_time`` reads it).

    Dots rather than bars: a bar's height is read from zero, and an axis cut to make small
    differences visible makes them look large. ``budget`` (seconds) draws a vertical line
    where an equal-time comparison reads off.
    """
    rows = table.rows
    if not rows:
        raise ValueError("the comparison table has no rows to plot")
    fig, axes = _figure(1, 2, size=(4.2, 3.2))
    ax = axes[0][0]
    for i, r in enumerate(rows):
        accs = [100 * a for a in r["accuracies"]]
        ax.plot([i] * len(accs), accs, "o", color=f"C{i}", ms=5, alpha=0.8)
        ax.plot([i - 0.25, i + 0.25], [100 * r["accuracy_mean"]] * 2, "-", color="k", lw=1)
    ax.set_xticks(range(len(rows)), [
        f"{r['attention']}\n{r['params'] / 1e3:.1f}k p, {r['seconds_per_epoch']:.1f} s/ep" for r in rows
    ], fontsize="x-small")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"after {rows[0].get('epochs', '?')} epochs, {len(rows[0]['accuracies'])} seeds (bar: mean)")
    _, ax2 = axes[0]
    cost = {r["attention"]: r["seconds_per_epoch"] for r in rows}
    for i, (label, runs) in enumerate(table.histories.items()):
        for j, h in enumerate(runs):
            seconds = [e * cost[label] for e in h.column("epoch")]  # the cost model of table.at_time
            ax2.plot(seconds, [100 * a for a in h.column("test_acc")], "-",
                     marker=".", color=f"C{i}", alpha=0.8, label=label if j == 0 else None)
    if budget is not None:
        ax2.axvline(budget, color="grey", ls=":")
    ax2.set_xlabel("training time (s): epochs × the s/epoch of the table")
    ax2.set_ylabel("test accuracy (%)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize="small")
    return fig


# ----------------------------------------------------------------------------- per seed


def _accuracies_by_variant(results) -> dict[str, list[float]]:
    """{variant: [final test accuracy per seed]} from a ComparisonTable or such a dict (fractions)."""
    if isinstance(results, ComparisonTable):
        return {r["attention"]: list(r["accuracies"]) for r in results.rows}
    if isinstance(results, Mapping) and results:
        return {str(k): list(v) for k, v in results.items()}
    raise ValueError("expected a ComparisonTable or a non-empty dict {variant: [accuracy per seed]}, "
                     f"got {type(results).__name__}")


def plot_seed_curves(histories, metrics: Sequence[str] = ("loss", "accuracy")):
    """Training curves with one thin line per seed (no averaging): test solid, train dashed.

    Losses go on a log scale, where the late, small improvements stay visible. A seed
    that learns late shows as its own line instead of widening a band. ``histories``
    as for :func:`plot_history` (a ComparisonTable, ``{label: [History per seed]}``, ...).
    """
    _check_metrics(metrics)
    groups = _history_groups(histories)
    fig, axes = _figure(1, len(metrics))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, (label, runs) in enumerate(groups.items()):
            for j, h in enumerate(runs):
                for key, style in zip(METRICS[metric], ("--", "-"), strict=True):
                    ys = h.column(key)
                    if any(v is None for v in ys):
                        continue
                    ys = [100 * v for v in ys] if metric == "accuracy" else ys
                    part = key.split("_")[0]
                    ax.plot(h.column("epoch"), ys, style, color=f"C{i}", lw=0.9, alpha=0.8,
                            label=f"{label} ({part})" if j == 0 else None)
        if metric == "loss":
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (log scale)" if metric == "loss" else "accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize="x-small")
    return fig


def plot_seed_dots(results, baseline: str | None = "none"):
    """Every seed's final test accuracy as a dot per variant, and each variant minus
    ``baseline`` per seed: the points themselves, not bars on a cut axis.

    ``results``: a ComparisonTable or ``{variant: [accuracy per seed]}`` (fractions, seeds
    in the same order for every variant). Points of one seed share a marker, so the
    pairing shows. With ``baseline=None`` only the first panel is drawn.
    """
    import numpy as np

    accs = _accuracies_by_variant(results)
    if baseline is not None and baseline not in accs:
        raise ValueError(f"baseline {baseline!r} is not among the variants {list(accs)}")
    names = list(accs)
    panels = 1 if baseline is None else 2
    fig, axes = _figure(1, panels, size=(0.9 * len(names) + 1.6, 3.2))
    markers = "os^vD<>ph*"
    ax = axes[0][0]
    for i, name in enumerate(names):
        for j, a in enumerate(accs[name]):
            ax.plot(i + 0.06 * (j - (len(accs[name]) - 1) / 2), 100 * a, markers[j % len(markers)],
                    color=f"C{i}", ms=5, mfc="none" if j % 2 else f"C{i}")
        ax.plot([i - 0.25, i + 0.25], [100 * np.mean(accs[name])] * 2, "-", color="k", lw=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("per seed (bar: mean)", fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    if baseline is not None:
        ax = axes[0][1]
        others = [n for n in names if n != baseline]
        for i, name in enumerate(others):
            diffs = 100 * (np.asarray(accs[name]) - np.asarray(accs[baseline]))
            for j, d in enumerate(diffs):
                ax.plot(i + 0.06 * (j - (len(diffs) - 1) / 2), d, markers[j % len(markers)],
                        color=f"C{names.index(name)}", ms=5)
        ax.axhline(0, color="grey", lw=1)
        ax.set_xticks(range(len(others)), others)
        ax.set_ylabel(f"minus {baseline} (points)")
        ax.set_title("paired differences, one point per seed", fontsize="small")
        ax.grid(alpha=0.3, axis="y")
    return fig


__all__ = ["plot_channel_weights", "plot_comparison", "plot_history", "plot_overlay",
           "plot_seed_curves", "plot_seed_dots"]
