"""Command line: ``scattn doctor | train | compare | bench | course``.

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
from pathlib import Path

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


def _config(args: argparse.Namespace):
    """setup() with the profile and the sizes given on the command line; under torchrun, join its ranks."""
    from . import distributed
    from .runtime import setup

    overrides = {k: getattr(args, k) for k in ("n_train", "n_test", "epochs", "batch_size")
                 if getattr(args, k, None) is not None}
    if getattr(args, "seeds", None):
        overrides["seeds"] = tuple(args.seeds)
    cfg = setup(seed=getattr(args, "seed", 0) or 0, profile=args.profile, device=args.device, **overrides)
    distributed.join(distributed.device(cfg.device))
    return cfg


def _writable(option: str, path: str | None, directory: bool) -> None:
    """Fail now, not after hours of training, when results could not be written to ``path``."""
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
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UsageError(f"{option} {path}: no permission to write there")


def _validate(args: argparse.Namespace) -> None:
    """Every check that needs no training, so a bad command line costs nothing."""
    from .runtime import choose_profile, get_device

    try:
        device = get_device(args.device)
    except ValueError as e:
        raise UsageError(f"--device: {e}") from None
    try:
        choose_profile(device, args.profile)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for option in ("attentions", "seeds"):
        values = getattr(args, option, None) or []
        if len(set(values)) != len(values):
            raise UsageError(f"--{option} lists {' '.join(map(str, values))}: each must appear once "
                             "(a repeated run would be counted twice)")
    _writable("--json", args.json, directory=False)
    _writable("--checkpoint-dir", args.checkpoint_dir, directory=True)
    if args.data == "digits":
        from .data.digits import DIGIT_SIZE, DISTRACTOR_SIZE, _check_params

        try:
            _check_params(1, args.canvas_size, DIGIT_SIZE, args.distractors, DISTRACTOR_SIZE, args.data_seed)
        except ValueError as e:
            raise UsageError(f"--canvas-size / --distractors: {e}") from None


def _model_factory(args: argparse.Namespace):
    from .models import SmallCNN, resnet20

    if args.data in ("cifar10", "cifar100"):
        classes = 100 if args.data == "cifar100" else 10
        return lambda attention: resnet20(attention, num_classes=classes)
    if args.data == "colour-cue":
        # Two stages: the receptive field stays shorter than the distance from the cue to the
        # digits, so only global pooling (or a gate) brings them together (notebook 06).
        return lambda attention: SmallCNN(attention, in_channels=3, widths=(16, 32))
    return lambda attention: SmallCNN(attention)


def _loaders(args: argparse.Namespace, cfg):
    """The train and test loaders; under torchrun rank 0 downloads or generates the data first.

    The gpu profile holds them on the GPU (data.DeviceLoader), except under torchrun, where
    fit shards a DataLoader among the processes."""
    from .distributed import launched, main_first
    from .runtime import data_device

    p = cfg.profile
    device = None if launched() else data_device(p, cfg.device)
    with main_first():
        if args.data in ("cifar10", "cifar100"):
            from . import data

            return getattr(data, f"{args.data}_loaders")(p.batch_size, device=device)
        if args.data == "colour-cue":
            from .data import colour_cue_loaders

            return colour_cue_loaders(p.n_train, p.n_test, p.batch_size, seed=args.data_seed, device=device,
                                      canvas_size=args.canvas_size)
        from .data import cluttered_digits_loaders

        return cluttered_digits_loaders(p.n_train, p.n_test, p.batch_size, seed=args.data_seed, device=device,
                                        canvas_size=args.canvas_size, n_distractors=args.distractors)


def _fit_options(args: argparse.Namespace) -> dict:
    return {"lr": args.lr, "optimizer": args.optimizer, "schedule": args.schedule,
            "label_smoothing": args.label_smoothing, "quiet": args.quiet, "compile": args.compile}


def _write_json(path: str | None, payload) -> None:
    """Strict JSON (no bare NaN or Infinity), written atomically (under torchrun: by rank 0)."""
    from .distributed import is_main

    if path and is_main():
        from .runtime import atomic_write

        text = json.dumps(payload, indent=1, allow_nan=False)
        atomic_write(Path(path).expanduser(), lambda f: f.write(text.encode()))
        print(f"wrote {path}")


def _train(args: argparse.Namespace) -> int:
    from .runtime import seed_everything
    from .train import fit

    _validate(args)
    cfg = _config(args)
    print(cfg)
    train_loader, test_loader = _loaders(args, cfg)
    seed_everything(args.seed)
    model = _model_factory(args)(args.attention)
    history = fit(model, train_loader, test_loader, cfg.profile.epochs, device=cfg.device,
                  seed=args.seed, checkpoint_dir=args.checkpoint_dir, resume=not args.no_resume,
                  desc=args.attention, **_fit_options(args))
    print(history)
    _write_json(args.json, {"attention": args.attention, "seed": args.seed, "rows": history.rows,
                            "interrupted": history.interrupted})
    if history.interrupted:
        kept = (f"{args.checkpoint_dir} keeps epoch {len(history)}: run the same command to resume"
                if args.checkpoint_dir and len(history) else "no checkpoint was saved")
        print(f"scattn train: interrupted; {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    last = history.final
    acc = last["test_acc"] if last["test_acc"] is not None else last["train_acc"]
    print(f"{args.attention}: test accuracy {100 * acc:.2f}% after {last['epoch']} epochs, "
          f"{last['elapsed']:.1f} s of training")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare

    _validate(args)
    cfg = _config(args)
    print(cfg)
    table = compare(args.attentions, cfg.profile.seeds, make_model=_model_factory(args),
                    data=lambda: _loaders(args, cfg), epochs=cfg.profile.epochs,
                    device=cfg.device, checkpoint_dir=args.checkpoint_dir, resume=not args.no_resume,
                    **_fit_options(args))
    # Equal time: by default the time the cheapest variant needs for all its epochs.
    budget = args.budget or table.budget
    equal_time = table.at_time(budget)
    if args.markdown:
        print(table.to_markdown(), "", equal_time.to_markdown(), sep="\n")
    else:
        print(table, "", equal_time, sep="\n")
    _write_json(args.json, {
        "rows": table.rows,
        "budget_seconds": budget,
        "histories": {k: [h.rows for h in hs] for k, hs in table.histories.items()},
    })
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from .bench import benchmark
    from .runtime import get_device

    if args.data == "cifar10":
        shape = (args.batch_size, 3, 32, 32)
    else:
        from .data import CANVAS_SIZE

        shape = (args.batch_size, 1, CANVAS_SIZE, CANVAS_SIZE)
    table = benchmark(_model_factory(args), args.attentions, shape, get_device(args.device),
                      repeats=args.repeats)
    print(table.to_markdown() if args.markdown else table)
    return EXIT_OK


def _course(args: argparse.Namespace) -> int:
    try:
        from . import authoring as course
    except ImportError as e:  # nbformat / nbclient come with the dev extra
        print(f"scattn course needs the dev extra ({e.name} is missing): "
              "pip install -e '.[dev]' in a checkout of the repository", file=sys.stderr)
        return EXIT_USAGE
    if not (course.ROOT / "pyproject.toml").exists():
        print("scattn course works on a checkout of the repository (notebooks/, solutions/), "
              f"not on an installed copy in {course.ROOT}", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "build":
        stale = course.build_exercises(check=args.check)
        for path in stale:
            print(f"{'out of date' if args.check else 'wrote'}: {path}")
        return EXIT_FAILED if (args.check and stale) else EXIT_OK
    paths = args.paths or sorted(str(p) for d in ("notebooks", "solutions", "exercises")
                                 for p in (course.ROOT / d).glob("*.ipynb"))
    if args.action == "stamp":
        for path in course.stamp(paths):
            print(f"stamped: {path}")
        return EXIT_OK
    if args.action == "check":
        problems = course.drift(paths)
        print("\n".join(problems) or f"{len(paths)} notebooks: badges and setup cells match")
        return EXIT_FAILED if problems else EXIT_OK
    course.run([p for p in paths if "exercises" not in Path(p).parts])
    return EXIT_OK


# ----------------------------------------------------------------------------- parser


def _add_common(p: argparse.ArgumentParser, budget: bool = False) -> None:
    from .data import CANVAS_SIZE, N_DISTRACTORS
    from .runtime import PROFILES
    from .train import DEFAULT_LR, OPTIMIZERS, SCHEDULES

    g = p.add_argument_group("data and size (defaults: the runtime profile)")
    g.add_argument("--data", choices=("digits", "colour-cue", "cifar10", "cifar100"), default="digits",
                   help="cluttered digits (offline, SmallCNN), colour-cue digits (offline, two-stage "
                        "SmallCNN on RGB) or CIFAR-10/100 (download, ResNet-20); default: %(default)s")
    g.add_argument("--profile", choices=tuple(PROFILES),
                   help="size preset; default: gpu with CUDA, else cpu ($SCATTN_PROFILE overrides)")
    g.add_argument("--epochs", type=_positive_int, help="epochs per run")
    g.add_argument("--batch-size", type=_positive_int)
    g.add_argument("--n-train", type=_positive_int, help="training canvases (digits, colour-cue)")
    g.add_argument("--n-test", type=_positive_int, help="test canvases (digits, colour-cue)")
    g.add_argument("--data-seed", type=_seed, default=0, help="seed of the canvases; default: %(default)s")
    g.add_argument("--canvas-size", type=_positive_int, default=CANVAS_SIZE,
                   help="canvas side in pixels (digits, colour-cue); default: %(default)s")
    g.add_argument("--distractors", type=_count, default=N_DISTRACTORS,
                   help="clutter fragments per canvas (digits); default: %(default)s")
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
    r.add_argument("--json", metavar="PATH", help="also write the results as JSON")
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
    p.add_argument("--attentions", nargs="+", choices=names, default=default, metavar="NAME",
                   help=f"from {', '.join(names)}; default: {' '.join(default)}")


def build_parser() -> argparse.ArgumentParser:
    from .attention import available_attention

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
        description="Train a SmallCNN on cluttered digits (or ResNet-20 on CIFAR-10) with one "
                    "attention mechanism. Example: scattn train --attention cbam --epochs 6",
    )
    p.add_argument("--attention", choices=names, default="cbam", help="default: %(default)s")
    p.add_argument("--seed", type=_seed, default=0, help="model init and shuffle; default: %(default)s")
    _add_common(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "compare", help="train several attentions over several seeds, print the table",
        description="Accuracy (mean ± std over seeds), parameters, FLOPs and seconds per epoch "
                    "for each attention, then the equal-time view. "
                    "Example: scattn compare --attentions none se cbam --seeds 0 1 2",
    )
    _add_attentions(p, ["none", "se", "cbam"])
    p.add_argument("--seeds", nargs="+", type=_seed, help="default: the profile's (0 1 2)")
    _add_common(p, budget=True)
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "bench", help="parameters, FLOPs, latency and memory per attention",
        description="Cost of each attention in the course's model: parameters, FLOPs per image "
                    "(FlopCounterMode), median forward and forward+backward latency, saved "
                    "activations, CUDA peak memory. Example: scattn bench --attentions none se cbam",
    )
    _add_attentions(p, names)
    p.add_argument("--data", choices=("digits", "cifar10"), default="digits",
                   help="SmallCNN on 40×40 digits or ResNet-20 on 32×32 CIFAR; default: %(default)s")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="default: %(default)s")
    p.add_argument("--repeats", type=_positive_int, default=20, help="timed runs; default: %(default)s")
    p.add_argument("--device", help="default: CUDA when present")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(func=_bench)

    p = sub.add_parser(
        "course", help="build exercises from solutions, stamp badges, run notebooks",
        description="build: write exercises/ from solutions/ (--check: only report stale files). "
                    "stamp: refresh Colab badges and setup cells. check: report drift. "
                    "run: execute notebooks in place (fresh kernel each) so outputs are real.",
    )
    p.add_argument("action", choices=("build", "stamp", "check", "run"))
    p.add_argument("paths", nargs="*", help="notebooks (default: all of notebooks/, solutions/, exercises/)")
    p.add_argument("--check", action="store_true", help="with build: fail if exercises/ is out of date")
    p.set_defaults(func=_course)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 0 after --help, 2 on a usage error
        return EXIT_USAGE if e.code not in (0, None) else EXIT_OK
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
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
