"""localisation_score functions learners write for exercise 07."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import right, wrong

CHECK = "localisation_score"


@right
def like_the_solution(maps, boxes, canvas_size):
    s = canvas_size
    up = F.interpolate(maps[:, None].float(), size=(s, s), mode="bilinear", align_corners=False)
    peak = up.flatten(1).argmax(dim=1)
    y, x = peak // s, peak % s
    inside = (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])
    return inside.float().mean().item()


@right
def unravel_index_and_a_tensor(maps, boxes, canvas_size):
    """Returns a 0-d tensor rather than a float: one number all the same."""
    up = F.interpolate(maps.unsqueeze(1), size=(canvas_size, canvas_size), mode="bilinear")[:, 0]
    rows, cols = torch.unravel_index(up.flatten(1).argmax(1), (canvas_size, canvas_size))
    x0, y0, x1, y1 = boxes.unbind(1)
    hit = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)
    return hit.to(torch.float32).mean()


@right
def loop_over_images(maps, boxes, canvas_size):
    hits = 0
    for m, (x0, y0, x1, y1) in zip(maps, boxes.tolist(), strict=True):
        up = F.interpolate(m[None, None], size=(canvas_size, canvas_size), mode="bilinear",
                           align_corners=False)[0, 0]
        y, x = divmod(int(up.argmax()), canvas_size)
        if x0 <= x < x1 and y0 <= y < y1:
            hits += 1
    return hits / len(maps)


@right
def scale_factor_and_floor_division(maps, boxes, canvas_size):
    factor = canvas_size / maps.shape[-1]
    up = F.interpolate(maps[:, None], scale_factor=factor, mode="bilinear", align_corners=False)
    idx = up.reshape(len(maps), -1).argmax(-1)
    y = torch.div(idx, canvas_size, rounding_mode="floor")
    x = idx - y * canvas_size
    ok = (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])
    return float(ok.sum()) / ok.numel()


@right
def numpy_after_upsampling(maps, boxes, canvas_size):
    up = torch.nn.Upsample(size=(canvas_size, canvas_size), mode="bilinear")(maps[:, None]).numpy()[:, 0]
    b = boxes.numpy()
    inside = []
    for i in range(len(up)):
        y, x = np.unravel_index(np.argmax(up[i]), up[i].shape)
        inside.append(b[i, 0] <= x < b[i, 2] and b[i, 1] <= y < b[i, 3])
    return float(np.mean(inside))


# ---- wrong ------------------------------------------------------------------------------------

def _score(maps, boxes, s, *, mode="bilinear", corners=False, test=None, swap=False, reduce=True):
    """The solution's skeleton; each mistake below changes one piece of it."""
    kwargs = {} if mode in ("nearest", "none") else {"align_corners": corners}
    up = maps[:, None] if mode == "none" else F.interpolate(maps[:, None], size=(s, s), mode=mode, **kwargs)
    w = up.shape[-1]
    flat = up.flatten(1).argmax(dim=1)
    y, x = flat // w, flat % w
    if swap:
        x, y = y, x
    x0, y0, x1, y1 = boxes.unbind(1)
    inside = test(x, y, x0, y0, x1, y1) if test else (x0 <= x) & (x < x1) & (y0 <= y) & (y < y1)
    return inside.float().mean().item() if reduce else inside.float()


@wrong("x1 is exclusive", "x < x1")
def inclusive_upper_bound(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size,
                  test=lambda x, y, x0, y0, x1, y1: (x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1))


@wrong("y1 is exclusive")
def inclusive_bottom_only(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size,
                  test=lambda x, y, x0, y0, x1, y1: (x0 <= x) & (x < x1) & (y0 <= y) & (y <= y1))


@wrong("x0 is inclusive", "x0 <= x")
def exclusive_lower_bound(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, test=lambda x, y, x0, y0, x1, y1: (x0 < x) & (x < x1) & (y0 < y) & (y < y1))


@wrong("not a width and height")
def boxes_read_as_width_and_height(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size,
                  test=lambda x, y, x0, y0, w, h: (x0 <= x) & (x < x0 + w) & (y0 <= y) & (y < y0 + h))


@wrong("x and y are swapped", "y = index // S")
def swaps_x_and_y(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, swap=True)


@wrong("not a count")
def returns_the_count(maps, boxes, canvas_size):
    s = canvas_size
    up = F.interpolate(maps[:, None], size=(s, s), mode="bilinear", align_corners=False)
    idx = up.flatten(1).argmax(1)
    y, x = idx // s, idx % s
    return int(((boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])).sum())


@wrong("returned None")
def forgets_to_return(maps, boxes, canvas_size):
    score = _score(maps, boxes, canvas_size)  # noqa: F841 -- the learner's mistake: no return


@wrong("one per image", "mean")
def one_value_per_image(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, reduce=False)


@wrong("mode='nearest'", "align_corners=False")
def nearest_upsampling(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, mode="nearest")


@wrong("align_corners=True", "align_corners=False")
def align_corners_true(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, corners=True)


@wrong("bicubic")
def bicubic_upsampling(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, mode="bicubic")


@wrong("map's own pixels", "bilinear")
def no_upsampling(maps, boxes, canvas_size):
    return _score(maps, boxes, canvas_size, mode="none")


@wrong("mode='nearest'", "scaled by S / H")
def scales_the_peak(maps, boxes, canvas_size):
    h, w = maps.shape[-2:]
    flat = maps.flatten(1).argmax(1)
    y, x = (flat // w) * (canvas_size // h), (flat % w) * (canvas_size // w)
    return ((boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])).float().mean().item()


@wrong("mean of a bool tensor", ".float().mean()")
def mean_of_bools(maps, boxes, canvas_size):
    s = canvas_size
    up = F.interpolate(maps[:, None], size=(s, s), mode="bilinear", align_corners=False)
    idx = up.flatten(1).argmax(1)
    y, x = idx // s, idx % s
    return ((boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])).mean().item()
