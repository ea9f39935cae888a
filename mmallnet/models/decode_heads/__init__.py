from .multi_task_head import MultiTaskHead

__all__ = ['MultiTaskHead']
