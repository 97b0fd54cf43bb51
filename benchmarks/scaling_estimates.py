"""What an ImageNet-scale run of the course's attention costs: measured inputs, estimated outputs.

Builds timm's ResNet-50 with each attention in every bottleneck (scattn.timm_adapter),
then measures on this machine what does not depend on it: parameters, forward FLOPs
per 224×224 image (FlopCounterMode, 2 FLOPs per multiply-add) and the bytes autograd
saves for backward per image. From those and a published anchor (NVIDIA's ResNet-50
v1.5 training throughput, see docs/scaling.md) it *estimates* time and memory.

    python benchmarks/scaling_estimates.py          # prints a Markdown table for docs/scaling.md
"""

from __future__ import annotations

import argparse

import timm
import torch

from scattn.bench import activation_memory, count_flops, count_params
from scattn.timm_adapter import TimmAttention

IMAGENET_TRAIN = 1_281_167  # images in ILSVRC-2012's training set
ANCHOR_IMAGES_PER_S = 16_621  # NVIDIA DGX A100, 8 GPUs, AMP, plain ResNet-50 v1.5 (their README's table)
ANCHOR_GPUS = 8


def measure(attention: str, reduction: int) -> dict:
    torch.manual_seed(0)
    model = timm.create_model("resnet50", block_args={"attn_layer": TimmAttention(attention, reduction=reduction)})
    return {
        "attention": attention,
        "params": count_params(model),
        "flops": count_flops(model, (1, 3, 224, 224)),
        # two images: BatchNorm in training mode needs more than one value per channel at 1×1 maps
        "saved": activation_memory(model, (2, 3, 224, 224)) / 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attentions", nargs="+", default=["none", "se", "eca", "cbam"])
    parser.add_argument("--reduction", type=int, default=16, help="SE / CBAM reduction ratio; default: %(default)s")
    parser.add_argument("--epochs", type=int, default=90)
    parser.add_argument("--batch-per-gpu", type=int, default=256)
    args = parser.parse_args()

    rows = [measure(a, args.reduction) for a in args.attentions]
    plain = rows[0]
    print(f"torch {torch.__version__}, timm {timm.__version__}; {args.epochs} epochs of {IMAGENET_TRAIN:,} images, "
          f"{args.batch_per_gpu} images per GPU\n")
    print("| attention | params | GFLOPs / image (fwd) | × plain | saved for backward / image, fp32 | × plain "
          "| est. activations per GPU, AMP | est. hours on 8 A100 (AMP) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        flop_ratio, byte_ratio = r["flops"] / plain["flops"], r["saved"] / plain["saved"]
        # AMP keeps most saved activations in 16 bits: about half the fp32 bytes (an estimate)
        per_gpu = r["saved"] / 2 * args.batch_per_gpu
        # between compute-bound (time × FLOP ratio) and memory-bound (time × saved-bytes ratio)
        base_hours = args.epochs * IMAGENET_TRAIN / ANCHOR_IMAGES_PER_S / 3600
        hours = (base_hours * flop_ratio, base_hours * byte_ratio)
        print(f"| {r['attention']} | {r['params'] / 1e6:.2f}M | {r['flops'] / 1e9:.2f} | {flop_ratio:.3f} "
              f"| {r['saved'] / 2**20:.0f} MiB | {byte_ratio:.2f} | {per_gpu / 2**30:.1f} GiB "
              f"| {hours[0]:.1f}–{hours[1]:.1f} |")


if __name__ == "__main__":
    main()
