from .boundary_seism_metric import BoundarySEISMMetric
from .multi_task_metric import MultiTaskMetric
from .routing_metric import RoutingMetric

__all__ = ['BoundarySEISMMetric', 'MultiTaskMetric', 'RoutingMetric']
