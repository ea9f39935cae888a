"""The average over the degraded sets of a fixed degraded benchmark."""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS


def average_over_degradations(metrics: Dict[str, float],
                              prefix: str = 'mt',
                              exclude: Sequence[str] = ('clean', ),
                              name: str = 'degraded_mean') -> Dict[str, float]:
    """Mean of each per-degradation metric over the degraded sets.

    ``MultiTaskMetric(per_degradation=True)`` reports
    ``'<prefix>/<type>/<key>'`` per degradation type (set) and
    ``'<prefix>/<key>'`` pooled over all samples (the clean ones included
    when the benchmark evaluates them). This returns
    ``'<prefix>/<name>/<key>'`` = the unweighted mean of
    ``'<prefix>/<type>/<key>'`` over the types not in ``exclude``, for every
    key that all of them report (each set counts once, as in robustness
    benchmarks, whatever its number of images).

    Args:
        metrics (dict[str, float]): Flat evaluation results.
        prefix (str): Metric prefix. Defaults to 'mt'.
        exclude (Sequence[str]): Types left out. Defaults to ('clean',).
        name (str): Group name of the averages. Defaults to
            'degraded_mean'.

    Returns:
        dict[str, float]: The averages (empty with no degraded type).
    """
    lead = f'{prefix}/'
    per_type: Dict[str, Dict[str, float]] = OrderedDict()
    for key, value in metrics.items():
        if not key.startswith(lead):
            continue
        rest = key[len(lead):]
        if '/' not in rest:
            continue
        group, metric = rest.split('/', 1)
        if group in exclude or group == name:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        per_type.setdefault(group, OrderedDict())[metric] = float(value)
    if not per_type:
        return {}
    groups: List[Dict[str, float]] = list(per_type.values())
    out: Dict[str, float] = OrderedDict()
    for metric in groups[0]:
        if all(metric in g for g in groups):
            out[f'{lead}{name}/{metric}'] = math.fsum(
                g[metric] for g in groups) / len(groups)
    return out


@HOOKS.register_module()
class DegradedBenchmarkAverageHook(Hook):
    """Add the mean over the degraded sets to the evaluation results.

    After each validation / test epoch, adds
    :func:`average_over_degradations` of the metrics to them (so they are
    logged, written to the json log and returned by ``runner.test()``) and
    logs one line per average. Runs before ``RuntimeInfoHook`` (priority
    ``'HIGHEST'``), which copies the metrics to the message hub.

    Args:
        prefix (str): Metric prefix of ``MultiTaskMetric``. Defaults to
            'mt'.
        exclude (Sequence[str]): Types left out of the mean. Defaults to
            ('clean',).
        name (str): Group name of the averages. Defaults to
            'degraded_mean'.
    """

    priority = 'HIGHEST'

    def __init__(self,
                 prefix: str = 'mt',
                 exclude: Sequence[str] = ('clean', ),
                 name: str = 'degraded_mean') -> None:
        self.prefix = prefix
        self.exclude = tuple(exclude)
        self.name = name

    def _add(self, metrics: Optional[Dict[str, float]]) -> None:
        if not metrics:
            return
        averages = average_over_degradations(metrics, self.prefix,
                                             self.exclude, self.name)
        if not averages:
            return
        metrics.update(averages)
        lines = '\n'.join(f'  {k}: {v:.4f}' for k, v in averages.items())
        print_log(
            'Mean over the degraded sets (each set weighted equally, '
            f'excluding {list(self.exclude)}):\n{lines}',
            logger='current')

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        self._add(metrics)

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        self._add(metrics)
