from .checkpoint_compat import (
    load_local_checkpoint,
    patch_mmengine_checkpoint_loading,
)
from .cpu_distributed import setup_cpu_distributed

__all__ = [
    'load_local_checkpoint', 'patch_mmengine_checkpoint_loading',
    'setup_cpu_distributed'
]
