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
    with pytest.raises(ValueError, match="unknown profile 'tiny'; expected one of smoke, cpu, gpu"):
        scattn.setup()


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
