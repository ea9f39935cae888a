from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .degraded_benchmark_hook import (
    DegradedBenchmarkAverageHook,
    average_over_degradations,
)
from .non_finite_loss_hook import (
    NonFiniteLossError,
    NonFiniteLossHook,
    non_finite_losses,
    non_finite_tensors,
)
from .route_loss_weight_hook import RouteLossWeightHook
from .task_consistency_hook import (
    TaskConsistencyHook,
    TaskUse,
    check_task_consistency,
)

__all__ = [
    'AtomicCheckpointHook', 'CheckpointFitHook',
    'DegradedBenchmarkAverageHook', 'average_over_degradations',
    'NonFiniteLossError', 'NonFiniteLossHook', 'non_finite_losses',
    'non_finite_tensors', 'RouteLossWeightHook', 'TaskConsistencyHook',
    'TaskUse',
    'check_task_consistency'
]
