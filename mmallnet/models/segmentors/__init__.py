from .multi_task_encoder_decoder import MultiTaskEncoderDecoder
from .routed_encoder_decoder import RoutedEncoderDecoder

__all__ = ['MultiTaskEncoderDecoder', 'RoutedEncoderDecoder']
