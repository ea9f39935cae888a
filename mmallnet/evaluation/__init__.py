from .metrics import BoundarySEISMMetric, MultiTaskMetric

__all__ = ['BoundarySEISMMetric', 'MultiTaskMetric']
