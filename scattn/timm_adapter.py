"""scattn's attention inside timm's ResNets: the ``attn_layer`` of every residual block.

timm's ResNet family (resnet18 ... resnet152, resnext, wide_resnet) builds its blocks
with ``block_args``; a block calls ``attn_layer(channels, device=..., dtype=...)``
and applies the result after the residual branch's last BatchNorm, before the
shortcut is added: where SE (Hu et al. 2018, Fig. 3) and CBAM (Woo et al. 2018,
Fig. 3) put it. :class:`TimmAttention` answers that call with a scattn module::

    import timm
    from scattn.timm_adapter import TimmAttention

    model = timm.create_model("resnet50", block_args={"attn_layer": TimmAttention("cbam", reduction=16)})

timm's own ``attn_layer`` names ("se", "cbam", "eca" ...) pick timm's modules; this
picks scattn's, the ones the course derives from the papers' equations. To train
such a model with timm's ``train.py``, register it under a name with timm's
``register_model`` (docs/scaling.md shows the five lines). BAM belongs between
stages in its paper, not in every block: per block it is another network than the
paper's. timm needs only to be installed where this adapter is used; scattn does
not import it.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import make_attention
from .attention.registry import attention_name


class TimmAttention:
    """timm's ``attn_layer`` protocol for attention ``name`` (keywords go to :func:`scattn.make_attention`).

    The name and the keywords are checked here, before timm builds anything; each
    call makes a fresh module for ``channels`` channels on timm's device and dtype.
    """

    def __init__(self, name: str, **kwargs):
        self.name = attention_name(name)
        make_attention("none", 1, **kwargs)  # a keyword no mechanism takes: TypeError now, not mid-build
        self.kwargs = kwargs

    def __call__(self, channels: int, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> nn.Module:
        return make_attention(self.name, channels, **self.kwargs).to(device=device, dtype=dtype)

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"TimmAttention({self.name!r}{options})"


__all__ = ["TimmAttention"]
