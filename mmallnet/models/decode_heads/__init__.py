from .multi_task_head import MultiTaskHead
from .tcr_head import TCRHead

__all__ = ['MultiTaskHead', 'TCRHead']
