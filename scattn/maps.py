"""Look inside a trained model: its attention maps, where they peak, and a saliency baseline.

    maps = capture_attention(model, images)      # {"stages.0.0.attention.spatial.gate": (N, 1, H, W), ...}
    where = spatial_map(maps)                    # (N, H, W), the deepest spatial map
    localisation_score(where, boxes, canvas_size=40)   # fraction of peaks inside the digit's box

Every attention module computes its map(s) through a :class:`scattn.Gate`; a
forward hook on each gate records what the module multiplies by, in one forward
pass that runs exactly as usual.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import Gate
from .runtime import train_mode


def _as_batch(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected images (N, C, H, W) or one image (C, H, W), got {shape}")
    x = x if x.dim() == 4 else x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    p = next(model.parameters(), None)
    return x.to(p.device) if p is not None else x


def capture_attention(model: nn.Module, x: torch.Tensor, *, train: bool = False) -> dict[str, torch.Tensor]:
    """Every Gate's output in one forward pass of ``x``, by qualified module name, on the CPU.

    E.g. ``"stages.1.0.attention.spatial.gate"`` -> (N, 1, H, W). The forward runs
    under ``torch.no_grad`` in eval mode (BatchNorm uses its running statistics
    and does not update them; ``train=True`` to see training-mode maps), then the
    modes are restored. Hooks are removed afterwards, also when the forward raises.
    A gate called k > 1 times in one forward gets keys ``name``, ``name#2`` .. ``name#k``.
    """
    x = _as_batch(model, x)
    maps: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(module, inputs, output):
            key, k = name, 1
            while key in maps:
                k += 1
                key = f"{name}#{k}"
            maps[key] = output.detach().float().cpu()

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules()
               if isinstance(m, Gate)]
    try:
        with torch.no_grad(), train_mode(model, train):
            model(x)
    finally:
        for h in handles:
            h.remove()
    return maps


def _reduce(m: torch.Tensor, name: str = "map") -> torch.Tensor:
    """One map to (N, H, W): the mean over channels of a gate that varies over space."""
    if m.dim() == 3:
        return m
    if m.dim() != 4:
        raise ValueError(f"{name}: expected a (N, C, H, W) or (N, H, W) map, got shape {tuple(m.shape)}")
    if m.shape[2] == 1 and m.shape[3] == 1:
        raise ValueError(
            f"{name} is a channel map {tuple(m.shape)} (one weight per channel): it says what to "
            "look for, not where, so it has no spatial map"
        )
    return m.mean(dim=1)  # (N, C, H, W) -> (N, H, W)


def spatial_maps(maps: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each attention module's spatial map, (N, H, W), by the name of the gates' parent module.

    A module's gates that vary over space are multiplied (broadcast), then averaged
    over channels: CBAM's and scSE's spatial gate (N×1×H×W) as it is; BAM's
    N×C×H×W gate averaged over C; coordinate attention's g^h (N×C×H×1) · g^w
    (N×C×1×W), the factor it multiplies x by, averaged over C. Channel-only gates
    (SE, ECA, CBAM's channel gate) say nothing about where, and are left out.
    """
    groups: dict[str, torch.Tensor] = {}
    for name, m in maps.items():
        if m.dim() == 4 and m.shape[2] == 1 and m.shape[3] == 1:
            continue  # channel map
        base, _, call = name.partition("#")  # "a.b.gate#2": the gate's second call
        parent = base.rpartition(".")[0] + (f"#{call}" if call else "")
        groups[parent] = m if parent not in groups else groups[parent] * m  # (N, C, H, 1) * (N, C, 1, W)
    return {parent: _reduce(m, parent) for parent, m in groups.items()}


def spatial_map(maps, module: str | None = None) -> torch.Tensor:
    """Reduce attention map(s) to one (N, H, W) spatial map, for overlays and scores.

    ``maps``: one map tensor ((N, 1, H, W), (N, C, H, W) or (N, H, W)), or the dict
    from :func:`capture_attention`. For a dict, ``module`` names the attention
    module (a key of :func:`spatial_maps`, or any prefix of it such as
    "stages.2"); by default the deepest one, the last to run in the forward pass.
    """
    if isinstance(maps, torch.Tensor):
        return _reduce(maps)
    if not isinstance(maps, dict):
        raise ValueError(f"expected a map tensor or a dict of maps, got {type(maps).__name__}")
    per_module = spatial_maps(maps)
    if not per_module:
        raise ValueError(
            "none of these maps varies over space (only channel gates such as SE or ECA): "
            f"got {', '.join(maps) or 'no maps'}"
        )
    if module is None:
        return next(reversed(per_module.values()))
    matches = [k for k in per_module if k == module or k.startswith(module + ".")]
    if not matches:
        raise ValueError(f"no spatial map under {module!r}; expected one of {', '.join(per_module)}")
    return per_module[matches[-1]]


def peak_positions(maps: torch.Tensor, canvas_size: int | tuple[int, int]) -> torch.Tensor:
    """(x, y) canvas pixel of each map's maximum after bilinear upsampling: (N, 2) int64."""
    maps = torch.as_tensor(maps).detach().float().cpu()
    if maps.dim() == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if maps.dim() != 3:
        raise ValueError(f"maps must be (N, H, W) (or (N, 1, H, W)), got shape {tuple(maps.shape)}")
    h, w = (canvas_size, canvas_size) if isinstance(canvas_size, int) else tuple(canvas_size)
    up = F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)
    flat = up.flatten(1).argmax(dim=1)  # (N, H·W) -> (N,), the first maximum on ties
    return torch.stack([flat % w, flat // w], dim=1)  # (N, 2) as (x, y)


def localisation_score(maps: torch.Tensor, boxes: torch.Tensor, canvas_size: int | tuple[int, int]) -> float:
    """Fraction of images whose map peaks inside the target's box.

    maps (N, H, W) at any resolution, upsampled bilinearly to the canvas; boxes
    (N, 4) as (x0, y0, x1, y1), x1 and y1 exclusive. Chance level is the box's
    share of the canvas (18² / 40² ≈ 0.20 for the default cluttered digits).
    """
    boxes = torch.as_tensor(boxes).cpu()
    peaks = peak_positions(maps, canvas_size)
    if boxes.shape != (peaks.shape[0], 4):
        raise ValueError(f"boxes must be (N, 4) with N = {peaks.shape[0]}, got {tuple(boxes.shape)}")
    x, y = peaks[:, 0], peaks[:, 1]
    inside = (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])
    return inside.float().mean().item()


def gradient_saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """|∂ logit_target / ∂ input|, max over input channels: (N, H, W) (Simonyan et al., 2014).

    The baseline a model without attention offers for "where did it look".
    ``target`` defaults to the predicted class. Runs in eval mode; parameter
    ``.grad`` fields are left untouched (only the input's gradient is taken).
    """
    x = _as_batch(model, x).detach().requires_grad_(True)
    with train_mode(model, False), torch.enable_grad():
        logits = model(x)  # (N, classes)
        if target is None:
            target = logits.argmax(dim=1)
        target = torch.as_tensor(target, device=logits.device).reshape(-1)
        if target.shape[0] != logits.shape[0]:
            raise ValueError(f"target needs one class per image ({logits.shape[0]}), got {target.shape[0]}")
        chosen = logits.gather(1, target[:, None]).sum()  # images are independent in eval mode
        (grad,) = torch.autograd.grad(chosen, x)
    return grad.abs().amax(dim=1).cpu()  # (N, C, H, W) -> (N, H, W)


__all__ = ["capture_attention", "gradient_saliency", "localisation_score", "peak_positions",
           "spatial_map", "spatial_maps"]
