"""Check of exercise 07, part 2: the localisation score (how often a map peaks inside the target's box).

The inputs are built so that every mistake changes the score: peaks placed exactly on
the boxes' edges (x1, y1 are exclusive), boxes much wider than tall (x and y are not
interchangeable), and 1-pixel boxes around the peaks that each way of upsampling gives.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..i18n import t
from .learner import call, kind
from .report import Mistake, Report

S = 40  # canvas size


def _bilinear() -> str:
    """How the reference finds a map's peak, in the words of a hint."""
    return t("upsample with F.interpolate(maps[:, None], size=(S, S), mode='bilinear', align_corners=False), "
             "then take the argmax of the flattened S×S map: y = index // S, x = index % S")


def _score(fn, maps: torch.Tensor, boxes: torch.Tensor) -> float:
    """The learner's score as a float, or a Mistake naming what came back instead."""
    got = call(fn, maps.clone(), boxes.clone(), S, what=t("your function"))
    n = maps.shape[0]
    if isinstance(got, torch.Tensor) or type(got).__module__ == "numpy":
        size = got.numel() if isinstance(got, torch.Tensor) else got.size
        if size == n and n > 1:
            raise Mistake(t("your function returned {n} values, one per image; return their mean, a single "
                            "fraction (inside.float().mean().item())", n=n))
        if size != 1:
            raise Mistake(t("your function returned an array of {size} values; return one number, the fraction",
                            size=size))
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Mistake(t("your function returned {value}; return the fraction as a float, e.g. "
                        "inside.float().mean().item()", value=kind(got) or type(got).__name__))
    got = float(got)
    if got != got:
        raise Mistake(t("your function returned nan: the mean of an empty tensor? Return the fraction of the N "
                        "images"))
    if not 0.0 <= got <= 1.0:
        raise Mistake(t("your function returned {got:g}: return a fraction in [0, 1], not a count (divide by the "
                        "number of images)", got=got))
    return got


def _canvas_maps(peaks: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Maps at the canvas's own resolution (upsampling changes nothing) with one clear peak each."""
    maps = 0.5 * torch.rand(len(peaks), S, S, generator=g)
    maps[torch.arange(len(peaks)), peaks[:, 1], peaks[:, 0]] = 1.0
    return maps


def _edge_cases():
    """(peak placement, expected score, hint when the score differs), 8 images each."""
    g = torch.Generator().manual_seed(0)
    n = 8
    x0 = torch.randint(3, 10, (n,), generator=g)
    y0 = torch.randint(3, 10, (n,), generator=g)
    boxes = torch.stack([x0, y0, x0 + 25, y0 + 6], dim=1)  # 25 wide, 6 tall
    mid_x, mid_y = x0 + 12, y0 + 3
    cases = [
        (t("the peak well inside a wide, flat box, where swapping x and y leaves it"), (mid_x, mid_y), 1.0,
         t("x and y are swapped: the flat index of the S×S map gives row y = index // S and column "
           "x = index % S; boxes are (x0, y0, x1, y1)")),
        (t("the peak on x = x0"), (x0, mid_y), 1.0,
         t("a peak on the left edge x = x0 is inside the box: x0 is inclusive, x0 <= x")),
        (t("the peak on x = x1 - 1"), (x0 + 24, mid_y), 1.0,
         t("a peak on x = x1 - 1 is the box's last column, inside: use x < x1")),
        (t("the peak on x = x1"), (x0 + 25, mid_y), 0.0,
         t("a peak on x = x1 counted as inside: x1 is exclusive, x < x1 (boxes are corners (x0, y0, x1, y1), "
           "not a width and height)")),
        (t("the peak on x = x0 - 1"), (x0 - 1, mid_y), 0.0,
         t("a peak on x = x0 - 1, left of the box, counted as inside: use x0 <= x")),
        (t("the peak on y = y0"), (mid_x, y0), 1.0,
         t("a peak on the top edge y = y0 is inside the box: y0 is inclusive, y0 <= y")),
        (t("the peak on y = y1 - 1"), (mid_x, y0 + 5), 1.0,
         t("a peak on y = y1 - 1 is the box's last row, inside: use y < y1")),
        (t("the peak on y = y1"), (mid_x, y0 + 6), 0.0,
         t("a peak on y = y1 counted as inside: y1 is exclusive, y < y1 (boxes are corners (x0, y0, x1, y1), "
           "not a width and height)")),
        (t("the peak on y = y0 - 1"), (mid_x, y0 - 1), 0.0,
         t("a peak on y = y0 - 1, above the box, counted as inside: use y0 <= y")),
    ]
    for what, (px, py), expected, hint in cases:
        yield what, _canvas_maps(torch.stack([px, py], dim=1), g), boxes, expected, hint


def _peaks(maps: torch.Tensor, mode: str, align_corners: bool | None = None) -> torch.Tensor:
    """(x, y) of each map's maximum after upsampling to the canvas with ``mode``: (N, 2)."""
    h, w = maps.shape[-2:]
    if mode == "map":  # no upsampling: the peak in the map's own pixels
        flat = maps.flatten(1).argmax(dim=1)
        return torch.stack([flat % w, flat // w], dim=1)
    up = F.interpolate(maps[:, None], size=(S, S), mode=mode, align_corners=align_corners)  # (N, 1, S, S)
    flat = up.flatten(1).argmax(dim=1)
    return torch.stack([flat % S, flat // S], dim=1)


MODES = (("nearest", None), ("bilinear", True), ("bicubic", False), ("map", None))  # other ways to find the peak


def _mode_hints() -> dict[tuple, str]:
    """The hint for each of :data:`MODES` when the learner's peaks are the ones it gives."""
    how = _bilinear()
    return {
        ("nearest", None): t("your peaks are those of mode='nearest' upsampling (the same as the map's own peak "
                             "scaled by S / H); the reference upsamples bilinearly: {how}", how=how),
        ("bilinear", True): t("your peaks are those of bilinear upsampling with align_corners=True; the reference "
                              "uses align_corners=False (pixel centres): {how}", how=how),
        ("bicubic", False): t("your peaks are those of bicubic upsampling; the reference upsamples bilinearly: "
                              "{how}", how=how),
        ("map", None): t("your peaks are in the map's own pixels (0 .. H-1), not the canvas's: {how}", how=how),
    }


def _one_pixel_boxes(peaks: torch.Tensor) -> torch.Tensor:
    return torch.cat([peaks, peaks + 1], dim=1)  # (x0, y0, x1, y1) around each peak


def _coarse_maps(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Random coarse maps with a clear peak away from the border (no ties after upsampling)."""
    maps = torch.rand(n, size, size, generator=g)
    i = torch.randint(1, size - 1, (n, 2), generator=g)
    maps[torch.arange(n), i[:, 0], i[:, 1]] += 1.0
    return maps


def localisation_score(fn) -> None:
    """Check ``fn(maps, boxes, canvas_size) -> float`` against :func:`scattn.maps.localisation_score`."""
    __tracebackhide__ = True
    from .. import maps as maps_module

    reference = maps_module.localisation_score
    report = Report(t("localisation score: fraction of images whose map peaks inside the target box"))
    g = torch.Generator().manual_seed(0)
    maps = _coarse_maps(64, 10, g)
    x0, y0 = torch.randint(0, 20, (64,), generator=g), torch.randint(0, 20, (64,), generator=g)
    boxes = torch.stack([x0, y0, x0 + 16, y0 + 12], dim=1)

    with report.step(t("returns one fraction in [0, 1]")):
        _score(fn, maps, boxes)
    report.stop_if_failed()

    with report.step(t("x0 <= x < x1 and y0 <= y < y1: peaks on every edge of the box, x and y not swapped")):
        for what, edge_maps, edge_boxes, expected, hint in _edge_cases():
            got = _score(fn, edge_maps, edge_boxes)
            if abs(got - expected) > 1e-6:
                raise Mistake(t("{hint} (8 images with {what}: got {got:.3f}, expected {expected:.0f})",
                                hint=hint, what=what, got=got, expected=expected))
    report.stop_if_failed()

    with report.step(t("upsamples each map to the canvas bilinearly (align_corners=False) before its peak")):
        coarse = _coarse_maps(32, 10, g)
        right = _score(fn, coarse, _one_pixel_boxes(_peaks(coarse, "bilinear", False)))
        if abs(right - 1.0) > 1e-6:
            hints = _mode_hints()
            for mode, corners in MODES:
                if _score(fn, coarse, _one_pixel_boxes(_peaks(coarse, mode, corners))) == 1.0:
                    raise Mistake(hints[mode, corners])
            raise Mistake(t("only {share:.0%} of your peaks fall on the reference's (1-pixel boxes around them): "
                            "{how}", share=right, how=_bilinear()))

    report.stop_if_failed()

    with report.step(t("matches the reference on 64 random maps and boxes, and on a batch of one")):
        for m, b in ((maps, boxes), (maps[:1], boxes[:1]), (_coarse_maps(16, 20, g), boxes[:16])):
            want, got = reference(m, b, S), _score(fn, m, b)
            if abs(got - want) > 1e-6:
                raise Mistake(t("got {got:.3f}, expected {want:.3f} for {n} maps of {h}×{w}: {how}; a peak is "
                                "inside when x0 <= x < x1 and y0 <= y < y1", got=got, want=want, n=m.shape[0],
                                h=m.shape[1], w=m.shape[2], how=_bilinear()))
    report.finish()
