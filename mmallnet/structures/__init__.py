from .expert_routing import (
    ROUTING_METAINFO_KEYS,
    ExpertRouting,
    RoutedFeatures,
    routing_of,
)
from .multi_task_data_sample import MultiTaskDataSample
from .tasks import (
    ALL_TASKS,
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
    TASK_SPECS,
    TaskSpec,
    check_tasks,
)

__all__ = [
    'ExpertRouting', 'RoutedFeatures', 'ROUTING_METAINFO_KEYS', 'routing_of',
    'MultiTaskDataSample', 'ALL_TASKS', 'CLEAN_IMG_KEY', 'DEGRADED_IMG_KEY',
    'RESTORED_IMG_KEY', 'TASK_SPECS', 'TaskSpec', 'check_tasks'
]
