from .metrics import MultiTaskMetric

__all__ = ['MultiTaskMetric']
