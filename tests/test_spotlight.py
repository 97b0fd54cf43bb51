"""Spotlight digits: what a canvas holds, the answer, the source split, the cache, bad input."""

from __future__ import annotations

import contextlib
import signal
import warnings

import numpy as np
import pytest
import torch

from scattn import data
from scattn.data import sources, spotlight
from scattn.data.spotlight import CUE_HEIGHT, CUE_WIDTH


def small(split="train", n=64, **kwargs):
    return data.spotlight_digits(split, n, **{"cache": False, **kwargs})


def bar_box(box, gap=spotlight.CUE_GAP, d=spotlight.DIGIT_SIZE):
    """(rows, cols) slices of the bar below a digit's (x0, y0, x1, y1) box."""
    x0, y0 = int(box[0]), int(box[1])
    left = x0 + (d - CUE_WIDTH) // 2
    return slice(y0 + d + gap, y0 + d + gap + CUE_HEIGHT), slice(left, left + CUE_WIDTH)


def test_shapes_dtypes_and_ranges():
    ds = small(n=50)
    assert len(ds) == 50
    assert ds.images.shape == (50, 2, 40, 40) and ds.images.dtype == torch.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.labels.shape == (50,) and ds.labels.dtype == torch.int64
    for name, shape in [("classes", (50, 4)), ("cues", (50, 4)), ("contrasts", (50, 4)), ("sources", (50, 4)),
                        ("boxes", (50, 4, 4)), ("target", (50,))]:
        assert tuple(getattr(ds, name).shape) == shape, name
    image, label = ds[3]
    assert image.shape == (2, 40, 40) and label == ds.labels[3]
    assert "SpotlightDigits(50 canvases of 2×40×40" in repr(ds)


def test_the_label_is_the_digit_under_the_brightest_bar():
    ds = small(n=200)
    n = len(ds)
    assert torch.equal(ds.labels, ds.classes[torch.arange(n), ds.target])
    top2 = ds.cues.sort(dim=1).values[:, -2:]
    assert (top2[:, 1] - top2[:, 0] >= spotlight.CUE_MARGIN - 1e-6).all()
    assert ((ds.cues >= 0.2) & (ds.cues <= 1.0)).all()
    # The digits of a canvas are of different classes, and the classes are the sources' labels.
    assert all(len(set(row)) == 4 for row in ds.classes.tolist())
    labels8 = sources.source_digits()[1]
    assert torch.equal(ds.classes, torch.from_numpy(labels8[ds.sources.numpy()]))
    # Every position of the answer occurs, and every class is an answer somewhere.
    assert set(ds.target.tolist()) == {0, 1, 2, 3}
    assert set(ds.labels.tolist()) == set(range(10))


def test_each_box_holds_its_digit_at_its_contrast_and_the_bar_below_it():
    ds = small(n=30)
    images8 = sources.source_digits()[0]
    d = spotlight.DIGIT_SIZE
    for i in range(len(ds)):
        ink = torch.zeros(40, 40)
        light = torch.zeros(40, 40)
        for k in range(4):
            x0, y0, x1, y1 = ds.boxes[i, k].tolist()
            assert (x1 - x0, y1 - y0) == (d, d)
            digit = sources.upsample(images8[ds.sources[i, k].item():ds.sources[i, k].item() + 1], d)[0]
            expected = np.round(digit * ds.contrasts[i, k].item() * 255) / 255
            torch.testing.assert_close(ds.images[i, 0, y0:y1, x0:x1], torch.from_numpy(expected).float(),
                                       atol=1.5 / 255, rtol=0)
            rows, cols = bar_box(ds.boxes[i, k])
            bar = ds.images[i, 1, rows, cols]
            assert torch.allclose(bar, torch.full_like(bar, round(ds.cues[i, k].item() * 255) / 255))
            ink[y0:y1, x0:x1] = 1
            light[rows, cols] = 1
        # Nothing outside the digits' boxes and the bars.
        assert ds.images[i, 0][ink == 0].abs().sum() == 0
        assert ds.images[i, 1][light == 0].abs().sum() == 0


def test_digits_sit_in_distinct_cells_of_the_grid():
    ds = small(n=100, n_digits=3)
    x0, y0 = ds.boxes[..., 0], ds.boxes[..., 1]
    cell = (y0 // 20) * 2 + x0 // 20  # (N, K)
    assert all(len(set(row)) == 3 for row in cell.tolist())
    span = spotlight.DIGIT_SIZE + spotlight.CUE_GAP + CUE_HEIGHT
    assert ((x0 % 20) + spotlight.DIGIT_SIZE <= 20).all() and ((y0 % 20) + span <= 20).all()


def test_contrast_is_independent_of_the_bars():
    ds = small(n=2000)
    winner_contrast = ds.contrasts[torch.arange(len(ds)), ds.target]
    # The answer's digit is no brighter than the others on average (a plain CNN cannot lean on it).
    assert abs(winner_contrast.mean().item() - ds.contrasts.mean().item()) < 0.02
    assert ds.contrasts.min() >= 0.2 and ds.contrasts.max() <= 1.0


def test_bars_outside_sit_above_the_top_row_and_below_the_bottom_row():
    gap = 9
    ds = small(n=60, canvas_size=48, cue_gap=gap, bars="outside")
    for i in range(len(ds)):
        for k in range(4):
            x0, y0, x1, y1 = ds.boxes[i, k].tolist()
            left = x0 + (spotlight.DIGIT_SIZE - CUE_WIDTH) // 2
            top = y0 - gap - CUE_HEIGHT if y0 < 24 else y1 + gap
            bar = ds.images[i, 1, top:top + CUE_HEIGHT, left:left + CUE_WIDTH]
            assert torch.allclose(bar, torch.full_like(bar, round(ds.cues[i, k].item() * 255) / 255))
    # No bar lies between the two rows of digits.
    assert ds.images[:, 1, 12:36].abs().sum() == 0


def test_one_lit_keeps_only_the_answers_bar():
    ds = small(n=100, lights="one")
    lit = ds.cues > 0
    assert (lit.sum(dim=1) == 1).all()
    assert torch.equal(lit.float().argmax(dim=1), ds.target)
    assert torch.equal(ds.labels, ds.classes[torch.arange(len(ds)), ds.target])


def test_one_digit_is_plain_recognition():
    ds = small(n=40, n_digits=1, cue_margin=0.0)
    assert ds.classes.shape == (40, 1) and torch.equal(ds.labels, ds.classes[:, 0])


def test_train_and_test_use_disjoint_sources():
    train, test = small("train", n=400), small("test", n=200)
    train_idx, test_idx = sources.source_split(0)
    assert set(train.sources.flatten().tolist()) <= set(train_idx.tolist())
    assert set(test.sources.flatten().tolist()) <= set(test_idx.tolist())


def test_same_arguments_same_canvases_other_seed_other_canvases():
    a, b, c = small(n=20), small(n=20), small(n=20, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_cache_is_written_once_and_read_back(tmp_path, monkeypatch):
    first = data.spotlight_digits("train", 32, root=tmp_path)
    (path,) = sorted((tmp_path / "spotlight_digits").iterdir())
    for part in ("train", "n32", "k4", "gap3", "contrast0.2-1", "margin0.15", "lights-all", "bars-below", "seed0"):
        assert part in path.name
    monkeypatch.setattr(spotlight, "_generate", lambda *a, **k: pytest.fail("regenerated despite a cache"))
    again = data.spotlight_digits("train", 32, root=tmp_path)
    for name in ("images", "labels", "classes", "cues", "contrasts", "boxes", "sources"):
        assert torch.equal(getattr(first, name), getattr(again, name)), name
    monkeypatch.undo()
    assert torch.equal(small(n=32).images, first.images)  # cached and fresh canvases are equal
    data.spotlight_digits("train", 32, root=tmp_path, lights="one")
    assert len(list((tmp_path / "spotlight_digits").iterdir())) == 2  # each parameter set has its file


def test_loaders(tmp_path):
    def first_epoch():
        train, test = data.spotlight_digits_loaders(40, 24, batch_size=16, seed=0, root=tmp_path, n_digits=2)
        assert len(train.dataset) == 40 and len(test.dataset) == 24
        return [y for _, y in train]

    epoch = first_epoch()
    assert [len(y) for y in epoch] == [16, 16, 8]
    assert all(torch.equal(a, b) for a, b in zip(epoch, first_epoch(), strict=True))  # the loader's own seeded shuffle
    assert not torch.equal(torch.cat(epoch), data.spotlight_digits("train", 40, root=tmp_path, n_digits=2).labels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(split="validation"), "unknown split 'validation'"),
        (dict(n=0), "n must be a positive integer"),
        (dict(n_digits=5), "n_digits must be 1, 2, 3 or 4"),
        (dict(cue_gap=-1), "cue_gap must be an integer >= 0"),
        (dict(cue_gap=6), "must fit in a cell"),
        (dict(digit_size=6), "at least the bar's width"),
        (dict(contrast=(0.0, 1.0)), "contrast must satisfy 0 < low <= high <= 1"),
        (dict(contrast=0.5), "contrast must be a pair"),
        (dict(cue_range=(0.9, 0.2)), "cue_range must satisfy"),
        (dict(cue_margin=0.8), "cue_margin must be"),
        (dict(lights="some"), "unknown lights 'some'"),
        (dict(bars="left"), "unknown bars 'left'"),
        (dict(seed=-1), "seed must be an integer >= 0"),
        (dict(n_digits=2.0), "n_digits must be an integer, got 2.0"),
        (dict(n_digits=True), "n_digits must be an integer, got True"),
        (dict(cue_margin=float("nan")), "cue_margin must be a finite number >= 0, got nan"),
        (dict(cue_margin=float("inf"), n_digits=1), "cue_margin must be a finite number"),
        (dict(cue_margin=True), "cue_margin must be a finite number"),
        (dict(lights=["all"]), r"unknown lights \['all'\]; expected one of 'all', 'one'"),
        (dict(canvas_size=np.float64(40)), "canvas_size must be a positive integer"),
    ],
)
def test_bad_arguments_name_what_was_expected(kwargs, message):
    kwargs = {"split": "train", "n": 8, "cache": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        data.spotlight_digits(**kwargs)


@contextlib.contextmanager
def at_most(seconds: int):
    """Fail with a TimeoutError instead of hanging (SIGALRM: the main thread of a POSIX process)."""
    def stop(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_a_margin_the_bars_can_hardly_meet_is_an_error_not_an_endless_redraw():
    """Four bars in a range of width 0.8 lead by 0.79 with chance (1 - 0.79 / 0.8)^4, about 2e-8."""
    expected = r"cue_margin 0.79 is too close to the width of cue_range \(0.2, 1.0\) \(0.8\) for 4 bars"
    with at_most(60), pytest.raises(ValueError, match=expected + r".*expected a smaller cue_margin"):
        small(n=4000, cue_margin=0.79)


def test_numpy_numbers_are_the_same_parameters_and_find_the_same_cache_file(tmp_path):
    first = data.spotlight_digits("train", np.int64(24), n_digits=np.int64(3), cue_gap=np.int64(2),
                                  cue_margin=np.float32(0.25), seed=np.int64(1), root=tmp_path)
    assert all(type(v) in (str, int, float, tuple) for v in first.params.values()), first.params
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read back: no "made with other parameters"
        again = data.spotlight_digits("train", 24, n_digits=3, cue_gap=2, cue_margin=0.25, seed=1, root=tmp_path)
    assert torch.equal(first.images, again.images) and repr(first) == repr(again)


def test_a_file_made_with_other_parameters_is_rebuilt(tmp_path):
    """Another seed's canvases (same shapes, a sound checksum) copied over this one's name are noticed."""
    good = data.spotlight_digits("train", 24, root=tmp_path)
    other = data.spotlight_digits("train", 24, seed=1, root=tmp_path)
    folder = tmp_path / "spotlight_digits"
    path = next(p for p in folder.iterdir() if p.name.endswith("seed0.npz"))
    path.write_bytes(next(p for p in folder.iterdir() if p.name.endswith("seed1.npz")).read_bytes())
    with pytest.warns(UserWarning, match="other parameters"):
        again = data.spotlight_digits("train", 24, root=tmp_path)
    assert torch.equal(again.images, good.images) and not torch.equal(again.images, other.images)
