"""When attention pays: the recorded runs behind notebooks 05 and 06 and docs/results.md.

Every experiment is a set of paired runs of one task (``scattn.tasks``): each variant
trained once per seed, the same way ``scattn compare --data TASK`` trains it (the same
model, sizes, recipe and seeding; tests/test_experiments.py checks that both build the
same run), so one CLI command reproduces any row. ``run`` trains and records; ``report``
prints the tables of docs/results.md from the recorded files::

    python benchmarks/when_attention_pays.py run --task colour-cue --variants none se se-add \
        --seeds 1000 1001 1002 --json scattn/recorded/colour_cue_core_a.json
    python benchmarks/when_attention_pays.py run --task colour-cue --variants se --reduction 16 \
        --seeds 1000 1001 --json scattn/recorded/colour_cue_r16.json
    python benchmarks/when_attention_pays.py run --task digits --profile gpu --variants none se cbam \
        --seeds 0 1 2 3 4 5 6 7 --json scattn/recorded/power_gpu.json
    python benchmarks/when_attention_pays.py report scattn/recorded/colour_cue_*.json

A recorded file starts with the provenance its run wrote (command, scattn version, git
commit, date, machine, torch version, threads: ``scattn.runtime.provenance``), then the
task, sizes and options, then one entry per run: variant, seed, parameters, FLOPs per
image, the per-epoch history and the test predictions (one digit per test example, in
the test set's order). The file is rewritten (atomically) after every seed, so an
interrupted experiment keeps what it finished and ``run`` with the same arguments goes on
from there. One torch thread per process (``--threads``) is the polite setting on a
shared machine: run two processes side by side on two cores, on different seeds.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's scattn

from scattn import stats  # noqa: E402
from scattn.compare import compare  # noqa: E402
from scattn.runtime import PROFILES, atomic_write, provenance  # noqa: E402
from scattn.tasks import TASKS, get_task  # noqa: E402

FOUND = 0.9  # a run "found" the colour cue when its final test accuracy is at least this


# ----------------------------------------------------------------------------- run


def plan(task_name: str, profile: str, overrides: dict) -> tuple:
    """The task and its sizes in ``profile`` with ``overrides``: what the CLI's compare would use."""
    from dataclasses import replace

    task = get_task(task_name)
    return task, replace(task.sizes(PROFILES[profile]), **overrides)


class Keep:
    """compare()'s make_model that also keeps the models it built (compare trains them in place)."""

    def __init__(self, build):
        self.build, self.models = build, {}

    def __call__(self, variant: str):
        self.models[variant] = model = self.build(variant)
        return model


def predictions(model: torch.nn.Module, loader) -> str:
    """The model's class for every test example, one digit each, in the loader's order."""
    model.eval()
    with torch.no_grad():
        labels = torch.cat([model(x).argmax(1) for x, _ in loader])
    if int(labels.max()) > 9:
        raise ValueError("predictions are stored one digit per example: tasks of up to 10 classes")
    return "".join(map(str, labels.tolist()))


def first_epoch_at(rows: Sequence[dict], level: float = FOUND) -> int | None:
    """The first epoch whose test accuracy reaches ``level`` (None: never)."""
    return next((r["epoch"] for r in rows if r["test_acc"] is not None and r["test_acc"] >= level), None)


def write(path: Path, record: dict) -> None:
    text = json.dumps(record, indent=1, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode()))


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    overrides = {k: getattr(args, k) for k in ("n_train", "n_test", "epochs", "batch_size")
                 if getattr(args, k) is not None}
    task, sizes = plan(args.task, args.profile, overrides)
    options = {k: v for k, v in (("reduction", args.reduction), ("kernel_size", args.kernel_size),
                                 ("widths", args.widths)) if v is not None}
    path = Path(args.json)
    header = {"experiment": args.task, "task": task.name, "profile": args.profile, "sizes": vars(sizes),
              "options": options, "data_seed": args.data_seed, "variants": args.variants, "seeds": args.seeds}
    record = {"provenance": provenance(["benchmarks/when_attention_pays.py", *args.argv]), **header, "runs": []}
    if path.exists():  # go on where an interrupted run of the same experiment stopped
        old = json.loads(path.read_text())
        if {k: old.get(k) for k in header} != header:
            raise SystemExit(f"{path} holds another experiment; choose another --json")
        record["runs"] = old["runs"]
        record["provenance"]["continues"] = old["provenance"]
    done = {(r["variant"], r["seed"]) for r in record["runs"]}
    train_loader, test_loader = task.loaders(sizes, seed=args.data_seed)
    print(f"{task.name}: {sizes}, options {options}, {args.threads} thread(s)", flush=True)
    for seed in args.seeds:
        todo = [v for v in args.variants if (v, seed) not in done]
        if not todo:
            continue
        keep = Keep(lambda v: task.model(v, **options))
        t0 = time.perf_counter()
        table = compare(todo, [seed], make_model=keep, data=(train_loader, test_loader), epochs=sizes.epochs,
                        device="cpu", quiet=True)
        for row in table.rows:
            history = table.histories[row["attention"]][0]
            record["runs"].append({
                "variant": row["attention"], "seed": seed, "params": row["params"], "flops": row["flops"],
                "seconds_per_epoch": row["seconds_per_epoch"], "history": history.rows,
                "predictions": predictions(keep.models[row["attention"]], test_loader),
            })
            curve = " ".join(f"{100 * r['test_acc']:.0f}" for r in history.rows)
            print(f"seed {seed} {row['attention']:15} {100 * row['accuracy_mean']:5.1f}%  by epoch: {curve}",
                  flush=True)
        record["provenance"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write(path, record)
        print(f"  {len(todo)} runs in {time.perf_counter() - t0:.0f} s; wrote {path}", flush=True)
    return 0


# ----------------------------------------------------------------------------- report


def load_runs(paths: Sequence[str]) -> list[dict]:
    """Every run of the files, labelled "variant" or "variant (r = 8)" where options differ."""
    runs = []
    for p in paths:
        record = json.loads(Path(p).read_text())
        label = ", ".join(f"{k} {v}" for k, v in record["options"].items())
        for r in record["runs"]:
            final = r["history"][-1]["test_acc"]
            runs.append({**r, "label": f"{r['variant']} ({label})" if label else r["variant"], "final": final,
                         "task": record["task"], "file": p})
    return runs


def report(args: argparse.Namespace) -> int:
    print(report_table(args.paths, args.baseline, args.order, rates=not args.no_rates))
    return 0


def report_table(paths: Sequence[str], baseline: str = "none", order: Sequence[str] | None = None,
                 rates: bool = True) -> str:
    """The Markdown table of the recorded runs in ``paths``: per variant (in ``order``, else as
    recorded) its cost, with ``rates`` its rate of finding the colour cue (final test accuracy
    >= 90%, Wilson's 95% interval) and when it found it, its final accuracy, and its paired
    difference to ``baseline`` (t interval, seeds ahead/behind, t-test, Holm's correction over
    the variants)."""
    by = {}
    for r in load_runs(paths):
        by.setdefault(r["label"], {})[r["seed"]] = r
    if order:
        by = {label: by[label] for label in order}
    base = by.get(baseline, {})
    rows, pvalues = [], []
    for label, seeds in by.items():
        common = [s for s in seeds if s in base]
        cmp = (stats.paired([100 * seeds[s]["final"] for s in common], [100 * base[s]["final"] for s in common])
               if label != baseline and len(common) >= 2 else None)
        rows.append((label, list(seeds.values()), cmp))
        if cmp is not None:
            pvalues.append(cmp.p)
    adjusted = iter(stats.holm(pvalues)) if pvalues else iter(())
    head = ["variant", "seeds", "params", "FLOPs/image"]
    if rates:
        head += [f"found (≥ {100 * FOUND:.0f}%): rate, 95% CI", "median epoch found"]
    head += ["final acc %, median (range)", f"− {baseline}, mean [95% CI] points", "ahead / behind", "paired t p",
             "Holm p"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, rs, cmp in rows:
        finals = [100 * r["final"] for r in rs]
        cells = [label, str(len(rs)), f"{rs[0]['params']:,}", f"{rs[0]['flops'] / 1e6:.2f}M"]
        if rates:
            found = [r for r in rs if r["final"] >= FOUND]
            epochs = [first_epoch_at(r["history"]) for r in found]
            cells += [str(stats.rate(len(found), len(rs))), f"{statistics.median(epochs):g}" if epochs else "–"]
        cells.append(f"{statistics.median(finals):.1f} ({min(finals):.1f}-{max(finals):.1f})")
        if cmp is None:
            cells += ["–"] * 4
        else:
            low, high = cmp.ci()
            cells += [f"{cmp.mean:+.1f} [{low:+.1f}, {high:+.1f}] (n = {cmp.n})", f"{cmp.wins} / {cmp.losses}",
                      f"{cmp.p:.2g}", f"{next(adjusted):.2g}"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# ----------------------------------------------------------------------------- docs/results.md

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results.md"
RECORDED = Path(__file__).resolve().parents[1] / "scattn" / "recorded"
TABLE = re.compile(r"(<!-- table: (.*?) -->\n)(.*?)(<!-- end of table -->)", re.S)


def tables(text: str) -> str:
    """``text`` with every table block regenerated from the recorded files it names. A block reads
    ``<!-- table: PATTERN ... [--baseline NAME] [--no-rates] [--order NAME ...] -->``, then the table, then
    ``<!-- end of table -->``; the patterns are globs under scattn/recorded/ (without .json)."""
    def regenerate(m: re.Match) -> str:
        words = m.group(2).split()
        baseline, order, patterns, rates = "none", None, [], True
        while words:
            word = words.pop(0)
            if word == "--baseline":
                baseline = words.pop(0)
            elif word == "--no-rates":
                rates = False
            elif word == "--order":
                order, words = words, []
            else:
                patterns.append(word)
        paths = [str(p) for pattern in patterns for p in sorted(RECORDED.glob(f"{pattern}.json"))]
        if not paths:
            raise SystemExit(f"docs/results.md names {patterns}, which match no recorded file")
        return m.group(1) + report_table(paths, baseline, order, rates) + "\n" + m.group(4)

    return TABLE.sub(regenerate, text)


def doc(args: argparse.Namespace) -> int:
    old = RESULTS.read_text(encoding="utf-8")
    new = tables(old)
    if args.check:
        print("docs/results.md " + ("is up to date" if new == old else "is stale: run `... doc`"))
        return 0 if new == old else 1
    RESULTS.write_text(new, encoding="utf-8")
    print("docs/results.md " + ("updated" if new != old else "already up to date"))
    return 0


# ----------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train the variants on the seeds and record every run")
    r.add_argument("--task", choices=tuple(TASKS), required=True)
    r.add_argument("--profile", choices=("cpu", "gpu"), default="cpu",
                   help="sizes for tasks that fix none (digits); default: %(default)s")
    r.add_argument("--variants", nargs="+", required=True)
    r.add_argument("--seeds", nargs="+", type=int, required=True)
    r.add_argument("--reduction", type=int)
    r.add_argument("--kernel-size", type=int)
    r.add_argument("--widths", type=lambda t: [int(w) for w in t.split(",")], help="SmallCNN widths, e.g. 4,8,16")
    r.add_argument("--epochs", type=int)
    r.add_argument("--n-train", type=int)
    r.add_argument("--n-test", type=int)
    r.add_argument("--batch-size", type=int)
    r.add_argument("--data-seed", type=int, default=0)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--json", required=True, help="the record (continued if it exists)")
    r.set_defaults(func=run)
    p = sub.add_parser("report", help="Markdown tables from recorded files")
    p.add_argument("paths", nargs="+")
    p.add_argument("--baseline", default="none")
    p.add_argument("--order", nargs="+", help="the variants' rows in this order")
    p.add_argument("--no-rates", action="store_true", help="no discovery columns (tasks without a cue to find)")
    p.set_defaults(func=report)
    d = sub.add_parser("doc", help="regenerate the tables of docs/results.md from the recorded files")
    d.add_argument("--check", action="store_true", help="only say whether they are up to date")
    d.set_defaults(func=doc)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    args.argv = argv  # the command line, for the provenance of what it records
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
