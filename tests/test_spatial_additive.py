"""The additive control for CBAM's spatial gate: shape, parameters, formula by hand."""

from __future__ import annotations

import pytest
import torch

import scattn


@pytest.mark.parametrize("k", [1, 3, 7])
def test_same_parameters_as_the_gate_and_no_gate(k):
    gate, add = scattn.SpatialAttention(k), scattn.make_attention("spatial-add", 16, kernel_size=k)
    assert isinstance(add, scattn.AdditiveSpatial) and add.kernel_size == k
    assert [p.shape for p in add.parameters()] == [p.shape for p in gate.parameters()]
    assert sum(p.numel() for p in add.parameters()) == 2 * k * k + 1
    assert not any(isinstance(m, scattn.Gate) for m in add.modules())


def test_shape_and_one_map_for_every_channel():
    add = scattn.AdditiveSpatial(3)
    x = torch.randn(2, 5, 6, 7)
    out = add(x)
    assert out.shape == x.shape
    a = add.context(x)
    assert a.shape == (2, 1, 6, 7)
    # The same shift for every channel at a position.
    shift = out - x
    torch.testing.assert_close(shift, a.expand_as(x))


def test_adds_what_the_gate_would_squash():
    """With the gate's weights, the control adds the logit that SpatialAttention passes to σ."""
    gate, add = scattn.SpatialAttention(7), scattn.AdditiveSpatial(7)
    add.load_state_dict(gate.state_dict())
    x = torch.randn(3, 8, 9, 9)
    logit = torch.logit(gate.attention_map(x).double()).float()
    torch.testing.assert_close(add(x), x + logit, rtol=1e-4, atol=1e-4)


def test_formula_by_hand():
    add = scattn.AdditiveSpatial(1)  # a 1×1 conv: a = w_avg · mean_c + w_max · max_c + b
    with torch.no_grad():
        add.conv.weight.copy_(torch.tensor([2.0, -1.0]).view(1, 2, 1, 1))
        add.conv.bias.fill_(0.5)
    x = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.0]]]])  # (1, 2, 1, 2): channels (1, 3) and (-2, 0)
    # position 0: mean 2, max 3 -> a = 4 - 3 + 0.5 = 1.5;  position 1: mean -1, max 0 -> a = -1.5
    expected = x + torch.tensor([1.5, -1.5]).view(1, 1, 1, 2)
    torch.testing.assert_close(add(x), expected)


def test_kernel_sees_neighbours_and_pads_with_zeros():
    add = scattn.AdditiveSpatial(3)
    with torch.no_grad():
        add.conv.weight.zero_()
        add.conv.weight[0, 1, 1, 2] = 1.0  # the max map, one step to the right
        add.conv.bias.zero_()
    x = torch.zeros(1, 1, 1, 3)
    x[0, 0, 0, 2] = 4.0
    # a at column 1 reads column 2 (4); a at column 2 reads the zero padding.
    torch.testing.assert_close(add.context(x), torch.tensor([[[[0.0, 4.0, 0.0]]]]))


@pytest.mark.parametrize("k", [0, 2, -3])
def test_rejects_bad_kernel_size(k):
    with pytest.raises(ValueError, match="kernel_size must be"):
        scattn.AdditiveSpatial(k)


def test_rejects_non_4d_input():
    with pytest.raises(ValueError, match=r"4-D tensor \(N, C, H, W\)"):
        scattn.AdditiveSpatial(3)(torch.randn(2, 3, 4))
