"""Epoch time of SmallCNN training, eager against ``torch.compile``, and what attention costs.

In one process: SmallCNN with no attention, SE and CBAM on the cluttered digits of the
``cpu`` profile (6,000 canvases, batch 128), each trained by ``scattn.train.fit`` eager
and compiled. Every run is ``--epochs`` epochs; the first epoch of a compiled run
includes the compilation, so the table reports it apart from the steady epochs after
it. Runs go round-robin (the order rotated every round) so that a change in the
machine's load falls on every variant alike; ``torch._dynamo.reset()`` before every
compiled run makes each of them trace and compile again, as a fresh notebook would
(kernels generated earlier in the process are reused from memory, so only the first
round's first compiled run pays the full cold cost: see the "first round" column).

    python benchmarks/bench_training.py                            # prints the table
    python benchmarks/bench_training.py --write docs/performance.md

Inductor's on-disk caches point to an empty temporary folder, so nothing compiled by
an earlier process is reused.
"""

from __future__ import annotations

import os
import tempfile

os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-training-inductor-")  # cold caches
os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "0")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from scattn.bench import count_flops  # noqa: E402
from scattn.data import CANVAS_SIZE, cluttered_digits_loaders  # noqa: E402
from scattn.models import SmallCNN  # noqa: E402
from scattn.runtime import PROFILES, precision, seed_everything  # noqa: E402
from scattn.train import fit  # noqa: E402

ATTENTIONS = ("none", "se", "cbam")
BEGIN, END = "<!-- bench_training:begin -->", "<!-- bench_training:end -->"


def one_run(attention: str, compiled: bool, loader, epochs: int) -> list[float]:
    """Seconds of each training epoch of one fit (evaluation excluded: no test loader)."""
    if compiled:
        torch._dynamo.reset()
    seed_everything(0)
    model = SmallCNN(attention)
    history = fit(model, loader, None, epochs=epochs, seed=0, device=precision("cpu", compile=compiled), quiet=True)
    return history.column("seconds")


def measure(rounds: int, epochs: int, n_train: int, batch_size: int) -> dict[tuple[str, bool], list[list[float]]]:
    loader, _ = cluttered_digits_loaders(n_train, 16, batch_size)
    variants = [(a, c) for c in (False, True) for a in ATTENTIONS]
    runs: dict[tuple[str, bool], list[list[float]]] = {v: [] for v in variants}
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for attention, compiled in order:
            t0 = time.perf_counter()
            seconds = one_run(attention, compiled, loader, epochs)
            runs[(attention, compiled)].append(seconds)
            print(f"round {r + 1}/{rounds} {attention:5} {'compiled' if compiled else 'eager':8} "
                  f"epochs {' '.join(f'{s:.1f}' for s in seconds)} s (run {time.perf_counter() - t0:.0f} s, "
                  f"load {os.getloadavg()[0]:.2f})", flush=True)
    return runs


def summarise(runs, epochs: int) -> list[dict]:
    rows = []
    steady = {v: statistics.median(s for run in r for s in run[1:]) for v, r in runs.items()}
    for (attention, compiled), r in runs.items():
        first = [run[0] for run in r]
        rows.append({
            "attention": attention, "compiled": compiled, "steady": steady[(attention, compiled)],
            "first_cold": first[0], "first_later": statistics.median(first[1:]) if len(first) > 1 else None,
            "vs_none": steady[(attention, compiled)] / steady[("none", compiled)],
            "vs_eager": steady[(attention, compiled)] / steady[(attention, False)],
            "n_epochs": sum(len(run) - 1 for run in r),
        })
    return rows


def cpu_name() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def markdown(rows: list[dict], args, loads: tuple[float, float], started: datetime.datetime, flops: dict) -> str:
    lines = [
        "| attention | mode | steady s/epoch | 1st epoch, 1st round s | 1st epoch, later rounds s "
        "| compile s (cold / warm) | × none | × eager | FLOPs/image |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        later = "–" if r["first_later"] is None else f"{r['first_later']:.1f}"
        if r["compiled"]:
            warm = "–" if r["first_later"] is None else f"{r['first_later'] - r['steady']:.0f}"
            compile_s = f"{r['first_cold'] - r['steady']:.0f} / {warm}"
        else:
            compile_s = "–"
        lines.append(
            f"| {r['attention']} | {'compiled' if r['compiled'] else 'eager'} | {r['steady']:.2f} | "
            f"{r['first_cold']:.1f} | {later} | {compile_s} | {r['vs_none']:.2f} | {r['vs_eager']:.2f} | "
            f"{flops[r['attention']] / 1e6:.2f}M |"
        )
    command = "python benchmarks/bench_training.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "write" and v is not None)
    header = (
        f"Measured {started:%Y-%m-%d} at {started:%H:%M} UTC with `{command}`: SmallCNN on "
        f"{args.n_train:,} cluttered-digit canvases ({CANVAS_SIZE}×{CANVAS_SIZE}), batch {args.batch_size}, "
        f"`scattn.train.fit` defaults (AdamW, one-cycle), float32 on the CPU; {args.rounds} round(s) of "
        f"{args.epochs} epochs per variant, round-robin. Steady = median of the epochs after the first "
        f"({rows[0]['n_epochs']} per variant). Compile = first epoch − steady epoch: cold in the first "
        f"round, warm (tracing again, kernels reused from memory) in later ones. "
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch threads: {torch.get_num_threads()}; "
        f"load average {loads[0]:.2f} at the start, {loads[1]:.2f} at the end. "
        f"Python {platform.python_version()}, torch {torch.__version__}."
    )
    return header + "\n\n" + "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cpu = PROFILES["cpu"]
    parser.add_argument("--rounds", type=int, default=2, help="runs per variant, round-robin (default 2)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is reported apart")
    parser.add_argument("--n-train", type=int, default=cpu.n_train, help="canvases (default: the cpu profile's)")
    parser.add_argument("--batch-size", type=int, default=cpu.batch_size)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice); on a shared, "
                        "loaded machine 1 thread avoids OpenMP's collapse under oversubscription")
    parser.add_argument("--write", type=Path, help="replace the bench_training section of this markdown file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.epochs < 2 or args.rounds < 1:
        parser.error("--epochs must be at least 2 (the first is compile time) and --rounds at least 1")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()[0]
    flops = {a: count_flops(SmallCNN(a), (1, 1, CANVAS_SIZE, CANVAS_SIZE)) for a in ATTENTIONS}
    runs = measure(args.rounds, args.epochs, args.n_train, args.batch_size)
    table = markdown(summarise(runs, args.epochs), args, (load_start, os.getloadavg()[0]), started, flops)
    print(table)
    if args.write:
        text = args.write.read_text() if args.write.exists() else f"{BEGIN}\n{END}\n"
        if BEGIN not in text:
            text += f"\n{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.write.write_text(head + BEGIN + "\n" + table + END + tail)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
