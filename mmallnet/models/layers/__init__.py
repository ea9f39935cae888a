from .channels_last import ToChannelsFirst, ToChannelsLast, build_layout_norm
from .dcnv3 import DCNv3
from .dcnv3_function import DCNv3Function, dcnv3_core

__all__ = [
    'DCNv3', 'DCNv3Function', 'dcnv3_core', 'ToChannelsFirst',
    'ToChannelsLast', 'build_layout_norm'
]
