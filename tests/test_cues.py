"""Colour-cue digits: what a canvas holds, the cue names the label, splits, cache, loaders, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from scattn import data
from scattn.data import cues, sources

SMALL = dict(canvas_size=32, digit_size=12, cue_height=3, cue_gap=4)


def small(split="train", n=64, **kwargs):
    return data.colour_cue_digits(split, n, **{**SMALL, "cache": False, **kwargs})


def test_shapes_dtypes_and_ranges():
    ds = small(n=50)
    assert len(ds) == 50
    assert ds.images.shape == (50, 3, 32, 32) and ds.images.dtype == torch.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.labels.shape == (50,) and ds.labels.dtype == torch.int64
    assert ds.boxes.shape == (50, 2, 4) and ds.digit_labels.shape == (50, 2) and ds.colours.shape == (50, 2)
    assert ds.target.shape == (50,) and set(ds.target.tolist()) <= {0, 1}
    image, label = ds[3]
    assert image.shape == (3, 32, 32) and label == ds.labels[3]
    assert "ColourCueDigits(50 canvases of 32×32" in repr(ds)


def test_defaults():
    ds = data.colour_cue_digits("test", 10, cache=False)
    assert ds.images.shape == (10, 3, cues.CUE_CANVAS_SIZE, cues.CUE_CANVAS_SIZE)
    assert cues.CUE_DEFAULT_COUNTS == {"train": 6000, "test": 1000}


@pytest.mark.parametrize("palette", [2, 3])
def test_the_bar_has_the_targets_colour_and_the_label_is_the_targets_class(palette):
    ds = small(n=80, seed=2, palette=palette)
    rgb = torch.eye(3)
    n = len(ds)
    bar = ds.images[:, :, :3, :]  # (N, 3, cue_height, S)
    expected = rgb[ds.cue_colour][:, :, None, None].expand_as(bar)
    assert torch.equal(bar, expected)  # a solid bar of one pure colour
    assert torch.equal(ds.cue_colour, ds.colours[torch.arange(n), ds.target])
    assert torch.equal(ds.labels, ds.digit_labels[torch.arange(n), ds.target])
    # The two digits differ in class and in colour, so only the bar can say which one is meant.
    assert (ds.digit_labels[:, 0] != ds.digit_labels[:, 1]).all()
    assert (ds.colours[:, 0] != ds.colours[:, 1]).all()
    # Both targets and every colour of the palette occur, and no other colour.
    assert set(ds.target.tolist()) == {0, 1} and set(ds.cue_colour.tolist()) == set(range(palette))
    assert set(ds.colours.flatten().tolist()) == set(range(palette))


def test_each_box_holds_its_digit_in_its_colour_only():
    ds = small(n=40, seed=1)
    images8, labels8 = sources.source_digits()
    for i in range(len(ds)):
        for k in range(2):
            x0, y0, x1, y1 = ds.boxes[i, k].tolist()
            assert x1 - x0 == 12 and y1 - y0 == 12 and y0 >= 3 + 4 and x1 <= 32 and y1 <= 32
            patch = ds.images[i, :, y0:y1, x0:x1]  # (3, d, d)
            digit = sources.upsample(images8[ds.sources[i, k].item()][None], 12)[0]
            colour = ds.colours[i, k].item()
            expected = torch.from_numpy(np.round(digit * 255) / 255).float()
            torch.testing.assert_close(patch[colour], expected, atol=1e-6, rtol=0)
            others = [c for c in range(3) if c != colour]
            assert patch[others].abs().sum() == 0  # the boxes never overlap
        assert (ds.digit_labels[i] == torch.from_numpy(labels8[ds.sources[i].numpy()])).all()
    # Outside both boxes and the bar the canvas is black.
    mask = torch.ones(len(ds), 32, 32, dtype=torch.bool)
    mask[:, :3] = False
    for i in range(len(ds)):
        for x0, y0, x1, y1 in ds.boxes[i].tolist():
            mask[i, y0:y1, x0:x1] = False
    assert ds.images.permute(1, 0, 2, 3)[:, mask].abs().sum() == 0


def test_overlap_puts_both_digits_in_one_place_one_per_colour_channel():
    ds = small(n=30, seed=4, overlap=True)
    assert torch.equal(ds.boxes[:, 0], ds.boxes[:, 1])
    images8, _ = sources.source_digits()
    for i in range(len(ds)):
        x0, y0, x1, y1 = ds.boxes[i, 0].tolist()
        for k in range(2):
            digit = sources.upsample(images8[ds.sources[i, k].item()][None], 12)[0]
            expected = torch.from_numpy(np.round(digit * 255) / 255).float()
            torch.testing.assert_close(ds.images[i, ds.colours[i, k], y0:y1, x0:x1], expected, atol=1e-6, rtol=0)
    assert small(n=30, seed=4).boxes[:, 0].ne(small(n=30, seed=4).boxes[:, 1]).any()


def test_the_defaults_keep_the_bar_out_of_reach_of_a_two_stage_smallcnn():
    """The last stage of SmallCNN(widths=(16, 32)) sees 23 rows (4i - 11 .. 4i + 11 for its row i)."""
    from scattn.models import SmallCNN

    ds = data.colour_cue_digits("test", 50, cache=False)
    first_digit_row = int(ds.boxes[:, :, 1].min())
    torch.manual_seed(0)
    model = SmallCNN("none", in_channels=3, widths=(16, 32)).eval()
    x = torch.rand(1, 3, 40, 40, requires_grad=True)
    features = model.features(x)  # (1, 32, 10, 10)
    for i in range(features.shape[2]):
        (grad,) = torch.autograd.grad(features[0, :, i, 5].sum(), x, retain_graph=True)
        rows = grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
        sees_bar = int(rows.min()) < cues.CUE_HEIGHT
        sees_digit = int(rows.max()) >= first_digit_row
        assert not (sees_bar and sees_digit), f"last-stage row {i} sees rows {rows.min()}-{rows.max()}"


def test_deterministic_from_the_seed():
    a, b, c = small(seed=5), small(seed=5), small(seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_train_and_test_draw_from_disjoint_source_digits():
    train, test = small("train", n=400, seed=3), small("test", n=200, seed=3)
    train_idx, test_idx = sources.source_split(3)
    assert set(train.sources.flatten().tolist()) <= set(train_idx.tolist())
    assert set(test.sources.flatten().tolist()) <= set(test_idx.tolist())
    assert not set(train.sources.flatten().tolist()) & set(test.sources.flatten().tolist())


def test_cache_round_trip(tmp_path):
    built = data.colour_cue_digits("test", 30, **SMALL, root=tmp_path)
    files = list((tmp_path / "colour_cue_digits").glob("*.npz"))
    assert len(files) == 1 and "cue3-gap4" in files[0].name
    mtime = files[0].stat().st_mtime_ns
    read = data.colour_cue_digits("test", 30, **SMALL, root=tmp_path)
    assert files[0].stat().st_mtime_ns == mtime  # read back, not rebuilt
    for key in ("images", "labels", "boxes", "digit_labels", "colours", "target", "cue_colour", "sources"):
        assert torch.equal(getattr(built, key), getattr(read, key)), key
    fresh = data.colour_cue_digits("test", 30, **SMALL, cache=False)
    assert torch.equal(fresh.images, read.images)


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    good = data.colour_cue_digits("train", 20, **SMALL, root=tmp_path)
    path = next((tmp_path / "colour_cue_digits").glob("*.npz"))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="could not be read"):
        again = data.colour_cue_digits("train", 20, **SMALL, root=tmp_path)
    assert torch.equal(good.images, again.images)


def test_loaders(tmp_path):
    train, test = data.colour_cue_loaders(40, 20, 16, seed=1, root=tmp_path, **SMALL)
    same, _ = data.colour_cue_loaders(40, 20, 16, seed=1, root=tmp_path, **SMALL)
    first = [b[1] for b in train]  # the first pass of each: same seed, same shuffle
    again = [b[1] for b in same]
    x, y = next(iter(train))
    assert x.shape == (16, 3, 32, 32) and y.shape == (16,)
    assert len(train.dataset) == 40 and len(test.dataset) == 20
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert torch.equal(next(iter(test))[1], test.dataset.labels[:16])  # the test loader keeps the order


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(split="val"), r"unknown split 'val'; expected 'train' or 'test'"),
        (dict(n=0), "n must be a positive integer"),
        (dict(seed=-1), "seed must be an integer >= 0"),
        (dict(canvas_size=20), r"expected canvas_size >= 2 \* digit_size = 24"),
        (dict(cue_height=0), "cue_height must be a positive integer"),
        (dict(cue_gap=2.5), "cue_gap must be an integer >= 0"),
        (dict(cue_height=10, cue_gap=12), r"no room below the bar: expected cue_height \+ cue_gap \+ digit_size"),
        (dict(digit_size=True), "digit_size must be a positive integer"),
        (dict(palette=4), r"palette must be 2 \(red, green\) or 3"),
        (dict(overlap="yes"), "overlap must be True or False"),
        (dict(palette=2.0), "palette must be an integer, got 2.0"),
        (dict(palette=True), "palette must be an integer, got True"),
        (dict(canvas_size=np.float64(32)), "canvas_size must be a positive integer"),
        (dict(seed=np.int64(-2)), "seed must be an integer >= 0, got -2"),
    ],
)
def test_bad_arguments_name_what_was_expected(kwargs, match):
    split = kwargs.pop("split", "train")
    with pytest.raises(ValueError, match=match):
        small(split, **kwargs)


def test_numpy_integers_are_the_same_parameters_and_find_the_same_cache_file(tmp_path):
    as_numpy = {k: np.int64(v) for k, v in SMALL.items()}
    first = data.colour_cue_digits("train", np.int64(20), **as_numpy, palette=np.int64(3), seed=np.int64(1),
                                   root=tmp_path)
    assert all(type(v) in (str, int, bool) for v in first.params.values()), first.params
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read back: no "made with other parameters"
        again = data.colour_cue_digits("train", 20, **SMALL, palette=3, seed=1, root=tmp_path)
    assert torch.equal(first.images, again.images) and repr(first) == repr(again)


def test_a_file_made_with_other_parameters_is_rebuilt(tmp_path):
    """Another palette's canvases (same shapes, a sound checksum) copied over this one's name are noticed."""
    good = data.colour_cue_digits("train", 20, **SMALL, root=tmp_path)
    other = data.colour_cue_digits("train", 20, **SMALL, palette=3, root=tmp_path)
    folder = tmp_path / "colour_cue_digits"
    path = next(p for p in folder.iterdir() if "palette2" in p.name)
    path.write_bytes(next(p for p in folder.iterdir() if "palette3" in p.name).read_bytes())
    with pytest.warns(UserWarning, match="other parameters"):
        again = data.colour_cue_digits("train", 20, **SMALL, root=tmp_path)
    assert torch.equal(again.images, good.images) and not torch.equal(again.images, other.images)
