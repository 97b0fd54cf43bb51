"""Property tests: any N, C, H, W, memory layout and dtype keeps the contract."""

from __future__ import annotations

import pytest
import torch
from helpers import ATTENTION, all_params_have_grad, build, gate_outputs
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)
channels = st.sampled_from([1, 2, 3, 5, 8, 15, 16, 17, 32])  # 1, 3 and C < reduction included
sizes = st.integers(1, 9)  # H = W = 1 and H != W included


def check_contract(name, module, x, *, bf16=False):
    out, maps = gate_outputs(module, x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    for m in maps.values():
        assert m.dtype == x.dtype
        # bfloat16 keeps 8 bits of mantissa: σ of a moderate logit can round to exactly 1.
        assert ((m >= 0) & (m <= 1)).all() if bf16 else ((m > 0) & (m < 1)).all()
    return out


@pytest.mark.parametrize("name", ATTENTION)
@SETTINGS
@given(n=st.integers(2, 3), c=channels, h=sizes, w=sizes)
def test_train_mode_any_shape(name, n, c, h, w):
    module = build(name, c).train()
    x = torch.randn(n, c, h, w, dtype=torch.float64, requires_grad=True)
    out = check_contract(name, module.double(), x)
    out.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all_params_have_grad(module) == []


@pytest.mark.parametrize("name", ATTENTION)
@SETTINGS
@given(n=st.integers(1, 3), c=channels, h=sizes, w=sizes)
def test_eval_mode_any_shape(name, n, c, h, w):
    module = build(name, c).eval()
    with torch.no_grad():
        check_contract(name, module, torch.randn(n, c, h, w))


@pytest.mark.parametrize("name", ATTENTION)
@SETTINGS
@given(c=channels, h=sizes, w=sizes)
def test_channels_last_and_non_contiguous_match_contiguous(name, c, h, w):
    module = build(name, c).eval()
    x = torch.randn(2, c, h, w)
    with torch.no_grad():
        ref = module(x)
        cl = module(x.to(memory_format=torch.channels_last))
        strided = module(x.transpose(2, 3).contiguous().transpose(2, 3))  # same values, other strides
        sliced = module(torch.randn(2, c, h, 2 * w)[..., ::2].copy_(x))  # a view with a step
    for got in (cl, strided, sliced):
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ATTENTION)
@SETTINGS
@given(c=channels, h=sizes, w=sizes)
def test_bfloat16(name, c, h, w):
    module = build(name, c).eval()
    x = torch.randn(2, c, h, w)
    with torch.no_grad():
        ref = module(x)
        out = check_contract(name, module.to(torch.bfloat16), x.to(torch.bfloat16), bf16=True)
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)
