from .multi_task_metric import MultiTaskMetric
from .routing_metric import RoutingMetric

__all__ = ['MultiTaskMetric', 'RoutingMetric']
