"""One metric for every dense task, restoration and degradation type."""
import logging
import math
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmallnet.evaluation import functional as F
from mmallnet.evaluation.prediction_writer import write_predictions
from mmallnet.structures import (
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
    TASK_SPECS,
    check_tasks,
)

#: Column order of known degradation types in the results table (the
#: on-the-fly types, then the sets of the fixed degraded benchmarks).
DEGRADATION_ORDER = ('clean', 'noise', 'noise_15', 'noise_25', 'noise_50',
                     'rain', 'fog', 'blur')

#: Table formats: metric name -> number of decimals.
_DECIMALS = {
    'depth.rmse': 4,
    'depth.abs_rel': 4,
    'depth.log_rmse': 4,
    'restoration.ssim': 4,
    'restoration.input_ssim': 4,
}


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Dataset-level metrics of all dense tasks, per degradation type.

    For every sample :meth:`process` keeps only small sufficient statistics
    (per-class areas, error sums, sparse angle histograms, per-threshold
    counts, per-image PSNR) tagged with the sample's ``degradation_type``;
    :meth:`compute_metrics` pools them (integers summed exactly, floats with
    :func:`math.fsum`), so evaluation split over ranks equals single-process
    evaluation. See :mod:`mmallnet.evaluation.functional` for the maths.

    Keys returned by :meth:`compute_metrics` (``BaseMetric.evaluate`` then
    prepends ``'<prefix>/'``, ``'mt/'`` by default):

    - ``semseg.mIoU`` (mean over all classes, absent classes = 0),
      ``semseg.mIoU_nanmean`` (mmseg convention), ``semseg.aAcc``;
    - ``parts.mIoU``, ``parts.mIoU_nanmean``, ``parts.aAcc`` (images
      whose parts ground truth is all ignore contribute nothing);
    - ``depth.rmse`` (pooled ``sqrt(Σ(p−g)²/N)`` over ``gt > 0``),
      ``depth.abs_rel``, ``depth.log_rmse``, ``depth.delta1``;
    - ``normals.mean``, ``normals.median`` (degrees; the median comes from
      a 0.01° histogram, see :func:`~.functional.normal_metrics`),
      ``normals.11.25``, ``normals.22.5``, ``normals.30``;
    - ``boundary.odsF_proxy``: a PROXY boundary F (threshold ``>= t``,
      a pixel matches if the other map has a pixel within a Euclidean
      disk of ``boundary_tolerance`` px, no NMS / thinning / bipartite
      matching, counts pooled per threshold, best F). It is NOT the SEISM
      odsF of the papers, which a later metric implements;
    - ``saliency.maxF`` (and ``saliency.maxF_legacy`` when
      ``legacy_double_sigmoid=True``);
    - ``restoration.psnr`` (``pred_restored`` vs ``gt_clean_img``) and
      ``restoration.input_psnr`` (``degraded_img`` vs ``gt_clean_img``),
      plus ``restoration.ssim`` / ``restoration.input_ssim`` when
      ``ssim=True``; averaged over images (restoration convention), a
      perfect image counts as :data:`~.functional.PSNR_MAX` = 100 dB;
    - ``delta_mtl`` when ``single_task_refs`` is set: Δ_MTL in % against
      the single-task references (:func:`~.functional.delta_mtl`,
      ``(1/T) Σ_t (−1)^{l_t} (M_t − M_STL,t) / M_STL,t × 100`` with
      ``l_t = 1`` where lower is better), overall and per degradation
      type; NaN for a group where a referenced metric is NaN (e.g.
      ``parts.mIoU`` of a type without any image with parts).

    Percentages (0-100): mIoU, aAcc, delta1, normals ``% < t``, maxF,
    odsF_proxy. With ``per_degradation=True`` every key is repeated per
    degradation type as ``'<type>/<key>'``, e.g. ``'noise/semseg.mIoU'``
    (so ``'mt/noise/semseg.mIoU'`` after the prefix); unprefixed keys
    cover all images. A table (rows = metrics, columns = all and each
    type) is printed to the current logger.

    Args:
        tasks (Sequence[str]): Dense tasks to evaluate.
        num_classes (int, optional): Semantic classes; defaults to
            ``len(dataset_meta['classes'])``. Required for ``'semseg'``.
        num_parts_classes (int): Human-parts classes (background
            included). Default 7.
        restoration (bool): Evaluate ``pred_restored``. Default True.
        ssim (bool): Also compute SSIM for restoration. Default False.
        per_degradation (bool): Break every metric down by
            ``degradation_type``. Default True.
        boundary_thresholds (Sequence[float], optional): Defaults to
            0.01, 0.02, ..., 0.99.
        boundary_tolerance (int): Proxy matching radius in pixels.
            Default 1.
        saliency_thresholds (Sequence[float], optional): Defaults to
            0.05, 0.10, ..., 0.95.
        saliency_beta2 (float): β² of the F-measure. Default 0.3.
        legacy_double_sigmoid (bool): Also report
            ``saliency.maxF_legacy``, computed on sigmoid(probability) as
            InvPT / TaskPrompter / MLoRE do. Default False.
        single_task_refs (dict, optional): Single-task reference values
            for Δ_MTL, keyed by the metric names this metric reports,
            without the prefix, e.g. ``{'semseg.mIoU': 45.0,
            'depth.rmse': 0.55}``; ``dict(semseg_mIoU=45.0,
            depth_rmse=0.55)`` (task and metric joined by ``_``) is
            accepted too. One metric per task (restoration counts as a
            task, though the multi-task literature leaves it out). A key
            ``'<type>/<metric>'`` (e.g. ``'noise/depth.rmse'``) sets the
            reference of that degradation type only; types without one use
            the overall reference, and every per-type key needs an overall
            key of the same metric. Default None (no ``delta_mtl``).
        normal_hist_bins (int): Angle histogram bins over [0°, 180°].
            Default 18000 (0.01°).
        output_dir (str, optional): Also write every prediction there
            (see :mod:`mmallnet.evaluation.prediction_writer`; set by
            ``tools/test.py --out``). Default None.
        format_only (bool): Only write predictions, compute no metric
            (for test sets without labels). Needs ``output_dir``.
            Default False.
        collect_device (str): 'cpu' or 'gpu'. Default 'cpu'.
        prefix (str, optional): Key prefix. Default ``'mt'``.
    """

    default_prefix: Optional[str] = 'mt'

    def __init__(self,
                 tasks: Sequence[str],
                 num_classes: Optional[int] = None,
                 num_parts_classes: int = 7,
                 restoration: bool = True,
                 ssim: bool = False,
                 per_degradation: bool = True,
                 boundary_thresholds: Optional[Sequence[float]] = None,
                 boundary_tolerance: int = 1,
                 saliency_thresholds: Optional[Sequence[float]] = None,
                 saliency_beta2: float = 0.3,
                 legacy_double_sigmoid: bool = False,
                 single_task_refs: Optional[Dict[str, float]] = None,
                 normal_hist_bins: int = 18000,
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.tasks = check_tasks(tasks, 'MultiTaskMetric.tasks')
        if not self.tasks and not restoration:
            raise ValueError('MultiTaskMetric: `tasks` is empty and '
                             '`restoration` is False; nothing to evaluate.')
        self.num_classes = num_classes
        self.num_parts_classes = num_parts_classes
        self.restoration = restoration
        self.ssim = ssim
        self.per_degradation = per_degradation
        self.boundary_thresholds = self._thresholds(
            boundary_thresholds, F.BOUNDARY_THRESHOLDS,
            'boundary_thresholds')
        if boundary_tolerance < 0:
            raise ValueError('MultiTaskMetric.boundary_tolerance must be '
                             f'>= 0, got {boundary_tolerance}.')
        self.boundary_tolerance = int(boundary_tolerance)
        self.saliency_thresholds = self._thresholds(
            saliency_thresholds, F.SALIENCY_THRESHOLDS,
            'saliency_thresholds')
        self.saliency_beta2 = saliency_beta2
        self.legacy_double_sigmoid = legacy_double_sigmoid
        if int(normal_hist_bins) < 1:
            raise ValueError('MultiTaskMetric.normal_hist_bins must be >= 1, '
                             f'got {normal_hist_bins}.')
        self.normal_hist_bins = int(normal_hist_bins)
        if format_only and not output_dir:
            raise ValueError('MultiTaskMetric: `format_only=True` needs '
                             '`output_dir`.')
        self.output_dir = output_dir
        self.format_only = format_only
        self.single_task_refs, self.single_task_type_refs = \
            self._parse_refs(single_task_refs)

    @staticmethod
    def _thresholds(values: Optional[Sequence[float]], default: np.ndarray,
                    name: str) -> np.ndarray:
        if values is None:
            return default.copy()
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError(f'MultiTaskMetric.{name} is empty.')
        return values

    def reported_metric_names(self) -> List[str]:
        """Names of the metrics of a group that have a known direction.

        Returns:
            list[str]: e.g. ``['semseg.mIoU', ..., 'restoration.psnr']``:
            the keys :meth:`compute_metrics` reports (without degradation
            type) that can take a single-task reference.
        """
        groups = set(self.tasks) | ({'restoration'}
                                    if self.restoration else set())
        names = []
        for name in F.DEFAULT_LOWER_IS_BETTER:
            if name.split('.', 1)[0] not in groups:
                continue
            if name == 'boundary.odsF':
                continue  # SEISM odsF: not computed by this metric
            if name == 'saliency.maxF_legacy' and \
                    not self.legacy_double_sigmoid:
                continue
            if name == 'restoration.ssim' and not self.ssim:
                continue
            names.append(name)
        return names

    def _parse_refs(
        self, refs: Optional[Dict[str, float]]
    ) -> Tuple[Dict[str, float], Dict[str, Dict[str, float]]]:
        """Validate ``single_task_refs``.

        Args:
            refs (dict, optional): ``single_task_refs`` as configured.

        Returns:
            tuple: The overall references (metric name -> value) and the
            per-type overrides (type -> metric name -> value).

        Raises:
            TypeError: ``single_task_refs`` is not a dict or a value is
                not a number.
            KeyError: A key is not a metric this metric reports.
            ValueError: Empty dict, a zero or non-finite value, two
                metrics of one task, a per-type key without an overall
                key, or per-type keys with ``per_degradation=False``.
        """
        where = 'MultiTaskMetric.single_task_refs'
        if refs is None:
            return {}, {}
        if not isinstance(refs, dict):
            raise TypeError(f'{where} must be a dict of metric name -> '
                            f'reference value, got {type(refs).__name__}.')
        if not refs:
            raise ValueError(f'{where} is empty; leave it None to skip '
                             'Δ_MTL.')
        known = self.reported_metric_names()
        prefix = f'{self.prefix}/' if self.prefix else None
        overall: Dict[str, float] = OrderedDict()
        per_type: Dict[str, Dict[str, float]] = OrderedDict()
        for key, value in refs.items():
            if not isinstance(key, str):
                raise KeyError(f'{where}: key {key!r} is not a string.')
            rest = key[len(prefix):] if prefix and key.startswith(
                prefix) else key
            group, _, name = rest.rpartition('/')
            if name not in known and name.replace('_', '.', 1) in known:
                name = name.replace('_', '.', 1)
            if name not in known:
                raise KeyError(
                    f'{where}: unknown metric {key!r}; expected one of '
                    f'{known} (optionally as <degradation type>/<metric>) '
                    f'for tasks={self.tasks}, restoration='
                    f'{self.restoration}.')
            if isinstance(value, bool) or not isinstance(
                    value, (int, float, np.integer, np.floating)):
                raise TypeError(f'{where}[{key!r}] must be a number, got '
                                f'{value!r}.')
            if not math.isfinite(value) or value == 0:
                raise ValueError(f'{where}[{key!r}] must be finite and '
                                 f'non-zero (Δ_MTL divides by it), got '
                                 f'{value!r}.')
            if group in ('', 'all'):
                target = overall
            elif '/' in group:
                raise KeyError(f'{where}: key {key!r} has more than one '
                               "'/'; expected <metric> or <degradation "
                               'type>/<metric>.')
            else:
                target = per_type.setdefault(group, OrderedDict())
            if name in target:
                raise ValueError(f'{where}: {name!r} is given twice for '
                                 f'{group or "all"!r} (key {key!r}).')
            target[name] = float(value)
        if not overall:
            raise ValueError(f'{where} has only per-type keys; give the '
                             'overall reference of every metric (e.g. '
                             "'semseg.mIoU') too.")
        tasks: Dict[str, str] = {}
        for name in overall:
            task = name.split('.', 1)[0]
            if task in tasks:
                raise ValueError(
                    f'{where}: one primary metric per task, but task '
                    f'{task!r} has {tasks[task]!r} and {name!r}.')
            tasks[task] = name
        for group, names in per_type.items():
            if not self.per_degradation:
                raise ValueError(
                    f'{where}: per-type key(s) for {group!r} need '
                    'per_degradation=True.')
            extra = [n for n in names if n not in overall]
            if extra:
                raise ValueError(
                    f'{where}: {group!r} has references for {extra} but '
                    f'there is no overall reference for them; Δ_MTL uses '
                    f'the overall metrics {list(overall)}.')
        return dict(overall), {g: dict(n) for g, n in per_type.items()}

    def _refs_for(self, group: str) -> Dict[str, float]:
        """Single-task references for a group ('all' or a type)."""
        refs = dict(self.single_task_refs)
        refs.update(self.single_task_type_refs.get(group, {}))
        return refs

    # ------------------------------------------------------------------
    # process
    # ------------------------------------------------------------------
    def _semseg_classes(self) -> int:
        if self.num_classes is not None:
            return int(self.num_classes)
        meta = self.dataset_meta or {}
        if 'classes' in meta:
            return len(meta['classes'])
        raise ValueError('MultiTaskMetric: task "semseg" needs '
                         '`num_classes` or dataset_meta["classes"].')

    @staticmethod
    def _field(sample: dict, field: str, task: str) -> np.ndarray:
        if field not in sample:
            raise KeyError(f'MultiTaskMetric: data sample has no field '
                           f'{field!r}, needed by task {task!r} (fields: '
                           f'{sorted(sample)}).')
        value = sample[field]
        if isinstance(value, BaseDataElement):
            value = value.to_dict()
        if isinstance(value, dict):
            if 'data' not in value:
                raise KeyError(f'MultiTaskMetric: field {field!r} of task '
                               f'{task!r} has no "data".')
            value = value['data']
        return F.to_numpy(value)

    def _pair(self, sample: dict, pred_field: str, gt_field: str,
              task: str) -> Tuple[np.ndarray, np.ndarray]:
        pred = self._field(sample, pred_field, task)
        gt = self._field(sample, gt_field, task)
        if pred.shape != gt.shape:
            raise ValueError(
                f'MultiTaskMetric: task {task!r}: {pred_field!r} has shape '
                f'{tuple(pred.shape)} but {gt_field!r} has shape '
                f'{tuple(gt.shape)}; they must match.')
        return pred, gt

    def _sample_stats(self, sample: dict) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        if self.per_degradation:
            if 'degradation_type' not in sample:
                raise KeyError(
                    'MultiTaskMetric: data sample has no metainfo '
                    '"degradation_type" (needed for per_degradation=True; '
                    'set per_degradation=False for undegraded data).')
            result['degradation_type'] = str(sample['degradation_type'])
        for task in self.tasks:
            spec = TASK_SPECS[task]
            pred, gt = self._pair(sample, spec.pred_field, spec.gt_field,
                                  task)
            if task == 'semseg':
                result[task] = F.label_stats(pred, gt,
                                             self._semseg_classes(),
                                             int(spec.ignore_value), task)
            elif task == 'parts':
                result[task] = F.label_stats(pred, gt,
                                             self.num_parts_classes,
                                             int(spec.ignore_value), task)
            elif task == 'depth':
                result[task] = F.depth_stats(pred, gt)
            elif task == 'normals':
                result[task] = F.normal_stats(pred, gt,
                                              self.normal_hist_bins)
            elif task == 'boundary':
                result[task] = F.boundary_stats(pred, gt,
                                                self.boundary_thresholds,
                                                self.boundary_tolerance,
                                                spec.ignore_value)
            elif task == 'saliency':
                result[task] = F.saliency_stats(pred, gt,
                                                self.saliency_thresholds,
                                                spec.ignore_value)
                if self.legacy_double_sigmoid:
                    result['saliency_legacy'] = F.saliency_stats(
                        pred, gt, self.saliency_thresholds,
                        spec.ignore_value, legacy_double_sigmoid=True)
        if self.restoration:
            pred, clean = self._pair(sample, RESTORED_IMG_KEY, CLEAN_IMG_KEY,
                                     'restoration')
            degraded, _ = self._pair(sample, DEGRADED_IMG_KEY,
                                     CLEAN_IMG_KEY, 'restoration')
            stats = dict(psnr=np.float64(F.psnr(pred, clean)),
                         input_psnr=np.float64(F.psnr(degraded, clean)))
            if self.ssim:
                stats['ssim'] = np.float64(F.ssim(pred, clean))
                stats['input_ssim'] = np.float64(F.ssim(degraded, clean))
            result['restoration'] = stats
        return result

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store the sufficient statistics of every sample of a batch.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Data samples as dicts (mmengine's
                ``Evaluator`` calls ``.to_dict()``) with prediction and
                ground-truth fields.

        Raises:
            KeyError: A configured task's prediction / ground-truth field
                is missing (the message names field and task).
            ValueError: Prediction and ground truth shapes differ.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            if self.output_dir:
                write_predictions(sample, self.output_dir, self.tasks)
            if not self.format_only:
                self.results.append(self._sample_stats(sample))

    # ------------------------------------------------------------------
    # compute
    # ------------------------------------------------------------------
    def _group_metrics(self, results: List[dict]) -> Dict[str, float]:
        out: Dict[str, float] = OrderedDict()

        def add(task: str, values: Dict[str, Any]) -> None:
            for name, value in values.items():
                if np.ndim(value) == 0:
                    out[f'{task}.{name}'] = float(value)

        def stats(key: str) -> list:
            return [r[key] for r in results]

        for task in self.tasks:
            if task in ('semseg', 'parts'):
                add(task, F.label_metrics(stats(task)))
            elif task == 'depth':
                add(task, F.depth_metrics(stats(task)))
            elif task == 'normals':
                add(task, F.normal_metrics(stats(task),
                                           self.normal_hist_bins))
            elif task == 'boundary':
                add(task, F.boundary_metrics(stats(task)))
            elif task == 'saliency':
                add(task, F.saliency_metrics(stats(task),
                                             self.saliency_beta2))
                if self.legacy_double_sigmoid:
                    legacy = F.saliency_metrics(stats('saliency_legacy'),
                                                self.saliency_beta2)
                    out['saliency.maxF_legacy'] = legacy['maxF']
        if self.restoration:
            add('restoration', F.restoration_metrics(stats('restoration')))
        return out

    @staticmethod
    def _order_types(types: Sequence[str]) -> List[str]:
        known = [t for t in DEGRADATION_ORDER if t in types]
        return known + sorted(t for t in set(types) if t not in known)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Pool the statistics of all samples.

        Args:
            results (list): Per-sample statistics from :meth:`process`,
                possibly concatenated from several ranks.

        Returns:
            dict[str, float]: Flat metrics, see the class docstring.
        """
        if self.format_only:
            print_log(f'Predictions written to {self.output_dir}; no '
                      'metric computed (format_only=True).', 'current')
            return {}
        if not results:
            raise ValueError('MultiTaskMetric: no results to evaluate.')
        groups: Dict[str, List[dict]] = OrderedDict(all=list(results))
        if self.per_degradation:
            by_type: Dict[str, List[dict]] = {}
            for r in results:
                by_type.setdefault(r['degradation_type'], []).append(r)
            if 'all' in by_type:
                raise ValueError('MultiTaskMetric: "all" is reserved and '
                                 'cannot be a degradation_type.')
            for t in self._order_types(list(by_type)):
                groups[t] = by_type[t]

        table_rows: Dict[str, Dict[str, float]] = OrderedDict()
        metrics: Dict[str, float] = OrderedDict()
        if self.single_task_refs:
            missing = sorted(set(self.single_task_type_refs) - set(groups))
            if missing:
                print_log(
                    'MultiTaskMetric: single_task_refs has references for '
                    f'degradation types {missing}, which no evaluated '
                    f'image has (types: {list(groups)[1:]}).',
                    logger='current', level=logging.WARNING)
        for group, group_results in groups.items():
            values = self._group_metrics(group_results)
            if self.single_task_refs:
                values['delta_mtl'] = F.delta_mtl(values,
                                                  self._refs_for(group))
            table_rows[group] = values
            for key, value in values.items():
                metrics[key if group == 'all' else f'{group}/{key}'] = value
        self._log_table(table_rows,
                        {g: len(r) for g, r in groups.items()})
        return dict(metrics)

    @staticmethod
    def _log_table(rows: Dict[str, Dict[str, float]],
                   sizes: Dict[str, int]) -> None:
        table = PrettyTable()
        groups = list(rows)
        table.field_names = ['metric'] + [
            f'{g} (n={sizes[g]})' for g in groups
        ]
        table.align = 'r'
        table.align['metric'] = 'l'
        for key in rows['all']:
            decimals = _DECIMALS.get(key, 2)
            cells = []
            for g in groups:
                value = rows[g].get(key)
                cells.append('-' if value is None else
                             f'{value:.{decimals}f}')
            table.add_row([key] + cells)
        print_log('\nMulti-task results:\n' + table.get_string(),
                  logger='current')
