from .nyud_multi_task import NYUD_CLASSES, NYUDMultiTaskDataset
from .pascal_context_multi_task import (
    PASCAL_CONTEXT_MT_CLASSES,
    PASCAL_PARTS_CLASSES,
    PascalContextMultiTaskDataset,
)
from .synthscenes import SynthScenesDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'NYUD_CLASSES', 'NYUDMultiTaskDataset', 'PASCAL_CONTEXT_MT_CLASSES',
    'PASCAL_PARTS_CLASSES', 'PascalContextMultiTaskDataset',
    'SynthScenesDataset'
]
