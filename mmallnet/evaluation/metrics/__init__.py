from .boundary_seism_metric import BoundarySEISMMetric
from .multi_task_metric import MultiTaskMetric
from .per_degradation_iou_metric import PerDegradationIoUMetric
from .routing_metric import RoutingMetric

__all__ = [
    'BoundarySEISMMetric', 'MultiTaskMetric', 'PerDegradationIoUMetric',
    'RoutingMetric'
]
