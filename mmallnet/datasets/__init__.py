from .nyud_multi_task import NYUD_CLASSES, NYUDMultiTaskDataset
from .synthscenes import SynthScenesDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['NYUD_CLASSES', 'NYUDMultiTaskDataset', 'SynthScenesDataset']
