from .degraded_benchmark_hook import (
    DegradedBenchmarkAverageHook,
    average_over_degradations,
)

__all__ = ['DegradedBenchmarkAverageHook', 'average_over_degradations']
