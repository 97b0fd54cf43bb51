"""Does CBAM's spatial gate localise the digit better than a map that learned nothing?

Trains SmallCNN with CBAM and without attention exactly as the inside-the-attention
notebook does in the cpu profile (``scattn.train.fit`` defaults, 6,000 canvases,
6 epochs, batch 128, seed 0), then scores on the 1,000 test canvases:

- the CBAM network's spatial gate M_s at each stage (20×20, 10×10, 5×5 maps),
- gradient saliency of both networks,
- the no-learning baseline: the input blurred by a 9, 11 and 15 px box (``ink_density_map``),

with every measure in ``scattn.maps``: the peak score, the mass in the digit's box
(plain and minus each map's minimum), the mean on digit against fragment ink, and the
deletion test (the highest-scoring square of 5% and 10% of the canvas against a random
square of the same size, on the network the map belongs to; the ink maps on both).
Paired tests compare maps image by image (t-test on scores, McNemar on right/wrong)::

    PYTHONPATH=. python benchmarks/localisation.py --json localisation.json

Trained models are kept in ``--runs`` (default: scattn-localisation in the temporary directory): a second run reads
them back instead of training again. Results: docs/results.md (section 5).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

import scattn
from scattn import data
from scattn.maps import (
    capture_attention,
    deletion_drop,
    digit_vs_fragment,
    gate_mass_in_box,
    gradient_saliency,
    ink_density_map,
    localisation_score,
    mcnemar_p,
    paired_difference,
    peak_positions,
    spatial_maps,
)
from scattn.models import SmallCNN
from scattn.table import Table
from scattn.train import fit

N_TRAIN, N_TEST, EPOCHS, BATCH, SEED = 6000, 1000, 6, 128, 0
INK_BOXES = (9, 11, 15)
FRACTIONS = (0.05, 0.10)
CANVAS = 40


def train(name: str, runs: Path, n_train: int, n_test: int, epochs: int) -> tuple[torch.nn.Module, float]:
    train_loader, test_loader = data.cluttered_digits_loaders(n_train, n_test, BATCH, seed=SEED)
    torch.manual_seed(SEED)
    model = SmallCNN(attention=name)
    history = fit(model, train_loader, test_loader, epochs, seed=SEED, device="cpu", desc=name,
                  checkpoint_dir=runs / name, quiet=True)
    return model.eval(), history.final["test_acc"]


def peaks_inside(maps: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    p = peak_positions(maps, CANVAS)
    x, y = p[:, 0], p[:, 1]
    return (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(Path(tempfile.gettempdir()) / "scattn-localisation"),
                        help="where the trained models are kept")
    parser.add_argument("--json", help="write every number here")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--n-test", type=int, default=N_TEST)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    runs = Path(args.runs)
    models, accuracy = {}, {}
    for name in ("cbam", "none"):
        models[name], accuracy[name] = train(name, runs, args.n_train, args.n_test, args.epochs)
        print(f"{name}: test accuracy {accuracy[name]:.4f}", flush=True)

    test = data.cluttered_digits("test", args.n_test, seed=SEED)
    images, labels, boxes = test.images, test.labels, test.boxes

    maps: dict[str, torch.Tensor] = {}
    owner: dict[str, list[str]] = {}
    stages = spatial_maps(capture_attention(models["cbam"], images))
    for i, m in enumerate(stages.values(), start=1):
        label = f"CBAM M_s, stage {i} ({m.shape[1]}×{m.shape[2]})"
        maps[label], owner[label] = m, ["cbam"]
    for name in ("cbam", "none"):
        label = f"saliency, {name} network"
        maps[label] = torch.cat([gradient_saliency(models[name], chunk) for chunk in images.split(250)])
        owner[label] = [name]
    for k in INK_BOXES:
        label = f"ink density, {k}×{k} box"
        maps[label], owner[label] = ink_density_map(images, box=k), ["cbam", "none"]

    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).float() / CANVAS**2
    scores: dict[str, dict] = {}
    per_image: dict[str, dict[str, torch.Tensor]] = {}
    for label, m in maps.items():
        inside = peaks_inside(m, boxes)
        mass = gate_mass_in_box(m, boxes, CANVAS) if m.min() >= 0 else None
        rel = gate_mass_in_box(m, boxes, CANVAS, relative=True)
        digit, fragment = digit_vs_fragment(m, images, boxes)
        row = {"map": label, "peak": inside.float().mean().item(),
               "mass": None if mass is None else mass.nanmean().item(), "mass − min": rel.nanmean().item(),
               "on digit": digit.nanmean().item(), "on fragments": fragment.nanmean().item(),
               "digit / fragment": (digit / fragment).nanmean().item(),
               "map range": f"{m.min().item():.3g}–{m.max().item():.3g}"}
        assert abs(row["peak"] - localisation_score(m, boxes, CANVAS)) < 1e-9
        per_image[label] = {"peak": inside, "mass": mass, "rel": rel, "ratio": digit / fragment}
        for name in owner[label]:
            for f in FRACTIONS:
                d = deletion_drop(models[name], images, labels, m, boxes, fraction=f)
                row[f"del {int(100 * f)}% on {name}"] = d.accuracy_map
                row[f"rand {int(100 * f)}% on {name}"] = d.accuracy_random
                row[f"box share {int(100 * f)}% on {name}"] = d.inside_map.mean().item()
                per_image[label][f"del{f}-{name}"] = d
        scores[label] = row
        print(f"scored {label}", flush=True)

    def fmt(v):
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    cols = ["map", "map range", "peak", "mass", "mass − min", "on digit", "on fragments", "digit / fragment"]
    print(f"\nchance: the box's share of the canvas, {area.mean().item():.3f}; accuracy intact: "
          f"CBAM {accuracy['cbam']:.4f}, none {accuracy['none']:.4f}\n")
    print(Table(scores.values(), cols, {c: fmt for c in cols}).to_markdown())
    for name in ("cbam", "none"):
        dcols = ["map"] + [f"{w} {int(100 * f)}% on {name}" for f in FRACTIONS
                           for w in ("del", "rand", "box share")]
        rows = [r for r in scores.values() if f"del 5% on {name}" in r]
        print(f"\nDeletion on the {name} network (accuracy after deleting; intact {accuracy[name]:.4f}):\n")
        print(Table(rows, dcols, {c: fmt for c in dcols}).to_markdown())

    # Paired comparisons, image by image: each learned map against the best ink baseline.
    best_ink = max((k for k in maps if k.startswith("ink")), key=lambda k: scores[k]["peak"])
    tests = []
    for label in maps:
        if label.startswith("ink"):
            continue
        a, b = per_image[label], per_image[best_ink]
        tests.append({"comparison": f"{label} − {best_ink}",
                      "peak (McNemar p)": mcnemar_p(a["peak"], b["peak"]),
                      "Δ peak": scores[label]["peak"] - scores[best_ink]["peak"],
                      "Δ mass − min": str(paired_difference(a["rel"], b["rel"])),
                      "Δ digit/fragment": str(paired_difference(a["ratio"], b["ratio"]))})
        for name in owner[label]:
            for f in FRACTIONS:
                dm, di = a[f"del{f}-{name}"], b[f"del{f}-{name}"]
                tests[-1][f"deletion {int(100 * f)}% ({name}): map vs ink, map vs random (McNemar p)"] = (
                    f"{dm.accuracy_map:.3f} vs {di.accuracy_map:.3f} "
                    f"(p = {mcnemar_p(dm.correct_map, di.correct_map):.2g}); vs random {dm.accuracy_random:.3f} "
                    f"(p = {mcnemar_p(dm.correct_map, dm.correct_random):.2g})")
    print("\nPaired tests against the best ink baseline (" + best_ink + "):\n")
    for t in tests:
        print("- " + t["comparison"])
        for k, v in t.items():
            if k != "comparison":
                print(f"    {k}: {fmt(v) if isinstance(v, float) else v}")

    minutes = (time.time() - t0) / 60
    load = os.getloadavg()
    print(f"\n{minutes:.1f} min; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs; "
          f"torch {torch.__version__}, scattn {scattn.__version__}, Python {platform.python_version()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"accuracy": accuracy, "scores": scores, "tests": tests,
                                               "chance": area.mean().item(), "minutes": minutes, "load": load},
                                              indent=1, default=str))


if __name__ == "__main__":
    main()
