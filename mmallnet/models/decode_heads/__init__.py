from .base_multi_task_head import BaseMultiTaskHead
from .multi_task_fpn_head import MultiTaskFPNHead
from .tcr_head import TCRHead

__all__ = ['BaseMultiTaskHead', 'MultiTaskFPNHead', 'TCRHead']
