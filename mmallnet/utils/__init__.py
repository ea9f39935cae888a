from .checkpoint_compat import (
    load_local_checkpoint,
    patch_mmengine_checkpoint_loading,
)
from .complexity import (
    DCNV3_OP_NAME,
    EXTRA_ACTIVATION_HANDLES,
    EXTRA_FLOP_HANDLES,
    SOFTMAX_FLOP_HANDLES,
    TensorModeWrapper,
    dcnv3_flop_jit,
    get_model_complexity,
    sdpa_flop_counter,
    softmax_flop_jit,
)
from .cpu_distributed import setup_cpu_distributed

__all__ = [
    'load_local_checkpoint', 'patch_mmengine_checkpoint_loading',
    'setup_cpu_distributed', 'DCNV3_OP_NAME', 'EXTRA_FLOP_HANDLES',
    'EXTRA_ACTIVATION_HANDLES', 'SOFTMAX_FLOP_HANDLES', 'TensorModeWrapper',
    'dcnv3_flop_jit', 'get_model_complexity', 'sdpa_flop_counter',
    'softmax_flop_jit'
]
