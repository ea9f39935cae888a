from .base_multi_task_dataset import BaseMultiTaskDataset
from .degraded_benchmark import (
    DegradedBenchmarkDataset,
    DegradedCopyDataset,
    benchmark_sets,
    load_manifest,
    make_degraded_benchmark,
)
from .nyud_multi_task import NYUD_CLASSES, NYUDMultiTaskDataset
from .pascal_context_multi_task import (
    PASCAL_CONTEXT_MT_CLASSES,
    PASCAL_PARTS_CLASSES,
    PascalContextMultiTaskDataset,
)
from .synthscenes import SynthScenesDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'BaseMultiTaskDataset', 'DegradedBenchmarkDataset', 'DegradedCopyDataset',
    'benchmark_sets',
    'load_manifest', 'make_degraded_benchmark',
    'NYUD_CLASSES', 'NYUDMultiTaskDataset', 'PASCAL_CONTEXT_MT_CLASSES',
    'PASCAL_PARTS_CLASSES', 'PascalContextMultiTaskDataset',
    'SynthScenesDataset'
]
