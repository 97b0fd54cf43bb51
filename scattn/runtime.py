"""Where and how the course runs: device, precision, profile, seeds, Colab, files.

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
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import nn

from .arguments import integer
from .i18n import set_language


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
    device_data: bool = False  # on CUDA, the data loaders hold the dataset on the GPU (data.DeviceLoader)


PROFILES = {
    "smoke": Profile("smoke", n_train=256, n_test=128, epochs=1, batch_size=64, seeds=(0,), cifar_epochs=0),
    "cpu": Profile("cpu", n_train=6000, n_test=1000, epochs=6, batch_size=128, seeds=(0, 1, 2), cifar_epochs=0),
    "gpu": Profile("gpu", n_train=20000, n_test=2000, epochs=12, batch_size=256, seeds=(0, 1, 2), cifar_epochs=8,
                   device_data=True),
}


def data_device(profile: Profile, device: torch.device) -> torch.device | None:
    """Where the profile's loaders keep the data: ``device`` when the profile asks for
    device-resident data and ``device`` is a CUDA GPU, else None (DataLoaders on the CPU)."""
    return device if profile.device_data and device.type == "cuda" else None


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


def torchrun_local_rank() -> int | None:
    """LOCAL_RANK in a process that torchrun started (it sets RANK, WORLD_SIZE, LOCAL_RANK), else None."""
    if all(v in os.environ for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK")):
        return int(os.environ["LOCAL_RANK"])
    return None


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """CUDA when present, else the CPU (the d2l ``try_gpu()`` idea); or the device asked for.

    The one place a device is decided: ``None``, a name ("cpu", "cuda", "cuda:1")
    or a ``torch.device``. A name torch does not know, or CUDA on a machine without a
    CUDA GPU, is a ValueError that says what is available. Under ``torchrun`` each
    process takes the GPU of its LOCAL_RANK (``cuda`` means ``cuda:LOCAL_RANK``).
    Call it once per run (``setup`` does) and pass the result along.
    """
    if prefer is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(prefer, torch.device):
        device = prefer
    else:
        try:
            device = torch.device(str(prefer).strip().lower())
        except RuntimeError:
            raise ValueError(f"unknown device {prefer!r}; expected cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise ValueError(f"device {prefer!r} asked for, but this machine has no CUDA GPU; use cpu")
        local = torchrun_local_rank()
        if local is not None:
            if device.index is not None and device.index != local:
                raise ValueError(f"under torchrun each process uses the GPU of its LOCAL_RANK (cuda:{local} "
                                 f"here), not {prefer!r}: pass device 'cuda'")
            if local >= count:
                raise ValueError(f"torchrun started process LOCAL_RANK={local} but this machine has {count} "
                                 f"GPU(s): use --nproc-per-node {count}")
            device = torch.device("cuda", local)
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {prefer!r} asked for, but only cuda:0..cuda:{count - 1} exist")
    elif device.type == "mps":  # Apple GPUs: runs, but the course is measured on CUDA and CPUs
        if not torch.backends.mps.is_available():
            raise ValueError(f"device {prefer!r} asked for, but MPS is not available here; use cpu")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {prefer!r}; expected cpu, cuda, cuda:N or mps")
    return device


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's parameters (or buffers); the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@dataclass(frozen=True)
class Precision:
    """How a run computes, decided once per run (:func:`precision`) and passed along.

    ``device``; ``amp_dtype``, the autocast dtype (None: float32 throughout);
    ``channels_last``, images and activations stored as N×H×W×C, which CUDA
    convolutions prefer; ``compile``, the model run through ``torch.compile`` (the
    first steps pay for the compilation).
    """

    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    compile: bool = False

    @property
    def loss_scaling(self) -> bool:
        """float16 needs its gradients scaled (torch.amp.GradScaler); bfloat16 does not."""
        return self.amp_dtype == torch.float16

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device in the run's memory format (in place); return it."""
        model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of a loader's batch, on the device in the run's memory format."""
        x, y = batch[0].to(self.device, non_blocking=True), batch[1].to(self.device, non_blocking=True)
        return (x.contiguous(memory_format=torch.channels_last) if self.channels_last else x), y


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the GPU computes it natively (compute capability 8.0+: A100, H100, L4,
    RTX 30xx), else float16 with loss scaling (a T4 is 7.5; torch can *emulate* bfloat16
    there, slowly, which is why ``torch.cuda.is_bf16_supported()`` alone is not the test)."""
    if device.type == "cuda" and torch.cuda.get_device_capability(device) >= (8, 0):
        return torch.bfloat16
    return torch.float16


def precision(device: str | torch.device | Precision | None = None, amp: bool | None = None,
              channels_last: bool | None = None, compile: bool = False) -> Precision:
    """The run's :class:`Precision`: mixed precision and channels_last default to on with
    CUDA; asked for on a CPU they are skipped with a warning. A Precision passes through
    unchanged (it was decided already)."""
    if isinstance(device, Precision):
        return device
    device = get_device(device)

    def cuda_only(name: str, value: bool | None) -> bool:
        if value is None:
            return device.type == "cuda"
        if value and device.type != "cuda":
            warnings.warn(f"{name}=True needs a CUDA device; running on {device} without it", stacklevel=3)
            return False
        return bool(value)

    use_amp = cuda_only("amp", amp)
    return Precision(device, amp_dtype(device) if use_amp else None, cuda_only("channels_last", channels_last),
                     bool(compile))


@contextmanager
def train_mode(model: nn.Module, mode: bool) -> Iterator[nn.Module]:
    """``model.train(mode)`` for the duration, then every submodule's own mode back."""
    modes = [(m, m.training) for m in model.modules()]
    model.train(mode)
    try:
        yield model
    finally:
        for m, was in modes:
            m.train(was)


def version() -> str:
    """scattn's version, from the installed package's metadata (pyproject.toml is its one source)."""
    from importlib import metadata

    try:
        return metadata.version("scattn")
    except metadata.PackageNotFoundError:  # a checkout on sys.path, never installed
        return "0+unknown"


def _git_commit() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether tracked files differ from it; (None, None) outside git."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    return commit, bool(git("status", "--porcelain", "--untracked-files=no"))


def provenance(command: list[str] | None = None) -> dict:
    """Where a recorded result came from, as the run that made it sees it.

    The command line (``command``, default ``sys.argv``), scattn's version, the git
    commit of the working directory and whether tracked files had uncommitted
    changes, the date (UTC), the machine, Python, torch and its thread count. Every
    JSON file the course records (``scattn/recorded/``) starts with this, written by
    the run itself, never by hand.
    """
    import shlex
    from datetime import datetime, timezone

    argv = list(sys.argv if command is None else command)
    if argv and argv[0].endswith(".py"):
        argv = ["python", *argv]
    commit, dirty = _git_commit()
    device = (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU")
    return {
        "command": shlex.join(argv),
        "scattn": version(),
        "commit": commit,
        "uncommitted_changes": dirty,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "cuda": device,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for reproducible runs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


MAX_SEED = 2**32 - 1  # NumPy's legacy seeding takes 0 .. 2**32 - 1


def check_seed(name: str, value) -> int:
    """A seed every RNG the course uses accepts: an integer in [0, 2**32 - 1]."""
    seed = integer(name, value, minimum=0)
    if seed > MAX_SEED:
        raise ValueError(f"{name} must be an integer in [0, 2**32 - 1], got {seed}")
    return seed


def choose_profile(device: torch.device, name: str | None = None) -> Profile:
    """The named profile, else ``$SCATTN_PROFILE``, else "gpu" on CUDA and "cpu" otherwise."""
    source = "profile"
    if name is None and os.environ.get("SCATTN_PROFILE"):
        name, source = os.environ["SCATTN_PROFILE"].strip(), "the SCATTN_PROFILE environment variable"
    name = name or ("gpu" if device.type == "cuda" else "cpu")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (from {source}); expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def _checked_overrides(overrides: dict) -> dict:
    fields = {f for f in Profile.__dataclass_fields__ if f != "name"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"setup() cannot override {', '.join(unknown)}; "
                         f"profile fields are {', '.join(sorted(fields))}")
    checked = {}
    for key, value in overrides.items():
        if key == "seeds":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(f"seeds must be a sequence of seeds, got {value!r}")
            seeds = tuple(check_seed("each seed", v) for v in value)
            if not seeds or len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
            checked[key] = seeds
        elif key == "device_data":
            if not isinstance(value, bool):
                raise ValueError(f"device_data must be True or False, got {value!r}")
            checked[key] = value
        else:
            checked[key] = integer(key, value, minimum=0 if key == "cifar_epochs" else 1)
    return checked


def setup(seed: int = 0, profile: str | None = None, device: str | None = None, language: str | None = None,
          **overrides) -> Config:
    """Choose device and profile, seed everything, and return the :class:`Config`.

    ``overrides`` replace profile fields, e.g. ``setup(epochs=3)``; every value is
    checked (a ValueError names the field and what it takes). ``language`` ("en" or
    "zh", see :mod:`scattn.i18n`) is the language of the exercise checks' output; the
    Chinese notebooks pass "zh", and None leaves it as it is.
    """
    seed = check_seed("seed", seed)
    dev = get_device(device)
    prof = choose_profile(dev, profile)
    if overrides:
        prof = replace(prof, **_checked_overrides(overrides))
    if language is not None:
        set_language(language)
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
    lines = [
        f"scattn       {version()}",
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
    try:
        lines.append(f"profile      {choose_profile(get_device()).name} (SCATTN_PROFILE to change)")
    except ValueError as e:
        lines.append(f"profile      problem: {e}")
    lines.append(f"data dir     {data_dir()} (SCATTN_DATA to change)")
    return "\n".join(lines)


__all__ = ["Config", "MAX_SEED", "PROFILES", "Precision", "Profile", "amp_dtype", "atomic_write", "check_seed",
           "data_device", "data_dir", "doctor", "get_device", "in_colab", "model_device", "precision", "provenance",
           "seed_everything", "setup", "torchrun_local_rank", "train_mode", "version"]
