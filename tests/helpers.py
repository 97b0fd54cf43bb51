"""Small helpers shared by the tests."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

import scattn
from scattn.train import History

# Channel counts that every mechanism must take, C < reduction included.
ATTENTION = [name for name in scattn.available_attention() if name != "none"]


def gate_outputs(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run ``module(x)`` once and return its output and every Gate's output by name."""
    maps: dict[str, torch.Tensor] = {}
    handles = [
        sub.register_forward_hook(lambda m, i, o, name=name: maps.__setitem__(name, o))
        for name, sub in module.named_modules()
        if isinstance(sub, scattn.Gate)
    ]
    try:
        out = module(x)
    finally:
        for h in handles:
            h.remove()
    return out, maps


def copy_into(param: torch.Tensor, value: torch.Tensor) -> None:
    """Copy ``value`` into ``param`` (reshaped, e.g. a Linear weight into a 1×1 conv)."""
    with torch.no_grad():
        param.copy_(value.reshape(param.shape))


def build(name: str, channels: int, **kwargs) -> nn.Module:
    return scattn.make_attention(name, channels, **kwargs)


def all_params_have_grad(module: nn.Module) -> list[str]:
    """Names of parameters whose grad is missing or not finite."""
    return [n for n, p in module.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]


def history(accs, seconds=1.0) -> History:
    """A made-up training history: test accuracy ``accs[i]`` after epoch i + 1, each epoch
    taking ``seconds`` (one number, or one per epoch)."""
    per_epoch = [seconds] * len(accs) if isinstance(seconds, (int, float)) else list(seconds)
    rows, elapsed = [], 0.0
    for i, (a, sec) in enumerate(zip(accs, per_epoch, strict=True)):
        elapsed += sec
        rows.append({"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_acc": a - 0.01,
                     "test_loss": 1.2 / (i + 1), "test_acc": a, "seconds": sec,
                     "elapsed": elapsed, "lr": 0.1})
    return History(rows)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group ``proc`` leads (started with start_new_session=True); SIGKILL
    it if it has not ended within ``timeout`` seconds."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def benchmark(name: str) -> ModuleType:
    """The script ``benchmarks/<name>.py``, imported as a module (benchmarks/ is not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
