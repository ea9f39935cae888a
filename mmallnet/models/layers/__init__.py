from .adaptive_fusion_unit import AdaptiveFusionUnit
from .channels_last import ToChannelsFirst, ToChannelsLast, build_layout_norm
from .complexity_expert import (
    ComplexityExpert,
    DynamicDepthwiseGate,
    WindowAttention,
    WindowMLP,
)
from .complexity_mixture import ComplexityMixture, dispatch_experts
from .cross_task_interaction import CrossTaskInteraction
from .dcnv3 import DCNv3
from .dcnv3_function import DCNv3Function, dcnv3_core
from .image_router import ImageRouter, Routing
from .restormer import GDFN, MDTA, ChannelLayerNorm2d, RestormerBlock
from .skff import SKFF
from .unified_expert import UnifiedExpert

__all__ = [
    'DCNv3', 'DCNv3Function', 'dcnv3_core', 'ToChannelsFirst',
    'ToChannelsLast', 'build_layout_norm', 'ChannelLayerNorm2d', 'MDTA',
    'GDFN', 'RestormerBlock', 'SKFF', 'CrossTaskInteraction',
    'AdaptiveFusionUnit', 'ComplexityExpert', 'DynamicDepthwiseGate',
    'WindowAttention', 'WindowMLP', 'ComplexityMixture', 'dispatch_experts',
    'ImageRouter', 'Routing', 'UnifiedExpert'
]
