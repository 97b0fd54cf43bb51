"""The course's tasks by name: each says how to load its data, which model it trains and how long.

    task = get_task("colour-cue")
    sizes = task.sizes(cfg.profile)            # 6,000 / 1,000 canvases, 16 epochs, batch 128
    train_loader, test_loader = task.loaders(sizes, seed=0)
    model = task.model("se", reduction=8)      # the two-stage SmallCNN on RGB, SE in each stage

A task fixes what its experiment fixed: the colour cue needs 16 epochs and a network
that cannot see the cue with its convolutions, so ``scattn compare --data colour-cue``
trains what the recorded runs trained. Tasks that fix nothing follow the runtime
profile (cluttered digits: 6,000 canvases and 6 epochs in the cpu profile, 20,000 and 12
in the gpu one). The smoke profile shrinks every task (CI: plumbing, not results).

Adding a task is one entry in ``TASKS`` and one data module: docs/extending.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from . import data
from .arguments import known_name
from .attention import available_attention, make_attention
from .models import SELECTION_CONTROLS, SelectionCNN, SmallCNN, resnet20
from .runtime import Profile


@dataclass(frozen=True)
class Sizes:
    """How much a run trains: canvases (None where a task has a fixed dataset), epochs, batch."""

    n_train: int | None
    n_test: int | None
    epochs: int
    batch_size: int


@dataclass(frozen=True)
class Task:
    """A task: its data, its model and variants, and the sizes its experiment fixed.

    ``load(n_train, n_test, batch_size, seed=, device=, **options)`` returns the train
    and test loaders; ``build(variant, **attention_kwargs)`` a fresh model. ``variants``
    are the names ``build`` takes besides the attention registry's (a control that is
    not an attention mechanism, say). ``fixed`` holds the sizes the task's experiment
    fixed (any of n_train, n_test, epochs, batch_size); the rest come from the profile.
    ``options`` are the data options the task's generator takes (``--canvas-size``...);
    ``image`` is one input's (C, H, W).
    """

    name: str
    summary: str
    load: Callable[..., tuple[Any, Any]]
    build: Callable[..., nn.Module]
    image: tuple[int, int, int] = (1, 40, 40)
    variants: tuple[str, ...] = ()
    fixed: dict[str, int] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    sized: bool = True  # False: a fixed dataset (CIFAR), n_train and n_test do not apply
    offline: bool = True

    def sizes(self, profile: Profile) -> Sizes:
        """The sizes of a run in ``profile``: the profile's, where the task fixes none."""
        chosen = {"n_train": profile.n_train, "n_test": profile.n_test, "epochs": profile.epochs,
                  "batch_size": profile.batch_size}
        if profile.name != "smoke":  # smoke shrinks everything: it checks the plumbing
            chosen.update(self.fixed)
        if not self.sized:
            chosen.update(n_train=None, n_test=None)
        return Sizes(**chosen)

    def loaders(self, sizes: Sizes, seed: int = 0, device=None, **options):
        """(train_loader, test_loader) at ``sizes``; ``seed`` makes the data (not the model)."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = ", ".join(self.options) or "no data options"
            raise ValueError(f"task {self.name!r} takes {takes}; got {', '.join(unknown)}")
        if not self.sized:
            return self.load(sizes.batch_size, seed=seed, device=device, **options)
        return self.load(sizes.n_train, sizes.n_test, sizes.batch_size, seed=seed, device=device, **options)

    def variant_names(self) -> list[str]:
        """Every name :meth:`model` takes: the attention registry's, then the task's own."""
        return available_attention() + list(self.variants)

    def model(self, variant: str, **attention_kwargs) -> nn.Module:
        """A fresh model of ``variant`` (an attention name or one of the task's variants)."""
        key = known_name(f"variant of task {self.name!r}", variant, self.variant_names())
        return self.build(key, **attention_kwargs)


def _colour_cue_model(variant: str, **attention_kwargs) -> nn.Module:
    # Two stages: no last-stage feature sees both the bar and a digit (notebook 06 checks it by
    # gradients), so the plain network's convolutions cannot combine them. "deeper" adds the third
    # stage that can: the depth control.
    if variant == "deeper":
        make_attention("none", 3, **attention_kwargs)  # as for "none": other knobs ignored, typos refused
        return SmallCNN("none", in_channels=3, widths=(16, 32, 64))
    return SmallCNN(variant, in_channels=3, widths=(16, 32), **attention_kwargs)


def _cifar(name: str, classes: int) -> Task:
    return Task(name, f"CIFAR-{classes} (download; ResNet-20)", getattr(data, f"{name}_loaders"),
                lambda variant, **kw: resnet20(variant, num_classes=classes, **kw), image=(3, 32, 32),
                sized=False, offline=False)


TASKS: dict[str, Task] = {
    "digits": Task(
        "digits", "cluttered digits (offline; SmallCNN)", data.cluttered_digits_loaders,
        lambda variant, **kw: SmallCNN(variant, **kw), options=("canvas_size", "n_distractors")),
    "colour-cue": Task(
        "colour-cue", "a colour bar names one of two digits (offline; two-stage SmallCNN on RGB)",
        data.colour_cue_loaders, _colour_cue_model, image=(3, 40, 40), variants=("deeper",),
        fixed={"n_train": 6000, "n_test": 1000, "epochs": 16, "batch_size": 128}, options=("canvas_size",)),
    "spotlight": Task(
        "spotlight", "the brightest-lit of four digits (offline; SelectionCNN, one slot before pooling)",
        data.spotlight_digits_loaders, lambda variant, **kw: SelectionCNN(variant, **kw), image=(2, 40, 40),
        variants=SELECTION_CONTROLS, fixed={"n_train": 4000, "n_test": 1000, "epochs": 20, "batch_size": 128}),
    "cifar10": _cifar("cifar10", 10),
    "cifar100": _cifar("cifar100", 100),
}


def get_task(name: str) -> Task:
    """The task called ``name``, or a ValueError listing the tasks."""
    return TASKS[known_name("task", name, list(TASKS))]


__all__ = ["Sizes", "TASKS", "Task", "get_task"]
