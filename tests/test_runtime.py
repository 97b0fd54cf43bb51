"""setup(), profiles, the data directory and `scattn doctor`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import scattn
from scattn import runtime
from scattn.__main__ import main


def test_setup_picks_cpu_and_the_smoke_profile_in_tests(monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "smoke")
    cfg = scattn.setup(seed=3)
    assert cfg.profile.name == "smoke" and cfg.seed == 3
    assert cfg.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_setup_without_env_chooses_by_device(monkeypatch):
    monkeypatch.delenv("SCATTN_PROFILE", raising=False)
    assert scattn.setup(device="cpu").profile.name == "cpu"


def test_setup_seeds_and_overrides(monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "cpu")
    a = (scattn.setup(seed=7), torch.rand(3))
    b = (scattn.setup(seed=7, epochs=2), torch.rand(3))
    assert torch.equal(a[1], b[1])
    assert b[0].profile.epochs == 2 and a[0].profile.epochs == runtime.PROFILES["cpu"].epochs


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "tiny")
    with pytest.raises(ValueError, match=r"unknown profile 'tiny' \(from the SCATTN_PROFILE environment variable\); "
                                         "expected one of smoke, cpu, gpu"):
        scattn.setup()
    with pytest.raises(ValueError, match=r"unknown profile 'huge' \(from profile\)"):
        scattn.setup(profile="huge")


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"seeds": (0, 0)}, "seeds must be distinct"),
    ({"seeds": ()}, "seeds must be distinct and at least one"),
    ({"seeds": 3}, "seeds must be a sequence"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"seed": 2**32}, r"seed must be an integer in \[0, 2\*\*32 - 1\]"),
    ({"device": "gpu"}, "unknown device 'gpu'"),
    ({"epoch": 3}, "setup\\(\\) cannot override epoch; profile fields are"),
])
def test_setup_checks_every_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        scattn.setup(**kwargs)


def test_the_device_normaliser_accepts_names_and_devices():
    assert runtime.get_device("CPU") == runtime.get_device(torch.device("cpu")) == torch.device("cpu")


def test_amp_dtype_is_float16_below_compute_capability_8(monkeypatch):
    """A T4 (7.5) emulates bfloat16 slowly: it must train in float16 with a GradScaler."""
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert runtime.amp_dtype(cuda) == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert runtime.amp_dtype(cuda) == torch.bfloat16
    policy = runtime.Precision(cuda, torch.float16)
    assert policy.loss_scaling and not runtime.Precision(cuda, torch.bfloat16).loss_scaling


def test_data_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SCATTN_DATA", str(tmp_path / "d"))
    assert runtime.data_dir() == tmp_path / "d"
    monkeypatch.delenv("SCATTN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if sys.platform.startswith("linux"):
        assert runtime.data_dir() == tmp_path / "cache" / "scattn"


def test_colab_detection(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not runtime.in_colab() or "google.colab" in sys.modules
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab")
    assert runtime.in_colab()


def test_doctor_reports_versions_device_and_data_dir(capsys):
    assert main(["doctor"]) == 0
    report = capsys.readouterr().out
    for key in ("python", "torch", "torchvision", "ipywidgets", "device", "colab", "data dir"):
        assert key in report
    assert torch.__version__ in report
    if not torch.cuda.is_available():
        assert "Change runtime type" in report


def test_python_dash_m_and_console_script_agree():
    via_module = subprocess.run([sys.executable, "-m", "scattn", "doctor"], capture_output=True, text=True)
    assert via_module.returncode == 0 and "torch" in via_module.stdout
    script = Path(sys.executable).parent / "scattn"
    if script.exists():  # installed with pip; absent when run from a bare checkout
        via_script = subprocess.run([str(script), "doctor"], capture_output=True, text=True)
        assert via_script.returncode == 0
        assert via_script.stdout.splitlines()[0] == via_module.stdout.splitlines()[0]


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    from scattn.runtime import atomic_write

    path = tmp_path / "sub" / "file.bin"
    atomic_write(path, lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]  # no temporary left


def test_stale_temporaries_are_removed_but_a_live_writers_are_kept(tmp_path):
    import os

    from scattn.runtime import remove_stale_temporaries

    path = tmp_path / "checkpoint.pt"
    dead = tmp_path / ".checkpoint.pt.999999999.ab.tmp"
    live = tmp_path / f".checkpoint.pt.{os.getppid()}.cd.tmp"
    other = tmp_path / ".other.pt.999999999.ef.tmp"
    for p in (dead, live, other):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(path) == [dead]
    assert live.exists() and other.exists()
