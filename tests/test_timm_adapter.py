"""scattn's attention in timm's ResNets through ``block_args={"attn_layer": TimmAttention(...)}``."""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from pathlib import Path

import pytest
import torch

import scattn
from scattn.bench import count_params
from scattn.timm_adapter import TimmAttention

timm = pytest.importorskip("timm")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"


def resnet(arch: str, attention: str, **kwargs):
    torch.manual_seed(0)
    return timm.create_model(arch, num_classes=10, block_args={"attn_layer": TimmAttention(attention, **kwargs)})


@pytest.mark.parametrize("arch,expected", [("resnet18", 8), ("resnet50", 16)])
def test_every_residual_block_gets_the_scattn_module_after_its_last_batchnorm(arch, expected):
    model = resnet(arch, "cbam", reduction=16).eval()
    blocks = [m for m in model.modules() if hasattr(m, "se") and hasattr(m, "conv1")]
    assert len(blocks) == expected
    seen = []
    for block in blocks:
        last_bn = block.bn3 if hasattr(block, "bn3") else block.bn2
        assert isinstance(block.se, scattn.CBAM) and block.se.channels == last_bn.num_features
        block.se.register_forward_hook(lambda m, i, o: seen.append((m, i[0])))
        last_bn.register_forward_hook(lambda m, i, o: seen.append((m, o)))
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    # each block: its last BatchNorm's output is what the attention receives
    pairs = list(zip(seen[0::2], seen[1::2], strict=True))
    assert len(pairs) == expected
    assert all(torch.equal(bn_out, att_in) for (_, bn_out), (_, att_in) in pairs)


def test_parameters_are_the_plain_networks_plus_the_attention_modules():
    plain = timm.create_model("resnet50", num_classes=10)
    for name in ("se", "eca", "cbam"):
        model = resnet("resnet50", name, reduction=16)
        extra = sum(count_params(m.se) for m in model.modules() if hasattr(m, "se") and hasattr(m, "conv1"))
        assert count_params(model) == count_params(plain) + extra > count_params(plain)
    assert count_params(resnet("resnet50", "none")) == count_params(plain)


def test_names_keywords_device_and_dtype():
    with pytest.raises(ValueError, match="unknown attention 'cbma'.*did you mean 'cbam'"):
        TimmAttention("cbma")
    with pytest.raises(TypeError, match="no attention mechanism takes 'ratio'"):
        TimmAttention("se", ratio=8)
    layer = TimmAttention("SE", reduction=4)
    assert repr(layer) == "TimmAttention('se', reduction=4)"
    module = layer(64, device="cpu", dtype=torch.float64)
    assert isinstance(module, scattn.SqueezeExcitation)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert layer(64) is not layer(64)  # a fresh module per block


def test_the_registration_in_docs_scaling_md_gives_timm_a_model_name(tmp_path, monkeypatch):
    # the block docs/scaling.md tells readers to save as scattn_models.py, run as written
    code = re.search(r"```python\n(# scattn_models\.py.*?)```", DOCS.read_text(), re.S)
    assert code, "docs/scaling.md has no ```python block starting with '# scattn_models.py'"
    (tmp_path / "scattn_models.py").write_text(code.group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("scattn_models", None)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Overwriting resnet50_scattn_cbam")  # a rerun in one session
        importlib.import_module("scattn_models")
    model = timm.create_model("resnet50_scattn_cbam", num_classes=10)
    assert sum(isinstance(m, scattn.CBAM) for m in model.modules()) == 16
    assert "resnet50_scattn_cbam" in timm.list_models("resnet50_scattn_*")

