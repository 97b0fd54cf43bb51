"""SmallCNN, the CIFAR ResNets, and add_attention() on torchvision ResNets."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scattn
from scattn.models import (
    SELECTION_CONTROLS,
    BasicBlock,
    BlendedAttention,
    SelectionCNN,
    ShortcutA,
    SmallCNN,
    add_attention,
    resnet20,
    resnet56,
)
from scattn.tasks import TASKS

NAMES = scattn.available_attention()


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def blocks(model: nn.Module) -> list[BasicBlock]:
    return [m for m in model.modules() if isinstance(m, BasicBlock)]


# --------------------------------------------------------------------------------------
# SmallCNN and the CIFAR ResNets: every mechanism, shapes, gradients
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_small_cnn_every_attention(name):
    model = SmallCNN(name)
    x = torch.rand(2, 1, 40, 40)
    out = model(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    expected = type(scattn.make_attention(name, 16))
    assert all(isinstance(b.attention, expected) for b in blocks(model))


@pytest.mark.parametrize("name", NAMES)
def test_resnet20_every_attention(name):
    model = resnet20(name).eval()
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert len(blocks(model)) == 9


def test_other_sizes_classes_and_channels():
    model = SmallCNN("cbam", num_classes=4, in_channels=3, widths=(8, 16))
    assert model(torch.rand(3, 3, 28, 36)).shape == (3, 4)
    assert len(blocks(model)) == 2
    assert model.features(torch.rand(1, 3, 28, 36)).shape == (1, 16, 7, 9)


def test_small_cnn_resolution_per_stage():
    model = SmallCNN()
    sizes = []
    hooks = [b.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:]))) for b in blocks(model)]
    model(torch.rand(1, 1, 40, 40))
    for h in hooks:
        h.remove()
    assert sizes == [(16, 20, 20), (32, 10, 10), (64, 5, 5)]


def test_attention_sits_on_the_residual_branch_before_the_addition():
    block = BasicBlock(8, 16, stride=2, attention=scattn.make_attention("cbam", 16, reduction=4)).eval()
    x = torch.rand(2, 8, 12, 12)
    branch = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
    expected = F.relu(block.attention(branch) + block.shortcut(x))
    torch.testing.assert_close(block(x), expected)


# --------------------------------------------------------------------------------------
# Choosing attention: names, per-stage lists, keywords, errors
# --------------------------------------------------------------------------------------


def test_one_name_per_stage():
    model = SmallCNN(["none", "se", "cbam"])
    kinds = [type(b.attention) for b in blocks(model)]
    assert kinds == [nn.Identity, scattn.SqueezeExcitation, scattn.CBAM]
    model = resnet20(("eca", "spatial", "coord"))
    kinds = [type(b.attention).__name__ for b in blocks(model)]
    assert kinds == ["EfficientChannelAttention"] * 3 + ["SpatialAttention"] * 3 + ["CoordinateAttention"] * 3


@pytest.mark.parametrize("bad", [["se", "cbam"], ("se",) * 4, []])
def test_per_stage_list_of_the_wrong_length(bad):
    with pytest.raises(ValueError, match="expected 3 names"):
        SmallCNN(bad)
    with pytest.raises(ValueError, match="expected 3 names"):
        resnet56(bad)


def test_bad_attention_arguments():
    with pytest.raises(ValueError, match="unknown attention 'cbma'"):
        SmallCNN("cbma")
    with pytest.raises(ValueError, match="unknown attention"):
        resnet20(["se", "se", "squeeze"])
    with pytest.raises(ValueError, match="name such as"):
        SmallCNN(16)
    with pytest.raises(TypeError, match="no attention mechanism takes 'reducton'"):
        SmallCNN("se", reducton=8)  # a typo no mechanism takes: the registry's error, as make_attention's
    with pytest.raises(TypeError, match="no attention mechanism takes 'reducton'"):
        resnet20("none", reducton=8)
    with pytest.raises(ValueError, match="widths"):
        SmallCNN(widths=())
    with pytest.raises(ValueError, match="n \\(blocks per stage\\)"):
        scattn.models.CifarResNet(0)


def test_bad_input():
    with pytest.raises(ValueError, match=r"SmallCNN was built for 1 channel but the input has 3"):
        SmallCNN()(torch.rand(2, 3, 40, 40))
    with pytest.raises(ValueError, match=r"CifarResNet expects a 4-D tensor \(N, C, H, W\)"):
        resnet20()(torch.rand(3, 32, 32))


# Every model a task builds: the attention registry's names and the task's own variants.
TASK_VARIANTS = [(task.name, variant) for task in TASKS.values() for variant in task.variant_names()]


@pytest.mark.parametrize("task, variant", TASK_VARIANTS)
def test_every_task_model_rejects_bad_input_naming_what_it_expects(task, variant):
    c, h, w = TASKS[task].image
    model = TASKS[task].model(variant)
    name = type(model).__name__
    for x, expected in [
        (torch.rand(c, h, w), rf"{name} expects a 4-D tensor \(N, C, H, W\), got 3-D"),
        (torch.rand(2, c + 1, h, w), rf"{name} was built for {c} channels? but the input has {c + 1}"),
        (torch.randint(0, 256, (2, c, h, w), dtype=torch.uint8),
         rf"{name} expects a floating-point tensor \(float32, .*got torch.uint8"),
        (torch.rand(2, c, 0, w), rf"{name} expects H and W of at least 1, got shape \(2, {c}, 0, {w}\)"),
    ]:
        with pytest.raises(ValueError, match=expected):
            model(x)


@pytest.mark.parametrize("task, variant", [(t, v) for t, v in TASK_VARIANTS if t != "cifar100"])  # = cifar10's
def test_every_task_model_takes_an_empty_batch_and_keeps_a_nan_in_its_image(task, variant):
    c, h, w = TASKS[task].image
    model = TASKS[task].model(variant).train()
    before = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    assert model(torch.rand(0, c, h, w)).shape[0] == 0
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm statistics untouched
    model.eval()
    x = torch.rand(3, c, h, w)
    x[1, 0, h // 2, w // 2] = float("nan")
    with torch.no_grad():
        out, clean = model(x), model(x[[0, 2]])
    assert not torch.isfinite(out[1]).all()  # passed on, never hidden: fit and evaluate stop on it
    torch.testing.assert_close(out[[0, 2]], clean)


def test_selection_cnn_names_every_variant_it_takes_and_refuses_unknown_keywords():
    with pytest.raises(ValueError, match=r"unknown variant 'conv5' \(did you mean 'conv7'\?\); "
                                         r"expected one of none, se, .*context-concat, spatial-add-relu, dwconv3"):
        SelectionCNN("conv5")
    assert isinstance(SelectionCNN(" Conv3 ").slot[0], nn.Conv2d)  # as the registry: case and spaces ignored
    assert SelectionCNN("CBAM").config["variant"] == "cbam"
    for variant in SELECTION_CONTROLS:
        SelectionCNN(variant, reduction=8, kernel_size=3)  # knobs of other mechanisms: ignored, as by "none"
        with pytest.raises(TypeError, match="no attention mechanism takes 'reducton'"):
            SelectionCNN(variant, reducton=8)
    with pytest.raises(TypeError, match="no attention mechanism takes 'reducton'"):
        TASKS["colour-cue"].model("deeper", reducton=8)


def test_keywords_reach_the_mechanisms_that_take_them():
    # reduction defaults to 4 here: 16 channels keep 4 hidden units, not 16 // 16 = 1.
    se = blocks(SmallCNN("se"))[0].attention
    assert se.fc1.out_features == 4
    assert blocks(SmallCNN("se", reduction=16))[0].attention.fc1.out_features == 1
    assert blocks(resnet20("cbam"))[-1].attention.channel.mlp[0].out_features == 16
    cbam = blocks(SmallCNN("cbam", kernel_size=3))[0].attention
    assert cbam.spatial.conv.kernel_size == (3, 3)
    # ECA and the spatial gate have no reduction: one call works for every name.
    for name in NAMES:
        SmallCNN(name, reduction=8)
    mixed = SmallCNN(["eca", "spatial", "cbam"], kernel_size=3)
    assert [b.attention.kernel_size if hasattr(b.attention, "kernel_size") else b.attention.spatial.kernel_size
            for b in blocks(mixed)] == [3, 3, 3]


# --------------------------------------------------------------------------------------
# Sizes: the paper's parameter counts and depths
# --------------------------------------------------------------------------------------


def weighted_layers(model: nn.Module) -> int:
    """Convolutions and linear layers of the backbone (attention excluded)."""
    inside = {id(m) for b in blocks(model) for m in b.attention.modules()}
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in inside for m in model.modules())


def test_cifar_resnet_sizes():
    r20, r56 = resnet20(), resnet56()
    assert 0.26e6 < n_params(r20) < 0.28e6  # He et al., Table 6: 0.27M
    assert 0.84e6 < n_params(r56) < 0.86e6  # 0.85M
    assert weighted_layers(r20) == 20 and weighted_layers(r56) == 56
    assert r20.depth == 20 and r56.depth == 56
    shortcuts = [b.shortcut for b in blocks(r20)]
    assert sum(isinstance(s, ShortcutA) for s in shortcuts) == 2  # option A: parameter-free
    # Attention adds little: SE with r = 4 on 16..64 channels, under 4% more.
    assert n_params(r20) < n_params(resnet20("se")) < 1.04 * n_params(r20)
    assert n_params(resnet20("eca")) - n_params(r20) < 100  # k weights per block


def test_small_cnn_size():
    base = n_params(SmallCNN())
    assert 50_000 < base < 120_000
    for name in NAMES:
        assert base <= n_params(SmallCNN(name)) < 1.2 * base


def test_option_a_shortcut_zero_pads_channels():
    x = torch.rand(2, 16, 8, 8)
    y = ShortcutA(16, 32, stride=2)(x)
    assert y.shape == (2, 32, 4, 4)
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert (y[:, 16:] == 0).all()


# --------------------------------------------------------------------------------------
# add_attention on torchvision ResNets
# --------------------------------------------------------------------------------------

RETROFIT = [("resnet18", name) for name in ["se", "cbam", "eca", "bam", "coord", "scse", "spatial"]]
RETROFIT += [("resnet50", name) for name in ["se", "cbam", "eca", "bam"]]


@pytest.fixture(scope="module")
def torchvision_resnets():
    """One randomly initialised ResNet-18 and ResNet-50 (building ResNet-50 takes a while)."""
    import torchvision

    return {arch: getattr(torchvision.models, arch)(weights=None).eval() for arch in ("resnet18", "resnet50")}


@pytest.mark.parametrize("arch, name", RETROFIT)
def test_add_attention_keeps_the_function_at_init(arch, name, torchvision_resnets):
    model = copy.deepcopy(torchvision_resnets[arch])
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model(x)
    assert add_attention(model, name) is model
    added = [m for m in model.modules() if isinstance(m, BlendedAttention)]
    assert len(added) == {"resnet18": 8, "resnet50": 16}[arch]
    assert all(not m.training for m in model.modules())  # the new modules follow model.eval()
    with torch.no_grad():
        after = model(x)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)


def test_add_attention_places_it_after_the_last_bn(torchvision_resnets):
    r18 = add_attention(copy.deepcopy(torchvision_resnets["resnet18"]), "se")
    block = r18.layer2[0]
    assert isinstance(block.bn2[0], nn.BatchNorm2d) and isinstance(block.bn2[1], BlendedAttention)
    assert block.bn2[1].attention.channels == 128
    r50 = add_attention(copy.deepcopy(torchvision_resnets["resnet50"]), "cbam")
    block = r50.layer4[2]
    assert isinstance(block.bn2, nn.BatchNorm2d)  # a Bottleneck's branch ends at bn3
    assert block.bn3[1].attention.channels == 2048
    assert block.bn3[1].attention.channel.mlp[0].out_features == 2048 // 16  # the paper's r


def test_added_attention_trains(torchvision_resnets):
    model = copy.deepcopy(torchvision_resnets["resnet18"])
    old = {id(p) for p in model.parameters()}
    add_attention(model, "cbam", reduction=8)
    new = [(n, p) for n, p in model.named_parameters() if id(p) not in old]
    assert new and all(p.requires_grad for _, p in new)
    assert any(n.endswith("alpha") for n, _ in new) and any("attention" in n for n, _ in new)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.rand(2, 3, 32, 32), torch.randint(0, 1000, (2,))
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    alphas = [p for n, p in new if n.endswith("alpha")]
    assert all(a.item() != 0 for a in alphas)  # α moved off zero...
    weights = [p for n, p in new if not n.endswith("alpha")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)  # ...and A learns


def test_add_attention_errors_leave_the_model_alone(torchvision_resnets):
    model = copy.deepcopy(torchvision_resnets["resnet18"])
    keys = list(model.state_dict())
    with pytest.raises(ValueError, match="unknown attention"):
        add_attention(model, "cbma")
    with pytest.raises(TypeError):
        add_attention(model, "cbam", no_such_option=3)
    assert list(model.state_dict()) == keys
    assert add_attention(model, "none") is model and list(model.state_dict()) == keys
    add_attention(model, "se")
    with pytest.raises(ValueError, match="already have attention"):
        add_attention(model, "se")


@pytest.mark.parametrize("model", [SmallCNN(), nn.Sequential(nn.Conv2d(3, 8, 3)), "resnet18"])
def test_add_attention_needs_a_torchvision_resnet(model):
    with pytest.raises(TypeError, match="torchvision ResNet"):
        add_attention(model, "se")
