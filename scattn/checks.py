"""Exercise checks: test a learner's code against the reference and say what is wrong.

One call per exercise, e.g. ``checks.spatial_attention(SpatialAttention)``. Each
prints one line per property (✓ / ✗). When something is wrong it raises an
AssertionError whose message is a hint for *that* mistake: the learner's
weights are copied into reference formulas, the correct one and the usual
mistakes ("mutants"), and the formula that matches names the mistake. An
exception inside the learner's code is reported as such, with a hint read from
its message, never as a crash of the checker.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

TOL = 1e-5


class Mistake(Exception):
    """A property failed; the message is the hint shown to the learner."""


class Report:
    """Collects ✓ / ✗ lines; :meth:`finish` prints them and raises with the hints."""

    def __init__(self, title: str):
        self.title = title
        self.lines: list[str] = []
        self.hints: list[str] = []

    def check(self, description: str, prop: Callable[[], None]) -> bool:
        try:
            prop()
        except Mistake as mistake:
            self.lines.append(f"  ✗ {description}")
            self.hints.append(f"{description}: {mistake}")
            return False
        self.lines.append(f"  ✓ {description}")
        return True

    def skip(self, description: str) -> None:
        self.lines.append(f"  - {description} (skipped: fix the line above first)")

    def finish(self) -> None:
        print(self.title)
        print("\n".join(self.lines))
        if self.hints:
            raise AssertionError("\n".join(f"Hint: {h}" for h in self.hints))
        print("All checks passed.")


# ---- calling learner code -----------------------------------------------------------------

def _explain(error: Exception) -> str:
    """A hint for the exceptions learners' attention code usually raises."""
    text = str(error)
    if isinstance(error, NotImplementedError):
        return "the exercise cell still raises NotImplementedError: replace it with your code"
    if "to have" in text and "channels, but got" in text:
        return ("a convolution received the wrong number of channels. Did you pool over the wrong axis? "
                "Pool over the channels (dim=1) for a spatial map, over H×W (dims 2, 3) for channel weights")
    if "Sizes of tensors must match except in dimension 1" in text:
        return ("the two pooled maps have different shapes. For the spatial descriptor pool over the channels "
                "(dim=1, keepdim=True), giving two N×1×H×W maps")
    if "mat1 and mat2 shapes cannot be multiplied" in text:
        return ("a Linear layer got a vector of the wrong length. The shared MLP expects C values per image: "
                "pool over H×W (dims 2, 3), not over the channels")
    if "must match the size of tensor" in text:
        return ("two tensors do not broadcast. The gate must be N×C×1×1 (channel) or N×1×H×W (spatial) so it "
                "multiplies every position or every channel; a conv whose padding is not kernel_size // 2 also "
                "shrinks the map")
    if "out_channels" in text or "zero-element" in text or "non-positive" in text:
        return "a layer has no units: C // reduction is 0 when C < reduction; use max(1, C // reduction)"
    return "read the last line of the traceback above and the shapes involved"


def _call(fn, *args, what: str = "your code", **kwargs):
    try:
        return fn(*args, **kwargs)
    except Mistake:
        raise
    except Exception as error:  # the learner's bug, reported, never the checker crashing
        raise Mistake(f"{what} raised {type(error).__name__}: {error}\n      -> {_explain(error)}") from error


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=TOL, atol=TOL)


def _diagnose(out: torch.Tensor, expected: torch.Tensor, mutants: dict[str, torch.Tensor], generic: str) -> None:
    """Pass if ``out`` matches; otherwise raise the hint of the mutant it matches."""
    if _close(out, expected):
        return
    for hint, mutant in mutants.items():
        if _close(out, mutant):
            raise Mistake(hint)
    diff = (out - expected).abs().max().item() if out.shape == expected.shape else float("nan")
    raise Mistake(f"{generic} (largest difference {diff:.3g})")


def _shape_property(module, x: torch.Tensor, gate_shapes: dict[tuple, str]) -> Callable[[], None]:
    def prop():
        out = _call(module, x)
        if not isinstance(out, torch.Tensor):
            raise Mistake(f"forward returned {type(out).__name__}; return a tensor shaped like the input")
        shape = tuple(out.shape)
        if shape == tuple(x.shape):
            return
        if shape in gate_shapes:
            raise Mistake(f"you returned the {gate_shapes[shape]} ({shape}) instead of the input multiplied "
                          f"by it: return x * gate")
        raise Mistake(f"output shape {shape} differs from the input's {tuple(x.shape)}; attention re-weights "
                      f"the input and keeps its shape (check the conv padding: kernel_size // 2)")
    return prop


# ---- finding the learner's weights ------------------------------------------------------------

def _matrices(module: nn.Module, rows: int, cols: int) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """(weight, bias) pairs of Linear or 1×1-conv layers mapping cols -> rows, as 2-D weights."""
    found = []
    for layer in module.modules():
        if isinstance(layer, nn.Linear) and tuple(layer.weight.shape) == (rows, cols):
            found.append((layer.weight.detach(), None if layer.bias is None else layer.bias.detach()))
        elif (isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1)
              and tuple(layer.weight.shape[:2]) == (rows, cols)):
            found.append((layer.weight.detach().flatten(1),
                          None if layer.bias is None else layer.bias.detach()))
    return found


def _mlp_weights(module: nn.Module, channels: int, hidden: int, *, shared: bool):
    """(W0, b0, W1, b1) of the bottleneck MLP C -> hidden -> C."""
    down, up = _matrices(module, hidden, channels), _matrices(module, channels, hidden)
    if not down or not up:
        shapes = [tuple(p.shape) for p in module.parameters()]
        raise Mistake(
            f"expected Linear layers {channels} -> {hidden} -> {channels} (hidden width C // reduction, at "
            f"least 1); found parameters of shapes {shapes}")
    if shared and (len(down) > 1 or len(up) > 1):
        raise Mistake("the MLP is not shared: you built one MLP per pooled path. CBAM passes the average- and "
                      "max-pooled vectors through ONE MLP (the same weights) and adds the results")
    return (*down[0], *up[0])


def _spatial_conv(module: nn.Module, kernel_size: int) -> nn.Conv2d:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise Mistake("no nn.Conv2d found: the spatial gate convolves the [avg; max] maps")
    conv = convs[-1]
    if conv.in_channels != 2:
        raise Mistake(f"the conv takes {conv.in_channels} input channel(s); it should take 2, the "
                      f"channel-wise average map and the channel-wise max map, concatenated on dim=1")
    if conv.kernel_size != (kernel_size, kernel_size):
        raise Mistake(f"the conv's kernel is {conv.kernel_size}; use the kernel_size argument ({kernel_size})")
    if conv.padding not in ((kernel_size // 2, kernel_size // 2), "same"):
        raise Mistake(f"the conv's padding is {conv.padding}: with a {kernel_size}×{kernel_size} kernel the map "
                      f"shrinks unless padding = kernel_size // 2 = {kernel_size // 2}")
    return conv


# ---- reference formulas and their mutants ---------------------------------------------------

def _spatial_map(x, weight, bias, *, first="avg", second="max", sigmoid=True):
    pools = {"avg": x.mean(dim=1, keepdim=True), "max": x.amax(dim=1, keepdim=True)}
    z = F.conv2d(torch.cat([pools[first], pools[second]], dim=1), weight, bias, padding=weight.shape[-1] // 2)
    return torch.sigmoid(z) if sigmoid else z  # (N, 1, H, W)


def _mlp(v, w0, b0, w1, b1):
    return F.linear(F.relu(F.linear(v, w0, b0)), w1, b1)


def _channel_map(x, w0, b0, w1, b1, *, pools=("avg", "max"), sigmoid="after-sum"):
    vectors = {"avg": x.mean(dim=(2, 3)), "max": x.amax(dim=(2, 3))}
    outs = [_mlp(vectors[p], w0, b0, w1, b1) for p in pools]
    if sigmoid == "after-sum":
        m = torch.sigmoid(sum(outs))
    elif sigmoid == "per-path":
        m = sum(torch.sigmoid(o) for o in outs)
    else:
        m = sum(outs)
    return m[:, :, None, None]  # (N, C, 1, 1)


def _spatial_mutants(x, w, b):
    return {
        "the descriptor uses the average twice: concatenate the channel-wise AVERAGE and the channel-wise "
        "MAX (x.amax(dim=1, keepdim=True))": x * _spatial_map(x, w, b, second="avg"),
        "the descriptor uses the max twice: concatenate the channel-wise average AND max":
            x * _spatial_map(x, w, b, first="max"),
        "the two maps are concatenated as [max; avg]; this exercise follows the paper's [avg; max] order "
        "(the conv's weights are not symmetric, so the order matters)":
            x * _spatial_map(x, w, b, first="max", second="avg"),
        "the sigmoid is missing: M_s = σ(conv(...)) keeps every weight in (0, 1)":
            x * _spatial_map(x, w, b, sigmoid=False),
    }


def _channel_mutants(x, w0, b0, w1, b1):
    args = (x, w0, b0, w1, b1)
    n, c, _, w = x.shape
    right = _channel_map(*args)
    mutants = {
        "the average is used twice: one path pools with the mean over H×W, the other with the MAX over H×W "
        "(x.amax(dim=(2, 3)))": x * _channel_map(*args, pools=("avg", "avg")),
        "the max is used twice: one path pools with the MEAN over H×W, the other with the max":
            x * _channel_map(*args, pools=("max", "max")),
        "only one pooled path: CBAM adds the MLP outputs of the average- AND the max-pooled vectors":
            x * _channel_map(*args, pools=("avg",)),
        "the sigmoid is missing: M_c = σ(MLP(avg) + MLP(max)) keeps every weight in (0, 1)":
            x * _channel_map(*args, sigmoid=None),
        "the sigmoid is applied to each path and then added: add the two MLP outputs first, then one sigmoid":
            x * _channel_map(*args, sigmoid="per-path"),
    }
    if w == c:  # a gate viewed as (N, 1, 1, C) broadcasts along W without an error only when W == C
        mutants["the gate is broadcast with the wrong shape: view it as (N, C, 1, 1) so each channel gets one "
                "weight (here it ran only because W equals C)"] = x * right.view(n, 1, 1, c)
    return mutants


def _se_map(x, w1, b1, w2, b2, *, pool="avg", relu=True, sigmoid=True):
    z = x.mean(dim=(2, 3)) if pool == "avg" else x.amax(dim=(2, 3))
    h = F.linear(z, w1, b1)
    s = F.linear(F.relu(h) if relu else h, w2, b2)
    return (torch.sigmoid(s) if sigmoid else s)[:, :, None, None]


# ---- the checks ---------------------------------------------------------------------------

def _inputs(channels: int, h: int = 10, w: int = 12, n: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, channels, h, w, generator=g)


def _build(cls, *args, what: str, **kwargs):
    arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    module = _call(cls, *args, what=f"{what}({arguments})", **kwargs)
    if not isinstance(module, nn.Module):
        raise Mistake(f"{what} should build an nn.Module, got {type(module).__name__}")
    return module.eval()


def spatial_attention(cls) -> None:
    """Check a CBAM spatial gate class ``cls(kernel_size=7)``."""
    report = Report("Spatial attention: M_s(F) = σ(f^{k×k}([AvgPool_c(F); MaxPool_c(F)])), F' = M_s(F) ⊗ F")
    modules = {}

    def builds():
        for k in (7, 3):
            modules[k] = _build(cls, kernel_size=k, what=cls.__name__)
            _spatial_conv(modules[k], k)

    if not report.check("builds a 2 -> 1 conv with kernel_size 7 and 3, padding k // 2", builds):
        for line in ("keeps the input's shape", "matches the reference", "works for any channel count"):
            report.skip(line)
        return report.finish()
    x = _inputs(8)
    module = modules[7]
    shape_ok = report.check("keeps the input's shape", _shape_property(module, x, {
        (3, 1, 10, 12): "spatial gate M_s (N×1×H×W)"}))

    def matches():
        conv = _spatial_conv(module, 7)
        w, b = conv.weight.detach(), None if conv.bias is None else conv.bias.detach()
        with torch.no_grad():
            out = _call(module, x)
            _diagnose(out, x * _spatial_map(x, w, b), _spatial_mutants(x, w, b),
                      "the output differs from σ(conv([mean over dim 1; max over dim 1])) ⊗ x")

    if shape_ok:
        report.check("matches the reference with your weights", matches)
    else:
        report.skip("matches the reference with your weights")

    def any_channels():
        for c in (1, 3, 64):
            out = _call(module, _inputs(c, 6, 5, 2), what=f"your module on {c} channels")
            if out.shape != (2, c, 6, 5):
                raise Mistake("the output shape depends on the channel count: pool over dim=1 with keepdim=True")

    report.check("works for 1, 3 and 64 channels (no channel count is built in)", any_channels)
    report.finish()


def _bottleneck(report: Report, cls, shared: bool, layers: str, gate: str):
    """The checks SE and CBAM's channel gate share: ``cls(16, reduction=4)`` builds a
    16 -> 4 -> 16 bottleneck (``layers`` names it), works when C < r, and keeps the
    input's shape. Returns (module, weights, x) for the reference check, or None when
    it cannot run (its line is then reported as skipped)."""
    c, r = 16, 4
    state = {}

    def builds():
        state["module"] = _build(cls, c, reduction=r, what=cls.__name__)
        state["weights"] = _mlp_weights(state["module"], c, c // r, shared=shared)

    built = report.check(f"builds {layers} {c} -> {c // r} -> {c} for channels={c}, reduction={r}", builds)

    def small_channels():
        small = _build(cls, 8, reduction=16, what=cls.__name__)
        if sum(p.numel() for p in small.parameters()) == 0 or not _matrices(small, 1, 8):
            raise Mistake("with channels=8, reduction=16 the hidden width C // r is 0: use max(1, C // r)")
        _call(small, _inputs(8, 4, 4, 2), what="your module with channels=8, reduction=16")

    report.check("works when channels < reduction (hidden width at least 1)", small_channels)
    if not built:
        report.skip("keeps the input's shape")
        report.skip("matches the reference with your weights")
        return None
    x = _inputs(c, 9, c)  # W == C, so a gate broadcast along W runs but is wrong
    if not report.check("keeps the input's shape", _shape_property(state["module"], x, {
            (3, c, 1, 1): f"{gate} (N×C×1×1)", (3, c): f"{gate} (N×C)"})):
        report.skip("matches the reference with your weights")
        return None
    return state["module"], state["weights"], x


def channel_attention(cls) -> None:
    """Check a CBAM channel gate class ``cls(channels, reduction=16)``."""
    report = Report("Channel attention: M_c(F) = σ(MLP(AvgPool(F)) + MLP(MaxPool(F))), one shared MLP")
    ready = _bottleneck(report, cls, shared=True, layers="one MLP", gate="channel gate M_c")
    if ready is not None:
        module, (w0, b0, w1, b1), x = ready

        def matches():
            with torch.no_grad():
                out = _call(module, x)
                _diagnose(out, x * _channel_map(x, w0, b0, w1, b1), _channel_mutants(x, w0, b0, w1, b1),
                          "the output differs from σ(MLP(mean over H×W) + MLP(max over H×W)) ⊗ x")

        report.check("matches the reference with your weights", matches)
    report.finish()


def squeeze_excitation(cls) -> None:
    """Check an SE class ``cls(channels, reduction=16)``: squeeze, excite, scale."""
    report = Report("Squeeze-and-Excitation: s = σ(W2 δ(W1 GAP(u))), x̃ = s ⊗ u")
    ready = _bottleneck(report, cls, shared=False, layers="FC layers", gate="excitation s")
    if ready is not None:
        module, (w1, b1, w2, b2), x = ready
        n, c = x.shape[:2]

        def matches():
            with torch.no_grad():
                out = _call(module, x)
                right = _se_map(x, w1, b1, w2, b2)
                _diagnose(out, x * right, {
                    "the squeeze uses max pooling; SE squeezes with the global AVERAGE over H×W":
                        x * _se_map(x, w1, b1, w2, b2, pool="max"),
                    "the ReLU between the two FC layers is missing": x * _se_map(x, w1, b1, w2, b2, relu=False),
                    "the sigmoid is missing: s = σ(W2 δ(W1 z)) keeps every weight in (0, 1)":
                        x * _se_map(x, w1, b1, w2, b2, sigmoid=False),
                    "the scale is broadcast with the wrong shape: view s as (N, C, 1, 1)":
                        x * right.view(n, 1, 1, c),
                }, "the output differs from σ(W2 ReLU(W1 mean over H×W)) ⊗ x")

        report.check("matches the reference with your weights", matches)
    report.finish()


def cbam(cls) -> None:
    """Check a CBAM class ``cls(channels, reduction=16, kernel_size=7, order="channel-spatial")``."""
    report = Report("CBAM: F' = M_c(F) ⊗ F, then F'' = M_s(F') ⊗ F'")
    c, r, k = 16, 4, 7
    state = {}

    def builds():
        state["module"] = _build(cls, c, reduction=r, kernel_size=k, what=cls.__name__)
        m = state["module"]
        state["mlp"] = _mlp_weights(m, c, c // r, shared=True)
        conv = _spatial_conv(m, k)
        state["conv"] = (conv.weight.detach(), None if conv.bias is None else conv.bias.detach())

    if not report.check("builds a shared channel MLP and a 2 -> 1 spatial conv", builds):
        for line in ("keeps the input's shape", "channel first, then spatial", "order argument"):
            report.skip(line)
        return report.finish()
    module = state["module"]
    x = _inputs(c, 10, c)
    w0, b0, w1, b1 = state["mlp"]
    w, b = state["conv"]

    def channel_then_spatial(t):
        f1 = t * _channel_map(t, w0, b0, w1, b1)
        return f1 * _spatial_map(f1, w, b)

    def spatial_then_channel(t):
        f1 = t * _spatial_map(t, w, b)
        return f1 * _channel_map(f1, w0, b0, w1, b1)

    def parallel(t):
        return t * _channel_map(t, w0, b0, w1, b1) * _spatial_map(t, w, b)

    shape_ok = report.check("keeps the input's shape", _shape_property(module, x, {}))

    def paper_order():
        with torch.no_grad():
            out = _call(module, x)
            f1 = x * _channel_map(x, w0, b0, w1, b1)
            _diagnose(out, channel_then_spatial(x), {
                "the order is reversed: the paper applies channel attention FIRST, then spatial attention on "
                "its output (spatial first is the blog's order, slightly worse in CBAM's ablation)":
                    spatial_then_channel(x),
                "both gates read the input F (the parallel arrangement); the paper's default is sequential: "
                "spatial attention reads F' = M_c(F) ⊗ F": parallel(x),
                "the spatial map is computed from F' but multiplies the original F; multiply F' by it":
                    x * _spatial_map(f1, w, b),
                **{f"channel gate: {h}": m * _spatial_map(m, w, b)
                   for h, m in _channel_mutants(x, w0, b0, w1, b1).items()},
                **{f"spatial gate: {h}": m for h, m in _spatial_mutants(f1, w, b).items()},
            }, "the output differs from CBAM's channel-then-spatial formula")

    if shape_ok:
        report.check("default order: channel first, then spatial (the paper)", paper_order)
    else:
        report.skip("default order: channel first, then spatial (the paper)")

    def order_argument():
        for order, formula in (("spatial-channel", spatial_then_channel), ("parallel", parallel)):
            other = _build(cls, c, reduction=r, kernel_size=k, order=order, what=cls.__name__)
            other.load_state_dict(module.state_dict())
            with torch.no_grad():
                if not _close(_call(other, x, what=f"your module with order={order!r}"), formula(x)):
                    raise Mistake(f"order={order!r} does not compute its formula")
        try:
            cls(c, reduction=r, kernel_size=k, order="sideways")
        except ValueError:
            return
        except Exception as error:
            raise Mistake(f"an unknown order raised {type(error).__name__}; raise a ValueError that lists "
                          f"the valid orders") from error
        raise Mistake("order='sideways' was accepted; raise a ValueError that lists the valid orders")

    report.check("order='spatial-channel' and 'parallel' work; an unknown order raises ValueError", order_argument)
    report.finish()


def eca_kernel_size(fn) -> None:
    """Check ``fn(channels) -> k``: ECA's adaptive kernel, |log2(C)/γ + b/γ|_odd with γ = 2, b = 1."""
    from .attention.eca import eca_kernel_size as reference

    report = Report("ECA kernel: k = |log2(C)/2 + 1/2|_odd")
    cases = [1, 3, 8, 16, 32, 64, 100, 128, 256, 512, 1024, 2048, 4096]

    def matches():
        got = {c: _call(fn, c, what=f"your function({c})") for c in cases}
        want = {c: reference(c) for c in cases}
        if not all(isinstance(k, int) for k in got.values()):
            raise Mistake("return an int: a kernel size is a whole number (nn.Conv1d rejects a float)")
        if got == want:
            return
        if any(isinstance(k, int) and k % 2 == 0 for k in got.values()):
            raise Mistake("some sizes are even: when t = int((log2(C) + 1) / 2) is even, use t + 1")
        rounded = {cc: (lambda t: t if t % 2 else t + 1)(round((math.log2(cc) + 1) / 2)) for cc in cases}
        if got == rounded:
            raise Mistake("you rounded (log2(C) + 1) / 2 to the nearest integer; the authors truncate with "
                          "int() and then make it odd")
        natural = {cc: (lambda t: t if t % 2 else t + 1)(int((math.log(cc) + 1) / 2)) for cc in cases}
        if got == natural:
            raise Mistake("use log base 2 (math.log2), not the natural log")
        if all(got[cc] == max(want[cc], 3) for cc in cases):
            raise Mistake("you clamp k to at least 3 (timm does); the paper's formula gives 1 for small C")
        wrong = {cc: (got[cc], want[cc]) for cc in cases if got[cc] != want[cc]}
        raise Mistake(f"(channels: got, expected) {wrong}")

    report.check("C = 64 -> 3, 256 -> 5, 2048 -> 7, and every size in between", matches)
    report.finish()


def accuracy(model: nn.Module, loader, target: float, device=None) -> float:
    """Evaluate ``model`` on ``loader`` and check it reaches ``target`` accuracy (0..1)."""
    from .train import evaluate

    report = Report(f"Accuracy on the test set: at least {target:.0%}")
    result = {}

    def reaches():
        result.update(_call(evaluate, model, loader, device=device, what="evaluating your model"))
        if result["accuracy"] < target:
            raise Mistake(
                f"{result['accuracy']:.1%} < {target:.0%}. Put the attention on the residual branch after the "
                f"last BatchNorm (before the addition), train a few more epochs, or check the learning rate")

    report.check("reaches the target accuracy", reaches)
    if result:
        report.lines.append(f"    test accuracy {result['accuracy']:.1%}")
    report.finish()
    return result["accuracy"]


def _any_hooks(model: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def capture_attention(fn) -> None:
    """Check ``fn(model, x) -> {layer name: map}`` against :func:`scattn.inspect.capture_attention`."""
    from .inspect import capture_attention as reference
    from .models import SmallCNN

    report = Report("capture_attention(model, x): every gate's map by layer name, via forward hooks")
    torch.manual_seed(0)
    model = SmallCNN(attention="cbam").eval()
    x = torch.rand(2, 1, 40, 40)
    want = reference(model, x)
    got = {}

    def same_maps():
        got.update(_call(fn, model, x, what="your function"))
        if set(got) != set(want):
            missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
            raise Mistake(f"layer names differ (missing {missing[:3]}, unexpected {extra[:3]}): hook every "
                          f"scattn.Gate found by model.named_modules() and key the map by that name")
        for name in want:
            if not _close(got[name].detach().float(), want[name].float()):
                raise Mistake(f"the map for {name!r} differs: store the hook's OUTPUT (the gate), not its input")

    report.check("returns every gate's output, keyed by module name", same_maps)

    def no_grad():
        if any(t.requires_grad for t in got.values()):
            raise Mistake("the maps still carry the autograd graph: run the forward under torch.no_grad() "
                          "or store output.detach()")

    report.check("maps are detached (no autograd graph kept alive)", no_grad)

    def hooks_removed():
        if _any_hooks(model):
            raise Mistake("hooks are still registered after your function returned: keep the handles from "
                          "register_forward_hook and call handle.remove() in a finally block")

        class Boom(Exception):
            pass

        def exploding(module, inputs):
            raise Boom

        handle = model.fc.register_forward_pre_hook(exploding) if hasattr(model, "fc") else None
        try:
            fn(model, x)
        except Exception:
            pass
        finally:
            if handle is not None:
                handle.remove()
        if _any_hooks(model):
            raise Mistake("when the forward pass fails, your hooks stay registered: remove them in a "
                          "finally block")

    report.check("hooks are removed afterwards, even when the forward pass raises", hooks_removed)
    report.finish()


def localisation_score(fn) -> None:
    """Check ``fn(maps, boxes, canvas_size) -> float`` against :func:`scattn.inspect.localisation_score`."""
    from .inspect import localisation_score as reference

    report = Report("localisation score: fraction of images whose map peaks inside the target box")
    g = torch.Generator().manual_seed(0)
    n, size = 64, 40
    maps = torch.rand(n, 10, 10, generator=g)
    x0 = torch.randint(0, 20, (n,), generator=g)
    y0 = torch.randint(0, 20, (n,), generator=g)
    boxes = torch.stack([x0, y0, x0 + 16, y0 + 12], dim=1)  # wide boxes: x and y are not interchangeable
    want = reference(maps, boxes, size)

    def matches():
        got = float(_call(fn, maps, boxes, size, what="your function"))
        if abs(got - want) < 1e-6:
            return
        swapped = float(reference(maps.transpose(1, 2), boxes, size))
        if abs(got - swapped) < 1e-6:
            raise Mistake("x and y are swapped: argmax over a flattened H×W map gives row = idx // W (y) and "
                          "column = idx % W (x); boxes are (x0, y0, x1, y1)")
        if got > 1:
            raise Mistake("return a fraction in [0, 1], not a count")
        raise Mistake(f"got {got:.3f}, expected {want:.3f}. Upsample each map to the canvas "
                      f"({size}×{size}) before taking its peak, and treat x1, y1 as exclusive")

    report.check("matches the reference on maps smaller than the canvas", matches)
    report.finish()


__all__ = [
    "Mistake", "Report", "accuracy", "capture_attention", "cbam", "channel_attention", "eca_kernel_size",
    "localisation_score", "spatial_attention", "squeeze_excitation",
]
