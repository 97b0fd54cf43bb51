"""scattn: spatial, channel and combined attention for CNNs, the package behind the course."""

from .attention import (
    BAM,
    CBAM,
    SCSE,
    AdditiveSpatial,
    AdditiveSqueezeExcitation,
    ChannelAttention,
    ContextConcat,
    CoordinateAttention,
    EfficientChannelAttention,
    Gate,
    GlobalContext,
    NonLocalBlock,
    SpatialAttention,
    SpatialSqueeze,
    SqueezeExcitation,
    available_attention,
    eca_kernel_size,
    make_attention,
)
from .course import claim
from .runtime import Config, setup, version

__version__ = version()

__all__ = [
    "Config",
    "claim",
    "setup",
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
    "available_attention",
    "eca_kernel_size",
    "make_attention",
]
