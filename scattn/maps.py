"""Look inside a trained model: its attention maps, where they peak, and how well they localise.

    maps = capture_attention(model, images)      # {"stages.0.0.attention.spatial.gate": (N, 1, H, W), ...}
    where = spatial_map(maps)                    # (N, H, W), the deepest spatial map
    localisation_score(where, boxes, canvas_size=40)   # fraction of peaks inside the digit's box

The peak score saturates on the course's canvases (a map only has to put its
maximum somewhere on the digit), so it comes with a baseline that learned
nothing, :func:`ink_density_map`, and with per-image measures that do not
saturate: :func:`gate_mass_in_box`, :func:`digit_vs_fragment_auc` and the
deletion test :func:`deletion_drop`; :func:`paired_difference` compares two of
them image by image (grouped by source digit where canvases share one, with a
confidence interval), and :func:`localisation_table` puts them side by side.

Every attention module computes its map(s) through a :class:`scattn.Gate`; a
forward hook on each gate records what the module multiplies by, in one forward
pass that runs exactly as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .arguments import odd_kernel_size
from .attention import Gate
from .runtime import model_device, train_mode
from .stats import mcnemar, paired
from .table import Table


def _as_batch(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected images (N, C, H, W) or one image (C, H, W), got {shape}")
    x = x if x.dim() == 4 else x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    return x.to(model_device(model))


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


def peak_in_box(maps: torch.Tensor, boxes: torch.Tensor, canvas_size: int | tuple[int, int]) -> torch.Tensor:
    """Per image, whether the map's upsampled peak lies inside the target's box: (N,) bool.

    maps (N, H, W) at any resolution, upsampled bilinearly to the canvas; boxes
    (N, 4) as (x0, y0, x1, y1), x1 and y1 exclusive.
    """
    boxes = torch.as_tensor(boxes).cpu()
    peaks = peak_positions(maps, canvas_size)
    if boxes.shape != (peaks.shape[0], 4):
        raise ValueError(f"boxes must be (N, 4) with N = {peaks.shape[0]}, got {tuple(boxes.shape)}")
    x, y = peaks[:, 0], peaks[:, 1]
    return (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])


def localisation_score(maps: torch.Tensor, boxes: torch.Tensor, canvas_size: int | tuple[int, int]) -> float:
    """Fraction of images whose map peaks inside the target's box (the mean of :func:`peak_in_box`).

    maps (N, H, W) at any resolution, upsampled bilinearly to the canvas; boxes
    (N, 4) as (x0, y0, x1, y1), x1 and y1 exclusive. Chance level is the box's
    share of the canvas (18² / 40² ≈ 0.20 for the default cluttered digits).
    """
    return peak_in_box(maps, boxes, canvas_size).float().mean().item()


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


# ----------------------------------------------------------------------------- localisation, measured properly


def _canvas(canvas_size) -> tuple[int, int]:
    h, w = (canvas_size, canvas_size) if isinstance(canvas_size, int) else tuple(canvas_size)
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise ValueError(f"canvas_size must be a positive int or (height, width), got {canvas_size!r}")
    return h, w


def _maps3(maps, name: str = "maps") -> torch.Tensor:
    maps = torch.as_tensor(maps).detach().float().cpu()
    if maps.dim() == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if maps.dim() != 3:
        raise ValueError(f"{name} must be (N, H, W) (or (N, 1, H, W)), got shape {tuple(maps.shape)}")
    return maps


def upsample(maps, canvas_size) -> torch.Tensor:
    """Maps (N, h, w) bilinearly upsampled to the canvas, (N, H, W), as :func:`peak_positions` does."""
    maps = _maps3(maps)
    h, w = _canvas(canvas_size)
    if maps.shape[1:] == (h, w):
        return maps
    return F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]


def box_masks(boxes, canvas_size) -> torch.Tensor:
    """(N, H, W) bool: True inside each box (x0, y0, x1, y1), x1 and y1 exclusive."""
    boxes = torch.as_tensor(boxes).cpu()
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) as (x0, y0, x1, y1), got shape {tuple(boxes.shape)}")
    h, w = _canvas(canvas_size)
    ys, xs = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    x0, y0, x1, y1 = (boxes[:, i, None, None] for i in range(4))
    return (x0 <= xs) & (xs < x1) & (y0 <= ys) & (ys < y1)  # (N, H, W)


def _check_n(what: str, n: int, expected: int) -> None:
    if n != expected:
        raise ValueError(f"{what}: expected one per map ({expected}), got {n}")


def ink_density_map(images, box: int = 11) -> torch.Tensor:
    """The no-learning baseline: the input blurred by a ``box``×``box`` mean filter, (N, H, W).

    d(i, j) = (1 / box²) Σ_{|u|, |v| ≤ box // 2} x(i + u, j + v),  zero outside the canvas

    Its peak is where the ink is densest. A digit has more ink than a fragment, so
    this map already points at the digit on most canvases without any training:
    any learned map should beat it. Images (N, C, H, W) are averaged over C first.
    """
    box = odd_kernel_size("box", box)
    x = torch.as_tensor(images).detach().float().cpu()
    if x.dim() == 4:
        x = x.mean(dim=1)  # (N, C, H, W) -> (N, H, W)
    if x.dim() != 3:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W), got shape {tuple(x.shape)}")
    return F.avg_pool2d(x[:, None], box, stride=1, padding=box // 2, count_include_pad=True)[:, 0]


def gate_mass_in_box(maps, boxes, canvas_size, *, relative: bool = False) -> torch.Tensor:
    """Per image, the share of the map's mass that lies inside the digit's box: (N,) in [0, 1].

    mass = Σ_{box} m / Σ_{canvas} m,  m the map upsampled to the canvas (it must be ≥ 0)

    A map spread evenly scores the box's share of the canvas (18² / 40² ≈ 0.20 on
    the default canvases); one that is zero outside the box scores 1. A sigmoid gate
    never reaches 0, so its mass stays near the area share even when it ranks every
    position well: ``relative=True`` subtracts each map's minimum first, judging
    where the map's *variation* lies. An image whose map has no mass gets NaN.
    """
    m = upsample(maps, canvas_size)
    inside = box_masks(boxes, canvas_size)
    _check_n("boxes", inside.shape[0], m.shape[0])
    low = m.amin(dim=(1, 2))
    if not relative and (low < 0).any():
        raise ValueError(
            f"gate_mass_in_box needs non-negative maps (a mass), got a minimum of {low.min().item():.3g}: "
            "take .abs() or .clamp(min=0), or pass relative=True"
        )
    if relative:
        m = m - low[:, None, None]
    total = m.sum(dim=(1, 2))
    return torch.where(total > 0, (m * inside).sum(dim=(1, 2)) / total, torch.full_like(total, math.nan))


def _ink_masks(maps, images, boxes, ink: float):
    x = torch.as_tensor(images).detach().float().cpu()
    if x.dim() == 4:
        x = x.mean(dim=1)  # (N, C, H, W) -> (N, H, W)
    if x.dim() != 3:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W), got shape {tuple(x.shape)}")
    m = upsample(maps, tuple(x.shape[1:]))
    _check_n("images", x.shape[0], m.shape[0])
    inside = box_masks(boxes, tuple(x.shape[1:]))
    _check_n("boxes", inside.shape[0], m.shape[0])
    inked = x > ink
    return m, inked & inside, inked & ~inside


def digit_vs_fragment(maps, images, boxes, *, ink: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, the map's mean on the digit's ink and on the fragments' ink: two (N,) tensors.

    Ink is a pixel brighter than ``ink``; inside the digit's box it is the digit's,
    outside it a fragment's (fragments never overlap the digit's box). The map is
    upsampled to the canvas. A map that tells the digit from the clutter is higher
    on the first; a gate that does not is equal on both. NaN where an image has no
    fragment ink (or no digit ink). The means are in the map's own units, so they
    compare maps of one kind only: a gate never falls below σ's floor, a gradient map
    starts at 0, and their ratios differ for that reason alone. To compare maps of
    different kinds use :func:`digit_vs_fragment_auc`, which depends only on ranks.
    """
    m, digit, fragment = _ink_masks(maps, images, boxes, ink)

    def mean_on(mask: torch.Tensor) -> torch.Tensor:
        count = mask.sum(dim=(1, 2))
        total = (m * mask).sum(dim=(1, 2))
        return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, math.nan))

    return mean_on(digit), mean_on(fragment)


def digit_vs_fragment_auc(maps, images, boxes, *, ink: float = 0.25) -> torch.Tensor:
    """Per image, how often the map ranks digit ink above fragment ink: (N,) in [0, 1].

    AUC = P(m(p) > m(q)) + ½ P(m(p) = m(q)),  p a digit-ink pixel, q a fragment-ink pixel

    (the Mann-Whitney statistic over all such pairs of the image). 1: every digit
    pixel above every fragment pixel; 0.5: no preference, as for a flat map; 0: the
    reverse. It depends only on the order of the map's values, so any increasing
    transform leaves it unchanged: a sigmoid, a floor above 0, a scale. That makes it
    fair between a gate (between σ's floor and 1) and a gradient map (from 0 up),
    which :func:`digit_vs_fragment`'s means are not. It does not say how *strongly* a
    gate acts: a gate between 0.99 and 1 can rank perfectly. Ink and fragments are as
    in :func:`digit_vs_fragment`; NaN where an image has no fragment (or digit) ink.
    """
    m, digit, fragment = _ink_masks(maps, images, boxes, ink)
    out = torch.full((m.shape[0],), math.nan)
    for i in range(m.shape[0]):
        d, f = m[i][digit[i]], m[i][fragment[i]].sort().values
        if d.numel() and f.numel():
            below = torch.searchsorted(f, d, side="left")  # fragment pixels under each digit pixel
            tied = torch.searchsorted(f, d, side="right") - below
            out[i] = (below.double() + 0.5 * tied.double()).sum().item() / (d.numel() * f.numel())
    return out


@dataclass
class Deletion:
    """What deleting part of each canvas did to a model's predictions.

    ``accuracy``: on the intact images; ``accuracy_map``: after deleting the region
    the map ranks highest; ``accuracy_random``: after deleting random regions of
    the same size. ``correct*``: per image, for paired comparisons (:func:`paired_difference`
    on ``correct_a.float()`` and ``correct_b.float()``, grouped where images share a
    source). ``inside*``:
    per image, the share of the deleted pixels that lay in the digit's box (when
    boxes were given). ``pixels``: how many pixels each deletion removed.
    """

    accuracy: float
    accuracy_map: float
    accuracy_random: float
    correct: torch.Tensor
    correct_map: torch.Tensor
    correct_random: torch.Tensor
    pixels: int
    inside_map: torch.Tensor | None = None
    inside_random: torch.Tensor | None = None

    @property
    def drop_map(self) -> float:
        return self.accuracy - self.accuracy_map

    @property
    def drop_random(self) -> float:
        return self.accuracy - self.accuracy_random

    def __str__(self) -> str:
        return (f"Deletion({self.pixels} px per image: accuracy {self.accuracy:.3f} intact, "
                f"{self.accuracy_map:.3f} with the map's top region deleted, "
                f"{self.accuracy_random:.3f} with a random region deleted)")


DELETION_MODES = ("square", "pixels")


def deletion_masks(maps, canvas_size, fraction: float, mode: str = "square", seed: int = 0):
    """(by the map, at random): two (N, H, W) bool masks of the pixels to delete.

    ``mode="square"``: the square of side round(√(fraction·H·W)) that holds the most
    of the map (the highest-gated region), against a square of the same side at a
    uniformly random place. ``mode="pixels"``: the k = round(fraction·H·W) pixels the map ranks
    highest, against k pixels drawn at random. Random draws come from ``seed``.
    """
    if mode not in DELETION_MODES:
        raise ValueError(f"unknown deletion mode {mode!r}; expected one of {', '.join(DELETION_MODES)}")
    if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
        raise ValueError(f"fraction is the share of the canvas to delete, in (0, 1); got {fraction!r}")
    m = upsample(maps, canvas_size)
    n, h, w = m.shape
    g = torch.Generator().manual_seed(seed)
    if mode == "pixels":
        k = max(1, round(fraction * h * w))
        top = m.flatten(1).topk(k, dim=1).indices  # (N, k)
        rand = torch.rand(n, h * w, generator=g).topk(k, dim=1).indices
        by_map = torch.zeros(n, h * w, dtype=torch.bool).scatter_(1, top, True).view(n, h, w)
        at_random = torch.zeros(n, h * w, dtype=torch.bool).scatter_(1, rand, True).view(n, h, w)
        return by_map, at_random
    side = max(1, min(h, w, round(math.sqrt(fraction * h * w))))
    # The square holding the most map: a side × side mean at every placement; among the
    # placements that tie, the one centred nearest the map's peak.
    sums = F.avg_pool2d(m[:, None], side, stride=1)[:, 0]  # (N, H - side + 1, W - side + 1)
    top = sums >= sums.amax(dim=(1, 2), keepdim=True) - 1e-6 * sums.abs().amax(dim=(1, 2), keepdim=True)
    peak = peak_positions(m, (h, w)).float()  # (N, 2) as (x, y)
    cy = torch.arange(sums.shape[1]).float()[None, :, None] + (side - 1) / 2
    cx = torch.arange(sums.shape[2]).float()[None, None, :] + (side - 1) / 2
    far = (cx - peak[:, 0, None, None]) ** 2 + (cy - peak[:, 1, None, None]) ** 2  # (N, H', W')
    best = torch.where(top, -far, torch.tensor(-math.inf)).flatten(1).argmax(dim=1)
    x0, y0 = best % sums.shape[2], best // sums.shape[2]
    rx = torch.randint(0, w - side + 1, (n,), generator=g)
    ry = torch.randint(0, h - side + 1, (n,), generator=g)
    by_map = box_masks(torch.stack([x0, y0, x0 + side, y0 + side], dim=1), (h, w))
    at_random = box_masks(torch.stack([rx, ry, rx + side, ry + side], dim=1), (h, w))
    return by_map, at_random


def _predict(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = model_device(model)
    out = []
    with torch.no_grad(), train_mode(model, False):
        for chunk in images.split(batch_size):
            out.append(model(chunk.to(device)).argmax(dim=1).cpu())
    return torch.cat(out)


def deletion_drop(model: nn.Module, images, labels, maps, boxes=None, *, fraction: float = 0.1,
                  mode: str = "square", fill: float = 0.0, seed: int = 0, batch_size: int = 250) -> Deletion:
    """The deletion test: delete what the map ranks highest, and as much at random; compare accuracies.

    If a map shows what the model uses, deleting its top region (``fraction`` of the
    canvas, see :func:`deletion_masks`) costs more accuracy than deleting a random
    region of the same size. Deleted pixels are set to ``fill`` (0: the canvas's
    background). images (N, C, H, W), labels (N,), maps (N, h, w) at any resolution;
    ``boxes`` (N, 4) adds how much of each deletion fell on the digit's box.
    """
    x = torch.as_tensor(images).detach().float().cpu()
    if x.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(x.shape)}")
    y = torch.as_tensor(labels).cpu().reshape(-1)
    m = _maps3(maps)
    _check_n("maps", m.shape[0], x.shape[0])
    _check_n("labels", y.shape[0], x.shape[0])
    by_map, at_random = deletion_masks(m, tuple(x.shape[2:]), fraction, mode, seed)
    correct = _predict(model, x, batch_size) == y
    correct_map = _predict(model, x.masked_fill(by_map[:, None], fill), batch_size) == y
    correct_random = _predict(model, x.masked_fill(at_random[:, None], fill), batch_size) == y
    result = Deletion(correct.float().mean().item(), correct_map.float().mean().item(),
                      correct_random.float().mean().item(), correct, correct_map, correct_random,
                      int(by_map[0].sum()))
    if boxes is not None:
        inside = box_masks(boxes, tuple(x.shape[2:]))
        _check_n("boxes", inside.shape[0], x.shape[0])
        result.inside_map = (by_map & inside).sum(dim=(1, 2)) / by_map.sum(dim=(1, 2))
        result.inside_random = (at_random & inside).sum(dim=(1, 2)) / at_random.sum(dim=(1, 2))
    return result


# ----------------------------------------------------------------------------- paired comparisons


@dataclass
class PairedDifference:
    """Per-image differences d = a − b, their mean with a confidence interval, and the paired t-test.

    Without groups every image is one unit. With groups (images that share a source,
    such as canvases built on the same handwritten digit, are not independent) the
    differences are first averaged within each group and the groups are the units:
    mean  d̄ over the units, low..high its t interval at ``level``, sd the spread of the
    units, t = d̄ / (sd / √n) with n − 1 degrees of freedom, p two-sided. ``wins`` and
    ``losses`` count images where a is above / below b; ``images`` how many were compared.
    """

    mean: float
    sd: float
    n: int
    t: float
    p: float
    wins: int
    losses: int
    low: float = math.nan
    high: float = math.nan
    images: int = 0
    unit: str = "images"
    level: float = 0.95

    def ci(self) -> tuple[float, float]:
        return self.low, self.high

    def __str__(self) -> str:
        p = "< 1e-300" if self.p == 0 else f"= {self.p:.2g}"
        return (f"a − b = {self.mean:+.4f}, {100 * self.level:.0f}% CI [{self.low:+.4f}, {self.high:+.4f}] "
                f"(paired t over {self.n} {self.unit}: t = {self.t:.2f}, p {p}; "
                f"a higher on {self.wins} of {self.images} images, lower on {self.losses})")


def paired_difference(a, b, groups=None, *, level: float = 0.95) -> PairedDifference:
    """Compare two per-image scores of the same images, image by image (paired t-test, t interval).

    a, b: (N,) scores in the same image order, e.g. the gate's and the ink
    baseline's :func:`gate_mass_in_box`, or two deletions' ``correct_map.float()``
    (then the difference is one of accuracies). Images where either is NaN are left
    out. ``groups`` (N,) labels images that are not independent of each other, e.g.
    ``dataset.sources``, the handwritten digit each canvas was built on: the
    differences are averaged within each group and the test and the interval run
    over the groups (a cluster-level paired test), since treating N canvases from
    far fewer digits as N independent items would make the interval too narrow.
    """
    a = torch.as_tensor(a, dtype=torch.float64).cpu().reshape(-1)
    b = torch.as_tensor(b, dtype=torch.float64).cpu().reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"a and b need one score per image each, got {a.numel()} and {b.numel()}")
    keep = ~(a.isnan() | b.isnan())
    if groups is not None:
        groups = torch.as_tensor(groups).cpu().reshape(-1)
        if groups.shape != a.shape:
            raise ValueError(f"groups needs one label per image ({a.numel()}), got {groups.numel()}")
        groups = groups[keep]
    a, b = a[keep], b[keep]
    d = a - b
    if groups is not None:
        _, unit_of = torch.unique(groups, return_inverse=True)  # (n,) -> index of its group
        count = torch.zeros(int(unit_of.max()) + 1 if unit_of.numel() else 0, dtype=torch.float64)
        count.index_add_(0, unit_of, torch.ones_like(a))
        ua = torch.zeros_like(count).index_add_(0, unit_of, a) / count  # mean of a per group
        ub = torch.zeros_like(count).index_add_(0, unit_of, b) / count
        unit = "groups"
    else:
        ua, ub, unit = a, b, "images"
    if ua.numel() < 2:
        raise ValueError(f"a paired test needs at least 2 {unit} with both scores, got {ua.numel()}")
    result = paired(ua.tolist(), ub.tolist())
    low, high = result.ci(level)
    return PairedDifference(result.mean, result.sd, result.n, result.t, result.p, int((d > 0).sum()),
                            int((d < 0).sum()), low, high, int(d.numel()), unit, level)


def mcnemar_p(correct_a, correct_b) -> float:
    """McNemar's exact two-sided p-value for two sets of per-image right/wrong on the same images.

    Valid only when the images are independent draws. The course's canvases are not:
    a few hundred handwritten digits make every test set, so several canvases share a
    digit (and fragments). There compare with :func:`paired_difference` and ``groups``.
    (:func:`scattn.stats.mcnemar` computes the same test.)
    """
    a = torch.as_tensor(correct_a, dtype=torch.bool).reshape(-1)
    b = torch.as_tensor(correct_b, dtype=torch.bool).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b need one entry per image each, got {a.numel()} and {b.numel()}")
    return mcnemar(a.numpy(), b.numpy()).p


def localisation_table(named_maps: dict, images, boxes, *, ink: float = 0.25) -> Table:
    """Every measure for every map, one row each: the table notebooks and docs print.

    ``named_maps``: {label: (N, h, w) map}. Columns, means over the images: ``peak``
    (:func:`localisation_score`), ``mass`` and ``mass − min`` (:func:`gate_mass_in_box`,
    plain and ``relative``; ``mass`` is "–" for a map with negative values) and
    ``digit > fragment`` (:func:`digit_vs_fragment_auc`, 0.5 for no preference).
    """
    x = torch.as_tensor(images).detach().float().cpu()
    size = tuple(x.shape[-2:])
    rows = []
    for label, maps in named_maps.items():
        m = _maps3(maps, str(label))
        rows.append({
            "map": str(label),
            "peak": localisation_score(m, boxes, size),
            "mass": gate_mass_in_box(m, boxes, size).nanmean().item() if m.min() >= 0 else math.nan,
            "mass − min": gate_mass_in_box(m, boxes, size, relative=True).nanmean().item(),
            "digit > fragment": digit_vs_fragment_auc(m, x, boxes, ink=ink).nanmean().item(),
        })
    fmt = {c: (lambda v: "–" if v is None or v != v else f"{v:.3f}") for c in
           ("peak", "mass", "mass − min", "digit > fragment")}
    return Table(rows, formats=fmt)


__all__ = ["DELETION_MODES", "Deletion", "PairedDifference", "box_masks", "capture_attention", "deletion_drop",
           "deletion_masks", "digit_vs_fragment", "digit_vs_fragment_auc", "gate_mass_in_box", "gradient_saliency",
           "ink_density_map", "localisation_score", "localisation_table", "mcnemar_p", "paired_difference",
           "peak_in_box", "peak_positions", "spatial_map", "spatial_maps", "upsample"]
