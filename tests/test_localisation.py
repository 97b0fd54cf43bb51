"""scattn.maps' localisation measures: each on hand-made maps whose answer is known."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from scattn import data
from scattn.maps import (
    Deletion,
    box_masks,
    deletion_drop,
    deletion_masks,
    digit_vs_fragment,
    digit_vs_fragment_auc,
    gate_mass_in_box,
    ink_density_map,
    localisation_score,
    localisation_table,
    mcnemar_p,
    paired_difference,
    peak_in_box,
    upsample,
)

S = 20
BOX = torch.tensor([[4, 6, 10, 12]])  # x0, y0, x1, y1: 6 × 6 pixels


def indicator(boxes=BOX, size=S, inside=1.0, outside=0.0) -> torch.Tensor:
    return torch.where(box_masks(boxes, size), torch.tensor(inside), torch.tensor(outside)).float()


# ----------------------------------------------------------------------------- ink density


def test_ink_density_is_a_box_mean_with_zero_outside_the_canvas():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0
    d = ink_density_map(x, box=3)
    assert d.shape == (1, 9, 9)
    expected = torch.zeros(9, 9)
    expected[3:6, 3:6] = 1 / 9
    torch.testing.assert_close(d[0], expected)
    ones = ink_density_map(torch.ones(1, 9, 9), box=5)
    assert ones[0, 4, 4].item() == pytest.approx(1.0)
    assert ones[0, 0, 0].item() == pytest.approx(9 / 25)  # a corner sees 3 × 3 of the 5 × 5 window


def test_ink_density_peaks_on_the_densest_ink():
    x = torch.zeros(1, 1, 20, 20)
    x[0, 0, 10:14, 10:14] = 0.6  # a blob
    x[0, 0, 2, 2] = 1.0  # one brighter pixel
    d = ink_density_map(x, box=5)
    assert localisation_score(d, torch.tensor([[10, 10, 14, 14]]), 20) == 1.0
    assert localisation_score(x[:, 0], torch.tensor([[10, 10, 14, 14]]), 20) == 0.0  # the raw peak is the pixel


@pytest.mark.parametrize(("box", "message"), [(4, "box must be odd"), (0, "box"), (2.5, "box")])
def test_ink_density_needs_an_odd_box(box, message):
    with pytest.raises(ValueError, match=message):
        ink_density_map(torch.rand(1, 1, 8, 8), box=box)


def test_ink_density_needs_images():
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\) or \(N, H, W\)"):
        ink_density_map(torch.rand(8, 8))


# ----------------------------------------------------------------------------- mass in the box


def test_mass_of_an_indicator_is_one_and_of_a_uniform_map_the_area_share():
    assert gate_mass_in_box(indicator(), BOX, S).tolist() == [1.0]
    assert gate_mass_in_box(indicator(inside=0.0, outside=1.0), BOX, S).tolist() == [0.0]
    uniform = torch.full((1, 5, 5), 0.5)  # any resolution: upsampled to the canvas
    assert gate_mass_in_box(uniform, BOX, S).item() == pytest.approx(36 / 400)
    half = indicator(inside=3.0, outside=1.0)  # 3·36 / (3·36 + 364)
    assert gate_mass_in_box(half, BOX, S).item() == pytest.approx(108 / 472)


def test_mass_relative_judges_where_the_variation_lies():
    gate = indicator(inside=0.51, outside=0.49)  # a sigmoid gate that barely varies
    assert gate_mass_in_box(gate, BOX, S).item() == pytest.approx(0.51 * 36 / (0.51 * 36 + 0.49 * 364))
    assert gate_mass_in_box(gate, BOX, S, relative=True).item() == pytest.approx(1.0)


def test_mass_is_per_image_and_nan_without_mass():
    maps = torch.stack([indicator()[0], torch.zeros(S, S), torch.ones(S, S)])[:, None]  # (3, 1, S, S)
    boxes = BOX.repeat(3, 1)
    mass = gate_mass_in_box(maps, boxes, S)
    assert mass.shape == (3,)
    assert mass[0] == 1.0 and math.isnan(mass[1]) and mass[2].item() == pytest.approx(36 / 400)


def test_mass_bad_input():
    with pytest.raises(ValueError, match="non-negative maps"):
        gate_mass_in_box(indicator() - 0.5, BOX, S)
    with pytest.raises(ValueError, match=r"boxes: expected one per map \(1\), got 2"):
        gate_mass_in_box(indicator(), BOX.repeat(2, 1), S)
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\)"):
        gate_mass_in_box(indicator(), BOX[:, :3], S)
    with pytest.raises(ValueError, match=r"maps must be \(N, H, W\)"):
        gate_mass_in_box(torch.rand(S, S), BOX, S)
    with pytest.raises(ValueError, match="canvas_size must be a positive int"):
        gate_mass_in_box(indicator(), BOX, 0)


def test_peak_in_box_is_per_image_and_its_mean_the_score():
    maps = torch.stack([indicator()[0], indicator(inside=0.0, outside=1.0)[0]])  # (2, S, S)
    inside = peak_in_box(maps, BOX.repeat(2, 1), S)
    assert inside.dtype == torch.bool and inside.tolist() == [True, False]
    assert localisation_score(maps, BOX.repeat(2, 1), S) == 0.5


def test_upsampling_matches_the_peak_score():
    low = torch.zeros(1, 5, 5)
    low[0, 2, 3] = 1.0
    up = upsample(low, 20)
    assert up.shape == (1, 20, 20)
    y, x = divmod(up[0].argmax().item(), 20)
    assert localisation_score(low, torch.tensor([[x, y, x + 1, y + 1]]), 20) == 1.0


# ----------------------------------------------------------------------------- digit against fragments


def canvas_with_fragment():
    x = torch.zeros(1, 1, S, S)
    x[0, 0, 7:11, 5:9] = 1.0  # digit ink inside BOX
    x[0, 0, 15:18, 14:17] = 0.8  # a fragment outside it
    x[0, 0, 1, 1] = 0.1  # faint, below the ink threshold: neither
    return x


def test_digit_vs_fragment_means_over_ink_only():
    gate = indicator(inside=0.9, outside=0.2)
    gate[0, 1, 1] = 0.0  # under the faint pixel: must not count
    digit, fragment = digit_vs_fragment(gate, canvas_with_fragment(), BOX)
    assert digit.tolist() == pytest.approx([0.9]) and fragment.tolist() == pytest.approx([0.2])
    flat = torch.full((1, S, S), 0.5)
    digit, fragment = digit_vs_fragment(flat, canvas_with_fragment(), BOX)
    assert digit.item() == pytest.approx(fragment.item())


def test_digit_vs_fragment_is_nan_without_fragments():
    x = canvas_with_fragment()
    x[0, 0, 15:18, 14:17] = 0.0
    digit, fragment = digit_vs_fragment(indicator(), x, BOX)
    assert digit.item() == 1.0 and math.isnan(fragment.item())


def test_digit_vs_fragment_auc_is_the_share_of_pairs_ranked_right():
    x = canvas_with_fragment()  # 16 digit-ink pixels, 9 fragment-ink pixels
    assert digit_vs_fragment_auc(indicator(inside=0.9, outside=0.2), x, BOX).tolist() == [1.0]
    assert digit_vs_fragment_auc(indicator(inside=0.2, outside=0.9), x, BOX).tolist() == [0.0]
    assert digit_vs_fragment_auc(torch.full((1, S, S), 0.5), x, BOX).tolist() == [0.5]  # ties count half
    gate = indicator(inside=0.9, outside=0.2)
    gate[0, 15, 14:17] = 0.95  # 3 of the 9 fragment pixels above every digit pixel
    assert digit_vs_fragment_auc(gate, x, BOX).item() == pytest.approx(6 / 9)
    # the order is all that counts: an increasing transform (a sigmoid, a floor, a scale) changes nothing
    torch.manual_seed(0)
    m = torch.rand(1, S, S)
    reference = digit_vs_fragment_auc(m, x, BOX).item()
    assert digit_vs_fragment_auc(0.8 + 0.2 * torch.sigmoid(5 * m), x, BOX).item() == pytest.approx(reference)
    inked = x[0, 0] > 0.25
    d, f = m[0][inked & box_masks(BOX, S)[0]], m[0][inked & ~box_masks(BOX, S)[0]]
    assert reference == pytest.approx((d[:, None] > f[None, :]).double().mean().item())


def test_digit_vs_fragment_auc_is_nan_without_fragments():
    x = canvas_with_fragment()
    x[0, 0, 15:18, 14:17] = 0.0
    assert math.isnan(digit_vs_fragment_auc(indicator(), x, BOX).item())


def test_digit_vs_fragment_bad_input():
    with pytest.raises(ValueError, match=r"images: expected one per map \(2\), got 1"):
        digit_vs_fragment(torch.rand(2, 5, 5), canvas_with_fragment(), BOX)
    with pytest.raises(ValueError, match=r"images must be"):
        digit_vs_fragment(indicator(), torch.rand(S, S), BOX)
    with pytest.raises(ValueError, match=r"images: expected one per map \(2\), got 1"):
        digit_vs_fragment_auc(torch.rand(2, 5, 5), canvas_with_fragment(), BOX)


# ----------------------------------------------------------------------------- deletion


def test_deletion_masks_have_the_asked_size_and_place():
    peak = torch.zeros(2, S, S)
    peak[0, 10, 12] = 1.0  # middle
    peak[1, 0, 19] = 1.0  # top-right corner: the square stays inside the canvas
    by_map, at_random = deletion_masks(peak, S, fraction=25 / 400, mode="square", seed=3)
    assert by_map.sum(dim=(1, 2)).tolist() == [25, 25] and at_random.sum(dim=(1, 2)).tolist() == [25, 25]
    assert by_map[0, 8:13, 10:15].all() and by_map[1, 0:5, 15:20].all()
    again, _ = deletion_masks(peak, S, 25 / 400, "square", seed=3)
    _, other = deletion_masks(peak, S, 25 / 400, "square", seed=4)
    assert torch.equal(again, by_map) and not torch.equal(other, at_random)
    by_map, at_random = deletion_masks(indicator(), S, fraction=36 / 400, mode="pixels")
    assert torch.equal(by_map, box_masks(BOX, S)) and at_random.sum().item() == 36


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fraction": 0.0}, "fraction is the share of the canvas"),
    ({"fraction": 1.5}, "fraction is the share of the canvas"),
    ({"mode": "blob"}, "unknown deletion mode 'blob'; expected one of square, pixels"),
])
def test_deletion_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        deletion_masks(indicator(), S, **{"fraction": 0.1, **kwargs})


class PatchReader(nn.Module):
    """Says 1 when the ink in a fixed 3×3 patch sums above 2, else 0: it uses that patch only."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        ink = x[:, 0, 2:5, 2:5].sum(dim=(1, 2)) * self.scale  # (N,)
        return torch.stack([torch.full_like(ink, 2.0), ink], dim=1)  # (N, 2) logits


def test_deletion_of_what_the_model_uses_costs_everything_and_random_deletion_almost_nothing():
    n = 200
    torch.manual_seed(0)
    x = 0.3 * torch.rand(n, 1, 16, 16)
    x[:, 0, 2:5, 2:5] = 1.0  # the patch the model reads
    y = torch.ones(n, dtype=torch.long)
    patch = torch.tensor([[2, 2, 5, 5]]).repeat(n, 1)
    right = indicator(patch, 16)  # a map on the patch
    result = deletion_drop(PatchReader(), x, y, right, patch, fraction=9 / 256)
    assert isinstance(result, Deletion) and result.pixels == 9
    assert result.accuracy == 1.0 and result.accuracy_map == 0.0 and result.drop_map == 1.0
    # a random 3×3 square removes the patch only when it lands exactly on it: 1 in 14² places
    assert result.accuracy_random > 0.95 and result.drop_random < 0.05
    assert result.inside_map.tolist() == [1.0] * n
    assert result.inside_random.mean().item() < 0.1
    assert mcnemar_p(result.correct_random, result.correct_map) < 1e-30
    wrong = indicator(torch.tensor([[12, 12, 15, 15]]).repeat(n, 1), 16)  # a map elsewhere
    assert deletion_drop(PatchReader(), x, y, wrong, fraction=9 / 256).accuracy_map == 1.0
    pixels = deletion_drop(PatchReader(), x, y, right, fraction=9 / 256, mode="pixels")
    assert pixels.accuracy_map == 0.0 and pixels.accuracy_random == 1.0  # 9 scattered pixels never reach 7 of 9


def test_deletion_bad_input():
    x, y = torch.rand(4, 1, 16, 16), torch.ones(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"maps: expected one per map \(4\), got 3"):
        deletion_drop(PatchReader(), x, y, torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match=r"labels: expected one per map \(4\), got 2"):
        deletion_drop(PatchReader(), x, y[:2], torch.rand(4, 4, 4))
    with pytest.raises(ValueError, match=r"images must be \(N, C, H, W\)"):
        deletion_drop(PatchReader(), x[:, 0], y, torch.rand(4, 4, 4))


# ----------------------------------------------------------------------------- paired comparisons


def test_paired_difference_is_the_paired_t_test():
    torch.manual_seed(0)
    b = torch.rand(50)
    a = b + 0.1 + 0.05 * torch.randn(50)
    a[3] = math.nan  # left out
    result = paired_difference(a, b)
    keep = ~a.isnan()
    reference = stats.ttest_rel(a[keep].numpy(), b[keep].numpy())
    assert result.n == 49 and result.p == pytest.approx(reference.pvalue) and result.t == pytest.approx(
        reference.statistic)
    assert result.mean == pytest.approx((a[keep] - b[keep]).mean().item()) and result.wins + result.losses == 49
    assert "paired t" in str(result)
    with pytest.raises(ValueError, match="one score per image each, got 3 and 2"):
        paired_difference([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 images"):
        paired_difference([1.0, math.nan], [0.0, 0.0])


def test_paired_difference_has_the_t_interval_of_the_mean():
    torch.manual_seed(0)
    b = torch.rand(30)
    a = b + 0.2 + 0.1 * torch.randn(30)
    result = paired_difference(a, b)
    d = (a - b).double().numpy()
    low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (result.low, result.high) == pytest.approx((low, high)) and result.ci() == (result.low, result.high)
    assert result.images == 30 and result.unit == "images" and "95% CI" in str(result)


def test_paired_difference_by_groups_tests_the_group_means():
    # 4 groups of 3 images: every image of a group has the same difference, so the 12 images
    # hold only 4 independent differences, and the interval must be the one of those 4.
    groups = torch.arange(4).repeat_interleave(3)
    per_group = torch.tensor([0.1, 0.3, 0.2, 0.4])
    b = torch.rand(12)
    a = b + per_group[groups]
    grouped = paired_difference(a, b, groups)
    reference = stats.ttest_1samp(per_group.double().numpy(), 0.0)
    assert grouped.n == 4 and grouped.images == 12 and grouped.unit == "groups"
    assert grouped.mean == pytest.approx(0.25) and grouped.p == pytest.approx(reference.pvalue)
    ungrouped = paired_difference(a, b)
    assert ungrouped.n == 12 and ungrouped.high - ungrouped.low < grouped.high - grouped.low
    # unequal groups: each group's mean difference counts once, whatever its size
    a2, b2 = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.5]), torch.zeros(5)
    assert paired_difference(a2, b2, [0, 0, 0, 1, 2]).mean == pytest.approx((1 + 0 + 0.5) / 3)
    with pytest.raises(ValueError, match=r"groups needs one label per image \(5\), got 2"):
        paired_difference(a2, b2, [0, 1])
    with pytest.raises(ValueError, match="at least 2 groups"):
        paired_difference(a2, b2, [0] * 5)


def test_paired_difference_of_right_and_wrong_is_a_difference_of_accuracies():
    a = torch.tensor([True, True, True, False, True, False])
    b = torch.tensor([True, False, False, False, True, True])
    result = paired_difference(a.float(), b.float(), groups=[0, 0, 1, 1, 2, 2])
    assert result.mean == pytest.approx(a.float().mean().item() - b.float().mean().item())
    assert (result.wins, result.losses) == (2, 1)


def test_mcnemar_counts_only_the_disagreements():
    a = torch.tensor([True] * 10 + [True] * 5 + [False] * 5)
    b = torch.tensor([False] * 10 + [True] * 5 + [False] * 5)
    assert mcnemar_p(a, b) == pytest.approx(2 * 0.5**10)
    assert mcnemar_p(a, a) == 1.0


# ----------------------------------------------------------------------------- the table and the real canvases


def test_localisation_table_lists_every_measure_per_map():
    x = canvas_with_fragment()
    table = localisation_table({"gate": indicator(inside=0.9, outside=0.2), "flat": torch.full((1, 4, 4), 0.5)},
                               x, BOX)
    rows = {r["map"]: r for r in table.rows}
    assert rows["gate"]["peak"] == 1.0 and rows["gate"]["mass − min"] == pytest.approx(1.0)
    assert rows["gate"]["digit > fragment"] == pytest.approx(1.0)
    assert rows["flat"]["mass"] == pytest.approx(36 / 400) and rows["flat"]["digit > fragment"] == pytest.approx(0.5)
    assert "mass − min" in str(table) and table.to_markdown().startswith("| map |")


def test_on_the_real_canvases_ink_density_beats_chance_and_the_raw_pixel():
    test = data.cluttered_digits("test", 300)
    density = ink_density_map(test.images, box=11)
    score = localisation_score(density, test.boxes, 40)
    raw = localisation_score(test.images[:, 0], test.boxes, 40)
    assert score > 0.6 > raw  # a reviewer measured 0.81 (11 px) and 0.39 (brightest pixel) on 1,000
    mass = gate_mass_in_box(density, test.boxes, 40)
    assert 0.3 < mass.mean().item() < 0.9  # more than the box's share of the canvas, 0.20
