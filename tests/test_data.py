"""Cluttered digits (generation, splits, cache), CIFAR-10 and CIFAR-100 on local fixtures, sample photos."""

from __future__ import annotations

import hashlib
import os
import pickle
import urllib.error
import warnings

import numpy as np
import pytest
import torch

from scattn import data
from scattn.data import cache, digits, sources

SMALL = dict(canvas_size=32, digit_size=14, n_distractors=4, distractor_size=6)


def small(split="train", n=64, **kwargs):
    return data.cluttered_digits(split, n, **{**SMALL, "cache": False, **kwargs})


# --------------------------------------------------------------------------------------
# Cluttered digits: what a canvas holds
# --------------------------------------------------------------------------------------


def test_shapes_dtypes_and_ranges():
    ds = small(n=50)
    assert len(ds) == 50
    assert ds.images.shape == (50, 1, 32, 32) and ds.images.dtype == torch.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1
    assert ds.labels.shape == (50,) and ds.labels.dtype == torch.int64
    assert set(ds.labels.tolist()) <= set(range(10))
    assert ds.boxes.shape == (50, 4) and ds.boxes.dtype == torch.int64
    x0, y0, x1, y1 = ds.boxes.T
    assert (x1 - x0 == 14).all() and (y1 - y0 == 14).all()
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 32).all() and (y1 <= 32).all()
    image, label = ds[3]
    assert image.shape == (1, 32, 32) and label == ds.labels[3]


def test_defaults():
    ds = data.cluttered_digits("test", 20, cache=False)
    assert ds.images.shape == (20, 1, data.CANVAS_SIZE, data.CANVAS_SIZE)
    assert ds.distractor_sources.shape == (20, data.N_DISTRACTORS)
    assert data.DEFAULT_COUNTS == {"train": 6000, "test": 1000}


def test_the_box_holds_the_target_digit_untouched():
    """Fragments never overlap the box: inside it is exactly the upsampled source digit."""
    ds = small(n=40)
    images8, labels8 = sources.source_digits()
    digits = sources.upsample(images8[ds.sources.numpy()], 14)
    expected = torch.from_numpy(np.round(digits * 255) / 255).float()
    for i, (x0, y0, x1, y1) in enumerate(ds.boxes.tolist()):
        torch.testing.assert_close(ds.images[i, 0, y0:y1, x0:x1], expected[i], atol=1e-6, rtol=0)
    assert (ds.labels == torch.from_numpy(labels8[ds.sources.numpy()])).all()


def test_distractors_are_drawn_outside_the_box():
    with_clutter = small(n=40, seed=3)
    without = small(n=40, seed=3, n_distractors=0)
    assert (with_clutter.boxes == without.boxes).all()
    assert (with_clutter.labels == without.labels).all()
    outside = with_clutter.images.sum() - without.images.sum()
    assert outside > 0  # fragments added ink, all of it outside the boxes (previous test)
    # Each canvas gets visible fragments from other digits.
    assert (with_clutter.distractor_sources != with_clutter.sources[:, None]).all()
    clutter_ink = (with_clutter.images - without.images).flatten(1).sum(1)
    assert (clutter_ink > 0).all()


def test_fragments_are_smaller_than_digits_errors():
    with pytest.raises(ValueError, match="distractor_size"):
        small(distractor_size=14)
    with pytest.raises(ValueError, match="canvas_size"):
        small(canvas_size=20)  # no room beside a 14-pixel digit for 6-pixel fragments
    with pytest.raises(ValueError, match="digit_size"):
        small(canvas_size=12, n_distractors=0)
    with pytest.raises(ValueError, match="split"):
        data.cluttered_digits("validation", 8, cache=False)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        data.cluttered_digits("train", 0, cache=False)
    with pytest.raises(ValueError, match="n_distractors"):
        small(n_distractors=-1)


def test_deterministic_from_the_seed():
    a, b, c = small(seed=5), small(seed=5), small(seed=6)
    for key in ("images", "labels", "boxes", "sources", "distractor_sources"):
        assert torch.equal(getattr(a, key), getattr(b, key))
    assert not torch.equal(a.images, c.images)
    assert not torch.equal(a.images, small("test", seed=5).images)


def test_source_digits_are_split_before_composing():
    train_idx, test_idx = data.source_split(0)
    assert len(np.intersect1d(train_idx, test_idx)) == 0
    assert len(train_idx) + len(test_idx) == 1797
    assert 0.15 < len(test_idx) / 1797 < 0.25
    labels = sources.source_digits()[1]
    assert set(labels[test_idx]) == set(range(10))  # every class in both splits
    assert not np.array_equal(data.source_split(1)[1], test_idx)  # seeded

    train, test = small("train", 300), small("test", 300)
    train_used = set(train.sources.tolist()) | set(train.distractor_sources.flatten().tolist())
    test_used = set(test.sources.tolist()) | set(test.distractor_sources.flatten().tolist())
    assert not train_used & test_used  # no handwritten digit, whole or in pieces, in both
    assert train_used <= set(train_idx.tolist()) and test_used <= set(test_idx.tolist())


# --------------------------------------------------------------------------------------
# Cluttered digits: the cache
# --------------------------------------------------------------------------------------


def cached(tmp_path, **kwargs):
    return data.cluttered_digits("train", 48, **{**SMALL, "root": tmp_path, **kwargs})


def cache_files(tmp_path):
    return sorted((tmp_path / "cluttered_digits").iterdir())


def same(a, b):
    return all(torch.equal(getattr(a, k), getattr(b, k))
               for k in ("images", "labels", "boxes", "sources", "distractor_sources"))


def test_cache_is_written_once_and_read_back(tmp_path, monkeypatch):
    first = cached(tmp_path)
    (path,) = cache_files(tmp_path)
    name = path.name
    for part in ("train", "n48", "canvas32", "digit14", "distractors4x6", "seed0"):
        assert part in name
    assert same(first, small(n=48))  # cached and uncached canvases are equal
    monkeypatch.setattr(digits, "_generate", lambda *a, **k: pytest.fail("regenerated despite a cache"))
    assert same(cached(tmp_path), first)


def test_each_parameter_has_its_own_file(tmp_path):
    cached(tmp_path)
    cached(tmp_path, seed=1)
    cached(tmp_path, n_distractors=2)
    data.cluttered_digits("test", 48, **SMALL, root=tmp_path)
    assert len(cache_files(tmp_path)) == 4


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCATTN_DATA", str(tmp_path / "elsewhere"))
    data.cluttered_digits("test", 16, **SMALL)
    assert len(list((tmp_path / "elsewhere" / "cluttered_digits").iterdir())) == 1


def rebuilt(tmp_path, path, reference):
    with pytest.warns(UserWarning, match="rebuilding"):
        again = cached(tmp_path)
    assert same(again, reference)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is good again
        assert same(cached(tmp_path), reference)
    assert cache_files(tmp_path) == [path]


def test_truncated_cache_is_rebuilt(tmp_path):
    reference = cached(tmp_path)
    (path,) = cache_files(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rebuilt(tmp_path, path, reference)


def flip_a_pixel(arrays):
    arrays["images"][0, 0, 0, 0] ^= 1  # shapes still right: only the checksum notices


def drop_canvases(arrays):
    arrays["images"] = arrays["images"][:10]
    arrays["sha256"] = np.array(cache.digest(arrays))  # a consistent file of the wrong size


@pytest.mark.parametrize("tamper", [flip_a_pixel, drop_canvases])
def test_altered_cache_is_rebuilt(tmp_path, tamper):
    reference = cached(tmp_path)
    (path,) = cache_files(tmp_path)
    with np.load(path) as stored:
        arrays = dict(stored)
    tamper(arrays)
    np.savez(path, **arrays)
    rebuilt(tmp_path, path, reference)


def test_a_file_made_with_other_parameters_is_rebuilt(tmp_path):
    """A cache file copied over another name (seed 1's canvases under seed 0's name) is noticed."""
    reference = cached(tmp_path)
    (path,) = cache_files(tmp_path)
    other = cached(tmp_path, seed=1)
    other_path = next(p for p in cache_files(tmp_path) if p != path)
    path.write_bytes(other_path.read_bytes())  # right shapes, a sound checksum, the wrong canvases
    with pytest.warns(UserWarning, match="other parameters"):
        again = cached(tmp_path)
    assert same(again, reference) and not same(again, other)


def test_numpy_integers_are_the_same_parameters_and_find_the_same_cache_file(tmp_path):
    first = cached(tmp_path, n_distractors=np.int64(3), seed=np.int64(2))
    assert all(type(v) in (str, int) for v in first.params.values()), first.params
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read back: no "made with other parameters"
        assert same(cached(tmp_path, n_distractors=3, seed=2), first)


def test_temporaries_of_a_killed_writer_are_removed_and_files_follow_the_umask(tmp_path):
    cached(tmp_path)
    folder = tmp_path / "cluttered_digits"
    (path,) = cache_files(tmp_path)
    dead = folder / f".{path.name}.999999999.abcd.tmp"  # no such process
    dead.write_bytes(b"half a file")
    path.unlink()
    cached(tmp_path)
    assert cache_files(tmp_path) == [path] and not dead.exists()
    mode = path.stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask(), f"cache file mode {oct(mode)}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_is_atomic(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cache.np, "savez", fail)
    with pytest.warns(UserWarning, match="could not cache"):
        ds = cached(tmp_path)
    assert len(ds) == 48  # the data still arrive
    assert cache_files(tmp_path) == []  # no partial file, no temporary left behind


def test_loaders(tmp_path):
    kwargs = dict(SMALL, root=tmp_path)
    train, test = data.cluttered_digits_loaders(40, 24, batch_size=16, seed=0, **kwargs)
    assert len(train.dataset) == 40 and len(test.dataset) == 24
    x, y = next(iter(train))
    assert x.shape == (16, 1, 32, 32) and y.shape == (16,)
    # The shuffle has its own seeded generator: the same order every time, whatever torch's RNG did.
    torch.manual_seed(123)
    again, _ = data.cluttered_digits_loaders(40, 24, batch_size=16, seed=0, **kwargs)
    assert torch.equal(next(iter(again))[1], y)
    assert [torch.equal(a[1], b[1]) for a, b in zip(train, again, strict=True)] == [True] * 3
    # The test loader keeps the dataset's order.
    assert torch.equal(torch.cat([b[1] for b in test]), test.dataset.labels)


# --------------------------------------------------------------------------------------
# CIFAR-10 on a tiny fixture in torchvision's python-pickle layout
# --------------------------------------------------------------------------------------

PER_BATCH = 6
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """A miniature CIFAR-10 that torchvision's own loader reads and checks.

    The real batches are Python 2 pickles of dicts with "data" (N×3072 uint8, the
    red, green and blue planes of each 32×32 image) and "labels"; torchvision
    reads them with ``encoding="latin1"``, which turns Python 2's byte-string keys
    into ``str``, so the fixture writes ``str`` keys.

    torchvision verifies each file against the md5 of the real CIFAR-10 batches
    (``CIFAR10.train_list``, ``test_list``, ``meta``), which a small fixture cannot
    match. Rather than switch the check off, we point those class attributes at
    the md5s of the files written here, so torchvision's integrity check still
    runs, honestly, on the fixture.
    """
    from torchvision.datasets import CIFAR10

    folder = tmp_path / CIFAR10.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    md5 = {}
    for i, name in enumerate(BATCHES):
        batch = {
            "batch_label": name,
            "labels": [(i + j) % 10 for j in range(PER_BATCH)],
            "data": rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8),
        }
        (folder / name).write_bytes(pickle.dumps(batch))
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    meta = {"label_names": list(data.CIFAR10_CLASSES), "num_cases_per_batch": PER_BATCH}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5[n]] for n in BATCHES[:5]])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    meta_md5 = hashlib.md5((folder / "batches.meta").read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": meta_md5})
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    import torchvision.datasets.cifar as cifar_module

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(cifar_module, "download_and_extract_archive", offline)


def test_cifar10_reads_the_local_files(cifar_root, no_network):
    train = data.cifar10(cifar_root, train=True, download=True)  # files present: no download
    test = data.cifar10(cifar_root, train=False, download=False)
    assert len(train) == 5 * PER_BATCH and len(test) == PER_BATCH
    assert train.classes == list(data.CIFAR10_CLASSES)
    x, y = test[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
    # Test images: only ToTensor and the per-channel normalisation.
    pixels = torch.from_numpy(test.data[0]).permute(2, 0, 1).float() / 255
    mean = torch.tensor(data.CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(data.CIFAR10_STD).view(3, 1, 1)
    torch.testing.assert_close(x, (pixels - mean) / std)


def test_cifar10_augments_training_images_only(cifar_root):
    from torchvision import transforms

    def steps(ds):
        return [type(t) for t in ds.transform.transforms]

    train = data.cifar10(cifar_root, train=True, download=False)
    test = data.cifar10(cifar_root, train=False, download=False)
    assert steps(train)[:2] == [transforms.RandomCrop, transforms.RandomHorizontalFlip]
    assert train.transform.transforms[0].padding == 4 and train.transform.transforms[0].size == (32, 32)
    assert transforms.RandomCrop not in steps(test)
    assert transforms.RandomCrop not in steps(data.cifar10(cifar_root, train=True, download=False, augment=False))
    torch.manual_seed(0)
    views = torch.stack([train[0][0] for _ in range(8)])
    assert not all(torch.equal(views[0], v) for v in views[1:])  # random crops and flips


def test_cifar10_loaders(cifar_root):
    train, test = data.cifar10_loaders(4, root=cifar_root, download=False, num_workers=0)
    x, y = next(iter(train))
    assert x.shape == (4, 3, 32, 32) and y.shape == (4,)
    assert len(test.dataset) == PER_BATCH


def test_cifar10_offline_without_files_says_what_to_do(tmp_path, no_network):
    for download in (True, False):
        with pytest.raises(RuntimeError) as err:
            data.cifar10(tmp_path, download=download)
        message = str(err.value)
        assert "cifar-10-batches-py" in message and str(tmp_path) in message
        assert "download=True" in message and "cifar-10-python.tar.gz" in message
        assert "cluttered_digits" in message  # the offline alternative
        assert ("no internet" if download else "missing") in message


# --------------------------------------------------------------------------------------
# Sample photos
# --------------------------------------------------------------------------------------


def test_sample_photos_are_bundled():
    photos = data.sample_photos()
    assert {"astronaut", "chelsea", "coffee"} <= set(photos)
    for image in photos.values():
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


def test_a_partial_cifar_archive_is_named_and_removed(tmp_path, no_network):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + b"\0" * 1000)  # what an interrupted download leaves
    with pytest.raises(RuntimeError) as caught:
        data.cifar10(tmp_path, download=False)
    message = str(caught.value)
    assert f"Removed {archive}: a partial or damaged archive (1,002 bytes" in message
    assert not archive.exists()


# --------------------------------------------------------------------------------------
# CIFAR-100 on a tiny fixture in torchvision's python-pickle layout
# --------------------------------------------------------------------------------------

CIFAR100_COUNTS = {"train": 12, "test": 8}
FINE_NAMES = [f"fine{k:02d}" for k in range(100)]
COARSE_NAMES = [f"coarse{k:02d}" for k in range(20)]


def write_cifar100(root, monkeypatch):
    """A miniature CIFAR-100 as the real one is laid out: ``cifar-100-python/{train,test,meta}``,
    each split a pickled dict with "data" (N×3072 uint8), "fine_labels" (0..99), "coarse_labels"
    (0..19, the superclasses), "filenames" and "batch_label"; "meta" names both label sets.
    As for CIFAR-10, torchvision's md5 check runs against the fixture's own files."""
    from torchvision.datasets import CIFAR100

    folder = root / CIFAR100.base_folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    md5 = {}
    for split, n in CIFAR100_COUNTS.items():
        fine = [(7 * j + (split == "test")) % 100 for j in range(n)]
        entry = {
            "filenames": [f"{split}_{j}.png" for j in range(n)],
            "batch_label": f"{split} batch 1 of 1",
            "fine_labels": fine,
            "coarse_labels": [f // 5 for f in fine],  # differ from the fine ones: the wrong key would show
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        }
        (folder / split).write_bytes(pickle.dumps(entry))
        md5[split] = hashlib.md5((folder / split).read_bytes()).hexdigest()
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": FINE_NAMES, "coarse_label_names": COARSE_NAMES}))
    monkeypatch.setattr(CIFAR100, "train_list", [["train", md5["train"]]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", md5["test"]]])
    meta_md5 = hashlib.md5((folder / "meta").read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": meta_md5})
    return root


@pytest.fixture
def cifar100_root(tmp_path, monkeypatch):
    return write_cifar100(tmp_path, monkeypatch)


def test_cifar100_reads_fine_labels_and_names(cifar100_root, no_network):
    train = data.cifar100(cifar100_root, train=True, download=True)  # files present: no download
    test = data.cifar100(cifar100_root, train=False, download=False)
    assert len(train) == 12 and len(test) == 8
    assert train.classes == FINE_NAMES  # the 100 fine classes, from the meta file
    assert train.targets == [(7 * j) % 100 for j in range(12)]  # fine labels, not coarse
    x, y = test[1]
    assert x.shape == (3, 32, 32) and y == 8
    pixels = torch.from_numpy(test.data[1]).permute(2, 0, 1).float() / 255
    mean = torch.tensor(data.CIFAR100_MEAN).view(3, 1, 1)
    std = torch.tensor(data.CIFAR100_STD).view(3, 1, 1)
    torch.testing.assert_close(x, (pixels - mean) / std)  # test images: ToTensor and Normalize only
    from torchvision import transforms

    assert [type(t) for t in train.transform.transforms][:2] == [transforms.RandomCrop,
                                                                 transforms.RandomHorizontalFlip]


@pytest.mark.parametrize("device", [None, "cpu"], ids=["dataloader", "device-resident"])
def test_cifar100_loaders(cifar100_root, device):
    train, test = data.cifar100_loaders(5, root=cifar100_root, download=False, num_workers=0, device=device)
    assert len(train) == 3 and len(test) == 2
    x, y = next(iter(train))
    assert x.shape == (5, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    labels = torch.cat([b[1] for b in train])
    assert sorted(labels.tolist()) == sorted((7 * j) % 100 for j in range(12))
    tx, ty = next(iter(test))
    assert ty.tolist() == [(7 * j + 1) % 100 for j in range(5)]
    assert torch.allclose(tx[1], test.dataset[1][0], atol=1e-6)  # same normalisation on both paths
    if device is not None:
        assert isinstance(train, data.DeviceLoader) and train.generator is not None


def test_cifar100_offline_without_files_says_what_to_do(tmp_path, no_network):
    for download in (True, False):
        with pytest.raises(RuntimeError) as err:
            data.cifar100(tmp_path, download=download)
        message = str(err.value)
        assert message.startswith("CIFAR-100 is not available")
        assert "cifar-100-python" in message and str(tmp_path) in message
        assert "cifar100(download=True)" in message and "cifar-100-python.tar.gz" in message
        assert "train, test, meta" in message and "cluttered_digits" in message
        assert ("no internet" if download else "missing") in message


def test_a_partial_cifar100_archive_is_named_and_removed(tmp_path, no_network):
    archive = tmp_path / "cifar-100-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + b"\0" * 500)
    with pytest.raises(RuntimeError) as caught:
        data.cifar100(tmp_path, download=False)
    assert f"Removed {archive}: a partial or damaged archive (502 bytes" in str(caught.value)
    assert not archive.exists()


def test_the_cifar100_experiment_trains_on_the_fixture(cifar100_root, no_network, tmp_path, capsys):
    """benchmarks/cifar100.py end to end on the CPU: calibration, paired seeds, one step per epoch."""
    import json

    from helpers import benchmark

    bench = benchmark("cifar100")
    out = tmp_path / "result.json"
    code = bench.main(["--root", str(cifar100_root), "--no-download", "--device", "cpu", "--batch-size", "16",
                       "--attentions", "none", "se", "--seeds", "0", "1", "--budget", "1e6", "--max-epochs", "1",
                       "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr()
    assert "1 steps per epoch" in printed.out and "calibration" in printed.out
    assert "se − none:" in printed.out and "no CUDA GPU" in printed.err
    result = json.loads(out.read_text())
    assert result["epochs"] == 1 and result["amp_dtype"] == "None"
    assert [r["attention"] for r in result["rows"]] == ["none", "se"]
    assert all(len(r["accuracies"]) == 2 for r in result["rows"])  # both seeds, paired
    paired = result["paired"][0]
    accs = {r["attention"]: r["accuracies"] for r in result["rows"]}
    assert paired["diffs"] == [s - n for s, n in zip(accs["se"], accs["none"], strict=True)]
    assert result["flops"]["se"] > result["flops"]["none"]


def test_the_cli_trains_resnet20_with_100_classes_on_cifar100(cifar100_root, no_network, monkeypatch, tmp_path):
    import json

    from scattn.__main__ import main
    from scattn.tasks import get_task

    assert get_task("cifar100").model("se").fc.out_features == 100  # what the CLI builds for --data cifar100
    monkeypatch.setenv("SCATTN_DATA", str(cifar100_root))
    out = tmp_path / "run.json"
    code = main(["train", "--data", "cifar100", "--profile", "smoke", "--epochs", "1", "--attention", "se",
                 "--quiet", "--json", str(out), "--device", "cpu"])
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1 and rows[0]["test_acc"] is not None
