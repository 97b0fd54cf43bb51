"""Fine-tune the shipped pretrained SmallCNN with attention retrofitted: none vs SE vs CBAM.

The offline version of "retrofit attention into a pretrained network": start from
``scattn.models.pretrained_smallcnn()`` (trained on the default cluttered digits),
put ``BlendedAttention(make_attention(name))`` into every block with
``retrofit_attention`` (the same function at initialisation), and fine-tune briefly on
a shifted task, a small downstream set: digits of 14 px among 8 fragments of 11 px
(the pretraining canvases have 18 px digits among 6 fragments of 7 px; the pretrained
network reads 35% of these), 1,500 training canvases, 2 epochs, AdamW under a
one-cycle schedule peaking at lr 2e-3 (a fifth of the from-scratch rate). (A first
choice, 56×56 canvases with 16 fragments, was no shift at all: 97.0% before any
fine-tuning.)
The same seeds for every variant, so the differences are paired; from-scratch runs
of the same length give the context::

    PYTHONPATH=. python benchmarks/pretrained_finetune.py --seeds 0 1 2

Results: docs/results.md (section 6).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time

import torch

from scattn import data
from scattn.models import BlendedAttention, SmallCNN, pretrained_smallcnn, retrofit_attention
from scattn.table import Table
from scattn.train import Recipe, evaluate, fit

TASK = {"digit_size": 14, "distractor_size": 11, "n_distractors": 8}
N_TRAIN, N_TEST, EPOCHS, LR, BATCH = 1500, 1000, 2, 2e-3, 128


def paired(a: list[float], b: list[float]) -> str:
    from scipy import stats

    d = [x - y for x, y in zip(a, b, strict=True)]
    mean = sum(d) / len(d)
    p = stats.ttest_rel(a, b).pvalue if len(d) > 1 and len(set(d)) > 1 else float("nan")
    return f"{', '.join(f'{100 * x:+.1f}' for x in d)} (mean {100 * mean:+.2f} points, paired t-test p = {p:.2g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["none", "se", "cbam"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR, help="peak learning rate of the fine-tuning")
    parser.add_argument("--no-scratch", action="store_true", help="skip the from-scratch runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    train_loader, test_loader = data.cluttered_digits_loaders(N_TRAIN, N_TEST, BATCH, seed=0, **TASK)
    _, default_test = data.cluttered_digits_loaders(64, N_TEST, BATCH, seed=0)
    base = pretrained_smallcnn()
    print(f"pretrained, no fine-tuning: {evaluate(base, default_test)['accuracy']:.4f} on the default canvases, "
          f"{evaluate(base, test_loader)['accuracy']:.4f} on the harder ones", flush=True)

    rows, acc = [], {}
    starts = ("pretrained",) if args.no_scratch else ("pretrained", "scratch")
    for start in starts:
        for name in args.variants:
            label = f"{start} + {name}"
            acc[label] = []
            for seed in args.seeds:
                torch.manual_seed(seed)
                if start == "pretrained":
                    model = retrofit_attention(copy.deepcopy(base).train(), name)
                else:
                    model = SmallCNN(attention=name)
                recipe = Recipe(lr=args.lr if start == "pretrained" else None)
                history = fit(model, train_loader, test_loader, args.epochs, recipe, seed=seed, device="cpu",
                              quiet=True)
                alphas = [round(m.alpha.item(), 3) for m in model.modules() if isinstance(m, BlendedAttention)]
                acc[label].append(history.final["test_acc"])
                rows.append({"start": start, "attention": name, "seed": seed,
                             "test accuracy": history.final["test_acc"], "α per stage": alphas or "–",
                             "s/epoch": history.final["seconds"]})
                print(f"{label} seed {seed}: {history.final['test_acc']:.4f} α {alphas}", flush=True)

    fmt = {"test accuracy": lambda v: f"{100 * v:.1f}%", "s/epoch": lambda v: f"{v:.1f}"}
    print("\n" + Table(rows, formats=fmt).to_markdown())
    print()
    for start in starts:
        for name in args.variants:
            if name != "none" and len(args.seeds) > 1:
                print(f"{start}: {name} − none per seed: {paired(acc[f'{start} + {name}'], acc[f'{start} + none'])}")
        mean = {n: sum(acc[f"{start} + {n}"]) / len(args.seeds) for n in args.variants}
        print(f"{start}: mean " + ", ".join(f"{n} {100 * v:.2f}%" for n, v in mean.items()))
    load = os.getloadavg()
    print(f"\n{(time.time() - t0) / 60:.1f} min; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
          f"{os.cpu_count()} CPUs; torch {torch.__version__}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
