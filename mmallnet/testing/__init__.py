"""Helpers for tests: tiny datasets in the real on-disk layouts, batches.

Not imported by ``import mmallnet``; import the submodules explicitly.
"""
from .ade20k import (
    save_tiny_seg_checkpoint,
    write_ade20k,
    write_tiny_seg_config,
)
from .pascal_context import write_pascal_context
from .samples import multi_task_batch

__all__ = [
    'write_pascal_context', 'multi_task_batch', 'write_ade20k',
    'write_tiny_seg_config', 'save_tiny_seg_checkpoint'
]
