"""Spatial attention, selection by place: when does CBAM's spatial gate pay? (issue 9, experiment 2)

Task: spotlight digits (:func:`scattn.data.spotlight_digits`): up to four digits at
random contrasts, each with a bar of random brightness below it; the label is the
digit under the brightest bar. Where to look depends on the bars, i.e. on context.

Network: three conv-BN-ReLU layers (stride 2, 2, 1; 16, 32, 32 channels, receptive
field 15 pixels), then the *variant's module* on the last 10×10 map, then global
average pooling and a linear layer. Variants (the same slot, the same place):

  none          nothing: pooling averages every place
  spatial-1x1   σ(f^{1×1}([avg; max])) ⊗ F: a spatial gate that sees one place only
  spatial       CBAM's gate σ(f^{7×7}([avg; max])) ⊗ F (scattn.SpatialAttention)
  spatial-bn    the same with the BatchNorm the CBAM authors' code puts after the conv
  spatial-add   F + f^{7×7}([avg; max]): the same map added (scattn.AdditiveSpatial)
  spatial-add-relu  ReLU(F + f^{7×7}([avg; max])): added, then a ReLU that can cut
  conv1         one extra conv-BN-ReLU layer, 1×1 (32 → 32): a layer more, no wider view
  conv3         one extra conv-BN-ReLU layer, 3×3 (32 → 32)
  conv7         one extra conv-BN-ReLU layer, 7×7: the gate's receptive field

Every run is paired: for seed s every variant starts from torch.manual_seed(s), sees
the same canvases (made from seed s) and the same batches. Besides test accuracy it
records how often the prediction names *some* digit on the canvas ("named") and,
of those, how often the right one ("chose"), which separates recognising digits from
selecting the place.

    python benchmarks/spatial_selection.py --design spotlight --seeds 0 1 2
    python benchmarks/spatial_selection.py --list

One run takes 20-60 s on one thread of a shared 2-core CPU; the script prints the
load average next to its timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence

import torch
from torch import nn

from scattn import AdditiveSpatial, SpatialAttention
from scattn.data import spotlight_digits_loaders
from scattn.train import fit

VARIANTS = ("none", "spatial-1x1", "spatial", "spatial-bn", "spatial-add", "spatial-add-relu", "conv1", "conv3",
            "conv7")
KERNEL = 7  # CBAM's k

# Each design: data arguments for spotlight_digits, epochs, and the variants it ran.
DESIGNS = {
    # Two digits, both lit, the brighter wins.
    "pair": dict(data=dict(n_digits=2, contrast=(0.25, 1.0), cue_margin=0.2), epochs=12,
                 variants=("none", "spatial", "spatial-add", "spatial-add-relu", "conv3", "conv7")),
    # Four digits, only the answer lit: selection by presence (on/off).
    "four-one-lit": dict(data=dict(n_digits=4, contrast=(0.25, 1.0), cue_margin=0.2, lights="one"), epochs=12,
                         variants=("none", "spatial", "spatial-add", "spatial-add-relu", "conv3", "conv7")),
    # Four digits, all lit, the brightest wins: a contest between places.
    "four": dict(data=dict(n_digits=4, contrast=(0.25, 1.0), cue_margin=0.2), epochs=12,
                 variants=("none", "spatial", "spatial-bn", "spatial-add", "spatial-add-relu", "conv3", "conv7")),
    # The design fixed for the final runs: four lit, dimmer digits, a smaller margin, longer training.
    "spotlight": dict(data=dict(n_digits=4, contrast=(0.2, 1.0), cue_margin=0.15), epochs=20,
                      variants=VARIANTS),
    # The bars out of the plain network's view: 9 rows from their digits (above in the top row,
    # below in the bottom row) on a 48×48 canvas, beyond the 15-pixel receptive field of any
    # position on a digit, within the 7×7 gate's reach.
    "far-bar": dict(data=dict(n_digits=4, canvas_size=48, cue_gap=9, bars="outside", contrast=(0.2, 1.0),
                              cue_margin=0.15),
                    epochs=20, variants=("none", "spatial", "spatial-add-relu", "conv1", "conv3", "conv7")),
    # The recognition ceiling: one digit, one bar; nothing to select.
    "one-digit": dict(data=dict(n_digits=1, contrast=(0.2, 1.0), cue_margin=0.0), epochs=20,
                      variants=("none", "spatial", "conv1", "conv3")),
}


def slot(variant: str, channels: int) -> nn.Module:
    """The module each variant puts between the last conv layer and global average pooling."""
    if variant == "none":
        return nn.Identity()
    if variant == "spatial-1x1":
        return SpatialAttention(1)
    if variant == "spatial":
        return SpatialAttention(KERNEL)
    if variant == "spatial-bn":
        return SpatialAttention(KERNEL, batch_norm=True)
    if variant == "spatial-add":
        return AdditiveSpatial(KERNEL)
    if variant == "spatial-add-relu":
        return nn.Sequential(AdditiveSpatial(KERNEL), nn.ReLU())
    if variant in ("conv1", "conv3", "conv7"):
        k = {"conv1": 1, "conv3": 3, "conv7": KERNEL}[variant]
        return nn.Sequential(nn.Conv2d(channels, channels, k, padding=k // 2, bias=False),
                             nn.BatchNorm2d(channels), nn.ReLU())
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


class SelectionCNN(nn.Module):
    """conv-BN-ReLU (stride 2) ×2, conv-BN-ReLU, then ``slot``, global average pool, linear.

    On a 40×40 canvas the last map is 10×10 (one cell = 4 pixels) and each of its
    positions sees 15×15 pixels: about one digit, not the digit and its bar together.
    A 7×7 module on that map reaches 12 pixels further each way.
    """

    def __init__(self, variant: str = "none", in_channels: int = 2, widths: Sequence[int] = (16, 32),
                 num_classes: int = 10):
        super().__init__()
        c1, c2 = widths

        def cbr(i, o, s):
            return [nn.Conv2d(i, o, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.features = nn.Sequential(*cbr(in_channels, c1, 2), *cbr(c1, c2, 2), *cbr(c2, c2, 1))
        self.slot = slot(variant, c2)
        self.fc = nn.Linear(c2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.slot(self.features(x))  # (N, 2, 40, 40) -> (N, C, 10, 10)
        return self.fc(x.mean(dim=(2, 3)))  # (N, C, 10, 10) -> (N, C) -> (N, classes)


def run(variant: str, design: dict, seed: int, epochs: int, n_train: int, n_test: int) -> dict:
    """Train one variant on one seed; its accuracy, named/chose rates, curve and cost."""
    train, test = spotlight_digits_loaders(n_train, n_test, batch_size=128, seed=seed, **design["data"])
    torch.manual_seed(seed)
    model = SelectionCNN(variant)
    wall, cpu = time.perf_counter(), time.process_time()
    history = fit(model, train, test, epochs=epochs, seed=seed, quiet=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x).argmax(1) for x, _ in test])
    ds = test.dataset
    correct = pred == ds.labels
    named = (ds.classes == pred[:, None]).any(dim=1)
    return {**gate_where(model, ds),
        "variant": variant, "seed": seed, "accuracy": correct.float().mean().item(),
        "named": named.float().mean().item(),
        "chose": (correct.sum() / named.sum().clamp(min=1)).item(),
        "curve": [r["test_acc"] for r in history],
        "params": sum(p.numel() for p in model.slot.parameters()),
        "wall_s": wall, "cpu_s": cpu, "load": os.getloadavg()[0],
    }


def gate_where(model: SelectionCNN, ds) -> dict:
    """For a gate: its mean value over the answer's digit and over the other digits' (test canvases).

    The 10×10 map is read back at the canvas's resolution (each cell covers 4×4 pixels)
    and averaged inside each digit's box. Empty for variants without a gate.
    """
    if not isinstance(model.slot, SpatialAttention) or ds.classes.shape[1] < 2:
        return {}
    with torch.no_grad():
        maps = torch.cat([model.slot.attention_map(model.features(x)) for x in ds.images.split(256)])
    size = ds.images.shape[-1]
    maps = nn.functional.interpolate(maps, size=(size, size), mode="nearest")[:, 0]  # (N, 1, 10, 10) -> (N, S, S)
    n, k = ds.classes.shape
    inside = torch.zeros(n, k)
    for j in range(k):
        for i, (x0, y0, x1, y1) in enumerate(ds.boxes[:, j].tolist()):
            inside[i, j] = maps[i, y0:y1, x0:x1].mean()
    answer = inside[torch.arange(n), ds.target]
    others = (inside.sum(dim=1) - answer) / (k - 1)
    return {"gate_answer": answer.mean().item(), "gate_others": others.mean().item()}


def criterion(rows: list[dict], seeds: Sequence[int], gain: float = 5.0) -> tuple[bool, list[str]]:
    """The gate ahead of none by >= ``gain`` points on every seed and ahead of every control on every seed."""
    acc = {(r["variant"], r["seed"]): 100 * r["accuracy"] for r in rows}
    variants = sorted({r["variant"] for r in rows}, key=VARIANTS.index)
    if "spatial" not in variants or "none" not in variants:
        return False, ["the criterion needs both 'spatial' and 'none'"]
    lines, ok = [], True
    for other in variants:
        if other == "spatial":
            continue
        need = gain if other == "none" else 0.0
        diffs = [acc["spatial", s] - acc[other, s] for s in seeds]
        held = all(d > need if other != "none" else d >= need for d in diffs)
        ok &= held or other in ("spatial-1x1", "spatial-bn")  # other gates are reported, not controls
        lines.append(f"spatial − {other}: " + ", ".join(f"{d:+.1f}" for d in diffs)
                     + (" (another gate, reported)" if other in ("spatial-1x1", "spatial-bn") else
                        f" (need {'≥ +5' if other == 'none' else '> 0'} on every seed: {'yes' if held else 'no'})"))
    return ok, lines


def markdown(rows: list[dict], seeds: Sequence[int], key: str = "accuracy") -> str:
    variants = sorted({r["variant"] for r in rows}, key=VARIANTS.index)
    by = {(r["variant"], r["seed"]): r for r in rows}
    head = "| variant | params | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | minus none, per seed |"
    lines = [head, "|" + "---|" * (len(seeds) + 4)]
    for v in variants:
        vals = [100 * by[v, s][key] for s in seeds]
        diffs = "" if v == "none" or ("none", seeds[0]) not in by else ", ".join(
            f"{100 * (by[v, s][key] - by['none', s][key]):+.1f}" for s in seeds)
        lines.append(f"| {v} | {by[v, seeds[0]]['params']:,} | " + " | ".join(f"{x:.1f}" for x in vals)
                     + f" | {statistics.mean(vals):.1f} | {diffs} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--design", nargs="+", default=["spotlight"], choices=list(DESIGNS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", choices=VARIANTS, help="default: the design's own list")
    p.add_argument("--epochs", type=int, help="default: the design's")
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is polite on a shared machine)")
    p.add_argument("--json", help="write every run's record here")
    p.add_argument("--list", action="store_true", help="print the designs and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, d in DESIGNS.items():
            print(f"{name}: {d['data']}, {d['epochs']} epochs, variants {', '.join(d['variants'])}")
        return 0
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, {args.threads} thread(s); load at start {os.getloadavg()}", flush=True)
    records = {}
    for name in args.design:
        design = DESIGNS[name]
        epochs = args.epochs or design["epochs"]
        variants = args.variants or design["variants"]
        rows = []
        for seed in args.seeds:
            for v in variants:
                r = run(v, design, seed, epochs, args.n_train, args.n_test)
                rows.append(r)
                print(f"{name} seed {seed} {v:17s} acc {100 * r['accuracy']:5.1f}  named {100 * r['named']:5.1f}  "
                      f"chose {100 * r['chose']:5.1f}  {r['wall_s']:5.1f} s wall, {r['cpu_s']:5.1f} s cpu, "
                      f"load {r['load']:.1f}", flush=True)
        print(f"\n## {name}: {design['data']}, {epochs} epochs, {args.n_train} train / {args.n_test} test canvases\n")
        print("Test accuracy %:\n\n" + markdown(rows, args.seeds))
        print("\nNames a digit that is on the canvas, %:\n\n" + markdown(rows, args.seeds, "named"))
        print("\nOf those, the right one, %:\n\n" + markdown(rows, args.seeds, "chose"))
        gated = [r for r in rows if "gate_answer" in r]
        if gated:
            print("\nMean gate value over the answer's digit / over the other digits (test canvases):\n")
            for r in gated:
                print(f"- {r['variant']}, seed {r['seed']}: {r['gate_answer']:.3f} / {r['gate_others']:.3f} "
                      f"(ratio {r['gate_answer'] / max(r['gate_others'], 1e-12):.1f})")
        ok, lines = criterion(rows, args.seeds)
        print("\nCriterion (CBAM's gate ≥ 5 points over none and ahead of every control, on every seed): "
              + ("HELD" if ok else "NOT HELD"))
        print("\n".join(f"- {line}" for line in lines))
        walls = [r["wall_s"] for r in rows]
        print(f"\nWall time per run {min(walls):.0f}-{max(walls):.0f} s (median {statistics.median(walls):.0f}); "
              f"load average during the runs {min(r['load'] for r in rows):.1f}-{max(r['load'] for r in rows):.1f}\n",
              flush=True)
        records[name] = {"design": {**design, "epochs": epochs, "variants": list(variants)}, "runs": rows,
                         "criterion": ok}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv, "torch": torch.__version__, "designs": records}, f, indent=1, default=list)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
