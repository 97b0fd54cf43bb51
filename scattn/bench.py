"""What a module costs: parameters, FLOPs, latency, memory.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts the
matrix products and convolutions (2 FLOPs per multiply-add) and nothing else:
pooling, sigmoid and the element-wise products of an attention gate count as
zero. That is the point the notebook on the cost of attention makes: attention adds almost no FLOPs but
extra passes over memory, which the latency shows and the FLOP count hides.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext

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
    The median resists the odd slow run (another process, a GC pause).
    """
    shape = _check_shape(input_shape)
    repeats, warmup = positive_int("repeats", repeats), non_negative_int("warmup", warmup)
    dev = get_device(device)
    model.to(dev)
    x = torch.randn(shape, device=dev)
    times = []
    with train_mode(model, False) if not backward else nullcontext():
        for i in range(warmup + repeats):
            _sync(dev)
            start = time.perf_counter()
            if backward:
                model.zero_grad(set_to_none=True)
                model(x).float().sum().backward()
            else:
                with torch.no_grad():
                    model(x)
            _sync(dev)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


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

    ``make_model(name)`` builds the model; latency is for a batch of
    ``input_shape`` forward only ("latency_ms") and forward + backward ("step_ms").
    """
    shape = _check_shape(input_shape)
    dev = get_device(device)
    rows = []
    for name in attentions:
        model = make_model(name).to(dev)
        rows.append({
            "attention": name,
            "params": count_params(model),
            "flops": count_flops(model, (1,) + shape[1:]),
            "latency_ms": 1e3 * latency(model, shape, dev, repeats=repeats),
            "step_ms": 1e3 * latency(model, shape, dev, repeats=repeats, backward=True),
            "activations_mb": activation_memory(model, shape) / 2**20,
            "peak_mb": None if (m := peak_memory(model, shape, dev)) is None else m / 2**20,
        })
    return Table(
        rows,
        formats={
            "params": lambda v: f"{v:,}",
            "flops": lambda v: f"{v / 1e6:.2f}M",
            "latency_ms": lambda v: f"{v:.2f}",
            "step_ms": lambda v: f"{v:.2f}",
            "activations_mb": lambda v: f"{v:.1f}",
            "peak_mb": lambda v: "–" if v is None else f"{v:.1f}",
        },
        headers={"flops": "FLOPs/image", "latency_ms": "forward ms", "step_ms": "fwd+bwd ms",
                 "activations_mb": "saved MiB", "peak_mb": "peak MiB"},
        title=f"batch {tuple(shape)} on {dev}",
    )


__all__ = ["activation_memory", "benchmark", "count_flops", "count_params", "latency", "peak_memory"]
