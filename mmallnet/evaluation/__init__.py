from .metrics import (
    BoundarySEISMMetric,
    MultiTaskMetric,
    PerDegradationIoUMetric,
)

__all__ = ['BoundarySEISMMetric', 'MultiTaskMetric', 'PerDegradationIoUMetric']
