"""One training epoch per variant on a GPU: SmallCNN and ResNet-20, none/SE/CBAM, float16 and bfloat16.

What the gpu profile's training costs, through ``scattn.train.fit`` as a learner runs it
(mixed precision, channels_last, data held on the GPU by ``scattn.data.DeviceLoader``):

- SmallCNN on the gpu profile's cluttered digits (20,000 canvases, batch 256);
- ResNet-20 (100 classes) on CIFAR-sized images (50,000, batch 256) with the CIFAR
  augmentation made on the device. The images are random: this measures speed, not
  accuracy, and needs no download (the GPU check's machine may have no internet).

bfloat16 runs only where the GPU computes it natively (compute capability 8.0+); below
that the policy uses float16, and the bfloat16 rows say "emulated, skipped". Each run
is one epoch after a short warm-up of the same variant (CUDA context, kernels, allocator).

    python benchmarks/bench_gpu_epochs.py                  # a markdown table on stdout
    python benchmarks/bench_gpu_epochs.py --n-train 512 --cifar-images 512   # quick, also on a CPU
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager, nullcontext
from functools import partial

import torch
from torch.utils.data import TensorDataset

from scattn import runtime
from scattn.data import CIFAR100_MEAN, CIFAR100_STD, DeviceLoader, cluttered_digits_loaders
from scattn.models import SmallCNN, resnet20
from scattn.runtime import PROFILES, get_device, seed_everything
from scattn.train import fit

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


@contextmanager
def forced_amp_dtype(dtype: torch.dtype):
    """Make the precision policy pick ``dtype`` (what it would pick on another GPU)."""
    chosen = runtime.amp_dtype
    runtime.amp_dtype = lambda device: dtype
    try:
        yield
    finally:
        runtime.amp_dtype = chosen


def synthetic_cifar(n: int, batch_size: int, device, seed: int = 0) -> DeviceLoader:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 100, (n,), generator=g)
    return DeviceLoader(TensorDataset(images, labels), batch_size, shuffle=True, crop_padding=4, flip=True,
                        mean=CIFAR100_MEAN, std=CIFAR100_STD, device=device, generator=g)


class FirstBatches:
    def __init__(self, loader, steps: int):
        self.loader, self.steps = loader, min(steps, len(loader))
        self.dataset, self.batch_size = loader.dataset, loader.batch_size

    def __len__(self):
        return self.steps

    def __iter__(self):
        for _, batch in zip(range(self.steps), self.loader, strict=False):
            yield batch


def one_epoch(make_model, loader, device) -> dict:
    seed_everything(0)
    fit(make_model(), FirstBatches(loader, 5), epochs=1, device=device, quiet=True)  # warm-up
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seed_everything(0)
    t0 = time.perf_counter()
    h = fit(make_model(), loader, epochs=1, device=device, seed=0, quiet=True)
    row = {"seconds": h[0]["seconds"], "images_per_s": len(loader.dataset) / h[0]["seconds"],
           "wall": time.perf_counter() - t0, "loss": h[0]["train_loss"]}
    row["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return row


def main(argv=None) -> None:
    gpu = PROFILES["gpu"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attentions", nargs="+", default=["none", "se", "cbam"])
    parser.add_argument("--dtypes", nargs="+", choices=tuple(DTYPES), default=list(DTYPES))
    parser.add_argument("--n-train", type=int, default=gpu.n_train, help="cluttered-digit canvases")
    parser.add_argument("--cifar-images", type=int, default=50_000, help="random CIFAR-sized images")
    parser.add_argument("--batch-size", type=int, default=gpu.batch_size)
    parser.add_argument("--device", help="default: CUDA when present")
    args = parser.parse_args(argv)

    device = get_device(args.device)
    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    capability = torch.cuda.get_device_capability(device) if cuda else None
    digits, _ = cluttered_digits_loaders(args.n_train, 64, args.batch_size, device=device)
    cifar = synthetic_cifar(args.cifar_images, args.batch_size, device)
    models = {"SmallCNN": (lambda a: SmallCNN(a), digits),
              "ResNet-20": (lambda a: resnet20(a, num_classes=100), cifar)}
    print(f"{name}, compute capability {capability}, torch {torch.__version__}; one epoch per variant, "
          f"batch {args.batch_size}, data on the device\n")
    print("| model | images | attention | dtype | s/epoch | images/s | peak MiB | loss |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for model_name, (make, loader) in models.items():
        for dtype_name in (args.dtypes if cuda else ["float32"]):
            for attention in args.attentions:
                cells = f"| {model_name} | {len(loader.dataset):,} | {attention} | {dtype_name} |"
                if cuda and dtype_name == "bfloat16" and capability < (8, 0):
                    print(f"{cells} emulated below compute capability 8.0, skipped | | | |", flush=True)
                    continue
                with forced_amp_dtype(DTYPES[dtype_name]) if cuda else nullcontext():
                    r = one_epoch(partial(make, attention), loader, device)
                peak = "–" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
                print(f"{cells} {r['seconds']:.2f} | {r['images_per_s']:,.0f} | {peak} | {r['loss']:.3f} |",
                      flush=True)


if __name__ == "__main__":
    main()
