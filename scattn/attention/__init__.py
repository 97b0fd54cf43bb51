"""The attention mechanisms, one module each, and the registry that names them."""

from .additive import AdditiveSqueezeExcitation
from .bam import BAM
from .base import Gate
from .cbam import CBAM
from .channel import ChannelAttention
from .context import ContextConcat
from .coord import CoordinateAttention
from .eca import EfficientChannelAttention, eca_kernel_size
from .gc import GlobalContext
from .non_local import NonLocalBlock
from .registry import attention_name, available_attention, make_attention
from .scse import SCSE, SpatialSqueeze
from .se import SqueezeExcitation
from .spatial import SpatialAttention
from .spatial_additive import AdditiveSpatial

__all__ = [
    "AdditiveSqueezeExcitation",
    "AdditiveSpatial",
    "BAM",
    "CBAM",
    "ChannelAttention",
    "ContextConcat",
    "CoordinateAttention",
    "EfficientChannelAttention",
    "Gate",
    "GlobalContext",
    "NonLocalBlock",
    "SCSE",
    "SpatialAttention",
    "SpatialSqueeze",
    "SqueezeExcitation",
    "attention_name",
    "available_attention",
    "eca_kernel_size",
    "make_attention",
]
