"""The command line (``scattn doctor | train | compare | bench``) and the bench functions behind it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from torch import nn

import scattn
import scattn.compare  # imported before any test patches scattn.train.fit, which it binds
from scattn import bench, data
from scattn.__main__ import _writable, main
from scattn.checkpoint import CHECKPOINT_NAME
from scattn.data import digits
from scattn.train import History

TINY = ["--n-train", "64", "--n-test", "32", "--batch-size", "32", "--epochs", "1", "--quiet",
        "--device", "cpu"]


@pytest.fixture(autouse=True)
def _data_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("SCATTN_DATA", str(tmp_path / "data"))


# ----------------------------------------------------------------------------- usage


def test_help_and_usage_errors(capsys):
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    assert "--checkpoint-dir" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["train", "--epochs", "0"]) == 2
    assert "expected a positive integer" in capsys.readouterr().err
    assert main(["train", "--attention", "cbma"]) == 2
    assert main(["compare", "--label-smoothing", "1.5"]) == 2
    assert main(["fly"]) == 2


def test_doctor(capsys, monkeypatch):
    assert main(["doctor"]) == 0
    assert "torch" in capsys.readouterr().out
    monkeypatch.setenv("SCATTN_PROFILE", "fast")
    assert main(["doctor"]) == 0
    assert "SCATTN_PROFILE" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["train", "--seed", "-1"], "--seed: expected an integer in [0, 2**32 - 1]"),
    (["compare", "--seeds", "0", "4294967296"], "--seeds: expected an integer in [0, 2**32 - 1]"),
    (["train", "--data-seed", "-3"], "--data-seed: expected an integer in [0, 2**32 - 1]"),
    (["train", "--lr", "inf"], "--lr: expected a positive finite number"),
    (["compare", "--budget", "inf"], "--budget: expected a positive finite number"),
    (["compare", "--seeds", "0", "0"], "--seeds lists 0 0: each must appear once"),
    (["compare", "--attentions", "se", "se"], "--attentions lists se se: each must appear once"),
    (["train", "--canvas-size", "16"], "--canvas-size / --distractors: digit_size (18) must fit on the canvas"),
    (["train", "--canvas-size", "30"], "leaves no room for fragments"),
    (["train", "--device", "gpu"], "--device: unknown device 'gpu'; expected cpu, cuda"),
    (["train", "--device", "cuda:7"], "--device: device 'cuda:7' asked for, but"),
])
def test_bad_command_lines_exit_2_with_one_line_naming_the_option(argv, message, capsys, monkeypatch):
    monkeypatch.setattr("scattn.train.fit", lambda *a, **k: pytest.fail("trained despite a usage error"))
    monkeypatch.setattr("scattn.compare.compare", lambda *a, **k: pytest.fail("trained despite a usage error"))
    tiny = [t for t in TINY if t not in ("--device", "cpu")] if "--device" in argv else TINY
    assert main([*argv, *tiny]) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1] and "Traceback" not in err  # one line (after argparse's usage)


def test_a_bad_profile_from_the_environment_is_a_usage_error_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "fast")
    assert main(["train", *TINY]) == 2
    assert "unknown profile 'fast' (from the SCATTN_PROFILE environment variable)" in capsys.readouterr().err


def test_output_paths_are_checked_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("scattn.train.fit", lambda *a, **k: pytest.fail("trained despite a bad path"))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["train", "--json", str(tmp_path), *TINY]) == 2
    assert "is a directory; expected a file path" in capsys.readouterr().err
    assert main(["train", "--checkpoint-dir", str(a_file / "runs"), *TINY]) == 2
    assert "is a file, so nothing can be created under it" in capsys.readouterr().err
    assert main(["train", "--json", str(a_file / "out.json"), *TINY]) == 2
    assert main(["train", "--checkpoint-dir", str(a_file), *TINY]) == 2
    assert "is a file; expected a directory" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no one can create files")
@pytest.mark.parametrize("option, path", [("--json", "/proc/scattn.json"), ("--checkpoint-dir", "/proc/scattn-runs"),
                                          ("--json", "/proc/scattn/runs/out.json")])
def test_an_output_path_that_cannot_be_created_fails_before_training(option, path, capsys, monkeypatch):
    """os.access says yes to root (the course's user in containers, CI and Colab), and /proc takes no
    new files from anyone: only creating a file there finds out."""
    monkeypatch.setattr("scattn.train.fit", lambda *a, **k: pytest.fail("trained despite an unwritable path"))
    monkeypatch.setattr(os, "access", lambda *a, **k: True)  # what root hears, whoever runs the test
    assert main(["train", option, path, *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"scattn train: error: {option} {path}: cannot create files in /proc") and "\n" not in err


def test_the_output_check_leaves_nothing_behind(tmp_path):
    _writable("--json", str(tmp_path / "new" / "run.json"), directory=False)
    _writable("--checkpoint-dir", str(tmp_path), directory=True)
    assert list(tmp_path.iterdir()) == []


def test_resuming_with_other_arguments_is_refused_then_no_resume_starts_afresh(tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    assert main(["train", "--checkpoint-dir", str(ckpt), "--seed", "0", *TINY]) == 0
    capsys.readouterr()
    for argv, field in [(["--seed", "1"], "seed: 0 in the checkpoint, 1 now"),
                        (["--data-seed", "1"], "data.params.seed: 0 in the checkpoint, 1 now"),
                        (["--attention", "se"], "model.attention"),
                        (["--lr", "0.05"], "lr: 0.01 in the checkpoint, 0.05 now"),
                        (["--distractors", "3"], "data.params.n_distractors: 6 in the checkpoint, 3 now")]:
        assert main(["train", "--checkpoint-dir", str(ckpt), *argv, *TINY]) == 2, argv
        err = capsys.readouterr().err
        assert field in err and "--no-resume" in err, (argv, err)
    assert main(["train", "--checkpoint-dir", str(ckpt), "--seed", "1", "--no-resume", *TINY]) == 0
    assert main(["compare", "--checkpoint-dir", str(ckpt), "--attentions", "none", "--seeds", "0", *TINY]) == 0
    assert main(["compare", "--checkpoint-dir", str(ckpt), "--attentions", "none", "--seeds", "0", "--lr", "0.05",
                 *TINY]) == 2
    assert main(["compare", "--checkpoint-dir", str(ckpt), "--attentions", "none", "--seeds", "0", "--lr", "0.05",
                 "--no-resume", *TINY]) == 0


def test_a_last_batch_of_one_trains_with_bam(capsys):
    assert main(["train", "--attention", "bam", "--n-train", "17", "--batch-size", "16", "--n-test", "16",
                 "--epochs", "1", "--quiet", "--device", "cpu"]) == 0


# ----------------------------------------------------------------------------- train / compare


def test_train_prints_history_and_writes_json(tmp_path, capsys):
    out = tmp_path / "run.json"
    ckpt = tmp_path / "ckpt"
    assert main(["train", "--attention", "se", "--json", str(out), "--checkpoint-dir", str(ckpt), *TINY]) == 0
    text = capsys.readouterr().out
    assert "test_acc" in text and "se: test accuracy" in text
    saved = json.loads(out.read_text())
    assert saved["attention"] == "se" and len(saved["rows"]) == 1
    assert (ckpt / CHECKPOINT_NAME).exists()


def test_an_unreadable_checkpoint_is_named_in_the_clis_terms(tmp_path, capsys):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"garbage")
    assert main(["train", "--checkpoint-dir", str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "scattn train: error: cannot read checkpoint" in err and "Traceback" not in err
    assert "--no-resume" in err and "resume=False" not in err
    assert main(["train", "--checkpoint-dir", str(tmp_path), "--no-resume", *TINY]) == 0


def test_a_diverging_run_exits_1_keeps_its_last_good_checkpoint_and_writes_no_json(tmp_path, capsys):
    ckpt, out = tmp_path / "ckpt", tmp_path / "run.json"
    assert main(["train", "--checkpoint-dir", str(ckpt), *TINY]) == 0
    good = (ckpt / CHECKPOINT_NAME).read_bytes()
    assert main(["train", "--checkpoint-dir", str(ckpt), "--no-resume", "--lr", "1e30", "--json", str(out),
                 *TINY]) == 1
    err = capsys.readouterr().err
    assert "training loss is" in err and "Traceback" not in err
    assert (ckpt / CHECKPOINT_NAME).read_bytes() == good and not out.exists()


def test_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        return History([], interrupted=True)

    monkeypatch.setattr("scattn.train.fit", interrupted)
    assert main(["train", *TINY]) == 130

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("scattn.compare.compare", ctrl_c)
    assert main(["compare", *TINY]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_compare_prints_both_tables(tmp_path, capsys):
    out = tmp_path / "cmp.json"
    assert main(["compare", "--attentions", "none", "cbam", "--seeds", "0", "1", "--markdown",
                 "--json", str(out), *TINY]) == 0
    text = capsys.readouterr().out
    assert "| none |" in text and "| cbam |" in text and "equal time" not in text.split("| cbam |")[0]
    assert "test acc % at" in text
    saved = json.loads(out.read_text())
    assert [r["attention"] for r in saved["rows"]] == ["none", "cbam"]
    assert len(saved["histories"]["cbam"]) == 2 and saved["budget_seconds"] > 0


def test_compare_on_a_bigger_canvas_with_more_clutter(capsys, monkeypatch):
    seen = {}
    real = data.cluttered_digits

    def spy(split, n=None, **kwargs):
        seen[split] = kwargs
        return real(split, n, **kwargs)

    monkeypatch.setattr(digits, "cluttered_digits", spy)  # what cluttered_digits_loaders calls
    assert main(["compare", "--attentions", "none", "--seeds", "0", "--canvas-size", "48",
                 "--distractors", "9", *TINY]) == 0
    assert seen["train"]["canvas_size"] == seen["test"]["canvas_size"] == 48
    assert seen["train"]["n_distractors"] == 9
    assert main(["compare", "--distractors", "-1", *TINY]) == 2
    assert "expected an integer >= 0, got -1" in capsys.readouterr().err


def test_train_and_compare_on_colour_cue_digits(tmp_path, capsys):
    out = tmp_path / "cue.json"
    assert main(["train", "--data", "colour-cue", "--attention", "se-add", "--json", str(out), *TINY]) == 0
    assert "se-add: test accuracy" in capsys.readouterr().out
    assert json.loads(out.read_text())["attention"] == "se-add"
    assert main(["compare", "--data", "colour-cue", "--attentions", "none", "se", "--seeds", "0",
                 "--markdown", *TINY]) == 0
    text = capsys.readouterr().out
    assert "| none |" in text and "| se |" in text
    files = list((tmp_path / "data" / "colour_cue_digits").glob("*.npz"))
    assert len(files) == 2  # train and test canvases, RGB, cached where SCATTN_DATA points
    from scattn.tasks import get_task

    model = get_task("colour-cue").model("se")
    assert model.stem[0].in_channels == 3 and len(model.stages) == 2


def test_a_task_brings_its_own_sizes_and_the_command_line_overrides_them(capsys, monkeypatch):
    seen = {}

    def record(variants, seeds, *, make_model, data, epochs, **kwargs):
        seen.update(variants=variants, seeds=seeds, epochs=epochs, model=make_model(variants[0]))
        raise KeyboardInterrupt  # stop before any data is made

    monkeypatch.setattr("scattn.compare.compare", record)
    assert main(["compare", "--data", "colour-cue", "--profile", "cpu", "--attentions", "se", "--reduction", "8",
                 "--seeds", "11", "12", "--device", "cpu"]) == 130
    out = capsys.readouterr().out
    assert "task colour-cue: 6,000 train / 1,000 test, 16 epochs, batch 128; profile cpu" in out
    assert seen["epochs"] == 16 and seen["seeds"] == (11, 12)
    assert seen["model"].stages[0][0].attention.fc1.out_features == 16 // 8  # --reduction reached SE
    assert main(["compare", "--data", "colour-cue", "--profile", "cpu", "--epochs", "3", "--attentions", "deeper",
                 "--device", "cpu"]) == 130
    assert "16 epochs" not in capsys.readouterr().out and seen["epochs"] == 3
    assert len(seen["model"].stages) == 3  # the depth control: a third stage
    assert main(["compare", "--data", "digits", "--profile", "cpu", "--device", "cpu"]) == 130
    assert "task digits: 6,000 train / 1,000 test, 6 epochs" in capsys.readouterr().out  # the profile's


@pytest.mark.parametrize("argv,message", [
    (["compare", "--data", "digits", "--attentions", "deeper"], "--data digits has no variant 'deeper'"),
    (["train", "--data", "spotlight", "--attention", "conv9"], "--data spotlight has no variant 'conv9'"),
    (["train", "--data", "colour-cue", "--distractors", "3"], "--distractors: not an option of --data colour-cue"),
    (["train", "--attention", "spatial", "--kernel-size", "4"], "--reduction / --kernel-size: kernel_size must be odd"),
    (["train", "--data", "cifar10", "--n-train", "10"], "cifar10 is a fixed dataset"),
    (["bench", "--data", "colour-cue", "--attentions", "none", "deepest"], "has no variant 'deepest'"),
])
def test_task_variants_and_options_are_checked_before_training(argv, message, capsys, monkeypatch):
    monkeypatch.setattr("scattn.train.fit", lambda *a, **k: pytest.fail("trained despite a usage error"))
    extra = ["--device", "cpu"] if argv[0] == "bench" else ["--epochs", "1", "--device", "cpu"]
    assert main([*argv, *extra]) == 2
    assert message in capsys.readouterr().err


def test_json_results_carry_their_provenance(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["train", "--attention", "gc", "--reduction", "2", "--json", str(out), *TINY]) == 0
    saved = json.loads(out.read_text())
    p = saved["provenance"]
    assert p["command"].startswith("scattn train --attention gc --reduction 2")
    assert p["scattn"] == scattn.__version__ and p["torch"] == torch.__version__ and p["threads"] >= 1
    assert {"commit", "date", "machine", "python"} <= set(p) and saved["reduction"] == 2


# ----------------------------------------------------------------------------- bench


def test_bench_command(capsys):
    assert main(["bench", "--attentions", "none", "cbam", "--batch-size", "2", "--repeats", "1",
                 "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("batch (2, 1, 40, 40)")
    assert [line.split()[0] for line in lines[3:]] == ["none", "cbam"]


def test_count_params_and_flops_by_hand():
    conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)
    assert bench.count_params(conv) == 36
    assert bench.count_flops(conv, (1, 1, 8, 8)) == 2 * 4 * 9 * 64  # 2 FLOPs per multiply-add
    lin = nn.Linear(10, 5)
    lin.weight.requires_grad_(False)
    assert bench.count_params(lin) == 55 and bench.count_params(lin, trainable_only=True) == 5
    head = nn.Sequential(nn.Flatten(), nn.Linear(10, 5))
    assert bench.count_flops(head, (3, 10, 1, 1)) == 3 * 2 * 10 * 5
    with pytest.raises(ValueError, match=r"input_shape must be \(N, C, H, W\)"):
        bench.count_flops(conv, (8, 8))


def test_flops_ignore_the_gates_elementwise_work():
    # SE adds two small matmuls per image and nothing for pooling, sigmoid or the product.
    se = scattn.SqueezeExcitation(16, reduction=4)
    assert bench.count_flops(se, (1, 16, 8, 8)) == 2 * 16 * 4 * 2
    spatial = scattn.SpatialAttention(7)
    assert bench.count_flops(spatial, (1, 16, 8, 8)) == 2 * 2 * 49 * 64  # the 7×7 conv only


def test_latency_memory_and_modes():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4)).train()
    t = bench.latency(model, (2, 1, 8, 8), "cpu", repeats=3, warmup=1)
    assert 0 < t < 5
    assert model.training  # restored after the eval-mode timing
    assert bench.latency(model, (2, 1, 8, 8), "cpu", repeats=2, warmup=0, backward=True) > 0
    assert bench.peak_memory(model, (2, 1, 8, 8), "cpu") is None
    with pytest.raises(ValueError, match="repeats"):
        bench.latency(model, (2, 1, 8, 8), "cpu", repeats=0)


def test_timing_median_quartiles_and_separation():
    t = bench.Timing((0.005, 0.001, 0.003, 0.002, 0.004))
    assert (t.n, t.median, t.min, t.max) == (5, 0.003, 0.001, 0.005)
    assert (t.q1, t.q3) == pytest.approx((0.002, 0.004))
    slow = bench.Timing((0.003, 0.0045, 0.006))  # IQR 3.75–5.25 ms: overlaps 2–4 ms
    assert t.below(slow) is False and slow.above(t) is False  # the spreads overlap: cannot tell
    slower = bench.Timing((0.008, 0.009, 0.010))
    assert t.below(slower) and slower.above(t) and not slower.below(t)
    assert "3.00 ms (IQR 2.00–4.00, 5 runs)" == str(t)


def test_interleaved_times_every_function_in_every_round_in_shuffled_orders():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abcd"}
    timings = bench.interleaved(fns, rounds=6, warmup=2, seed=1)
    assert list(timings) == list("abcd") and all(t.n == 6 for t in timings.values())
    rounds = [calls[i:i + 4] for i in range(0, len(calls), 4)]
    assert len(rounds) == 8 and all(sorted(r) == list("abcd") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # not the same order every round
    with pytest.raises(ValueError, match="rounds"):
        bench.interleaved(fns, rounds=0)
    with pytest.raises(ValueError, match="at least one function"):
        bench.interleaved({})


def test_compare_latency_times_each_model_on_one_input():
    models = {"small": nn.Conv2d(1, 2, 3), "large": nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1)] * 3)}
    timings = bench.compare_latency(models, (2, 1, 8, 8), "cpu", rounds=3, warmup=1)
    assert set(timings) == {"small", "large"} and all(t.n == 3 and t.min > 0 for t in timings.values())
    step = bench.compare_latency(models, (2, 1, 8, 8), "cpu", rounds=2, warmup=0, backward=True)
    assert all(t.n == 2 for t in step.values())


def test_activation_memory_sees_what_attention_saves():
    x_shape = (2, 8, 10, 10)
    plain = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1))
    with_cbam = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), scattn.CBAM(8, reduction=4))
    base = bench.activation_memory(plain, x_shape)
    assert base >= 2 * 8 * 10 * 10 * 4  # at least the conv's input, float32
    assert bench.activation_memory(with_cbam, x_shape) > base


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_peak_memory_on_cuda():
    model = nn.Conv2d(3, 8, 3)
    assert bench.peak_memory(model, (4, 3, 32, 32), "cuda") > 0
