"""Where the course runs: device, runtime profile, seeds, Colab, data directory.

One call in every notebook's setup cell::

    cfg = scattn.setup()        # picks the device and the profile that sizes the work

Profiles scale datasets and epochs: "gpu" on CUDA, "cpu" otherwise, and "smoke"
when ``SCATTN_PROFILE=smoke`` (CI). ``SCATTN_PROFILE`` may also force "cpu" or "gpu".
"""

from __future__ import annotations

import os
import platform
import random
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np
import torch


@dataclass(frozen=True)
class Profile:
    """How big the course's work is on this runtime."""

    name: str
    n_train: int  # cluttered-digits training canvases
    n_test: int  # cluttered-digits test canvases
    epochs: int
    batch_size: int
    seeds: tuple[int, ...]  # seeds for comparisons over several runs
    cifar_epochs: int  # CIFAR-10 ResNet-20, one seed per variant (GPU runtime with internet only)


PROFILES = {
    "smoke": Profile("smoke", n_train=256, n_test=128, epochs=1, batch_size=64, seeds=(0,), cifar_epochs=0),
    "cpu": Profile("cpu", n_train=6000, n_test=1000, epochs=6, batch_size=128, seeds=(0, 1, 2), cifar_epochs=0),
    "gpu": Profile("gpu", n_train=20000, n_test=2000, epochs=12, batch_size=256, seeds=(0, 1, 2), cifar_epochs=8),
}


@dataclass(frozen=True)
class Config:
    """What :func:`setup` found and chose."""

    device: torch.device
    profile: Profile
    seed: int
    in_colab: bool
    data_dir: Path

    def __repr__(self) -> str:
        p = self.profile
        return (
            f"Config(device={self.device}, profile={p.name!r} [{p.n_train} train / {p.n_test} test, "
            f"{p.epochs} epochs, seeds {list(p.seeds)}], seed={self.seed}, colab={self.in_colab})"
        )


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def data_dir() -> Path:
    """``$SCATTN_DATA``, else a per-user cache directory (``~/.cache/scattn`` on Linux)."""
    if os.environ.get("SCATTN_DATA"):
        return Path(os.environ["SCATTN_DATA"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "scattn"


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or a platform without signals: assume it writes
    return True


def remove_stale_temporaries(path: str | os.PathLike, max_age: float = 86400.0) -> list[Path]:
    """Delete ``.<name>.<pid>.*.tmp`` files beside ``path`` left by writers that died mid-write.

    A temporary is stale when the process named in it is no longer running here,
    or when it is older than ``max_age`` seconds (a writer on another machine).
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            pid = int(tmp.name[len(path.name) + 2:].split(".", 1)[0])
        except ValueError:
            pid = -1
        try:
            old = time.time() - tmp.stat().st_mtime > max_age
            if old or pid < 0 or (pid != os.getpid() and not _writer_alive(pid)):
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    Readers see the old file or the new one, never half of one (``os.replace`` is
    atomic on one file system); the data is flushed to disk before the rename. The
    file gets the permissions any new file gets here (the umask decides, so a shared
    data folder stays shared), and temporaries left by a writer killed mid-write are
    removed first. The one atomic write of the package: checkpoints and data caches.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:  # mode 0o666 less the umask, as any new file (mkstemp's is 0o600)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA when present (or ``prefer``), else the CPU: the d2l ``try_gpu()`` idea."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def choose_profile(device: torch.device, name: str | None = None) -> Profile:
    name = name or os.environ.get("SCATTN_PROFILE") or ("gpu" if device.type == "cuda" else "cpu")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def setup(seed: int = 0, profile: str | None = None, device: str | None = None, **overrides) -> Config:
    """Choose device and profile, seed everything, and return the :class:`Config`.

    ``overrides`` replace profile fields, e.g. ``setup(epochs=3)``.
    """
    dev = get_device(device)
    prof = choose_profile(dev, profile)
    if overrides:
        prof = replace(prof, **overrides)
    seed_everything(seed)
    return Config(device=dev, profile=prof, seed=seed, in_colab=in_colab(), data_dir=data_dir())


def _version(module_name: str) -> str:
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def doctor() -> str:
    """A plain-text runtime report: versions, device, Colab, data directory."""
    import scattn

    lines = [
        f"scattn       {scattn.__version__}",
        f"python       {platform.python_version()} ({sys.executable})",
        f"torch        {torch.__version__}",
        f"torchvision  {_version('torchvision')}",
        f"ipywidgets   {_version('ipywidgets')}",
    ]
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        lines.append(f"device       cuda: {props.name}, {props.total_memory / 2**30:.1f} GiB")
    else:
        lines.append(f"device       cpu ({os.cpu_count()} cores), no CUDA GPU found")
        if in_colab():
            lines.append("             hint: Runtime > Change runtime type > T4 GPU, then run again")
        else:
            lines.append("             hint: on Colab choose Runtime > Change runtime type > T4 GPU")
    lines.append(f"colab        {'yes' if in_colab() else 'no'}")
    lines.append(f"profile      {choose_profile(get_device()).name} (SCATTN_PROFILE to change)")
    lines.append(f"data dir     {data_dir()} (SCATTN_DATA to change)")
    return "\n".join(lines)


__all__ = ["Config", "PROFILES", "Profile", "atomic_write", "data_dir", "doctor", "get_device",
           "in_colab", "seed_everything", "setup"]
