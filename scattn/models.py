"""The course's networks, with attention where SE and CBAM put it.

In both papers the attention module sits on the residual branch of a block,
after its last BatchNorm and before the addition with the shortcut (SE, Fig. 3;
CBAM, Fig. 3)::

    x ──► conv-BN-ReLU ──► conv-BN ──► attention ──► (+) ──► ReLU
    └──────────────────── shortcut ────────────────────┘

- :class:`SmallCNN`: three stages of one such block each, for cluttered digits.
- :func:`resnet20`, :func:`resnet56`: the CIFAR ResNets of He et al. (2016).
- :class:`SelectionCNN`: a plain stack with one slot before pooling, for spotlight digits.
- :func:`add_attention`: the same insertion into a torchvision ResNet-18/34/50,
  without changing what the (pretrained) network computes until it trains.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .arguments import known_name, nchw, positive_int
from .attention import attention_name, available_attention, make_attention

# The widths here (16, 32, 64) are far below the 256..2048 channels the papers had
# in mind for reduction r = 16: C // 16 would leave SE and CBAM's channel MLP 1, 2 and
# 4 hidden units. r = 4 keeps 4, 8 and 16. Pass reduction=... to choose otherwise.
SMALL_REDUCTION = 4


# --------------------------------------------------------------------------------------
# Attention choices
# --------------------------------------------------------------------------------------


def _attention_names(attention, n_stages: int) -> list[str]:
    """One registry name per stage, from one name or a list of names."""
    if isinstance(attention, (list, tuple)):
        if len(attention) != n_stages:
            raise ValueError(
                f"attention lists one name per stage: expected {n_stages} names, "
                f"got {len(attention)}: {list(attention)!r}"
            )
        names = list(attention)
    elif attention is None or isinstance(attention, str):
        names = [attention] * n_stages
    else:
        raise ValueError(
            f"attention must be a name such as 'cbam' or a list of {n_stages} names "
            f"(one per stage), got {type(attention).__name__}"
        )
    return [attention_name(name) for name in names]


def _attention_factory(names: list[str], options: dict):
    """(stage, channels) -> that stage's attention module; the registry routes ``options``."""
    make_attention("none", 8, **options)  # a keyword no mechanism takes fails here, drawing no random numbers

    def build(stage: int, channels: int) -> nn.Module:
        return make_attention(names[stage], channels, **options)

    return build


# --------------------------------------------------------------------------------------
# Residual blocks
# --------------------------------------------------------------------------------------


class ShortcutA(nn.Module):
    """He et al.'s option A: subsample by the stride, zero-pad the new channels (no parameters)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.extra = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C, H, W) -> (N, C, H/s, W/s)
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (N, C, ...) -> (N, C + extra, ...)

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra}"


class BasicBlock(nn.Module):
    """Two 3×3 convolutions on the residual branch, attention after the second BN.

    y = ReLU(A(BN(conv(ReLU(BN(conv(x)))))) + shortcut(x)),   A = ``self.attention``

    The shortcut is the identity when shape is kept; otherwise option "A" (subsample,
    zero-pad channels) or "B" (1×1 conv with stride + BN), as in He et al. (2016).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        attention: nn.Module | None = None,
        shortcut: str = "B",
    ):
        super().__init__()
        if shortcut not in ("A", "B"):
            raise ValueError(f"unknown shortcut {shortcut!r}; expected 'A' or 'B'")
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.attention = attention if attention is not None else nn.Identity()
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        elif shortcut == "A":
            self.shortcut = ShortcutA(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # (N, C_in, H, W) -> (N, C_out, H/s, W/s)
        out = self.bn2(self.conv2(out))
        out = self.attention(out)  # shape kept
        return F.relu(out + self.shortcut(x))


def _init_weights(model: nn.Module) -> None:
    """He (Kaiming) normal init for the backbone's convolutions, BN to identity, as in He et al.

    Attention modules keep the initialisation they were built with.
    """
    skip = {id(m) for block in model.modules() if isinstance(block, BasicBlock)
            for m in block.attention.modules()}
    for m in model.modules():
        if id(m) in skip:
            continue
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class _StagedResNet(nn.Module):
    """Stem, stages of residual blocks (stride 2 between stages), global average pool, linear."""

    def __init__(self, in_channels, widths, blocks, stem_stride, shortcut, num_classes, build_attention):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stride=stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        stages, channels = [], widths[0]
        for i, width in enumerate(widths):
            layers = []
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                layers.append(BasicBlock(channels, width, stride, build_attention(i, width), shortcut))
                channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        _init_weights(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature maps, (N, C_last, H', W')."""
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nchw(type(self).__name__, x, self.stem[0].in_channels)
        return self.fc(self.pool(self.features(x)).flatten(1))  # (N, C_last, 1, 1) -> (N, classes)


def _check_widths(widths) -> tuple[int, ...]:
    if isinstance(widths, str) or not isinstance(widths, Sequence) or not widths:
        raise ValueError(f"widths must be a non-empty sequence of positive integers, got {widths!r}")
    return tuple(positive_int("each width", w) for w in widths)


# --------------------------------------------------------------------------------------
# The course's small network
# --------------------------------------------------------------------------------------


class SmallCNN(_StagedResNet):
    """A small residual network for cluttered digits: one attention block per stage.

    stem: 3×3 conv with stride 2 (in_channels -> widths[0]), BN, ReLU
    stage i: one :class:`BasicBlock` of widths[i] channels, stride 2 from stage 2 on,
             ``attention`` on its residual branch after the last BN
    head: global average pool, linear to ``num_classes``

    On a 40×40 canvas the stages see 20×20, 10×10 and 5×5 maps. The stem's stride
    loses nothing the data have: a cluttered digit is an 8×8 scan upsampled to 18
    pixels, still 9 pixels wide after it, and the stride makes every later layer
    four times cheaper (a full-resolution first stage cost about 4× more time per
    epoch, CBAM's 7×7 gate on 40×40 maps included). ``attention`` is
    a name from :func:`scattn.available_attention` or one name per stage;
    ``attention_kwargs`` (e.g. ``kernel_size=3``) go to every mechanism that takes
    them. ``reduction`` defaults to 4 here, not 16 (see ``SMALL_REDUCTION``).
    Projection (option B) shortcuts between stages. ``config`` records the
    arguments (checkpoints use it to recognise the model); what an epoch costs is
    measured in docs/results.md.
    """

    def __init__(
        self,
        attention="none",
        num_classes: int = 10,
        in_channels: int = 1,
        widths: Sequence[int] = (16, 32, 64),
        **attention_kwargs,
    ):
        widths = _check_widths(widths)
        names = _attention_names(attention, len(widths))
        options = {"reduction": SMALL_REDUCTION, **attention_kwargs}
        super().__init__(positive_int("in_channels", in_channels), widths, blocks=1, stem_stride=2,
                         shortcut="B", num_classes=positive_int("num_classes", num_classes),
                         build_attention=_attention_factory(names, options))
        self.config = {"attention": names, "widths": list(widths), "num_classes": num_classes,
                       "in_channels": in_channels, **options}


# --------------------------------------------------------------------------------------
# Selection by place (spotlight digits): one module in one slot
# --------------------------------------------------------------------------------------

# Controls for the slot that are not attention mechanisms: the added map with a ReLU after it,
# and one more ordinary conv-BN-ReLU layer of several sizes (full 1×1, 3×3, 7×7; depthwise 3×3).
SELECTION_CONTROLS = ("spatial-add-relu", "dwconv3", "conv1", "conv3", "conv7")


def _conv_bn_relu(channels: int, k: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, k, padding=k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU())


def selection_variant(variant: str | None) -> str:
    """The name of ``variant`` (an attention mechanism or a control) as :func:`selection_slot` knows it."""
    return "none" if variant is None else known_name("variant", variant, [*available_attention(),
                                                                          *SELECTION_CONTROLS])


def selection_slot(variant: str, channels: int, **attention_kwargs) -> nn.Module:
    """The module :class:`SelectionCNN` puts before pooling: an attention mechanism by its
    registry name (``kernel_size`` defaults to 7, CBAM's), or one of ``SELECTION_CONTROLS``.
    A control ignores the knobs of the mechanisms, as "none" does, and refuses a keyword none takes."""
    variant = selection_variant(variant)
    if variant not in SELECTION_CONTROLS:
        return make_attention(variant, channels, **{"kernel_size": 7, **attention_kwargs})
    make_attention("none", channels, **attention_kwargs)  # a keyword no mechanism takes fails here
    if variant == "spatial-add-relu":  # the added map, then a ReLU that can cut: a gate made of a sum
        kernel = attention_kwargs.get("kernel_size", 7)
        return nn.Sequential(make_attention("spatial-add", channels, kernel_size=kernel), nn.ReLU())
    if variant == "dwconv3":  # one depthwise 3×3 layer: depth at a few times the gate's parameters
        return _conv_bn_relu(channels, 3, groups=channels)
    return _conv_bn_relu(channels, int(variant[-1]))  # conv1, conv3, conv7


class SelectionCNN(nn.Module):
    """Three conv-BN-ReLU layers, one module in a slot, global average pooling, a linear layer.

    features: 3×3 convs with stride 2, 2, 1 (``in_channels`` -> w0 -> w1 -> w1), BN, ReLU
    slot: ``variant`` (:func:`selection_slot`) on the last map
    head: global average pool, linear to ``num_classes``

    On a 40×40 spotlight canvas the last map is 10×10 (one cell = 4 pixels) and each
    of its positions sees 15×15 pixels: about one digit, not the digit and its bar
    together; a 7×7 module on that map reaches 12 pixels further each way. Every
    variant is the same network but for the slot, so a comparison isolates it.
    """

    def __init__(self, variant: str = "none", in_channels: int = 2, widths: Sequence[int] = (16, 32),
                 num_classes: int = 10, **attention_kwargs):
        super().__init__()
        widths = _check_widths(widths)
        if len(widths) != 2:
            raise ValueError(f"SelectionCNN takes two widths (w0, w1), got {list(widths)}")
        c1, c2 = widths
        in_channels = positive_int("in_channels", in_channels)

        def cbr(i, o, stride):
            return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.features = nn.Sequential(*cbr(in_channels, c1, 2), *cbr(c1, c2, 2), *cbr(c2, c2, 1))
        variant = selection_variant(variant)
        self.slot = selection_slot(variant, c2, **attention_kwargs)
        self.fc = nn.Linear(c2, positive_int("num_classes", num_classes))
        self.config = {"variant": variant, "widths": [c1, c2], "in_channels": in_channels,
                       "num_classes": num_classes, **attention_kwargs}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nchw("SelectionCNN", x, self.features[0].in_channels)
        x = self.slot(self.features(x))  # (N, C_in, 40, 40) -> (N, C, 10, 10)
        return self.fc(x.mean(dim=(2, 3)))  # (N, C, 10, 10) -> (N, C) -> (N, classes)


# --------------------------------------------------------------------------------------
# CIFAR ResNets (He, Zhang, Ren, Sun, "Deep Residual Learning", CVPR 2016, Sec. 4.2)
# --------------------------------------------------------------------------------------


class CifarResNet(_StagedResNet):
    """ResNet-(6n+2) for 32×32 images: 3 stages of n basic blocks with 16, 32, 64 channels.

    A 3×3 conv stem, 2n layers per stage on 32×32, 16×16 and 8×8 maps, global
    average pool and a 10-way linear layer: 6n + 2 weighted layers. Shortcuts are
    option A (identity, zero-padded channels when the shape changes), as in the
    paper's CIFAR experiments, so n = 3 has the paper's 0.27M parameters.
    ``attention`` (one name or one per stage) sits on every block's residual
    branch; ``reduction`` defaults to 4 (see ``SMALL_REDUCTION``).
    """

    def __init__(self, n: int, attention="none", num_classes: int = 10, **attention_kwargs):
        n = positive_int("n (blocks per stage)", n)
        widths = (16, 32, 64)
        names = _attention_names(attention, len(widths))
        options = {"reduction": SMALL_REDUCTION, **attention_kwargs}
        super().__init__(3, widths, blocks=n, stem_stride=1, shortcut="A",
                         num_classes=positive_int("num_classes", num_classes),
                         build_attention=_attention_factory(names, options))
        self.depth = 6 * n + 2
        self.config = {"depth": self.depth, "attention": names, "num_classes": num_classes, **options}


def resnet20(attention="none", num_classes: int = 10, **attention_kwargs) -> CifarResNet:
    """ResNet-20 for CIFAR-10 (n = 3, 0.27M parameters without attention)."""
    return CifarResNet(3, attention, num_classes, **attention_kwargs)


def resnet56(attention="none", num_classes: int = 10, **attention_kwargs) -> CifarResNet:
    """ResNet-56 for CIFAR-10 (n = 9, 0.85M parameters without attention)."""
    return CifarResNet(9, attention, num_classes, **attention_kwargs)


# --------------------------------------------------------------------------------------
# Retrofitting torchvision ResNets
# --------------------------------------------------------------------------------------


class BlendedAttention(nn.Module):
    """Attention that starts as the identity: y = x + α (A(x) − x), α learnable, α = 0 at init.

    At α = 0 the block computes exactly what it did before, so a pretrained
    network keeps its outputs; at α = 1 it is the paper's module, y = A(x).
    Training moves α (its gradient is A(x) − x) and, once α ≠ 0, the attention's
    own parameters, whose gradients are scaled by α. Every mechanism's gate
    stays the paper's σ in (0, 1); only how much of its output is used is learned.
    """

    def __init__(self, attention: nn.Module):
        super().__init__()
        self.attention = attention
        self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * (self.attention(x) - x)


def _like(module: nn.Module, model: nn.Module) -> nn.Module:
    """``module`` on ``model``'s device and in its floating dtype (a retrofit joins a model as it is)."""
    reference = next(model.parameters(), None)
    return module if reference is None else module.to(device=reference.device, dtype=reference.dtype)


def add_attention(model: nn.Module, name: str, **kwargs) -> nn.Module:
    """Put attention ``name`` into every block of a torchvision ResNet, in place; return the model.

    For torchvision's ResNet-18/34 (``BasicBlock``) and ResNet-50/101/152
    (``Bottleneck``), the residual branch's last BatchNorm (``bn2``, ``bn3``)
    becomes ``nn.Sequential(bn, BlendedAttention(A))``, the place SE and CBAM
    choose. :class:`BlendedAttention` starts at the identity, so right after this
    call the network computes the same function as before (in eval mode) and
    pretrained weights keep their meaning; fine-tuning then learns how much
    attention to use. ``kwargs`` go to :func:`scattn.make_attention` (reduction
    r = 16 suits these widths of 64..2048).

    Load pretrained weights *before* retrofitting: the BN's keys move from
    ``layer1.0.bn2.weight`` to ``layer1.0.bn2.0.weight``. The new parameters are
    part of ``model.parameters()`` (and on the model's device and dtype).
    """
    from torchvision.models.resnet import BasicBlock as TVBasicBlock
    from torchvision.models.resnet import Bottleneck as TVBottleneck

    if not isinstance(model, nn.Module):
        raise TypeError(f"add_attention expects a torchvision ResNet, got {type(model).__name__}")
    blocks = [m for m in model.modules() if isinstance(m, (TVBasicBlock, TVBottleneck))]
    if not blocks:
        raise TypeError(
            f"add_attention expects a torchvision ResNet (resnet18/34/50/101/152) made of "
            f"BasicBlock or Bottleneck blocks; {type(model).__name__} has none"
        )
    if attention_name(name) == "none":  # an unknown name raises the registry's ValueError, model untouched
        return model

    # Build every module first, so a bad keyword leaves the model as it was.
    plan = []
    for block in blocks:
        attr = "bn3" if isinstance(block, TVBottleneck) else "bn2"
        bn = getattr(block, attr)
        if not isinstance(bn, nn.BatchNorm2d):
            raise ValueError(
                f"{type(block).__name__}.{attr} is a {type(bn).__name__}, not a BatchNorm2d: "
                "does this model already have attention?"
            )
        plan.append((block, attr, bn, make_attention(name, bn.num_features, **kwargs)))

    for block, attr, bn, attention in plan:
        blended = _like(BlendedAttention(attention), model)
        wrapped = nn.Sequential(bn, blended)
        wrapped.train(bn.training)  # keep the mode the model is in (eval for inference)
        setattr(block, attr, wrapped)
    return model


# --------------------------------------------------------------------------------------
# Retrofitting the course's own networks, and the shipped pretrained SmallCNN
# --------------------------------------------------------------------------------------


def retrofit_attention(model: nn.Module, name: str, **kwargs) -> nn.Module:
    """Put attention ``name`` into every :class:`BasicBlock`'s empty attention slot, in place.

    The course's counterpart of :func:`add_attention` for :class:`SmallCNN` and the
    CIFAR ResNets, whose blocks already have an ``attention`` slot after the last
    BN (an ``nn.Identity`` when built with ``attention="none"``). Each slot becomes
    ``BlendedAttention(make_attention(name, C, **kwargs))``, which starts at the
    identity: right after this call the network computes the same function as
    before (in eval mode), and fine-tuning learns how much attention to use.
    ``kwargs`` go to :func:`scattn.make_attention`; ``reduction`` defaults to
    ``SMALL_REDUCTION`` (4) as in the models themselves. ``model.config`` (when
    there is one) records the retrofit, so checkpoints tell the two apart.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"retrofit_attention expects a SmallCNN or CifarResNet, got {type(model).__name__}")
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    if not blocks:
        raise TypeError(
            f"retrofit_attention expects a model built from scattn.models.BasicBlock (SmallCNN, "
            f"resnet20, resnet56); {type(model).__name__} has none (torchvision ResNets: add_attention)"
        )
    key = attention_name(name)  # an unknown name raises the registry's ValueError, model untouched
    taken = [i for i, b in enumerate(blocks) if not isinstance(b.attention, nn.Identity)]
    if taken:
        raise ValueError(
            f"block(s) {taken} already hold attention ({type(blocks[taken[0]].attention).__name__}): "
            "retrofit a model built with attention='none'"
        )
    if key == "none":
        return model
    options = {"reduction": SMALL_REDUCTION, **kwargs}
    # Build every module first, so a bad keyword leaves the model as it was.
    plan = [(b, make_attention(key, b.bn2.num_features, **options)) for b in blocks]
    for block, attention in plan:
        blended = _like(BlendedAttention(attention), model)
        blended.train(block.training)
        block.attention = blended
    if isinstance(getattr(model, "config", None), dict):
        model.config = {**model.config, "retrofit": key, **options}
    return model


# The checkpoint benchmarks/make_pretrained.py wrote (its docstring and docs/results.md (section 6)
# record the command, seeds, torch version and accuracy); the hash pins the file's bytes.
PRETRAINED_FILE = "smallcnn_digits.pt"
PRETRAINED_SHA256 = "06bb6f12726a92bb763fdee43ecf3982b190e63b219fd60168e024ae8c32b54a"


def pretrained_path():
    """Where the shipped checkpoint lies (package data, also in a non-editable install)."""
    from importlib.resources import files

    return files("scattn") / "weights" / PRETRAINED_FILE


def pretrained_smallcnn(verify: bool = True) -> SmallCNN:
    """The course's pretrained :class:`SmallCNN` (no attention), in eval mode, offline.

    Trained once on cluttered digits by ``benchmarks/make_pretrained.py`` (recorded
    there and in docs/results.md (section 6)). The file's SHA-256 is checked against
    ``PRETRAINED_SHA256`` before it is read, and it is read with
    ``torch.load(weights_only=True)``: tensors and plain values only, no code runs.
    """
    import hashlib

    raw = pretrained_path().read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if verify and digest != PRETRAINED_SHA256:
        raise RuntimeError(
            f"{PRETRAINED_FILE} has SHA-256 {digest}, expected {PRETRAINED_SHA256}: the file is "
            "damaged or was replaced; reinstall scattn"
        )
    import io

    saved = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    config = saved["config"]
    model = SmallCNN(attention="none", num_classes=config["num_classes"], in_channels=config["in_channels"],
                     widths=config["widths"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


__all__ = [
    "BasicBlock",
    "BlendedAttention",
    "CifarResNet",
    "SELECTION_CONTROLS",
    "SMALL_REDUCTION",
    "SelectionCNN",
    "ShortcutA",
    "SmallCNN",
    "PRETRAINED_SHA256",
    "add_attention",
    "pretrained_smallcnn",
    "resnet20",
    "resnet56",
    "retrofit_attention",
    "selection_slot",
]
