from .degradations import (
    BaseDegradation,
    CleanImage,
    Fog,
    GaussianNoise,
    MotionBlur,
    RainStreaks,
    RandomDegradation,
)
from .degraded_copy import LoadDegradedImage
from .formatting import PackMultiTaskInputs
from .geometric import (
    MultiTaskPad,
    MultiTaskRandomCrop,
    MultiTaskRandomFlip,
    MultiTaskRandomResize,
)
from .image_id import AddImageId, image_id_from_path
from .loading import LoadMultiTaskAnnotations
from .pascal_context import IgnoreEmptyParts, LoadPascalContextAnnotations

__all__ = [
    'BaseDegradation', 'CleanImage', 'Fog', 'GaussianNoise', 'MotionBlur',
    'RainStreaks', 'RandomDegradation', 'AddImageId', 'image_id_from_path',
    'PackMultiTaskInputs',
    'MultiTaskPad', 'MultiTaskRandomCrop', 'MultiTaskRandomFlip',
    'MultiTaskRandomResize',
    'LoadMultiTaskAnnotations', 'LoadDegradedImage', 'IgnoreEmptyParts',
    'LoadPascalContextAnnotations'
]
