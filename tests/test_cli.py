"""The command line (``scattn doctor | train | compare | bench``) and the bench functions behind it."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import scattn
from scattn import bench, data
from scattn.__main__ import main
from scattn.data import digits
from scattn.train import CHECKPOINT_NAME, History

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


def test_doctor(capsys):
    assert main(["doctor"]) == 0
    assert "torch" in capsys.readouterr().out


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


def test_runtime_failure_exits_1_with_a_message(tmp_path, capsys):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"garbage")
    assert main(["train", "--checkpoint-dir", str(tmp_path), *TINY]) == 1
    err = capsys.readouterr().err
    assert "scattn train: error: cannot read checkpoint" in err and "Traceback" not in err


def test_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        return History([], interrupted=True)

    monkeypatch.setattr("scattn.train.fit", interrupted)
    assert main(["train", *TINY]) == 130

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("scattn.train.compare", ctrl_c)
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
    from scattn.__main__ import _model_factory, build_parser

    model = _model_factory(build_parser().parse_args(["train", "--data", "colour-cue"]))("se")
    assert model.stem[0].in_channels == 3 and len(model.stages) == 2


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
