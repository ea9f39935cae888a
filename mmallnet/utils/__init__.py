from .checkpoint_fit import (
    CheckpointFit,
    CheckpointMismatchError,
    check_checkpoint_fits,
    checkpoint_state_dict,
    compare_state_dicts,
    config_weight_files,
)
from .checkpoint_loading import (
    RUNNER_CHECKPOINT_GLOBALS,
    TRUST_ENV,
    TRUST_FLAG,
    TRUST_HELP,
    UntrustedCheckpointError,
    checkpoint_trusted,
    load_local_checkpoint,
    register_checkpoint_loader,
    trust_checkpoints,
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
from .config_path import resolve_config_path
from .cpu_distributed import setup_cpu_distributed

__all__ = [
    'CheckpointFit', 'CheckpointMismatchError', 'check_checkpoint_fits',
    'config_weight_files',
    'checkpoint_state_dict', 'compare_state_dicts',
    'RUNNER_CHECKPOINT_GLOBALS', 'TRUST_ENV', 'TRUST_FLAG', 'TRUST_HELP',
    'UntrustedCheckpointError', 'checkpoint_trusted', 'load_local_checkpoint',
    'register_checkpoint_loader', 'trust_checkpoints',
    'setup_cpu_distributed', 'resolve_config_path', 'DCNV3_OP_NAME',
    'EXTRA_FLOP_HANDLES',
    'EXTRA_ACTIVATION_HANDLES', 'SOFTMAX_FLOP_HANDLES', 'TensorModeWrapper',
    'dcnv3_flop_jit', 'get_model_complexity', 'sdpa_flop_counter',
    'softmax_flop_jit'
]
