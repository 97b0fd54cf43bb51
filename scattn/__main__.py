"""Command line: ``scattn doctor | train | compare | bench``.

Under ``torchrun --nproc-per-node N -m scattn train ...`` (or ``compare``) the
processes share each run (scattn.distributed): rank 0 alone prints and writes.

Exit codes: 0 done, 2 usage error (bad arguments), 1 the command failed (the
message says why; ``SCATTN_DEBUG=1`` shows the traceback), 130 interrupted by
Ctrl-C (a training run keeps its last checkpoint).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A command line that cannot work: exit 2 with one line naming the option, before any training."""


def _checked(convert, ok, expected: str):
    """An argparse ``type=`` that converts and checks, naming what was expected."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_count = _checked(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _checked(float, lambda v: 0 < v < float("inf"), "a positive finite number")
_seed = _checked(int, lambda v: 0 <= v <= 2**32 - 1, "an integer in [0, 2**32 - 1]")
_fraction = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


# ----------------------------------------------------------------------------- commands


def _doctor(args: argparse.Namespace) -> int:
    from .runtime import doctor

    print(doctor())
    return EXIT_OK


@dataclass
class Plan:
    """What a train or compare command runs: decided once, before any training."""

    config: Any  # runtime.Config: device, profile, Colab
    precision: Any  # runtime.Precision: device, mixed precision, channels_last, compile
    task: Any  # tasks.Task
    sizes: Any  # tasks.Sizes: the task's, then the profile's, then the command line's
    seeds: tuple[int, ...]
    attention_kwargs: dict
    data_options: dict

    def __str__(self) -> str:
        s, c = self.sizes, self.config
        data = (f"{s.n_train:,} train / {s.n_test:,} test, " if s.n_train is not None else "")
        return (f"task {self.task.name}: {data}{s.epochs} epochs, batch {s.batch_size}; "
                f"profile {c.profile.name}, device {c.device}, seeds {list(self.seeds)}"
                + (f"; attention options {self.attention_kwargs}" if self.attention_kwargs else ""))


def _plan(args: argparse.Namespace) -> Plan:
    """The device (decided here, once), setup(), the task's sizes with the command line's
    overrides, the seeds; under torchrun, join its ranks. Bad values are usage errors."""
    from dataclasses import replace

    from . import distributed
    from .runtime import get_device, precision, setup
    from .tasks import get_task

    try:
        device = get_device(args.device)
    except ValueError as e:
        raise UsageError(f"--device: {e}") from None
    try:
        config = setup(seed=getattr(args, "seed", 0) or 0, profile=args.profile, device=device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    policy = precision(config.device, compile=args.compile)
    distributed.join(policy.device)
    task = get_task(args.data)
    overrides = {k: getattr(args, k) for k in ("n_train", "n_test", "epochs", "batch_size")
                 if getattr(args, k, None) is not None}
    sizes = replace(task.sizes(config.profile), **overrides)
    seeds = tuple(args.seeds) if getattr(args, "seeds", None) else config.profile.seeds
    return Plan(config, policy, task, sizes, seeds, _attention_kwargs(args), _data_options(args))


def _recipe(args: argparse.Namespace):
    from .train import Recipe

    try:
        return Recipe(optimizer=args.optimizer, lr=args.lr, schedule=args.schedule,
                      label_smoothing=args.label_smoothing)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _attention_kwargs(args: argparse.Namespace) -> dict:
    return {k: v for k, v in (("reduction", args.reduction), ("kernel_size", args.kernel_size)) if v is not None}


def _data_options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in (("canvas_size", args.canvas_size), ("n_distractors", args.distractors))
            if v is not None}


def _writable(option: str, path: str | None, directory: bool) -> None:
    """Fail now, not after hours of training, when results could not be written to ``path``.

    Only creating a file there (then removing it) tells: ``os.access`` says yes to root,
    who runs the course in containers, CI and Colab, and still cannot write to /proc or
    to a read-only mount."""
    if path is None:
        return
    p = Path(path).expanduser()
    if p.exists() and p.is_dir() != directory:
        raise UsageError(f"{option} {path} is {'a file' if directory else 'a directory'}; "
                         f"expected {'a directory' if directory else 'a file path'}")
    parent = p if directory else p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, so nothing can be created under it")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".scattn-", suffix=".tmp"):
            pass  # results are written beside a temporary file in the same place, then renamed
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot create files in {parent} ({e.strerror or e})") from None


def _validate(args: argparse.Namespace, task) -> None:
    """Every check that needs no training, so a bad command line costs nothing."""
    for option in ("attentions", "seeds"):
        values = getattr(args, option, None) or []
        if len(set(values)) != len(values):
            raise UsageError(f"--{option} lists {' '.join(map(str, values))}: each must appear once "
                             "(a repeated run would be counted twice)")
    names = task.variant_names()
    for name in getattr(args, "attentions", None) or [args.attention]:
        if name.strip().lower() not in names:
            raise UsageError(f"--data {task.name} has no variant {name!r}; expected one of {', '.join(names)}")
    if not task.sized and (args.n_train or args.n_test):
        raise UsageError(f"--n-train / --n-test: {task.name} is a fixed dataset; they apply to the offline tasks")
    unknown = sorted(set(_data_options(args)) - set(task.options))
    if unknown:
        flags = " / ".join("--" + k.replace("n_", "").replace("_", "-") for k in unknown)
        raise UsageError(f"{flags}: not an option of --data {task.name} "
                         f"(it takes {', '.join(task.options) or 'none'})")
    _writable("--json", args.json, directory=False)
    _writable("--checkpoint-dir", args.checkpoint_dir, directory=True)
    if task.name == "digits":
        from .data.digits import CANVAS_SIZE, DIGIT_SIZE, DISTRACTOR_SIZE, N_DISTRACTORS, _check_params

        options = {"canvas_size": CANVAS_SIZE, "n_distractors": N_DISTRACTORS, **_data_options(args)}
        try:
            _check_params(1, options["canvas_size"], DIGIT_SIZE, options["n_distractors"], DISTRACTOR_SIZE,
                          args.data_seed)
        except ValueError as e:
            raise UsageError(f"--canvas-size / --distractors: {e}") from None
    for name in getattr(args, "attentions", None) or [args.attention]:
        try:  # the attention options, on throwaway models: a bad value fails here, not after setup
            task.model(name, **_attention_kwargs(args))
        except (TypeError, ValueError) as e:
            raise UsageError(f"--reduction / --kernel-size: {e}") from None


def _loaders(args: argparse.Namespace, plan: Plan):
    """The train and test loaders; under torchrun rank 0 downloads or generates the data first.

    The gpu profile holds them on the GPU (data.DeviceLoader), except under torchrun, where
    fit shards a DataLoader among the processes."""
    from .distributed import launched, main_first
    from .runtime import data_device

    device = None if launched() else data_device(plan.config.profile, plan.precision.device)
    with main_first():
        return plan.task.loaders(plan.sizes, seed=args.data_seed, device=device, **plan.data_options)


def _write_json(path: str | None, payload, argv: list[str]) -> None:
    """Strict JSON (no bare NaN or Infinity) with the run's provenance, written atomically
    (under torchrun: by rank 0)."""
    from .distributed import is_main

    if path and is_main():
        from .runtime import atomic_write, provenance

        text = json.dumps({"provenance": provenance(["scattn", *argv]), **payload}, indent=1, allow_nan=False)
        atomic_write(Path(path).expanduser(), lambda f: f.write(text.encode()))
        print(f"wrote {path}")


def _train(args: argparse.Namespace) -> int:
    from .checkpoint import CHECKPOINT_NAME, kept_on_disk
    from .runtime import seed_everything
    from .train import fit

    plan = _plan(args)
    _validate(args, plan.task)
    recipe = _recipe(args)
    print(plan)
    train_loader, test_loader = _loaders(args, plan)
    seed_everything(args.seed)
    model = plan.task.model(args.attention, **plan.attention_kwargs)
    history = fit(model, train_loader, test_loader, plan.sizes.epochs, recipe, device=plan.precision,
                  seed=args.seed, checkpoint_dir=args.checkpoint_dir, resume=not args.no_resume,
                  quiet=args.quiet, desc=args.attention)
    print(history)
    _write_json(args.json, {"task": plan.task.name, "attention": args.attention, **plan.attention_kwargs,
                            "seed": args.seed, "rows": history.rows, "interrupted": history.interrupted},
                args.argv)
    if history.interrupted:  # what is kept, read from the disk
        kept = (kept_on_disk(Path(args.checkpoint_dir).expanduser() / CHECKPOINT_NAME,
                             "run the same command to resume")
                if args.checkpoint_dir else "no checkpoint was saved (no --checkpoint-dir)")
        print(f"scattn train: interrupted; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    last = history.final
    acc = last["test_acc"] if last["test_acc"] is not None else last["train_acc"]
    print(f"{args.attention}: test accuracy {100 * acc:.2f}% after {last['epoch']} epochs, "
          f"{last['elapsed']:.1f} s of training")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare

    plan = _plan(args)
    _validate(args, plan.task)
    recipe = _recipe(args)
    print(plan)
    table = compare(args.attentions, plan.seeds, make_model=lambda v: plan.task.model(v, **plan.attention_kwargs),
                    data=lambda: _loaders(args, plan), epochs=plan.sizes.epochs, recipe=recipe,
                    device=plan.precision, checkpoint_dir=args.checkpoint_dir, resume=not args.no_resume,
                    quiet=args.quiet)
    # Equal time: by default the time the cheapest variant needs for all its epochs.
    budget = args.budget or table.budget
    equal_time = table.at_time(budget)
    if args.markdown:
        print(table.to_markdown(), "", equal_time.to_markdown(), sep="\n")
    else:
        print(table, "", equal_time, sep="\n")
    _write_json(args.json, {
        "task": plan.task.name,
        "attention_options": plan.attention_kwargs,
        "seeds": list(plan.seeds),
        "rows": table.rows,
        "budget_seconds": budget,
        "histories": {k: [h.rows for h in hs] for k, hs in table.histories.items()},
    }, args.argv)
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from .bench import benchmark
    from .runtime import get_device
    from .tasks import get_task

    task = get_task(args.data)
    names = task.variant_names()
    for name in args.attentions:
        if name.strip().lower() not in names:
            raise UsageError(f"--data {task.name} has no variant {name!r}; expected one of {', '.join(names)}")
    shape = (args.batch_size, *task.image)
    table = benchmark(task.model, args.attentions, shape, get_device(args.device), repeats=args.repeats)
    print(table.to_markdown() if args.markdown else table)
    return EXIT_OK


# ----------------------------------------------------------------------------- parser


def _tasks_help() -> str:
    from .tasks import TASKS

    return "; ".join(f"{name}: {task.summary}" for name, task in TASKS.items())


def _add_common(p: argparse.ArgumentParser, budget: bool = False) -> None:
    from .data import CANVAS_SIZE, N_DISTRACTORS
    from .runtime import PROFILES
    from .tasks import TASKS
    from .train import DEFAULT_LR, OPTIMIZERS, SCHEDULES

    g = p.add_argument_group("task and size (defaults: what the task fixes, else the runtime profile)")
    g.add_argument("--data", choices=tuple(TASKS), default="digits", metavar="TASK",
                   help=f"{_tasks_help()}; default: %(default)s")
    g.add_argument("--profile", choices=tuple(PROFILES),
                   help="size preset; default: gpu with CUDA, else cpu ($SCATTN_PROFILE overrides)")
    g.add_argument("--epochs", type=_positive_int, help="epochs per run")
    g.add_argument("--batch-size", type=_positive_int)
    g.add_argument("--n-train", type=_positive_int, help="training canvases (offline tasks)")
    g.add_argument("--n-test", type=_positive_int, help="test canvases (offline tasks)")
    g.add_argument("--data-seed", type=_seed, default=0, help="seed of the canvases; default: %(default)s")
    g.add_argument("--canvas-size", type=_positive_int,
                   help=f"canvas side in pixels (digits, colour-cue); default: the task's ({CANVAS_SIZE})")
    g.add_argument("--distractors", type=_count,
                   help=f"clutter fragments per canvas (digits); default: {N_DISTRACTORS}")
    a = p.add_argument_group("attention options (default: each model's own)")
    a.add_argument("--reduction", type=_positive_int,
                   help="bottleneck ratio r of SE, CBAM, GC and the others that take it (hidden width C // r)")
    a.add_argument("--kernel-size", type=_positive_int, help="kernel size of the spatial gates and ECA (odd)")
    o = p.add_argument_group("optimisation (defaults: scattn.train.fit's)")
    o.add_argument("--optimizer", choices=OPTIMIZERS, default=OPTIMIZERS[0], help="default: %(default)s")
    defaults = ", ".join(f"{v:g} {k}" for k, v in DEFAULT_LR.items())
    o.add_argument("--lr", type=_positive_float, help=f"peak learning rate (default: {defaults})")
    o.add_argument("--schedule", choices=SCHEDULES, default=SCHEDULES[0], help="default: %(default)s")
    o.add_argument("--label-smoothing", type=_fraction, default=0.0, help="default: %(default)s")
    r = p.add_argument_group("run")
    r.add_argument("--device", help="cpu, cuda, cuda:1 ...; default: CUDA when present")
    r.add_argument("--checkpoint-dir", help="save a checkpoint every epoch here and resume from it")
    r.add_argument("--no-resume", action="store_true",
                   help="start over even if --checkpoint-dir holds a checkpoint (it is overwritten)")
    r.add_argument("--json", metavar="PATH", help="also write the results, with their provenance, as JSON")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.add_argument("--compile", action="store_true",
                   help="torch.compile the model (pays off on long runs; docs/performance.md measures it)")
    if budget:
        r.add_argument("--budget", type=_positive_float, metavar="SECONDS",
                       help="equal-time table at this much training time; default: what the "
                            "cheapest variant needs for all its epochs (epochs × its median s/epoch)")
        r.add_argument("--markdown", action="store_true", help="print Markdown tables")


def _add_attentions(p: argparse.ArgumentParser, default: list[str]) -> None:
    from .attention import available_attention

    names = available_attention()
    p.add_argument("--attentions", nargs="+", default=default, metavar="NAME",
                   help=f"from {', '.join(names)}, or a variant of the task (colour-cue: deeper; "
                        f"spotlight: spatial-add-relu, dwconv3, conv1, conv3, conv7); default: {' '.join(default)}")


def build_parser() -> argparse.ArgumentParser:
    from .attention import available_attention
    from .tasks import TASKS

    names = available_attention()
    parser = argparse.ArgumentParser(
        prog="scattn",
        description="Spatial, channel and combined attention for CNNs: the course's tools.",
        epilog="exit codes: 0 ok, 1 failed, 2 usage error, 130 interrupted. "
               "'scattn COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("doctor", help="report Python, torch, device, Colab and data directory")
    p.set_defaults(func=_doctor)

    p = sub.add_parser(
        "train", help="train one model, print its per-epoch history",
        description="Train one model of a task (SmallCNN on cluttered digits by default) with one "
                    "attention mechanism. Example: scattn train --attention cbam --epochs 6",
    )
    p.add_argument("--attention", default="cbam", metavar="NAME",
                   help=f"from {', '.join(names)}, or a variant of the task; default: %(default)s")
    p.add_argument("--seed", type=_seed, default=0, help="model init and shuffle; default: %(default)s")
    _add_common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "compare", help="train several attentions over several seeds, print the table",
        description="Accuracy (mean ± std over seeds), parameters, FLOPs and seconds per epoch "
                    "for each attention, then the equal-time view. "
                    "Example: scattn compare --data colour-cue --attentions none se se-add --seeds 0 1 2",
    )
    _add_attentions(p, ["none", "se", "cbam"])
    p.add_argument("--seeds", nargs="+", type=_seed, help="default: the profile's (0 1 2)")
    _add_common(p, budget=True)
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "bench", help="parameters, FLOPs, latency and memory per attention",
        description="Cost of each attention in a task's model: parameters, FLOPs per image "
                    "(FlopCounterMode), median forward and forward+backward latency, saved "
                    "activations, CUDA peak memory. Example: scattn bench --attentions none se cbam",
    )
    _add_attentions(p, names)
    p.add_argument("--data", choices=tuple(TASKS), default="digits", metavar="TASK",
                   help=f"whose model: {', '.join(TASKS)}; default: %(default)s")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="default: %(default)s")
    p.add_argument("--repeats", type=_positive_int, default=20, help="timed runs; default: %(default)s")
    p.add_argument("--device", help="default: CUDA when present")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=_bench)

    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 0 after --help, 2 on a usage error
        return EXIT_USAGE if e.code not in (0, None) else EXIT_OK
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    args.argv = argv  # the command line, for the provenance of what it writes
    from .distributed import quiet_unless_main

    try:
        with quiet_unless_main():  # under torchrun rank 0 alone prints results; every rank prints errors
            return args.func(args)
    except UsageError as e:
        print(f"scattn {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except CheckpointError as e:  # another run's checkpoint, or an unreadable one: said in the CLI's terms
        print(f"scattn {args.command}: error: {e.reason} Use another --checkpoint-dir, or --no-resume to "
              "start over.", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\nscattn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if os.environ.get("SCATTN_DEBUG"):
            raise
        print(f"scattn {args.command}: error: {e} ({type(e).__name__}; SCATTN_DEBUG=1 for the "
              "traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
