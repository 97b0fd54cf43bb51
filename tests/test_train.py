"""fit / evaluate / compare: learning, reproducibility, checkpoints, resume, interruption."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import pytest
import torch
from helpers import history
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import scattn
from scattn.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from scattn.compare import ComparisonTable, compare
from scattn.runtime import precision
from scattn.train import History, Recipe, evaluate, fit


def blobs(n: int = 96, size: int = 8, seed: int = 0) -> TensorDataset:
    """Noise with (class 1) or without (class 0) a bright square somewhere: easy to learn."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.2 * torch.rand(n, 1, size, size, generator=g)
    row, col = torch.randint(0, size - 2, (2, n), generator=g)
    for i in torch.nonzero(y).flatten().tolist():
        x[i, 0, row[i]:row[i] + 3, col[i]:col[i] + 3] = 1.0
    return TensorDataset(x, y)


def tiny(attention: str = "cbam") -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        scattn.make_attention(attention, 8, **({"reduction": 4} if attention in ("se", "cbam") else {})),
        nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )


def loaders(generator: bool = True, batch_size: int = 16):
    train, test = blobs(96, seed=0), blobs(48, seed=1)
    g = torch.Generator().manual_seed(0) if generator else None
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=g),
            DataLoader(test, batch_size=48))


def metrics(history: History) -> list[dict]:
    """A history without its timings, which differ from run to run."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "elapsed")} for r in history]


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


class Interrupting:
    """A loader that raises KeyboardInterrupt at batch ``at`` of its epoch ``epoch`` (1-based)."""

    def __init__(self, loader, epoch: int, at: int):
        self.loader, self.epoch, self.at, self.calls = loader, epoch, at, 0
        self.generator, self.sampler = loader.generator, loader.sampler
        self.dataset, self.batch_size = loader.dataset, loader.batch_size  # what a checkpoint records

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.calls += 1
        for i, batch in enumerate(self.loader):
            if self.calls == self.epoch and i == self.at:
                raise KeyboardInterrupt
            yield batch


# ----------------------------------------------------------------------------- fit


def test_fit_learns_and_records_history():
    train, test = loaders()
    torch.manual_seed(0)
    model = tiny()
    h = fit(model, train, test, epochs=4, recipe=Recipe(lr=0.1, optimizer="sgd"), seed=0, quiet=True)
    assert [r["epoch"] for r in h] == [1, 2, 3, 4]
    assert set(History.COLUMNS) <= set(h.final)
    assert h.final["test_acc"] >= 0.9
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert h.column("elapsed") == pytest.approx([sum(h.column("seconds")[:i + 1]) for i in range(4)])
    # one-cycle: the last lr is far below the peak
    assert h.final["lr"] < 0.01 * 0.1
    assert not h.interrupted


def test_same_seed_same_history_and_weights():
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = tiny()
        train, test = loaders(generator=False)  # shuffle drawn from the global RNG, seeded by fit
        runs.append((model, fit(model, train, test, epochs=2, seed=7, quiet=True)))
    (m1, h1), (m2, h2) = runs
    assert metrics(h1) == metrics(h2)
    assert same_weights(m1, m2)


def test_same_seed_same_batches_when_a_loader_is_reused():
    # compare() trains every variant on the same loader: its generator must not carry over
    train, test = loaders(generator=True)
    next(iter(train))  # a learner peeking at a batch advances the loader's generator
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = tiny()
        runs.append((model, fit(model, train, test, epochs=2, seed=7, quiet=True)))
    (m1, h1), (m2, h2) = runs
    assert metrics(h1) == metrics(h2)
    assert same_weights(m1, m2)


def test_different_seed_changes_the_run():
    hs = []
    for seed in (0, 1):
        torch.manual_seed(0)
        train, test = loaders(generator=False)
        hs.append(fit(tiny(), train, test, epochs=1, seed=seed, quiet=True))
    assert metrics(hs[0]) != metrics(hs[1])


@pytest.mark.parametrize("generator", [True, False], ids=["loader-generator", "global-rng"])
def test_resume_after_an_epoch_gives_identical_weights(tmp_path, generator):
    torch.manual_seed(0)
    straight = tiny()
    train, test = loaders(generator)
    h_straight = fit(straight, train, test, epochs=2, seed=0, checkpoint_dir=tmp_path / "a", quiet=True)

    def stop(row):
        raise KeyboardInterrupt

    torch.manual_seed(0)
    first = tiny()
    train, test = loaders(generator)
    h1 = fit(first, train, test, epochs=2, seed=0, checkpoint_dir=tmp_path / "b", callbacks=[stop], quiet=True)
    assert h1.interrupted and len(h1) == 1

    # A fresh process: a different model init and a moved global RNG must not matter.
    torch.manual_seed(123)
    resumed = tiny()
    train, test = loaders(generator)
    h2 = fit(resumed, train, test, epochs=2, seed=0, checkpoint_dir=tmp_path / "b", quiet=True)
    assert not h2.interrupted
    assert same_weights(straight, resumed)
    assert metrics(h2) == metrics(h_straight)


def test_interrupt_mid_epoch_keeps_last_checkpoint_and_history(tmp_path):
    torch.manual_seed(0)
    straight = tiny()
    train, test = loaders()
    fit(straight, train, test, epochs=3, seed=0, quiet=True)

    torch.manual_seed(0)
    model = tiny()
    train, test = loaders()
    h = fit(model, Interrupting(train, epoch=2, at=2), test, epochs=3, seed=0,
            checkpoint_dir=tmp_path, quiet=True)
    assert h.interrupted
    assert [r["epoch"] for r in h] == [1]
    state = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_NAME]  # no temporary file left

    # Resuming redoes the interrupted epoch from the checkpoint: same end as the straight run.
    torch.manual_seed(5)
    resumed = tiny()
    train, test = loaders()
    h = fit(resumed, train, test, epochs=3, seed=0, checkpoint_dir=tmp_path, quiet=True)
    assert [r["epoch"] for r in h] == [1, 2, 3]
    assert same_weights(straight, resumed)


def test_checkpoint_loads_with_weights_only(tmp_path):
    train, test = loaders()
    model = tiny()
    fit(model, train, test, epochs=1, seed=0, checkpoint_dir=tmp_path, quiet=True)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert {"state", "rng", "history", "epoch", "identity"} <= set(state)
    assert set(state["state"]) == {"model", "optimizer", "scheduler", "scaler"}
    assert state["epoch"] == 1
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state["state"]["model"].items())
    assert isinstance(state["rng"]["torch"], torch.Tensor)


def test_finished_run_returns_without_training(tmp_path):
    train, test = loaders()
    model = tiny()
    h1 = fit(model, train, test, epochs=1, seed=0, checkpoint_dir=tmp_path, quiet=True)
    counting = Interrupting(train, epoch=1, at=0)  # would raise if iterated
    h2 = fit(tiny(), counting, test, epochs=1, seed=0, checkpoint_dir=tmp_path, quiet=True)
    assert counting.calls == 0 and not h2.interrupted
    assert metrics(h2) == metrics(h1)


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 this is not a checkpoint")
    train, test = loaders()
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*resume=False"):
        fit(tiny(), train, test, epochs=1, checkpoint_dir=tmp_path, quiet=True)
    # resume=False starts over and replaces it
    h = fit(tiny(), train, test, epochs=1, checkpoint_dir=tmp_path, resume=False, quiet=True)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["epoch"] == len(h) == 1


def test_foreign_file_and_other_run_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / CHECKPOINT_NAME)
    train, test = loaders()
    with pytest.raises(CheckpointError, match="not a scattn training checkpoint"):
        fit(tiny(), train, test, epochs=1, checkpoint_dir=tmp_path, quiet=True)
    fit(tiny(), train, test, epochs=1, checkpoint_dir=tmp_path, resume=False, quiet=True)
    with pytest.raises(CheckpointError, match="different run: epochs: 1 in the checkpoint, 3 now"):
        fit(tiny(), train, test, epochs=3, checkpoint_dir=tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match="different run: model.structure"):
        fit(tiny("se"), train, test, epochs=1, checkpoint_dir=tmp_path, quiet=True)


@pytest.mark.parametrize("change,field", [
    ({"seed": 1}, "seed: 0 in the checkpoint, 1 now"),
    ({"lr": 0.05}, "lr: 0.01 in the checkpoint, 0.05 now"),
    ({"label_smoothing": 0.1}, "label_smoothing: 0.0 in the checkpoint, 0.1 now"),
    ({"batch_size": 32}, "data.batch_size: 16 in the checkpoint, 32 now"),
])
def test_resuming_another_run_names_what_differs(tmp_path, change, field):
    """The same directory with another seed, lr, ... must not return the first run's history."""
    train, test = loaders()
    first = fit(tiny(), train, test, epochs=1, seed=0, checkpoint_dir=tmp_path, quiet=True)
    batch_size = change.pop("batch_size", 16)
    train, test = loaders(batch_size=batch_size)
    seed = change.pop("seed", 0)
    kwargs = {"epochs": 1, "seed": seed, "checkpoint_dir": tmp_path, "quiet": True, "recipe": Recipe(**change)}
    with pytest.raises(CheckpointError, match=re.escape(field)):
        fit(tiny(), train, test, **kwargs)
    fresh = fit(tiny(), train, test, resume=False, **kwargs)  # starts afresh, overwrites
    assert len(fresh) == 1 and metrics(fresh) != metrics(first)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["history"] == fresh.rows


def test_a_checkpoint_of_other_data_is_refused(tmp_path):
    from scattn.data import cluttered_digits_loaders
    from scattn.models import SmallCNN

    small = dict(canvas_size=32, digit_size=14, n_distractors=2, distractor_size=6, root=tmp_path / "data")
    train, _ = cluttered_digits_loaders(32, 16, 16, seed=0, **small)
    torch.manual_seed(0)
    fit(SmallCNN(widths=(4, 8)), train, epochs=1, seed=0, checkpoint_dir=tmp_path / "run", quiet=True)
    train, _ = cluttered_digits_loaders(32, 16, 16, seed=0, **{**small, "n_distractors": 3})
    with pytest.raises(CheckpointError, match=re.escape("data.params.n_distractors: 2 in the checkpoint, 3 now")):
        fit(SmallCNN(widths=(4, 8)), train, epochs=1, seed=0, checkpoint_dir=tmp_path / "run", quiet=True)


@pytest.mark.parametrize("schedule,optimizer", [("cosine", "adamw"), ("constant", "sgd")])
def test_other_schedules_and_optimizers(schedule, optimizer):
    train, test = loaders()
    h = fit(tiny(), train, test, epochs=2, seed=0, quiet=True,
            recipe=Recipe(schedule=schedule, optimizer=optimizer, label_smoothing=0.1))
    assert len(h) == 2 and all(math.isfinite(r["train_loss"]) for r in h)
    if schedule == "constant":
        assert h[0]["lr"] == h[1]["lr"] == 0.2  # the SGD default
    else:
        assert h[1]["lr"] < h[0]["lr"]


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 8])
def test_one_cycle_works_for_short_runs(steps):
    # 96 examples in batches of 96 // steps: the smoke profile's 4 steps once divided by zero
    train = DataLoader(blobs(96), batch_size=-(-96 // steps), shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    h = fit(tiny(), train, epochs=1, seed=0, quiet=True)
    assert len(h) == 1 and math.isfinite(h[0]["train_loss"])


def test_amp_and_channels_last_are_skipped_on_cpu():
    train, test = loaders()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = fit(tiny(), train, test, epochs=1, device=precision("cpu", amp=True, channels_last=True), quiet=True)
    assert len(h) == 1
    assert any("amp=True needs a CUDA device" in str(w.message) for w in caught)


@pytest.mark.parametrize("kwargs,match", [
    ({"optimizer": "adam"}, "unknown optimizer 'adam'"),
    ({"schedule": "step"}, "unknown schedule"),
    ({"label_smoothing": 1.0}, r"label_smoothing must be a finite number in \[0, 1\), got 1.0"),
    ({"lr": -1.0}, "lr must be a finite number > 0, got -1.0"),
    ({"lr": math.inf}, "lr must be a finite number > 0, got inf"),
    ({"grad_clip": 0.0}, "grad_clip must be a finite number > 0"),
    ({"warmup": 1.0}, r"warmup \(a share of the steps\) must be a finite number in \(0, 1\)"),
    ({"momentum": -0.1}, "momentum must be a finite number in"),
    ({"weight_decay": float("nan")}, "weight_decay must be a finite number >= 0"),
])
def test_a_bad_recipe_names_what_was_expected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**kwargs)


def test_the_recipe_is_one_checked_value_with_the_optimisers_default_lr():
    assert Recipe().lr == 0.01 and Recipe(optimizer="sgd").lr == 0.2 and Recipe(lr=3).lr == 3.0
    assert Recipe(optimizer="sgd").settings() == {
        "optimizer": "sgd", "lr": 0.2, "weight_decay": 5e-4, "momentum": 0.9, "schedule": "onecycle",
        "warmup": 0.25, "label_smoothing": 0.0, "grad_clip": None}
    with pytest.raises(dataclasses.FrozenInstanceError):  # frozen: decided once
        Recipe().lr = 1.0


@pytest.mark.parametrize("kwargs,error,match", [
    ({"epochs": 0}, ValueError, "epochs must be a positive integer"),
    ({"recipe": 0.05}, TypeError, r"recipe must be a scattn.train.Recipe, e.g. Recipe\(lr=0.01\), got float"),
])
def test_bad_arguments_name_what_was_expected(kwargs, error, match):
    train, test = loaders()
    with pytest.raises(error, match=match):
        fit(tiny(), train, test, **{"epochs": 1, "quiet": True, **kwargs})


def test_evaluate_matches_a_direct_computation_and_restores_mode():
    torch.manual_seed(0)
    model = tiny()
    model.train()
    _, test = loaders()
    scores = evaluate(model, test)
    model.eval()
    x, y = test.dataset.tensors
    with torch.no_grad():
        logits = model(x)
    assert scores["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert scores["accuracy"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    model.train()
    evaluate(model, test)
    assert model.training and all(m.training for m in model.modules())


def test_history_renders_as_a_table():
    h = History([
        {"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 0.9, "test_acc": 0.6,
         "seconds": 10.0, "elapsed": 10.0, "lr": 0.1},
        {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.4, "test_acc": 0.85,
         "seconds": 10.0, "elapsed": 20.0, "lr": 0.01},
    ])
    text = str(h)
    assert "test_acc" in text.splitlines()[0] and "85.00%" in text
    assert h._repr_html_().startswith("<table>") and "<td>60.00%</td>" in h._repr_html_()
    assert h.column("test_acc") == [0.6, 0.85]
    with pytest.raises(ValueError, match="unknown column"):
        h.column("accuracy")


# ----------------------------------------------------------------------------- compare


def test_compare_tabulates_variants_over_seeds(tmp_path):
    train, test = loaders()
    table = compare(["none", "se"], seeds=[0, 1], make_model=tiny, data=(train, test), epochs=1,
                    checkpoint_dir=tmp_path, quiet=True)
    assert isinstance(table, ComparisonTable)
    assert [r["attention"] for r in table.rows] == ["none", "se"]
    none, se = table.rows
    assert se["params"] > none["params"] and none["flops"] > 0
    assert len(none["accuracies"]) == 2 and all(0 <= a <= 1 for a in none["accuracies"])
    assert none["accuracy_mean"] == pytest.approx(sum(none["accuracies"]) / 2)
    assert none["seconds_per_epoch"] > 0
    assert [len(table.histories[a]) for a in ("none", "se")] == [2, 2]
    text, html = str(table), table._repr_html_()
    assert "none" in text and "se" in text and "±" in text and html.startswith("<table>")
    assert (tmp_path / "se-seed1" / CHECKPOINT_NAME).exists()
    at = table.at_time(1e9)
    assert [r["runs"] for r in at.rows] == ["2/2", "2/2"]
    assert table.at_time(0.0).rows[0]["accuracy"] is None


def test_equal_time_uses_each_variants_median_epoch_and_ignores_one_slow_epoch():
    fast = [history([0.5, 0.7, 0.9], [2.0, 2.0, 2.0]), history([0.6, 0.8, 0.95], [9.0, 2.0, 2.0])]  # one slow spell
    slow = [history([0.55, 0.75, 0.97], [3.0, 3.0, 3.0]), history([0.5, 0.8, 0.93], [3.0, 3.0, 3.0])]
    rows = [{"attention": name, "accuracy_mean": 0.0, "accuracy_std": 0.0, "accuracies": [0.0, 0.0],
             "params": 1, "flops": 1, "seconds_per_epoch": median, "epochs": 3}
            for name, median in (("none", 2.0), ("cbam", 3.0))]
    table = ComparisonTable(rows, {"none": fast, "cbam": slow})
    assert table.budget == 6.0  # none's 3 epochs at 2 s, despite its 9-second epoch
    assert table.epochs_within(6.0) == {"none": 3, "cbam": 2}
    assert table.epochs_within(2.5) == {"none": 1, "cbam": 0}
    none, cbam = table.at_time().rows
    assert none["accuracy"][0] == pytest.approx((0.9 + 0.95) / 2) and none["runs"] == "2/2"
    assert cbam["accuracy"][0] == pytest.approx((0.75 + 0.8) / 2) and cbam["epochs_done"] == 2
    assert table.at_time(2.5).rows[1]["accuracy"] is None
    assert "6.0 s" in str(table.at_time())


def test_compare_same_seed_same_start_for_every_variant():
    train, test = loaders()
    starts = []

    def make(name):
        model = tiny(name)
        starts.append(model[0].weight.detach().clone())  # the backbone's first conv
        return model

    compare(["none", "cbam"], seeds=[4], make_model=make, data=(train, test), epochs=1, quiet=True)
    assert torch.equal(starts[0], starts[1])


def test_an_interrupt_in_the_first_epoch_says_nothing_was_saved(tmp_path, capsys):
    train, test = loaders()
    h = fit(tiny(), Interrupting(train, epoch=1, at=1), test, epochs=2, seed=0, checkpoint_dir=tmp_path)
    out = capsys.readouterr().out
    assert h.interrupted and len(h) == 0
    assert "nothing was saved" in out and "keeps epoch" not in out
    assert not (tmp_path / CHECKPOINT_NAME).exists()


def test_a_non_finite_loss_stops_at_once_and_keeps_the_last_good_checkpoint(tmp_path):
    train, test = loaders()
    fit(tiny(), train, test, epochs=1, seed=0, checkpoint_dir=tmp_path / "ok", quiet=True)
    poisoned = TensorDataset(*(t.clone() for t in train.dataset.tensors))
    poisoned.tensors[0][5, 0, 0, 0] = float("nan")
    bad = DataLoader(poisoned, batch_size=16, shuffle=False)
    with pytest.raises(FloatingPointError, match="training loss is nan at step 1 of epoch 1"):
        fit(tiny(), bad, epochs=2, seed=0, checkpoint_dir=tmp_path / "bad", quiet=True)
    assert not (tmp_path / "bad" / CHECKPOINT_NAME).exists()
    with pytest.raises(FloatingPointError, match="non-finite outputs"):
        model = tiny()
        with torch.no_grad():
            model[0].weight[0, 0, 0, 0] = float("inf")
        evaluate(model, test)


@pytest.mark.parametrize("name", [n for n in scattn.available_attention()])
def test_a_last_batch_of_one_trains_for_every_mechanism(name):
    """17 examples in batches of 16: the lone last example is skipped, not a BatchNorm error."""
    from scattn.models import SmallCNN

    data = DataLoader(blobs(17), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    h = fit(SmallCNN(name, num_classes=2, widths=(8, 16)), data, epochs=1, seed=0, quiet=True)
    assert len(h) == 1 and math.isfinite(h[0]["train_loss"])


def test_compiled_training_matches_eager_and_checkpoints_the_plain_model(tmp_path):
    train, test = loaders()
    torch.manual_seed(0)
    eager = tiny("se")
    h_eager = fit(eager, train, test, epochs=1, seed=0, quiet=True)
    torch.manual_seed(0)
    compiled = tiny("se")
    h_compiled = fit(compiled, train, test, epochs=1, seed=0, quiet=True, device=precision("cpu", compile=True),
                     checkpoint_dir=tmp_path)
    assert h_compiled[0]["train_loss"] == pytest.approx(h_eager[0]["train_loss"], rel=1e-4)
    assert h_compiled[0]["test_acc"] == pytest.approx(h_eager[0]["test_acc"], abs=1 / 48)
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)["state"]["model"]
    assert set(saved) == set(compiled.state_dict())  # no "_orig_mod." prefix: loads into a plain model
