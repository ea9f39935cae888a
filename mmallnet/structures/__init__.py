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
    'MultiTaskDataSample', 'ALL_TASKS', 'CLEAN_IMG_KEY', 'DEGRADED_IMG_KEY',
    'RESTORED_IMG_KEY', 'TASK_SPECS', 'TaskSpec', 'check_tasks'
]
