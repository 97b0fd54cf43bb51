"""The GPU path on a real CUDA device: mixed precision in both dtypes, channels_last, every
mechanism forward and backward, fit / evaluate, checkpoint resume and the device-resident data.

Marked ``cuda`` and skipped without a GPU (``pytest -m cuda`` runs only these);
benchmarks/gpu_check.sh runs them on a GPU machine.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import scattn
from scattn import data, runtime
from scattn.checkpoint import CHECKPOINT_NAME, load_checkpoint
from scattn.data.device import DeviceLoader
from scattn.models import SmallCNN, resnet20
from scattn.runtime import precision
from scattn.train import evaluate, fit

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CUDA = torch.device("cuda")
SMALL = dict(canvas_size=32, digit_size=14, n_distractors=4, distractor_size=6, cache=False)


def digits(n_train=128, n_test=64, batch_size=32, device=CUDA):
    return data.cluttered_digits_loaders(n_train, n_test, batch_size, seed=0, device=device, **SMALL)


def native_bf16() -> bool:
    return torch.cuda.get_device_capability() >= (8, 0)


DTYPES = [torch.float16,
          pytest.param(torch.bfloat16, marks=pytest.mark.skipif(
              torch.cuda.is_available() and torch.cuda.get_device_capability() < (8, 0),
              reason="bfloat16 is emulated below compute capability 8.0; the course uses float16 there"))]


@pytest.fixture
def float32():
    """True float32 on the GPU (no TF32 in convolutions and matmuls), to compare with the CPU."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_the_policy_follows_this_gpus_compute_capability():
    policy = runtime.precision(CUDA)
    assert policy.amp_dtype == (torch.bfloat16 if native_bf16() else torch.float16)
    assert policy.loss_scaling == (not native_bf16()) and policy.channels_last


@pytest.mark.parametrize("dtype", DTYPES, ids=["float16", "bfloat16"])
def test_autocast_computes_in_the_dtype_and_trains(monkeypatch, dtype):
    monkeypatch.setattr(runtime, "amp_dtype", lambda device: dtype)  # what precision() asks for
    policy = runtime.precision(CUDA)
    assert policy.amp_dtype == dtype and policy.loss_scaling == (dtype == torch.float16)
    model = policy.prepare(SmallCNN("cbam"))
    x, _ = policy.batch((torch.rand(8, 1, 40, 40), torch.zeros(8, dtype=torch.long)))
    with policy.autocast():
        assert model(x).dtype == dtype
    train, test = digits()
    torch.manual_seed(0)
    model = SmallCNN("cbam")
    h = fit(model, train, test, epochs=2, device=CUDA, seed=0, quiet=True)
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in h)
    assert h.final["train_loss"] < 3.0  # no blow-up under reduced precision (chance is ln 10 = 2.3)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32


def test_float16_scales_the_loss_and_bfloat16_does_not(monkeypatch, tmp_path):
    for dtype in (torch.float16, torch.bfloat16):
        if dtype == torch.bfloat16 and not native_bf16():
            continue
        monkeypatch.setattr(runtime, "amp_dtype", lambda device, dtype=dtype: dtype)
        train, test = digits()
        fit(SmallCNN("se"), train, test, epochs=1, device=CUDA, seed=0, quiet=True,
            checkpoint_dir=tmp_path / str(dtype), resume=False)
        scaler = load_checkpoint(tmp_path / str(dtype) / CHECKPOINT_NAME)["state"]["scaler"]
        assert bool(scaler) == (dtype == torch.float16)  # a disabled GradScaler's state is empty


def test_channels_last_gives_the_same_outputs(float32):
    torch.manual_seed(0)
    model = SmallCNN("cbam").to(CUDA).eval()
    x = torch.rand(8, 1, 40, 40, device=CUDA)
    with torch.no_grad():
        plain = model(x)
        model.to(memory_format=torch.channels_last)
        assert model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
        fast = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(fast, plain, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", scattn.available_attention())
def test_every_mechanism_forward_and_backward_matches_the_cpu(name, float32):
    torch.manual_seed(0)
    cpu = scattn.make_attention(name, 32)
    gpu = scattn.make_attention(name, 32)
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(CUDA).to(memory_format=torch.channels_last)
    x = torch.randn(4, 32, 16, 16)
    xc = x.clone().requires_grad_()
    xg = x.to(CUDA).contiguous(memory_format=torch.channels_last).requires_grad_()
    out_c, out_g = cpu(xc), gpu(xg)
    assert out_g.shape == x.shape and out_g.device.type == "cuda"
    torch.testing.assert_close(out_g.cpu(), out_c, atol=1e-4, rtol=1e-4)
    weights = torch.randn(x.shape)
    (out_c * weights).mean().backward()
    (out_g * weights.to(CUDA)).mean().backward()
    torch.testing.assert_close(xg.grad.cpu(), xc.grad, atol=1e-5, rtol=1e-3)
    # Tolerances on the module's gradient scale: a bias before a BatchNorm has a true gradient of
    # 0, so both devices hold rounding noise there, and noise does not agree to a relative 1e-3.
    scale = max([p.grad.abs().max().item() for p in cpu.parameters()], default=0.0)
    for (n, pc), (_, pg) in zip(cpu.named_parameters(), gpu.named_parameters(), strict=True):
        assert (pg.grad.cpu() - pc.grad).abs().max() <= 1e-4 * scale + 1e-6, n
    with torch.autocast("cuda", dtype=torch.float16):  # and under mixed precision: finite
        y = gpu(xg)
    y.float().sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(xg.grad).all()


def test_fit_and_evaluate_on_the_gpu():
    train, test = digits()
    torch.manual_seed(0)
    model = SmallCNN("cbam")
    h = fit(model, train, test, epochs=2, device=CUDA, seed=0, quiet=True)
    assert next(model.parameters()).device.type == "cuda"
    assert [r["epoch"] for r in h] == [1, 2] and 0 <= h.final["test_acc"] <= 1
    scores = evaluate(model, test, device=CUDA)
    assert scores["accuracy"] == pytest.approx(h.final["test_acc"], abs=1 / 64)
    resnet = resnet20("se", num_classes=100)  # the CIFAR-100 network, one step, channels_last and AMP
    x = torch.randn(4, 3, 32, 32)
    h = fit(resnet, [(x, torch.arange(4))], epochs=1, device=CUDA, quiet=True)
    assert resnet.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(torch.tensor(h.final["train_loss"]))


def test_resume_on_the_gpu_continues_the_same_run(tmp_path):
    torch.backends.cudnn.deterministic, benchmark = True, torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    try:
        train, test = digits()
        torch.manual_seed(0)
        straight = SmallCNN("cbam")
        h_straight = fit(straight, train, test, epochs=2, device=precision(CUDA, amp=False), seed=0, quiet=True)

        def stop(row):
            raise KeyboardInterrupt

        torch.manual_seed(0)
        first = SmallCNN("cbam")
        h1 = fit(first, train, test, epochs=2, device=precision(CUDA, amp=False), seed=0, quiet=True,
                 checkpoint_dir=tmp_path, callbacks=[stop])
        assert h1.interrupted and len(h1) == 1
        state = torch.load(tmp_path / CHECKPOINT_NAME, map_location="cpu", weights_only=True)
        assert all(v.device.type == "cpu" for v in state["state"]["model"].values())  # loads without a GPU
        torch.manual_seed(7)
        resumed = SmallCNN("cbam")
        train, test = digits()  # a new process: new loaders
        h2 = fit(resumed, train, test, epochs=2, device=precision(CUDA, amp=False), seed=0, quiet=True,
                 checkpoint_dir=tmp_path)
        assert [r["epoch"] for r in h2] == [1, 2] and h2[0] == h1[0]
        # Same batches, same states: equal up to the GPU's non-deterministic reductions.
        assert h2[1]["train_loss"] == pytest.approx(h_straight[1]["train_loss"], rel=1e-3)
        for (name, a), b in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
            if a.is_floating_point():
                torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3, msg=name)
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, benchmark


def test_the_device_loader_makes_the_cpus_batches_on_the_gpu():
    ds = data.cluttered_digits("train", 100, **SMALL)

    def make(device):
        return DeviceLoader(ds, 32, shuffle=True, crop_padding=4, flip=True, mean=(0.1,), std=(0.3,),
                            device=device, generator=torch.Generator().manual_seed(0))

    gpu, cpu = make(CUDA), make("cpu")
    assert gpu.images.device.type == "cuda"
    for _ in range(2):
        for (xg, yg), (xc, yc) in zip(gpu, cpu, strict=True):
            assert xg.device.type == "cuda" and yg.device.type == "cuda"
            assert torch.equal(yg.cpu(), yc)
            torch.testing.assert_close(xg.cpu(), xc)


def test_the_gpu_profile_loaders_hold_the_data_on_the_gpu():
    from scattn.__main__ import _loaders, build_parser

    cfg = runtime.setup(profile="gpu", device="cuda", n_train=64, n_test=32)
    args = build_parser().parse_args(["train", "--canvas-size", "40"])
    train, test = _loaders(args, cfg)
    assert isinstance(train, DeviceLoader) and isinstance(test, DeviceLoader)
    x, y = next(iter(train))
    assert x.device.type == "cuda" and len(train.dataset) == 64
    h = fit(SmallCNN("se"), train, test, epochs=1, device=cfg.device, seed=0, quiet=True)
    assert h.final["test_acc"] is not None
    smoke = runtime.setup(profile="smoke", device="cuda")
    assert not isinstance(_loaders(args, smoke)[0], DeviceLoader)  # other profiles: DataLoaders


def test_compiled_training_on_the_gpu():
    train, test = digits()
    torch.manual_seed(0)
    model = SmallCNN("se")
    h = fit(model, train, test, epochs=1, device=precision(CUDA, compile=True), seed=0, quiet=True)
    assert torch.isfinite(torch.tensor(h.final["train_loss"]))
    assert isinstance(model, nn.Module) and not hasattr(model, "_orig_mod")
