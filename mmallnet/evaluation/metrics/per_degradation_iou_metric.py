"""MMSeg's IoU metrics per degradation set, their mean and the drop."""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmallnet.datasets.degraded_benchmark.sets import (
    BENCHMARK_TYPES,
    CLEAN_TYPE,
    set_name,
)

#: Group of the mean over the degraded sets.
DEGRADED_MEAN = 'degraded_mean'
#: Severity keys used by default: on-the-fly noise draws its sigma from
#: {15, 25, 50} (one set each, as the fixed benchmark's ``noise_15`` ...);
#: the other types draw from ranges and form one set each.
DEFAULT_SEVERITY_KEYS = {'noise': 'sigma'}
#: Suffixes of the drop keys: points and percent of the clean value.
DROP_SUFFIX = '_drop'
DROP_REL_SUFFIX = '_drop_rel'

_SUMMARY_NAMES = {
    'mIoU': ('mIoU', 'mAcc'),
    'mDice': ('mDice', 'mAcc'),
    'mFscore': ('mFscore', 'mPrecision', 'mRecall'),
}


def sample_set_name(degradation_type: str, degradation_params: Optional[dict],
                    severity_keys: Dict[str, str]) -> str:
    """The set of a sample: its type, with the level where it has one.

    Args:
        degradation_type (str): The sample's ``degradation_type``: a type
            (``'noise'``, from an on-the-fly degradation) or a set name
            (``'noise_25'``, from a fixed benchmark).
        degradation_params (dict, optional): The sample's
            ``degradation_params``.
        severity_keys (dict[str, str]): Type -> the params key that holds
            its level (e.g. ``{'noise': 'sigma'}``); other types are one
            set each.

    Returns:
        str: e.g. ``'noise_25'``, ``'rain'`` or ``'clean'``.

    Raises:
        KeyError: A type of ``severity_keys`` without that parameter.
    """
    kind = str(degradation_type)
    key = severity_keys.get(kind)
    if key is None:
        return kind
    params = degradation_params or {}
    if key not in params:
        raise KeyError(
            f'A sample of degradation_type {kind!r} has no '
            f'degradation_params[{key!r}] (its severity level; params: '
            f'{params}). List degradation_params in the meta_keys of '
            'PackSegInputs, or leave the type out of severity_keys.')
    return set_name(kind, params[key])


def _set_sort_key(name: str) -> Tuple:
    if name == CLEAN_TYPE:
        return (0, 0, 0.0, name)
    if name == DEGRADED_MEAN:
        return (3, 0, 0.0, name)
    if name in BENCHMARK_TYPES:
        return (1, BENCHMARK_TYPES.index(name), -math.inf, name)
    kind, _, level = name.rpartition('_')
    if kind in BENCHMARK_TYPES:
        try:
            return (1, BENCHMARK_TYPES.index(kind), float(level), name)
        except ValueError:
            pass
    return (2, 0, 0.0, name)


def order_sets(names: Sequence[str]) -> List[str]:
    """Sets in table order: clean, noise, rain, fog, blur (by level),
    other sets by name, then the degraded mean.

    Args:
        names (Sequence[str]): Set names.

    Returns:
        list[str]: The names, ordered.
    """
    return sorted(set(names), key=_set_sort_key)


def _round(value: float) -> float:
    return float(np.round(value, 2))


@METRICS.register_module()
class PerDegradationIoUMetric(IoUMetric):
    """MMSeg's ``IoUMetric`` per degradation set, their mean and the drop.

    Every sample is assigned to a set by its ``degradation_type`` and, for
    the types in ``severity_keys``, the level its ``degradation_params``
    record (:func:`sample_set_name`: on-the-fly noise with
    ``sigma=25`` -> ``'noise_25'``; a fixed benchmark's ``'noise_25'``
    stays). PackSegInputs must list ``degradation_type`` and
    ``degradation_params`` in its ``meta_keys``. Per set, the areas of
    :meth:`IoUMetric.intersect_and_union` are summed and turned into
    metrics by :meth:`IoUMetric.total_area_to_metrics`, summarised as
    ``IoUMetric.compute_metrics`` does (nan-mean over classes, in %,
    rounded to 2 decimals, in float32 as MMSeg's areas are), so each set's
    numbers are exactly the ones MMSeg's ``IoUMetric`` reports on that set
    alone.

    Returned keys (``prefix/`` in front when a prefix is set):

    - ``<set>/aAcc``, ``<set>/mIoU``, ``<set>/mAcc`` (and ``mDice``, ...
      per ``iou_metrics``) for every set, ``clean`` included;
    - ``degraded_mean/<metric>``: the unweighted mean over the sets other
      than ``clean`` (each set counts once, whatever its size);
    - with a clean set, for every degraded set and the mean:
      ``<set>/mIoU_drop`` = clean − set (points) and
      ``<set>/mIoU_drop_rel`` = 100 × drop / clean (%), for
      ``drop_metric`` (default mIoU).

    Means and drops are computed from the reported (rounded) values and
    rounded to 2 decimals (float64), so the table adds up. A table (rows =
    sets) is logged. Use it as a test evaluator of a robustness run
    (``tools/analysis_tools/robustness_test.py`` sets it up) or of a fixed
    degraded benchmark (``DegradedBenchmarkDataset``).

    Args:
        ignore_index (int): Ignored label. Defaults to 255.
        iou_metrics (list[str]): As ``IoUMetric``: ``'mIoU'``, ``'mDice'``,
            ``'mFscore'``. Defaults to ``['mIoU']``.
        nan_to_num (int, optional): As ``IoUMetric``. Defaults to None.
        beta (int): As ``IoUMetric``. Defaults to 1.
        severity_keys (dict[str, str], optional): Degradation type -> the
            ``degradation_params`` key holding its level; each level is a
            set ``<type>_<level>``. Only for types whose parameter takes a
            few fixed values (a range would give one set per sample).
            None: :data:`DEFAULT_SEVERITY_KEYS` (noise by sigma); ``{}``:
            one set per type.
        drop_metric (str): Metric whose drop from clean is reported.
            Defaults to 'mIoU'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to None.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 iou_metrics: Sequence[str] = ('mIoU', ),
                 nan_to_num: Optional[int] = None,
                 beta: int = 1,
                 severity_keys: Optional[Dict[str, str]] = None,
                 drop_metric: str = 'mIoU',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if isinstance(iou_metrics, str):
            iou_metrics = [iou_metrics]
        unknown = [m for m in iou_metrics if m not in _SUMMARY_NAMES]
        if unknown or not iou_metrics:
            raise KeyError(f'PerDegradationIoUMetric: iou_metrics '
                           f'{list(iou_metrics)}; expected some of '
                           f'{list(_SUMMARY_NAMES)}.')
        super().__init__(
            ignore_index=ignore_index,
            iou_metrics=list(iou_metrics),
            nan_to_num=nan_to_num,
            beta=beta,
            collect_device=collect_device,
            prefix=prefix)
        self.severity_keys = dict(DEFAULT_SEVERITY_KEYS if severity_keys is
                                  None else severity_keys)
        reported = ['aAcc'] + [
            n for m in self.metrics for n in _SUMMARY_NAMES[m]
        ]
        if drop_metric not in reported:
            raise KeyError(f'PerDegradationIoUMetric: drop_metric '
                           f'{drop_metric!r} is not reported; expected one '
                           f'of {sorted(set(reported))}.')
        self.drop_metric = drop_metric

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store each sample's set and its ``intersect_and_union`` areas.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Outputs of the model, with
                ``pred_sem_seg``, ``gt_sem_seg`` and the degradation
                metainfo.

        Raises:
            KeyError: A sample has no ``degradation_type`` (or no level,
                see :func:`sample_set_name`).
        """
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            if 'degradation_type' not in sample:
                raise KeyError(
                    'PerDegradationIoUMetric: the data sample of '
                    f'{sample.get("img_path")} has no metainfo '
                    "'degradation_type'. Degrade the images (a degradation "
                    'transform, or LoadDegradedImage for a fixed benchmark) '
                    "and list 'degradation_type' and 'degradation_params' "
                    "in the meta_keys of PackSegInputs.")
            name = sample_set_name(sample['degradation_type'],
                                   sample.get('degradation_params'),
                                   self.severity_keys)
            if name == DEGRADED_MEAN:
                raise ValueError(f'PerDegradationIoUMetric: {DEGRADED_MEAN!r} '
                                 'is reserved and cannot be a set name.')
            pred_label = sample['pred_sem_seg']['data'].squeeze()
            label = sample['gt_sem_seg']['data'].squeeze().to(pred_label)
            areas = self.intersect_and_union(pred_label, label, num_classes,
                                             self.ignore_index)
            self.results.append((name, ) + tuple(areas))

    def set_metrics(self, areas: Sequence[tuple]) -> Dict[str, float]:
        """``IoUMetric``'s summary of the pooled areas of one set.

        Args:
            areas (Sequence[tuple]): Per-sample ``(intersect, union,
                pred_label, label)`` areas.

        Returns:
            dict[str, float]: ``aAcc``, ``mIoU``, ``mAcc``, ... in %,
            rounded to 2 decimals.
        """
        totals = [sum(a[i] for a in areas) for i in range(4)]
        ret_metrics = self.total_area_to_metrics(*totals, self.metrics,
                                                 self.nan_to_num, self.beta)
        out: Dict[str, float] = OrderedDict()
        for key, value in ret_metrics.items():
            name = key if key == 'aAcc' else 'm' + key
            out[name] = float(np.round(np.nanmean(value) * 100, 2))
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Per-set metrics, the degraded mean and the drops from clean.

        Args:
            results (list): ``(set, intersect, union, pred, label)`` per
                sample, from every rank.

        Returns:
            dict[str, float]: See the class docstring.
        """
        if not results:
            raise ValueError('PerDegradationIoUMetric: no results.')
        groups: Dict[str, List[tuple]] = {}
        for name, *areas in results:
            groups.setdefault(name, []).append(areas)
        rows: Dict[str, Dict[str, float]] = OrderedDict(
            (name, self.set_metrics(groups[name]))
            for name in order_sets(list(groups)))
        sizes = {name: len(groups[name]) for name in rows}
        degraded = [name for name in rows if name != CLEAN_TYPE]
        if degraded:
            rows[DEGRADED_MEAN] = OrderedDict(
                (key, _round(math.fsum(rows[n][key] for n in degraded) /
                             len(degraded))) for key in rows[degraded[0]])
            sizes[DEGRADED_MEAN] = sum(sizes[n] for n in degraded)
        clean = rows.get(CLEAN_TYPE)
        if clean is not None:
            ref = clean[self.drop_metric]
            for name, values in rows.items():
                if name == CLEAN_TYPE:
                    continue
                drop = _round(ref - values[self.drop_metric])
                values[self.drop_metric + DROP_SUFFIX] = drop
                values[self.drop_metric + DROP_REL_SUFFIX] = (
                    _round(100.0 * drop / ref) if ref else float('nan'))
        metrics: Dict[str, float] = OrderedDict()
        for name, values in rows.items():
            for key, value in values.items():
                metrics[f'{name}/{key}'] = value
        print_log(
            '\nSegmentation results per degradation set (drop of '
            f'{self.drop_metric} from clean in points and %):\n' +
            format_table(table_rows(metrics, sizes, self.drop_metric)),
            logger='current')
        return dict(metrics)


def table_rows(metrics: Dict[str, float],
               sizes: Optional[Dict[str, int]] = None,
               drop_metric: str = 'mIoU',
               prefix: Optional[str] = None) -> List[dict]:
    """Rows of the robustness table from :class:`PerDegradationIoUMetric`
    results.

    Args:
        metrics (dict[str, float]): Its (flat) metrics.
        sizes (dict[str, int], optional): Set -> number of images.
        drop_metric (str): The metric with drops. Defaults to 'mIoU'.
        prefix (str, optional): The metric's prefix, if any.

    Returns:
        list[dict]: One dict per set, in table order: ``set``, ``n`` (or
        None), every metric, ``drop`` and ``drop_rel`` (None for clean or
        without a clean set).
    """
    lead = f'{prefix}/' if prefix else ''
    per_set: Dict[str, Dict[str, float]] = OrderedDict()
    for key, value in metrics.items():
        if not key.startswith(lead):
            continue
        name, sep, metric = key[len(lead):].rpartition('/')
        if sep:
            per_set.setdefault(name, OrderedDict())[metric] = value
    rows = []
    for name in order_sets(list(per_set)):
        values = per_set[name]
        row = dict(set=name, n=(sizes or {}).get(name))
        row.update((k, v) for k, v in values.items()
                   if not k.endswith((DROP_SUFFIX, DROP_REL_SUFFIX)))
        row['drop'] = values.get(drop_metric + DROP_SUFFIX)
        row['drop_rel'] = values.get(drop_metric + DROP_REL_SUFFIX)
        rows.append(row)
    return rows


def format_table(rows: List[dict], markdown: bool = False) -> str:
    """The robustness table as text (PrettyTable) or markdown.

    Args:
        rows (list[dict]): From :func:`table_rows`.
        markdown (bool): A markdown table instead. Defaults to False.

    Returns:
        str: The table; columns set, n, the metrics, drop (points) and
        drop (%).
    """
    skip = ('set', 'n', 'drop', 'drop_rel', 'type', 'level')
    metrics: List[str] = []
    for row in rows:
        metrics += [k for k in row if k not in skip and k not in metrics]
    header = ['set', 'n'] + metrics + ['drop', 'drop %']

    def cell(value) -> str:
        if value is None:
            return '-'
        if isinstance(value, int):
            return str(value)
        return f'{value:.2f}'

    body = [[row['set'], cell(row.get('n'))] +
            [cell(row.get(m)) for m in metrics] +
            [cell(row.get('drop')), cell(row.get('drop_rel'))]
            for row in rows]
    if markdown:
        lines = ['| ' + ' | '.join(header) + ' |',
                 '| ' + ' | '.join(['---'] + ['---:'] *
                                   (len(header) - 1)) + ' |']
        lines += ['| ' + ' | '.join(r) + ' |' for r in body]
        return '\n'.join(lines)
    table = PrettyTable()
    table.field_names = header
    table.align = 'r'
    table.align['set'] = 'l'
    for r in body:
        table.add_row(r)
    return table.get_string()
