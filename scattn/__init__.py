"""scattn: spatial, channel and combined attention for CNNs, the package behind the course."""

from .attention import (
    BAM,
    CBAM,
    SCSE,
    AdditiveSqueezeExcitation,
    ChannelAttention,
    CoordinateAttention,
    EfficientChannelAttention,
    Gate,
    SpatialAttention,
    SpatialSqueeze,
    SqueezeExcitation,
    available_attention,
    eca_kernel_size,
    make_attention,
)
from .runtime import Config, setup

__version__ = "0.1.0"

__all__ = [
    "Config",
    "setup",
    "AdditiveSqueezeExcitation",
    "BAM",
    "CBAM",
    "ChannelAttention",
    "CoordinateAttention",
    "EfficientChannelAttention",
    "Gate",
    "SCSE",
    "SpatialAttention",
    "SpatialSqueeze",
    "SqueezeExcitation",
    "available_attention",
    "eca_kernel_size",
    "make_attention",
]
