from .multi_task_encoder_decoder import MultiTaskEncoderDecoder
from .routed_encoder_decoder import RoutedEncoderDecoder
from .two_stage_cascade import TwoStageCascade

__all__ = [
    'MultiTaskEncoderDecoder', 'RoutedEncoderDecoder', 'TwoStageCascade'
]
