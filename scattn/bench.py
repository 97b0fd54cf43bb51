"""What a module costs: parameters, FLOPs, latency, memory.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts the
matrix products and convolutions (2 FLOPs per multiply-add) and nothing else:
pooling, sigmoid and the element-wise products of an attention gate count as
zero. That is the point the notebook on the cost of attention makes: attention adds almost no FLOPs but
extra passes over memory, which the latency shows and the FLOP count hides.

Timings compare variants fairly only when they share the machine's conditions. Timing
one variant after another lets a slow spell (another program, a thread pool that was
not yet warm, the allocator still growing) fall on one variant alone, and a block with
attention can then look faster than the block without it. :func:`interleaved` times
several things in rounds after a warm-up: every round runs each once, in a shuffled
order, so what the machine does falls on all of them alike; each gets a
:class:`Timing` with its median and interquartile range.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .arguments import non_negative_int, positive_int
from .runtime import get_device, model_device, train_mode
from .table import Table


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"input_shape must be (N, C, H, W) with positive sizes, got {tuple(input_shape)}")
    return shape


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs of one forward pass on an input of ``input_shape`` (eval mode).

    Pass ``(1, C, H, W)`` for the cost per image. Counts matmuls and convolutions
    only (see the module docstring).
    """
    shape = _check_shape(input_shape)
    x = torch.zeros(shape, device=model_device(model))
    counter = FlopCounterMode(display=False)
    with train_mode(model, False), torch.no_grad(), counter:
        model(x)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Timing:
    """Seconds of the timed runs of one thing, with their median and spread.

    ``times`` in the order run (round by round, when made by :func:`interleaved`).
    ``q1`` and ``q3`` are the quartiles: half of the runs lie between them (the
    interquartile range, IQR). Two timings differ *beyond the spread* when their IQRs
    do not overlap (:meth:`below`, :meth:`above`); otherwise this run cannot tell them
    apart, which is not the same as "they are equal".
    """

    times: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def _quartiles(self) -> tuple[float, float]:
        if self.n < 2:
            return self.times[0], self.times[0]
        q1, _, q3 = statistics.quantiles(self.times, n=4, method="inclusive")
        return q1, q3

    @property
    def q1(self) -> float:
        return self._quartiles()[0]

    @property
    def q3(self) -> float:
        return self._quartiles()[1]

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def max(self) -> float:
        return max(self.times)

    def below(self, other: Timing) -> bool:
        """Faster than ``other`` beyond the spread: this IQR lies wholly below the other's."""
        return self.q3 < other.q1

    def above(self, other: Timing) -> bool:
        """Slower than ``other`` beyond the spread: this IQR lies wholly above the other's."""
        return self.q1 > other.q3

    def __str__(self) -> str:
        return f"{1e3 * self.median:.2f} ms (IQR {1e3 * self.q1:.2f}–{1e3 * self.q3:.2f}, {self.n} runs)"


def interleaved(
    fns: Mapping[str, Callable[[], object]],
    rounds: int = 30,
    warmup: int = 3,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> dict[str, Timing]:
    """Time several callables in interleaved rounds: {name: Timing}.

    First ``warmup`` untimed rounds (thread pools start, the allocator grows, libraries
    pick their kernels), then ``rounds`` timed ones. Each round calls every function
    once, in an order shuffled from ``seed``, so no function always runs first or
    always after the same neighbour, and a slow spell of the machine is shared by all.
    On CUDA every call is bracketed by ``torch.cuda.synchronize`` so the clock sees
    the kernels, not their launch.
    """
    if not fns:
        raise ValueError("interleaved needs at least one function to time")
    rounds, warmup = positive_int("rounds", rounds), non_negative_int("warmup", warmup)
    dev = torch.device("cpu") if device is None else torch.device(device)
    order = list(fns)
    rng = random.Random(seed)
    times: dict[str, list[float]] = {name: [] for name in order}
    for r in range(warmup + rounds):
        rng.shuffle(order)
        for name in order:
            _sync(dev)
            start = time.perf_counter()
            fns[name]()
            _sync(dev)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: Timing(tuple(times[name])) for name in fns}


def _step(model: nn.Module, x: torch.Tensor, backward: bool) -> Callable[[], None]:
    if backward:
        def step():
            model.zero_grad(set_to_none=True)
            model(x).float().sum().backward()
    else:
        def step():
            with torch.no_grad(), train_mode(model, False):
                model(x)
    return step


def compare_latency(
    models: Mapping[str, nn.Module],
    input_shape: Sequence[int],
    device: str | torch.device | None = None,
    rounds: int = 30,
    warmup: int = 3,
    backward: bool = False,
    seed: int = 0,
) -> dict[str, Timing]:
    """One forward pass (``backward=True``: forward + backward) of each model, timed in
    :func:`interleaved` rounds on one shared input: {name: Timing}.

    Forward passes run in eval mode under ``torch.no_grad``; training steps in the
    mode the model is in. The models move to ``device`` (default: CUDA when present).
    """
    shape = _check_shape(input_shape)
    dev = get_device(device)
    x = torch.randn(shape, device=dev)
    fns = {name: _step(model.to(dev), x, backward) for name, model in models.items()}
    return interleaved(fns, rounds, warmup, dev, seed)


def latency(
    model: nn.Module,
    input_shape: Sequence[int],
    device: str | torch.device | None = None,
    repeats: int = 30,
    warmup: int = 5,
    backward: bool = False,
) -> float:
    """Median seconds of one forward pass (``backward=True``: forward + backward).

    The model moves to ``device`` (default: CUDA when present). Warm-up runs come
    first (allocator, cuDNN autotuning); on CUDA every timed run ends with
    ``torch.cuda.synchronize`` so the clock sees the kernels, not their launch.
    The median resists the odd slow run (another process, a GC pause). To compare
    models, time them together with :func:`compare_latency`: one after the other,
    each sees a different moment of the machine.
    """
    repeats = positive_int("repeats", repeats)
    return compare_latency({"model": model}, input_shape, device, repeats, warmup, backward)["model"].median


def peak_memory(
    model: nn.Module,
    input_shape: Sequence[int],
    device: str | torch.device | None = None,
    backward: bool = True,
) -> int | None:
    """Peak CUDA memory in bytes of one training step's forward (+ backward) beyond
    what was allocated before it; ``None`` on the CPU.

    Uses ``torch.cuda.reset_peak_memory_stats`` and ``max_memory_allocated``. The
    CPU has no such counter; :func:`activation_memory` measures the part attention
    changes (the tensors kept for backward) on any device.
    """
    shape = _check_shape(input_shape)
    dev = get_device(device)
    if dev.type != "cuda":
        return None
    model.to(dev)
    x = torch.randn(shape, device=dev)
    model.zero_grad(set_to_none=True)
    torch.cuda.synchronize(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    out = model(x)
    if backward:
        out.float().sum().backward()
    torch.cuda.synchronize(dev)
    peak = torch.cuda.max_memory_allocated(dev) - base
    model.zero_grad(set_to_none=True)
    return int(peak)


def activation_memory(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Bytes of the tensors autograd saves for backward in one forward (training mode).

    Counted with ``torch.autograd.graph.saved_tensors_hooks``; each storage is
    counted once (a tensor saved by two ops is one buffer). Parameters are left
    out: they exist with or without the forward. Works on the CPU and CUDA alike.
    """
    shape = _check_shape(input_shape)
    x = torch.randn(shape, device=model_device(model))
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in params:
            seen[ptr] = storage.nbytes()
        return t

    with train_mode(model, True), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(seen.values())


def benchmark(
    make_model: Callable[[str], nn.Module],
    attentions: Iterable[str],
    input_shape: Sequence[int],
    device: str | torch.device | None = None,
    repeats: int = 30,
) -> Table:
    """One row per attention: params, FLOPs per image, latency, memory.

    ``make_model(name)`` builds the model; latency is for a batch of ``input_shape``,
    forward only ("latency_ms") and forward + backward ("step_ms"): the medians of
    ``repeats`` interleaved rounds (:func:`compare_latency`), every model timed in every
    round, with their interquartile ranges beside them. Each row also holds the
    :class:`Timing` objects themselves, as ``forward`` and ``step``.
    """
    shape = _check_shape(input_shape)
    dev = get_device(device)
    models = {name: make_model(name).to(dev) for name in attentions}
    forward = compare_latency(models, shape, dev, rounds=repeats)
    step = compare_latency(models, shape, dev, rounds=repeats, backward=True)
    rows = []
    for name, model in models.items():
        rows.append({
            "attention": name,
            "params": count_params(model),
            "flops": count_flops(model, (1,) + shape[1:]),
            "latency_ms": 1e3 * forward[name].median,
            "latency_iqr": forward[name],
            "step_ms": 1e3 * step[name].median,
            "step_iqr": step[name],
            "activations_mb": activation_memory(model, shape) / 2**20,
            "peak_mb": None if (m := peak_memory(model, shape, dev)) is None else m / 2**20,
            "forward": forward[name],
            "step": step[name],
        })
    iqr = lambda t: f"{1e3 * t.q1:.2f}–{1e3 * t.q3:.2f}"  # noqa: E731
    return Table(
        rows,
        columns=["attention", "params", "flops", "latency_ms", "latency_iqr", "step_ms", "step_iqr",
                 "activations_mb", "peak_mb"],
        formats={
            "params": lambda v: f"{v:,}",
            "flops": lambda v: f"{v / 1e6:.2f}M",
            "latency_ms": lambda v: f"{v:.2f}",
            "latency_iqr": iqr,
            "step_ms": lambda v: f"{v:.2f}",
            "step_iqr": iqr,
            "activations_mb": lambda v: f"{v:.1f}",
            "peak_mb": lambda v: "–" if v is None else f"{v:.1f}",
        },
        headers={"flops": "FLOPs/image", "latency_ms": "forward ms", "latency_iqr": "IQR",
                 "step_ms": "fwd+bwd ms", "step_iqr": "IQR", "activations_mb": "saved MiB", "peak_mb": "peak MiB"},
        title=f"batch {tuple(shape)} on {dev}: medians of {repeats} interleaved rounds",
    )


__all__ = ["Timing", "activation_memory", "benchmark", "compare_latency", "count_flops", "count_params", "interleaved",
           "latency", "peak_memory"]
