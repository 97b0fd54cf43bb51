"""ResNet-20 against SE- and CBAM-ResNet-20 on CIFAR-100, paired seeds, sized for a T4 in 10 minutes.

The realistic experiment for a GPU runtime: 100 classes, 50,000 training images, the
CIFAR ResNet-20 of He et al. (2016) with attention on every block's residual branch
(``scattn.models.resnet20(attention, num_classes=100)``), trained with

- the data held on the GPU (:class:`scattn.data.DeviceLoader`: random crop with
  4-pixel padding and horizontal flip made there, in batches),
- mixed precision as :func:`scattn.runtime.precision` chooses it (float16 with loss
  scaling on a T4, bfloat16 from compute capability 8.0) and channels_last,
- SGD with Nesterov momentum under the one-cycle schedule (``scattn.train.fit``),
- paired seeds: for seed s every variant starts from the same RNG state and sees the
  same batches, so per-seed differences against the plain network are paired.

``--epochs auto`` (the default) times a few steps of every variant first and picks the
most epochs (at most ``--max-epochs``) that fit ``--budget`` seconds for all runs;
docs/performance.md explains the estimate behind the defaults. Usage::

    python benchmarks/cifar100.py                         # downloads CIFAR-100 (161 MB) once
    python benchmarks/cifar100.py --epochs 15 --seeds 0 1 2 --json cifar100.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

from scattn.bench import count_flops
from scattn.compare import compare
from scattn.data import cifar100_loaders
from scattn.models import resnet20
from scattn.runtime import get_device, precision, seed_everything
from scattn.train import Recipe, fit

CALIBRATION_STEPS = 12  # timed steps per variant, after as many warm-up steps


class FirstBatches:
    """The first ``steps`` batches of a loader, as a loader (for timing a few steps with fit)."""

    def __init__(self, loader, steps: int):
        self.loader, self.steps = loader, steps
        self.dataset, self.batch_size = loader.dataset, loader.batch_size

    def __len__(self) -> int:
        return min(self.steps, len(self.loader))

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i == len(self):
                return
            yield batch


def model_factory(attention: str):
    return resnet20(attention, num_classes=100)


def seconds_per_step(attention: str, train, device, compiled: bool) -> float:
    """Steady training seconds per batch of one variant: fit over a few batches, twice."""
    seed_everything(0)
    part = FirstBatches(train, CALIBRATION_STEPS)
    h = fit(model_factory(attention), part, None, epochs=2, recipe=Recipe(optimizer="sgd"),
            device=precision(device, compile=compiled), quiet=True)
    return h[1]["seconds"] / len(part)  # epoch 1 warms up (cuDNN autotuning, allocator, compilation)


def choose_epochs(args, train, test, device) -> tuple[int, str]:
    """The most epochs (<= --max-epochs) for which every run fits the budget, from timed steps."""
    steps, runs = len(train), len(args.seeds)
    per_epoch = {}
    for attention in args.attentions:
        step = seconds_per_step(attention, train, device, args.compile)
        per_epoch[attention] = step * steps + step / 3 * len(test)  # evaluation: a forward is ~1/3 of a step
    total_per_epoch = runs * sum(per_epoch.values())
    overhead = 20.0 * runs * len(args.attentions)  # warm-up, cuDNN autotuning, evaluation sync, per run
    epochs = max(1, min(args.max_epochs, math.floor((args.budget - overhead) / total_per_epoch)))
    lines = ", ".join(f"{a} {s:.1f} s" for a, s in per_epoch.items())
    note = (f"calibration ({CALIBRATION_STEPS} steps per variant): one epoch takes {lines}; "
            f"{runs} seed(s) × {len(args.attentions)} variants → {epochs} epoch(s) in a budget of "
            f"{args.budget:.0f} s (projected {epochs * total_per_epoch + overhead:.0f} s)")
    return epochs, note


def paired_differences(table, baseline: str = "none") -> list[dict]:
    """Per attention: mean and std over seeds of (its accuracy − the baseline's), and wins."""
    by_name = {r["attention"]: r["accuracies"] for r in table.rows}
    if baseline not in by_name:
        return []
    rows = []
    for name, accs in by_name.items():
        if name == baseline:
            continue
        diffs = [a - b for a, b in zip(accs, by_name[baseline], strict=True)]
        rows.append({"attention": name, "mean_diff": statistics.fmean(diffs),
                     "std_diff": statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
                     "wins": sum(d > 0 for d in diffs), "seeds": len(diffs), "diffs": diffs})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attentions", nargs="+", default=["none", "se", "cbam"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", default="auto", help="epochs per run, or 'auto' to fit --budget (default)")
    parser.add_argument("--max-epochs", type=int, default=15, help="the most --epochs auto picks (default 15)")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for all runs (default 600)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: fit's for SGD)")
    parser.add_argument("--root", help="data folder (default: scattn.runtime.data_dir())")
    parser.add_argument("--no-download", action="store_true", help="use local files only")
    parser.add_argument("--device", help="default: CUDA when present")
    parser.add_argument("--compile", action="store_true", help="torch.compile the models")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    device = get_device(args.device)
    policy = precision(device)
    if device.type != "cuda":
        print("note: no CUDA GPU; this experiment is sized for one (on a CPU an epoch takes many minutes)",
              file=sys.stderr)
    train, test = cifar100_loaders(args.batch_size, root=args.root, download=not args.no_download, device=device)
    print(f"CIFAR-100 on {device}: {len(train.dataset):,} train / {len(test.dataset):,} test images, "
          f"batch {args.batch_size}, {len(train)} steps per epoch; mixed precision "
          f"{policy.amp_dtype or 'off'}, loss scaling {policy.loss_scaling}, channels_last {policy.channels_last}")
    flops = {a: count_flops(model_factory(a), (1, 3, 32, 32)) for a in args.attentions}
    if args.epochs == "auto":
        epochs, note = choose_epochs(args, train, test, device)
        print(note)
    else:
        epochs, note = int(args.epochs), "epochs given"
    table = compare(args.attentions, args.seeds, make_model=model_factory, data=(train, test), epochs=epochs,
                    recipe=Recipe(optimizer="sgd", lr=args.lr), device=precision(device, compile=args.compile))
    diffs = paired_differences(table)
    print(table.to_markdown())
    print()
    for d in diffs:
        print(f"{d['attention']} − none: {100 * d['mean_diff']:+.2f} ± {100 * d['std_diff']:.2f} points "
              f"(mean ± std over {d['seeds']} paired seeds; better in {d['wins']} of {d['seeds']})")
    print("FLOPs per image: " + ", ".join(f"{a} {f / 1e6:.1f}M" for a, f in flops.items()))
    total = time.perf_counter() - t_start
    print(f"total {total:.0f} s (budget {args.budget:.0f} s) for {epochs} epoch(s) × {len(args.seeds)} seed(s) × "
          f"{len(args.attentions)} variants")
    if args.json:
        args.json.write_text(json.dumps({
            "device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "amp_dtype": str(policy.amp_dtype), "epochs": epochs, "sizing": note, "total_seconds": total,
            "rows": table.rows, "paired": diffs, "flops": flops,
            "histories": {k: [h.rows for h in hs] for k, hs in table.histories.items()},
        }, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
