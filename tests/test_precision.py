"""The precision policy without a GPU: the CPU, and CUDA devices of each compute capability faked.

A T4 (compute capability 7.5) has no bfloat16 units; torch emulates bfloat16 there and
``torch.cuda.is_bf16_supported()`` says True, so the policy must look at the capability:
float16 with loss scaling below 8.0, bfloat16 from 8.0 (A100, L4, H100).
"""

from __future__ import annotations

import warnings

import pytest
import torch

from scattn import runtime
from scattn.runtime import PROFILES, Precision, amp_dtype, data_device, precision

CUDA = torch.device("cuda")


@pytest.fixture
def fake_cuda(monkeypatch):
    """A machine that reports one CUDA GPU of the capability the test sets (nothing runs on it)."""
    capability = {"value": (7, 5)}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability["value"])
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # as on a T4

    def set_capability(major: int, minor: int) -> None:
        capability["value"] = (major, minor)

    return set_capability


@pytest.mark.parametrize("capability, name", [((7, 5), "T4"), ((7, 0), "V100"), ((6, 0), "P100")])
def test_below_compute_capability_8_float16_with_loss_scaling(fake_cuda, capability, name):
    fake_cuda(*capability)
    assert amp_dtype(CUDA) == torch.float16, name
    policy = precision("cuda")
    assert policy.amp_dtype == torch.float16 and policy.loss_scaling  # fit builds an enabled GradScaler
    assert policy.channels_last and policy.device.type == "cuda"


@pytest.mark.parametrize("capability, name", [((8, 0), "A100"), ((8, 9), "L4"), ((9, 0), "H100")])
def test_from_compute_capability_8_bfloat16_without_loss_scaling(fake_cuda, capability, name):
    fake_cuda(*capability)
    assert amp_dtype(CUDA) == torch.bfloat16, name
    policy = precision("cuda")
    assert policy.amp_dtype == torch.bfloat16 and not policy.loss_scaling
    assert policy.channels_last


def test_cuda_options_can_be_turned_off(fake_cuda):
    fake_cuda(7, 5)
    policy = precision("cuda", amp=False, channels_last=False)
    assert policy == Precision(CUDA, None, False) and not policy.loss_scaling


def test_the_cpu_computes_in_float32_and_says_so_when_asked_for_more():
    policy = precision("cpu")
    assert policy == Precision(torch.device("cpu"), None, False) and not policy.loss_scaling
    with pytest.warns(UserWarning, match="amp=True needs a CUDA device"):
        assert precision("cpu", amp=True).amp_dtype is None
    with pytest.warns(UserWarning, match="channels_last=True needs a CUDA device"):
        assert not precision("cpu", channels_last=True).channels_last
    with policy.autocast():  # disabled: matmuls stay float32
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        precision("cpu", amp=False, channels_last=False)  # asking for nothing warns about nothing


def test_float16_is_what_the_scaler_follows():
    assert Precision(CUDA, torch.float16).loss_scaling
    assert not Precision(CUDA, torch.bfloat16).loss_scaling
    assert not Precision(torch.device("cpu")).loss_scaling


def test_the_gpu_profile_keeps_data_on_the_gpu_and_no_other_does():
    cpu = torch.device("cpu")
    assert data_device(PROFILES["gpu"], CUDA) == CUDA
    assert data_device(PROFILES["gpu"], cpu) is None  # SCATTN_PROFILE=gpu on a CPU: DataLoaders as before
    assert data_device(PROFILES["cpu"], CUDA) is None and data_device(PROFILES["smoke"], CUDA) is None


def test_setup_can_switch_device_data_off_and_checks_the_value(monkeypatch):
    monkeypatch.delenv("SCATTN_PROFILE", raising=False)
    cfg = runtime.setup(profile="gpu", device="cpu", device_data=False)
    assert cfg.profile.device_data is False and cfg.profile.name == "gpu"
    with pytest.raises(ValueError, match="device_data must be True or False, got 1"):
        runtime.setup(profile="gpu", device="cpu", device_data=1)
