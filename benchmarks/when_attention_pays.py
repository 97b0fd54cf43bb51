"""When attention pays: the experiments behind notebook 06 and docs/results.md.

    python benchmarks/when_attention_pays.py --experiment colour-cue --threads 1 --epochs 16 \
        --seeds 0 1 2 3 4 --json scattn/recorded/colour_cue_tuning_seeds.json
    python benchmarks/when_attention_pays.py --experiment colour-cue --threads 1 --epochs 16 \
        --seeds 100 101 102 103 104 --variants none se se-add --json scattn/recorded/colour_cue_new_seeds.json
    python benchmarks/when_attention_pays.py --experiment capacity --capacity-widths 4,8,16 8,16,32 16,32 \
        --seeds 0 1 2 --threads 1 --json scattn/recorded/capacity.json
    python benchmarks/when_attention_pays.py --experiment power --seeds 0 1 2 3 4 5 6 7

The JSON files under ``scattn/recorded/`` are what notebook 06 reads
(``scattn.course.recorded``); docs/results.md has the tables.

Every experiment trains each variant once per seed with ``scattn.train.compare``
(paired seeds: for seed s every variant starts from the same random state and sees
the same batches), then prints Markdown tables: test accuracy per seed, and each
variant's difference to the plain network per seed with its sign, the paired t-test
and McNemar's exact test (``scattn.stats``). ``--json`` also writes every run's
history. Accuracies repeat to the last digit on the CPU; timings depend on the load,
which is printed (``uptime``) before and after.

- colour-cue: the colour-cue digits (``scattn.data.colour_cue_digits``), a two-stage
  SmallCNN on RGB, variants none, se, cbam, spatial, se-add. The criterion (fixed
  before the final runs) is checked and printed.
- capacity: cluttered digits (the ``cpu`` profile's sizes), none / se / cbam at several
  widths; the benefit of attention against capacity.
- power: cluttered digits, the default SmallCNN, many seeds: the spread of the paired
  differences, and how many seeds it takes to detect a 0.5-point effect.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's scattn

import scattn  # noqa: E402
from scattn import stats  # noqa: E402
from scattn.compare import compare  # noqa: E402
from scattn.data import cluttered_digits_loaders, colour_cue_loaders  # noqa: E402
from scattn.models import SmallCNN  # noqa: E402
from scattn.runtime import PROFILES  # noqa: E402

CUE_VARIANTS = ["none", "se", "cbam", "spatial", "se-add"]
CAPACITY_WIDTHS = ["4,8,16", "8,16,32", "16,32,64", "16,32"]


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def widths_of(text: str) -> tuple[int, ...]:
    return tuple(int(w) for w in text.split(","))


class Models:
    """A make_model for compare() that keeps every model it builds (compare trains them in place)."""

    def __init__(self, build):
        self.build = build
        self.built: dict[str, list[torch.nn.Module]] = {}

    def __call__(self, name: str) -> torch.nn.Module:
        model = self.build(name)
        self.built.setdefault(name, []).append(model)
        self.last = name
        return model

    def progress(self, row: dict) -> None:
        """fit's callback: one line per finished run with its test accuracy after every epoch."""
        self.curve = [] if row["epoch"] == 1 else self.curve
        self.curve.append(f"{100 * row['test_acc']:.0f}")
        if row["epoch"] == self.epochs:
            print(f"  {self.last} run {len(self.built[self.last])}: {row['elapsed']:.0f} s, test % by epoch "
                  f"{' '.join(self.curve)}", flush=True)


def correct(model: torch.nn.Module, loader) -> np.ndarray:
    """Per test example, whether the model's prediction is right (eval mode, in loader order)."""
    model.eval()
    out = []
    with torch.no_grad():
        for x, y in loader:
            out.append((model(x).argmax(1) == y).numpy())
    return np.concatenate(out)


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def accuracy_table(table, seeds) -> str:
    lines = ["| variant | params | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "|---|---|" + "---|" * (len(seeds) + 1)]
    for r in table.rows:
        accs = r["accuracies"]
        lines.append(f"| {r['attention']} | {r['params']:,} | " + " | ".join(pct(a) for a in accs)
                     + f" | {pct(statistics.fmean(accs))} |")
    return "\n".join(lines)


def difference_table(table, seeds, right: dict, baseline: str = "none") -> str:
    """Each variant minus the baseline, per seed (points), with the paired t-test and McNemar."""
    base = next(r for r in table.rows if r["attention"] == baseline)
    lines = ["| variant − " + baseline + " | " + " | ".join(f"seed {s}" for s in seeds)
             + " | mean ± sd | signs | paired t p | McNemar p per seed |",
             "|---|" + "---|" * (len(seeds) + 4)]
    for r in table.rows:
        if r["attention"] == baseline:
            continue
        cmp = stats.paired([100 * a for a in r["accuracies"]], [100 * a for a in base["accuracies"]])
        mc = [stats.mcnemar(right[r["attention"]][i], right[baseline][i]).p for i in range(len(seeds))]
        lines.append(f"| {r['attention']} | " + " | ".join(f"{d:+.1f}" for d in cmp.diffs)
                     + f" | {cmp.mean:+.2f} ± {cmp.sd:.2f} | {cmp.signs} | {cmp.p:.2g} | "
                     + ", ".join(f"{p:.2g}" for p in mc) + " |")
    return "\n".join(lines)


def run(args, label: str, build, loaders, seeds, variants, epochs, fit_kwargs) -> dict:
    models = Models(build)
    models.epochs = epochs
    t0 = time.perf_counter()
    table = compare(variants, seeds, make_model=models, data=loaders, epochs=epochs, device="cpu",
                    quiet=True, callbacks=[models.progress], **fit_kwargs)
    wall = time.perf_counter() - t0
    test_loader = loaders()[1]
    right = {name: [correct(m, test_loader) for m in ms] for name, ms in models.built.items()}
    print(f"\n### {label}\n")
    print(accuracy_table(table, seeds))
    if "none" in variants and len(variants) > 1:
        print("", difference_table(table, seeds, right), sep="\n")
    spe = ", ".join(f"{r['attention']} {r['seconds_per_epoch']:.2f}" for r in table.rows)
    print(f"\nwall clock {wall:.0f} s for {len(variants) * len(seeds)} runs; median s/epoch: {spe}")
    return {
        "label": label,
        "seeds": list(seeds),
        "epochs": epochs,
        "fit": {k: v for k, v in fit_kwargs.items()},
        "rows": table.rows,
        "histories": {k: [h.rows for h in hs] for k, hs in table.histories.items()},
        "wall_seconds": wall,
    }


def colour_cue(args) -> list[dict]:
    widths = widths_of(args.widths or "16,32")
    data_kwargs = {k: v for k, v in [("cue_height", args.cue_height), ("cue_gap", args.cue_gap),
                                     ("digit_size", args.digit_size), ("canvas_size", args.canvas_size),
                                     ("palette", args.palette), ("overlap", args.overlap or None)]
                   if v is not None}
    n_train, n_test = args.n_train or 6000, args.n_test or 1000

    def loaders():
        return colour_cue_loaders(n_train, n_test, args.batch_size, seed=args.data_seed, **data_kwargs)

    def build(name):
        return SmallCNN(name, in_channels=3, widths=widths, reduction=args.reduction)

    fit_kwargs = {k: v for k, v in [("lr", args.lr), ("warmup", args.warmup)] if v is not None}
    label = (f"colour cue: SmallCNN widths {widths}, reduction {args.reduction}, {n_train} / {n_test} "
             f"canvases, {args.epochs} epochs, batch {args.batch_size}, {fit_kwargs or 'fit defaults'}, "
             f"data {data_kwargs or 'default'}")
    result = run(args, label, build, loaders, args.seeds, args.variants or CUE_VARIANTS, args.epochs,
                 fit_kwargs)
    rows = {r["attention"]: r["accuracies"] for r in result["rows"]}
    if "se" in rows and "none" in rows:
        d = [100 * (s - n) for s, n in zip(rows["se"], rows["none"], strict=True)]
        held = len(d) >= 5 and min(d) >= 10
        print(f"\ncriterion (SE ahead of none by >= 10 points on every one of >= 5 paired seeds): "
              f"{'HELD' if held else 'NOT HELD'} (min difference {min(d):+.1f} over {len(d)} seeds)")
        result["criterion_held"] = held
    return [result]


def cluttered(args):
    """Cluttered digits at the cpu profile's sizes (or --n-train/--n-test/--epochs): n_train, n_test,
    epochs and a loaders() that makes the same loaders for every run."""
    p = PROFILES["cpu"]
    n_train, n_test = args.n_train or p.n_train, args.n_test or p.n_test

    def loaders():
        return cluttered_digits_loaders(n_train, n_test, p.batch_size, seed=args.data_seed)

    return n_train, n_test, args.epochs or p.epochs, loaders


def capacity(args) -> list[dict]:
    n_train, n_test, epochs, loaders = cluttered(args)
    results = []
    for text in args.capacity_widths or CAPACITY_WIDTHS:
        widths = widths_of(text)
        label = f"capacity: cluttered digits, SmallCNN widths {widths}, {n_train} / {n_test}, {epochs} epochs"
        result = run(args, label, lambda name, w=widths: SmallCNN(name, widths=w), loaders,
                     args.seeds, args.variants or ["none", "se", "cbam"], epochs, {})
        results.append({**result, "widths": text})
    return results


def power(args) -> list[dict]:
    n_train, n_test, epochs, loaders = cluttered(args)
    label = f"power: cluttered digits, default SmallCNN, {n_train} / {n_test}, {epochs} epochs"
    result = run(args, label, lambda name: SmallCNN(name), loaders, args.seeds,
                 args.variants or ["none", "se", "cbam"], epochs, {})
    rows = {r["attention"]: r["accuracies"] for r in result["rows"]}
    print("\n| variant − none | sd of per-seed differences (points) | seeds to detect 0.5 points "
          "(α = 0.05, power 0.8) |\n|---|---|---|")
    for name, accs in rows.items():
        if name == "none":
            continue
        cmp = stats.paired([100 * a for a in accs], [100 * a for a in rows["none"]])
        print(f"| {name} | {cmp.sd:.2f} | {stats.seeds_needed(0.5, cmp.sd)} |")
    return [result]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiment", choices=("colour-cue", "capacity", "power"), required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", choices=scattn.available_attention())
    ap.add_argument("--epochs", type=int, help="default: 20 (colour-cue), the cpu profile's 6 (others)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: fit's)")
    ap.add_argument("--warmup", type=float, help="share of the steps spent warming up (default: fit's)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--n-test", type=int)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--widths", help="colour-cue SmallCNN widths, e.g. 16,32")
    ap.add_argument("--reduction", type=int, default=4, help="colour-cue SE/CBAM reduction")
    ap.add_argument("--cue-height", type=int)
    ap.add_argument("--cue-gap", type=int)
    ap.add_argument("--digit-size", type=int)
    ap.add_argument("--canvas-size", type=int)
    ap.add_argument("--palette", type=int, choices=(2, 3))
    ap.add_argument("--overlap", action="store_true", help="both digits in one place (one per colour)")
    ap.add_argument("--capacity-widths", nargs="+", help=f"default: {' '.join(CAPACITY_WIDTHS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the runs (histories included) here")
    args = ap.parse_args(argv)
    if args.epochs is None and args.experiment == "colour-cue":
        args.epochs = 20
    torch.set_num_threads(args.threads)
    print(f"$ python {' '.join(sys.argv)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {args.threads} threads; start: {uptime()}")
    results = {"colour-cue": colour_cue, "capacity": capacity, "power": power}[args.experiment](args)
    print(f"\nend: {uptime()}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"argv": sys.argv, "torch": torch.__version__,
                                               "results": results}, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
