"""scattn.maps: capture attention maps with hooks, reduce them to spatial maps, localisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import scattn
from scattn.maps import (
    capture_attention,
    gradient_saliency,
    localisation_score,
    peak_positions,
    spatial_map,
    spatial_maps,
)


class Net(nn.Module):
    """conv -> attention A -> conv (stride 2) -> attention B -> pool -> linear."""

    def __init__(self, first: str = "cbam", second: str = "coord", fail: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.att1 = scattn.make_attention(first, 8, **({"reduction": 4} if first in ("cbam", "se") else {}))
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, stride=2)
        self.att2 = scattn.make_attention(second, 8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
        self.fail = fail

    def forward(self, x):
        x = self.att1(self.bn(self.conv1(x)))
        if self.fail:
            raise RuntimeError("boom after the first attention")
        return self.head(self.att2(self.conv2(x)))


def gates(model):
    return [m for m in model.modules() if isinstance(m, scattn.Gate)]


def test_capture_names_shapes_and_values():
    torch.manual_seed(0)
    model = Net("cbam", "coord").eval()
    x = torch.randn(2, 1, 12, 12)
    maps = capture_attention(model, x)
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "att1.channel.gate": (2, 8, 1, 1),
        "att1.spatial.gate": (2, 1, 12, 12),
        "att2.gate_h": (2, 8, 6, 1),
        "att2.gate_w": (2, 8, 1, 6),
    }
    # the captured maps are the ones the modules compute
    with torch.no_grad():
        f = model.bn(model.conv1(x))
        m_c = model.att1.channel.attention_map(f)
        m_s = model.att1.spatial.attention_map(f * m_c)
    torch.testing.assert_close(maps["att1.channel.gate"], m_c)
    torch.testing.assert_close(maps["att1.spatial.gate"], m_s)


def test_capture_leaves_forward_modes_and_statistics_unchanged():
    torch.manual_seed(0)
    model = Net().train()
    x = torch.randn(4, 1, 12, 12)
    running = model.bn.running_mean.clone()
    capture_attention(model, x)
    assert model.training and all(m.training for m in model.modules())
    assert torch.equal(model.bn.running_mean, running)  # eval mode: BN statistics not updated
    assert all(not g._forward_hooks for g in gates(model))
    model.eval()
    with torch.no_grad():
        before = model(x)
    capture_attention(model, x)
    with torch.no_grad():
        assert torch.equal(model(x), before)


def test_hooks_are_removed_when_the_forward_raises():
    model = Net(fail=True)
    with pytest.raises(RuntimeError, match="boom"):
        capture_attention(model, torch.randn(1, 1, 12, 12))
    assert all(not g._forward_hooks for g in gates(model))
    assert model.training


def test_gate_called_twice_keeps_both_calls():
    att = scattn.make_attention("spatial", 4)
    model = nn.Sequential(att, att)
    maps = capture_attention(model, torch.randn(1, 4, 5, 5))
    assert list(maps) == ["0.gate", "0.gate#2"]
    assert list(spatial_maps(maps)) == ["0", "0#2"]


def test_single_image_and_bad_input():
    model = Net()
    maps = capture_attention(model, torch.randn(1, 12, 12))  # (C, H, W) -> batch of one
    assert maps["att1.spatial.gate"].shape == (1, 1, 12, 12)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        capture_attention(model, torch.randn(12, 12))


def test_spatial_maps_reduce_each_kind():
    torch.manual_seed(0)
    for name, key in [("bam", "att2"), ("scse", "att2.sse"), ("cbam", "att2.spatial")]:
        model = Net("se", name).eval()
        maps = capture_attention(model, torch.randn(2, 1, 12, 12))
        per_module = spatial_maps(maps)
        assert list(per_module) == [key]  # SE's channel map has no "where"
        assert per_module[key].shape == (2, 6, 6)
    # coordinate attention: the map is mean_c(g_h · g_w)
    model = Net("cbam", "coord").eval()
    maps = capture_attention(model, torch.randn(2, 1, 12, 12))
    expected = (maps["att2.gate_h"] * maps["att2.gate_w"]).mean(1)
    torch.testing.assert_close(spatial_maps(maps)["att2"], expected)
    # the default is the deepest module; a prefix picks another
    torch.testing.assert_close(spatial_map(maps), expected)
    torch.testing.assert_close(spatial_map(maps, "att1"), maps["att1.spatial.gate"][:, 0])
    with pytest.raises(ValueError, match="no spatial map under 'att9'"):
        spatial_map(maps, "att9")


def test_spatial_map_of_tensors_and_channel_maps():
    m = torch.rand(2, 3, 4, 5)
    torch.testing.assert_close(spatial_map(m), m.mean(1))
    assert spatial_map(torch.rand(2, 4, 5)).shape == (2, 4, 5)
    with pytest.raises(ValueError, match="channel map"):
        spatial_map(torch.rand(2, 8, 1, 1))
    model = Net("se", "eca").eval()
    with pytest.raises(ValueError, match="none of these maps varies over space"):
        spatial_map(capture_attention(model, torch.randn(1, 1, 12, 12)))


def test_localisation_score_counts_peaks_inside_boxes():
    maps = torch.zeros(4, 10, 10)
    maps[0, 2, 3] = 1  # (y, x) = (2, 3)
    maps[1, 9, 9] = 1
    maps[2, 5, 5] = 1
    maps[3, 0, 0] = 1
    boxes = torch.tensor([
        [3, 2, 4, 3],  # contains (x=3, y=2)
        [0, 0, 9, 9],  # excludes x = 9, y = 9: x1, y1 are exclusive
        [4, 4, 7, 7],
        [1, 1, 5, 5],
    ])
    assert peak_positions(maps, 10).tolist() == [[3, 2], [9, 9], [5, 5], [0, 0]]
    assert localisation_score(maps, boxes, canvas_size=10) == 0.5


def test_localisation_score_upsamples_low_resolution_maps():
    coarse = torch.zeros(2, 4, 4)
    coarse[0, 3, 3] = 1  # bottom-right cell of a 4×4 map = pixels 30..39 of a 40×40 canvas
    coarse[1, 0, 0] = 1
    boxes = torch.tensor([[28, 28, 40, 40], [28, 28, 40, 40]])
    x, y = peak_positions(coarse, 40)[0].tolist()
    assert 30 <= x < 40 and 30 <= y < 40
    assert localisation_score(coarse, boxes, 40) == 0.5
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\)"):
        localisation_score(coarse, boxes[:1], 40)


def test_gradient_saliency_of_a_linear_model_is_its_weights():
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 4))
    x = torch.randn(5, 2, 3, 3)
    target = torch.tensor([0, 1, 2, 3, 0])
    sal = gradient_saliency(lin, x, target)
    w = lin[1].weight.detach().view(4, 2, 3, 3)
    torch.testing.assert_close(sal, w[target].abs().amax(dim=1))
    assert all(p.grad is None for p in lin.parameters())
    # default target: the predicted class
    pred = lin(x).argmax(1)
    torch.testing.assert_close(gradient_saliency(lin, x), w[pred].abs().amax(dim=1))


def test_there_is_one_name_for_the_maps_module():
    import importlib

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("scattn.inspect")  # the old alias is gone: scattn.maps is the name
