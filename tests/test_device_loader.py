"""DeviceLoader on the CPU: batches, determinism, torchvision's augmentation, fit and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import scattn
from scattn import data
from scattn.checkpoint import data_identity, loader_generators
from scattn.data.device import DeviceLoader, random_crop_flip
from scattn.train import fit

PAD = 4


class FakeCifar:
    """What DeviceLoader reads of torchvision's CIFAR: ``.data`` (N, H, W, C) uint8 and ``.targets``."""

    def __init__(self, n: int, size: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.data = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        self.targets = [int(t) for t in rng.integers(0, 10, n)]

    def __len__(self):
        return len(self.targets)


def numbered(n: int, size: int = 8) -> TensorDataset:
    """n images whose label is their index (each example recognisable in a batch)."""
    return TensorDataset(torch.rand(n, 1, size, size), torch.arange(n))


def epoch(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def same(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x1, x2) and torch.equal(y1, y2)
                                    for (x1, y1), (x2, y2) in zip(a, b, strict=True))


# ----------------------------------------------------------------------------- batches


def test_every_example_once_per_epoch_in_a_new_order():
    loader = DeviceLoader(numbered(50), 16, shuffle=True, crop_padding=2, flip=True, device="cpu",
                          generator=torch.Generator().manual_seed(0))
    assert len(loader) == 4 and loader.batch_size == 16 and len(loader.dataset) == 50
    orders = []
    for _ in range(3):
        batches = epoch(loader)
        assert [len(y) for _, y in batches] == [16, 16, 16, 2]
        assert all(x.shape[1:] == (1, 8, 8) for x, _ in batches)
        labels = torch.cat([y for _, y in batches])
        assert sorted(labels.tolist()) == list(range(50))  # each example once
        orders.append(labels)
    assert not torch.equal(orders[0], orders[1]) and not torch.equal(orders[1], orders[2])


def test_drop_last_and_the_test_order():
    assert len(DeviceLoader(numbered(50), 16, drop_last=True, device="cpu")) == 3
    plain = DeviceLoader(numbered(50), 16, device="cpu")
    ds = plain.dataset
    batches = epoch(plain)
    assert torch.equal(torch.cat([y for _, y in batches]), torch.arange(50))  # no shuffle: dataset order
    assert torch.equal(torch.cat([x for x, _ in batches]), ds.tensors[0])  # no augmentation: the images


def test_same_seed_same_batches_another_seed_others():
    def run(seed):
        loader = DeviceLoader(FakeCifar(40), 8, shuffle=True, crop_padding=PAD, flip=True, device="cpu",
                              mean=data.CIFAR10_MEAN, std=data.CIFAR10_STD,
                              generator=torch.Generator().manual_seed(seed))
        return epoch(loader) + epoch(loader)

    torch.manual_seed(1)
    a = run(0)
    torch.manual_seed(2)  # the global RNG does not matter: the loader has its own generator
    assert same(a, run(0))
    assert not same(a, run(1))


def test_without_a_generator_the_global_rng_decides_as_for_a_dataloader():
    ds = numbered(30)
    loader = DeviceLoader(ds, 10, shuffle=True, device="cpu")
    assert loader.generator is None and loader_generators(loader) == []
    torch.manual_seed(5)
    a = epoch(loader)
    torch.manual_seed(5)
    assert same(a, epoch(loader))
    torch.manual_seed(5)
    assert same(a, epoch(DataLoader(ds, 10, shuffle=True)))
    after = torch.rand(3)  # and the global RNG moved as far as the DataLoader moves it
    torch.manual_seed(5)
    epoch(loader)
    assert torch.equal(torch.rand(3), after)


def test_shuffle_only_gives_the_dataloaders_batches():
    # The same generator seed draws the same permutation as DataLoader's RandomSampler, so the
    # device path trains on exactly the batches of the CPU path.
    kwargs = dict(canvas_size=32, digit_size=14, n_distractors=2, distractor_size=6, cache=False)
    cpu_train, cpu_test = data.cluttered_digits_loaders(40, 24, 16, seed=3, **kwargs)
    dev_train, dev_test = data.cluttered_digits_loaders(40, 24, 16, seed=3, device="cpu", **kwargs)
    assert isinstance(dev_train, DeviceLoader) and isinstance(cpu_train, DataLoader)
    assert type(dev_train.dataset) is type(cpu_train.dataset) and dev_train.dataset.params == cpu_train.dataset.params
    for _ in range(2):
        assert same(epoch(dev_train), epoch(cpu_train))
    assert same(epoch(dev_test), epoch(cpu_test))
    assert data_identity(dev_train) == data_identity(cpu_train)  # dataset, size, params, batch size


def test_spotlight_digits_on_the_device_give_the_dataloaders_batches():
    cpu_train, cpu_test = data.spotlight_digits_loaders(30, 20, 8, seed=2, cache=False)
    dev_train, dev_test = data.spotlight_digits_loaders(30, 20, 8, seed=2, cache=False, device="cpu")
    assert isinstance(dev_train, DeviceLoader) and dev_train.images.shape[1:] == (2, 40, 40)
    assert same(epoch(dev_train), epoch(cpu_train)) and same(epoch(dev_test), epoch(cpu_test))


def test_uint8_images_become_floats_in_0_1_and_are_normalised():
    ds = FakeCifar(6)
    raw = DeviceLoader(ds, 6, device="cpu")
    x, y = next(iter(raw))
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and y.tolist() == ds.targets
    torch.testing.assert_close(x, torch.from_numpy(ds.data).permute(0, 3, 1, 2).float() / 255)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    normed, _ = next(iter(DeviceLoader(ds, 6, mean=mean, std=std, device="cpu")))
    torch.testing.assert_close(normed, (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(TypeError, match="needs a dataset with .images and .labels"):
        DeviceLoader([1, 2, 3], 2, device="cpu")
    with pytest.raises(ValueError, match="both mean and std"):
        DeviceLoader(FakeCifar(4), 2, mean=(0.5, 0.5, 0.5), device="cpu")
    with pytest.raises(ValueError, match="one value per channel"):
        DeviceLoader(FakeCifar(4), 2, mean=(0.5,), std=(0.2,), device="cpu")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DeviceLoader(FakeCifar(4), 0, device="cpu")
    with pytest.raises(ValueError, match="CPU torch.Generator"):
        DeviceLoader(FakeCifar(4), 2, generator=0, device="cpu")


# ----------------------------------------------------------------------------- augmentation


def torchvision_view(image: np.ndarray, i: int, j: int, flip: bool, mean, std) -> torch.Tensor:
    """torchvision's CIFAR pipeline with the crop and flip fixed: pad 4 (black), crop at (i, j),
    flip, ToTensor, Normalize, as cifar10_transform(augment=True) does with random ones."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    img = TF.crop(TF.pad(Image.fromarray(image), PAD), i, j, 32, 32)
    img = TF.hflip(img) if flip else img
    return TF.normalize(TF.to_tensor(img), mean, std)


def test_crop_and_flip_equal_torchvisions_for_the_same_draws():
    ds = FakeCifar(12)
    offsets = torch.tensor([[0, 0], [8, 8], [0, 8], [8, 0], [3, 5], [4, 4]] * 2)
    flips = torch.tensor([False] * 6 + [True] * 6)
    x = torch.from_numpy(ds.data).permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W) uint8
    ours = random_crop_flip(x, PAD, offsets, flips).float() / 255
    mean, std = (0.0,) * 3, (1.0,) * 3
    for k in range(12):
        expected = torchvision_view(ds.data[k], *offsets[k].tolist(), bool(flips[k]), mean, std)
        torch.testing.assert_close(ours[k], expected)


def test_each_loader_image_is_one_of_torchvisions_views_of_its_image():
    # The whole path, normalisation and black padding included: every image the loader yields
    # is exactly torchvision's pipeline for one of the 9 × 9 × 2 crops and flips of its image.
    ds = FakeCifar(10, seed=1)
    ds.targets = list(range(10))  # the label names the image
    loader = DeviceLoader(ds, 5, shuffle=True, crop_padding=PAD, flip=True, mean=data.CIFAR10_MEAN,
                          std=data.CIFAR10_STD, device="cpu", generator=torch.Generator().manual_seed(0))
    seen = []
    for x, y in loader:
        for image, k in zip(x, y.tolist(), strict=True):
            views = [(i, j, f) for i in range(9) for j in range(9) for f in (False, True)
                     if torch.allclose(image, torchvision_view(ds.data[k], i, j, f, data.CIFAR10_MEAN,
                                                               data.CIFAR10_STD), atol=1e-5)]
            assert len(views) == 1, (k, views)
            seen.append(views[0])
    assert len(seen) == 10 and len(set(seen)) > 1  # random views, not one fixed crop


def decode(view: torch.Tensor, width: int = 32) -> tuple[int, int, bool]:
    """(i, j, flip) of a crop of the coded image (pixel (r, c) holds r·W + c + 1, padding 0)."""
    v = view[0]
    flip = bool(v[16, 17] < v[16, 16])  # the centre is never padding; values grow to the right
    v = v.flip(-1) if flip else v
    code = int(v[PAD, PAD]) - 1  # padded (i + 4, j + 4) = original (i, j)
    return code // width, code % width, flip


def test_augmentation_statistics_match_torchvisions_random_crop_and_flip():
    from torchvision import transforms

    coded = (torch.arange(32 * 32, dtype=torch.float32) + 1).view(1, 32, 32)
    n_cells, per_cell = 9 * 9 * 2, 40
    draws = n_cells * per_cell

    torch.manual_seed(0)
    tv = transforms.Compose([transforms.RandomCrop(32, padding=PAD), transforms.RandomHorizontalFlip()])
    theirs = [decode(tv(coded)) for _ in range(draws)]

    copies = 324
    loader = DeviceLoader(TensorDataset(coded.expand(copies, 1, 32, 32).clone(), torch.zeros(copies, dtype=torch.long)),
                          copies, shuffle=True, crop_padding=PAD, flip=True, device="cpu",
                          generator=torch.Generator().manual_seed(0))
    ours = [decode(view) for _ in range(draws // copies) for x, _ in loader for view in x]
    assert len(ours) == draws

    def counts(decoded):
        table = np.zeros((9, 9, 2), dtype=np.int64)
        for i, j, f in decoded:
            table[i, j, int(f)] += 1
        return table.ravel()

    a, b = counts(ours), counts(theirs)
    assert a.sum() == b.sum() == draws and (a > 0).all() and (b > 0).all()  # every offset 0..8, both flips
    # Each is uniform over the 162 (i, j, flip) cells, and the two are the same distribution.
    assert stats.chisquare(a).pvalue > 1e-3
    assert stats.chisquare(b).pvalue > 1e-3
    assert stats.chi2_contingency(np.stack([a, b])).pvalue > 1e-3
    # Marginals: offsets average 4 (centred), flips half the time, as torchvision's.
    i_ours = np.array([d[0] for d in ours])
    i_theirs = np.array([d[0] for d in theirs])
    assert abs(i_ours.mean() - 4) < 0.15 and abs(i_theirs.mean() - 4) < 0.15
    assert abs(np.mean([d[2] for d in ours]) - 0.5) < 0.03


def test_flip_without_crop():
    ds = numbered(64)
    loader = DeviceLoader(ds, 64, flip=True, device="cpu", generator=torch.Generator().manual_seed(0))
    x, y = next(iter(loader))
    original = ds.tensors[0]
    flipped = torch.tensor([torch.equal(x[k], original[k].flip(-1)) for k in range(64)])
    kept = torch.tensor([torch.equal(x[k], original[k]) for k in range(64)])
    assert (flipped | kept).all() and 16 < flipped.sum() < 48


# ----------------------------------------------------------------------------- with fit


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         scattn.make_attention("se", 8, reduction=4),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def cifar_like():
    train = DeviceLoader(FakeCifar(64), 16, shuffle=True, crop_padding=PAD, flip=True, mean=data.CIFAR10_MEAN,
                         std=data.CIFAR10_STD, device="cpu", generator=torch.Generator().manual_seed(0))
    return train, DeviceLoader(FakeCifar(32, seed=1), 16, device="cpu")


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_fit_reseeds_the_loader_and_resumes_to_the_same_weights(tmp_path):
    train, test = cifar_like()
    assert loader_generators(train) == [train.generator]

    torch.manual_seed(0)
    straight = tiny()
    h = fit(straight, train, test, epochs=2, seed=4, quiet=True)
    torch.manual_seed(0)
    again = tiny()
    next(iter(train))  # moves the loader's generator; fit(seed=4) must reseed it
    h_again = fit(again, train, test, epochs=2, seed=4, quiet=True)
    assert [r["train_loss"] for r in h] == [r["train_loss"] for r in h_again]

    def stop(row):
        raise KeyboardInterrupt

    torch.manual_seed(0)
    first = tiny()
    h1 = fit(first, train, test, epochs=2, seed=4, checkpoint_dir=tmp_path, callbacks=[stop], quiet=True)
    assert h1.interrupted and len(h1) == 1
    torch.manual_seed(99)
    resumed = tiny()
    train2, test2 = cifar_like()  # a fresh process: new loaders, a different generator state
    next(iter(train2))
    h2 = fit(resumed, train2, test2, epochs=2, seed=4, checkpoint_dir=tmp_path, quiet=True)
    assert [r["train_loss"] for r in h2] == [r["train_loss"] for r in h]
    assert all(torch.equal(a, b) for a, b in zip(weights(resumed).values(), weights(straight).values(), strict=True))


def test_a_checkpoint_tells_device_augmentation_from_host_augmentation():
    from torchvision import transforms

    from scattn.checkpoint import data_identity

    images = torch.rand(8, 3, 32, 32)
    labels = torch.arange(8)

    class WithTransform(torch.utils.data.TensorDataset):
        transform = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()])

    host = torch.utils.data.DataLoader(WithTransform(images, labels), batch_size=4)
    device = DeviceLoader(torch.utils.data.TensorDataset(images, labels), 4, crop_padding=4, flip=True)
    plain = DeviceLoader(torch.utils.data.TensorDataset(images, labels), 4)
    assert data_identity(host)["augmentation"] != data_identity(device)["augmentation"]
    assert data_identity(device)["augmentation"] == "random crop with padding 4, horizontal flip"
    assert "augmentation" not in data_identity(plain)
