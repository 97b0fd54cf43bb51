"""Forward + backward time of each scattn layer against its timm / torchvision peer.

Both sides compute the same math on the same input in one process; runs are
interleaved (ours, theirs, theirs, ours, ...) so drift in machine load hits both,
and we report medians of ``--repeats`` runs and their ratio (ours / theirs).

    python benchmarks/bench_attention.py                   # prints the table
    python benchmarks/bench_attention.py --write docs/performance.md
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time
from pathlib import Path

import torch
import torchvision
from timm.layers.cbam import CbamModule, ChannelAttn, SpatialAttn
from timm.layers.coord_attn import CoordAttn
from timm.layers.eca import EcaModule
from torch import nn

import scattn

SHAPES = [(32, 64, 32, 32), (8, 256, 14, 14)]


def pairs(c: int) -> dict[str, tuple[nn.Module, nn.Module]]:
    """scattn module and its peer, configured to compute the same function."""
    ca = scattn.ChannelAttention(c)
    sa = scattn.SpatialAttention()
    timm_sa = SpatialAttn()
    timm_sa.conv.bn = nn.Identity()  # the paper's spatial gate has no BatchNorm
    cbam = scattn.CBAM(c)
    timm_cbam = CbamModule(c, rd_channels=cbam.channel.mlp[0].out_features)
    timm_cbam.spatial.conv.bn = nn.Identity()
    se = scattn.SqueezeExcitation(c)
    eca = scattn.EfficientChannelAttention(c)
    coord = scattn.CoordinateAttention(c)
    return {
        "ChannelAttention": (ca, ChannelAttn(c, rd_channels=ca.mlp[0].out_features)),
        "SpatialAttention": (sa, timm_sa),
        "CBAM": (cbam, timm_cbam),
        "SqueezeExcitation": (se, torchvision.ops.SqueezeExcitation(c, se.fc1.out_features)),
        "EfficientChannelAttention": (eca, EcaModule(kernel_size=eca.kernel_size)),
        "CoordinateAttention": (coord, CoordAttn(c, rd_channels=coord.conv1.out_channels, bias=True)),
    }


PEERS = {
    "ChannelAttention": "timm ChannelAttn",
    "SpatialAttention": "timm SpatialAttn (BN off)",
    "CBAM": "timm CbamModule (BN off)",
    "SqueezeExcitation": "torchvision SqueezeExcitation",
    "EfficientChannelAttention": "timm EcaModule",
    "CoordinateAttention": "timm CoordAttn",
}


def step_time(module: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> float:
    """Seconds for one forward + backward."""
    x.grad = None
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    module(x).backward(grad)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def compare(ours: nn.Module, theirs: nn.Module, shape, device, repeats: int) -> tuple[float, float]:
    ours, theirs = ours.to(device).train(), theirs.to(device).train()
    x = torch.randn(*shape, device=device, requires_grad=True)
    grad = torch.randn(*shape, device=device)
    for _ in range(3):  # warm-up: allocator, kernels, caches
        step_time(ours, x, grad)
        step_time(theirs, x, grad)
    a, b = [], []
    for i in range(repeats):
        order = [(ours, a), (theirs, b)] if i % 2 == 0 else [(theirs, b), (ours, a)]
        for module, times in order:
            times.append(step_time(module, x, grad))
    return statistics.median(a), statistics.median(b)


def run(devices, repeats: int) -> list[dict]:
    rows = []
    for device in devices:
        for shape in SHAPES:
            for name, (ours, theirs) in pairs(shape[1]).items():
                t_ours, t_peer = compare(ours, theirs, shape, device, repeats)
                rows.append(dict(device=device, shape=shape, module=name, peer=PEERS[name],
                                 ours_ms=1e3 * t_ours, peer_ms=1e3 * t_peer, ratio=t_ours / t_peer))
                r = rows[-1]
                print(f"{device:4} {str(shape):18} {name:26} {r['ours_ms']:8.2f} ms {r['peer_ms']:8.2f} ms "
                      f"x{r['ratio']:.2f}", flush=True)
    return rows


def markdown(rows: list[dict], command: str, repeats: int) -> str:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "| device | input (N, C, H, W) | scattn module | peer | scattn ms | peer ms | ratio |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['device']} | {r['shape']} | {r['module']} | {r['peer']} | {r['ours_ms']:.2f} | "
                     f"{r['peer_ms']:.2f} | {r['ratio']:.2f} |")
    header = (
        f"Measured {datetime.date.today()} with `{command}`: forward + backward, float32, training mode, "
        f"median of {repeats} interleaved runs after 3 warm-ups. Machine: {cpu}, "
        f"{torch.get_num_threads()} torch threads; Python {platform.python_version()}, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}. Ratio = scattn / peer (below 1 is faster)."
    )
    return header + "\n\n" + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per module (median)")
    parser.add_argument("--write", type=Path, help="replace the layer table in this markdown file")
    args = parser.parse_args()
    torch.manual_seed(0)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = run(devices, args.repeats)
    if args.write:
        begin, end = "<!-- bench_attention:begin -->", "<!-- bench_attention:end -->"
        text = args.write.read_text() if args.write.exists() else f"{begin}\n{end}\n"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        command = f"python benchmarks/bench_attention.py --repeats {args.repeats} --write {args.write}"
        args.write.write_text(head + begin + "\n" + markdown(rows, command, args.repeats) + end + tail)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
