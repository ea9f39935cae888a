"""Boundary odsF / oisF / AP with the SEISM protocol (the papers' number)."""
import multiprocessing
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmallnet.evaluation.functional import seism as S
from mmallnet.evaluation.functional.seism.io import as_map
from mmallnet.evaluation.prediction_writer import sample_name
from mmallnet.structures import TASK_SPECS
from mmallnet.utils.dense_maps import load_context_label_map

from .multi_task_metric import DEGRADATION_ORDER

_BOUNDARY = TASK_SPECS['boundary']
#: Keys of one group of results, in table order.
_KEYS = ('odsF', 'oisF', 'AP', 'odsP', 'odsR', 'ods_threshold',
         'num_images')


def read_id_list(path: str) -> List[str]:
    """Image ids of a list file (one id per line, e.g. SEISM's
    ``gt_sets/PASCALContext/test_new.txt``); blank lines are skipped."""
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def load_seism_gt(gt_dir: str, img_id: str) -> np.ndarray:
    """Ground truth as SEISM's ``db_gt`` reads it.

    ``<gt_dir>/<id>.mat`` (PASCAL-Context ``trainval``: the ``LabelMap``)
    or else ``<gt_dir>/<id>.png`` (NYUD ``edge``: the raw PNG values, a
    label image).

    Returns:
        np.ndarray: (H, W) label map.
    """
    mat = osp.join(gt_dir, img_id + '.mat')
    if osp.isfile(mat):
        return load_context_label_map(mat)
    png = osp.join(gt_dir, img_id + '.png')
    if not osp.isfile(png):
        raise FileNotFoundError(f'No SEISM ground truth for id {img_id!r}: '
                                f'neither {mat} nor {png} exists.')
    gt = cv2.imread(png, cv2.IMREAD_UNCHANGED)
    if gt is None or gt.ndim != 2:
        raise ValueError(f'{png}: expected a single-channel label PNG.')
    return gt


@METRICS.register_module()
class BoundarySEISMMetric(BaseMetric):
    """Boundary detection odsF / oisF / AP following SEISM.

    The protocol of the MATLAB SEISM toolbox as the multi-task papers run
    it (see :mod:`mmallnet.evaluation.functional.seism`): the prediction is
    quantised to the uint8 PNG SEISM would read, NMS'd (Dollár, on the
    unsmoothed map), cut at the 101 HED thresholds, thinned, and matched
    one-to-one to the thinned ``seg2bmap`` ground truth within
    ``max_dist`` x image diagonal. This is the number to compare with the
    papers; ``MultiTaskMetric``'s ``boundary.odsF_proxy`` is a cheap proxy
    (no NMS, no thinning, no one-to-one matching) and is NOT it.

    :meth:`process` keeps, per image, only four (T,) int64 count vectors
    (matched / total ground-truth and predicted boundary pixels per
    threshold), so evaluation split over ranks gives exactly the
    single-process result. :meth:`compute_metrics` pools them:

    - ``odsF`` (+ ``odsP``, ``odsR``, ``ods_threshold``): counts summed
      over images per threshold, best F;
    - ``oisF``: counts summed at each image's best threshold;
    - ``AP``: area under the pooled precision-recall curve (SEISM
      ``general_ap``);
    - ``num_images``.

    F, P, R and AP are percentages (0-100). With ``per_degradation=True``
    every key is repeated per ``degradation_type`` as ``'<type>/<key>'``
    (``'seism/noise/odsF'`` after the prefix). When an id filter is given,
    the unprefixed keys cover the listed images only, and
    ``report_full=True`` adds ``'full/<key>'`` over every image.

    Dataset settings (SEISM ``eval_method.m`` / Boundary-Detection-
    Evaluation-Tools):

    - NYUD-v2: ``max_dist=0.011``, all 654 val images, ground truth = the
      ``edge`` map read as a label image (``gt_format='label'``, the
      default, on ``gt_boundary``);
    - PASCAL-Context: ``max_dist=0.0075``, the 2,498 ids of SEISM's
      ``gt_sets/PASCALContext/test_new.txt`` (``id_list_file``; report the
      5,105 val images too with ``report_full=True``), ground truth =
      ``seg2bmap`` of the Context ``LabelMap`` (``gt_dir`` pointing at
      ``pascal-context/trainval``). Without ``gt_dir`` the sample's
      ``gt_boundary`` (the training target: Laplacian edges of the same
      map) is used, which is close to but not exactly SEISM's ground truth.

    Args:
        max_dist (float): Matching tolerance as a fraction of the image
            diagonal (NYUD 0.011, PASCAL-Context 0.0075). Default 0.0075.
        thresholds (Sequence[float], optional): Defaults to SEISM's 101 HED
            thresholds (0.001, 0.01, ..., 0.99, 0.999).
        gt_format (str): ``'label'`` (``seg2bmap`` then thin, as SEISM;
            :func:`~mmallnet.evaluation.functional.seism.seg2bmap`) or
            ``'boundary'`` (already a boundary map: thin only). Default
            'label'.
        gt_dir (str, optional): Read the ground truth from
            ``<gt_dir>/<id>.mat`` (``LabelMap``) or ``<id>.png`` instead
            of the sample's ``gt_boundary``. Default None.
        img_ids (Sequence[str], optional): Only score these image ids.
        id_list_file (str, optional): Same, one id per line (e.g. SEISM's
            ``test_new.txt``). Give at most one of the two.
        report_full (bool): With an id filter, also report every image as
            ``'full/<key>'``. Default False.
        per_degradation (bool): Break the metrics down by
            ``degradation_type`` (required in every sample then).
            Default True.
        quantize (str, optional): ``'floor'`` (default: ``floor(255 p)``,
            as InvPT-family code and ``tools/test.py --out`` write the
            PNGs) or ``'round'``:
            score the uint8 PNG values ``q / 255`` that SEISM would read
            (and write them so); None scores the float map.
        strict (bool): Edge pixels are ``E > t`` (default: the active line
            of SEISM's current ``read_one_cont_png``) or ``E >= t``
            (``False``: the line commented out there, an older variant).
        nms (bool): Apply SEISM's NMS. Default True.
        matching (str): ``'max_cardinality'`` (default, fast) or
            ``'min_cost'``; see
            :func:`~mmallnet.evaluation.functional.seism.seism_image_counts`.
        ignore_index (float): ``gt_boundary`` value of ignored / padded
            pixels; they are set to 0 (no boundary) and an image whose
            ground truth is entirely ignored is skipped. Default 255.
        output_dir (str, optional): Write every prediction as
            ``<output_dir>/<id>.png`` (uint8, the values SEISM reads); all
            images are written, filtered or not. Default None.
        format_only (bool): Only write the PNGs. Needs ``output_dir``.
            Default False.
        workers (int): Processes computing the per-image counts in the
            background while inference goes on (0: in :meth:`process`).
            The numbers do not depend on it. Default 0.
        start_method (str, optional): multiprocessing start method of the
            workers; None = platform default (``'fork'`` on Linux).
        collect_device (str): 'cpu' or 'gpu'. Default 'cpu'.
        prefix (str, optional): Key prefix. Default ``'seism'``.
    """

    default_prefix: Optional[str] = 'seism'

    def __init__(self,
                 max_dist: float = 0.0075,
                 thresholds: Optional[Sequence[float]] = None,
                 gt_format: str = 'label',
                 gt_dir: Optional[str] = None,
                 img_ids: Optional[Sequence[str]] = None,
                 id_list_file: Optional[str] = None,
                 report_full: bool = False,
                 per_degradation: bool = True,
                 quantize: Optional[str] = 'floor',
                 strict: bool = True,
                 nms: bool = True,
                 matching: str = 'max_cardinality',
                 ignore_index: float = 255,
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 workers: int = 0,
                 start_method: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < max_dist < 1:
            raise ValueError('BoundarySEISMMetric.max_dist is a fraction of '
                             f'the image diagonal in (0, 1), got {max_dist}.')
        if gt_format not in ('label', 'boundary'):
            raise ValueError("BoundarySEISMMetric.gt_format must be 'label' "
                             f"or 'boundary', got {gt_format!r}.")
        if quantize not in (None, 'round', 'floor'):
            raise ValueError("BoundarySEISMMetric.quantize must be 'round', "
                             f"'floor' or None, got {quantize!r}.")
        if matching not in ('max_cardinality', 'min_cost'):
            raise ValueError("BoundarySEISMMetric.matching must be "
                             "'max_cardinality' or 'min_cost', got "
                             f'{matching!r}.')
        if img_ids is not None and id_list_file is not None:
            raise ValueError('BoundarySEISMMetric: give `img_ids` or '
                             '`id_list_file`, not both.')
        if format_only and not output_dir:
            raise ValueError('BoundarySEISMMetric: `format_only=True` needs '
                             '`output_dir`.')
        if thresholds is None:
            thresholds = S.SEISM_THRESHOLDS
        self.thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
        if not self.thresholds.size:
            raise ValueError('BoundarySEISMMetric.thresholds is empty.')
        if id_list_file is not None:
            img_ids = read_id_list(id_list_file)
        self.img_ids = None if img_ids is None else [str(i) for i in img_ids]
        self._id_set = None if img_ids is None else set(self.img_ids)
        self.max_dist = float(max_dist)
        self.gt_format = gt_format
        self.gt_dir = gt_dir
        self.report_full = report_full
        self.per_degradation = per_degradation
        self.quantize = quantize
        self.strict = strict
        self.nms = nms
        self.matching = matching
        self.ignore_index = ignore_index
        self.output_dir = output_dir
        self.format_only = format_only
        self.workers = int(workers)
        self.start_method = start_method
        self._pool = None
        self._pending: List[Tuple[dict, Any]] = []
        self._skipped = 0

    # ------------------------------------------------------------------
    # process
    # ------------------------------------------------------------------
    @staticmethod
    def _array(sample: dict, field: str) -> np.ndarray:
        if field not in sample:
            raise KeyError(f'BoundarySEISMMetric: data sample has no field '
                           f'{field!r} (fields: {sorted(sample)}).')
        value = sample[field]
        if isinstance(value, BaseDataElement):
            value = value.to_dict()
        if isinstance(value, dict):
            value = value['data']
        return as_map(value, field)

    def _job_kwargs(self) -> dict:
        return dict(
            thresholds=self.thresholds,
            max_dist=self.max_dist,
            gt_format=self.gt_format,
            quantize=self.quantize,
            strict=self.strict,
            nms=self.nms,
            matching=self.matching)

    def _submit(self, record: dict, pred: np.ndarray,
                gt: np.ndarray) -> None:
        if self.workers <= 0:
            record['counts'] = S.seism_counts(pred, gt,
                                              **self._job_kwargs())
            return
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ctx.Pool(self.workers)
        # ship the uint8 PNG values: 4x less to pickle, same result
        if self.quantize is not None:
            pred = S.quantize_boundary(pred, self.quantize)
        self._pending.append(
            (record,
             self._pool.apply_async(S.seism_counts, (pred, gt),
                                    self._job_kwargs())))

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Compute (or submit) the per-threshold counts of every sample.

        Args:
            data_batch (Any): Unused.
            data_samples (Sequence[dict]): Data samples (as dicts) with
                ``pred_boundary`` (probability), ``gt_boundary`` (unless
                ``gt_dir``), ``img_id`` or ``img_path``, and
                ``degradation_type`` when ``per_degradation``.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            img_id = sample_name(sample)
            pred = self._array(sample, _BOUNDARY.pred_field)
            if self.output_dir:
                S.write_boundary_png(
                    pred, osp.join(self.output_dir, img_id + '.png'),
                    self.quantize or 'round')
            if self.format_only:
                continue
            in_subset = self._id_set is None or img_id in self._id_set
            if not in_subset and not self.report_full:
                continue
            record = dict(img_id=img_id, in_subset=in_subset)
            if self.per_degradation:
                if 'degradation_type' not in sample:
                    raise KeyError(
                        'BoundarySEISMMetric: data sample has no metainfo '
                        '"degradation_type" (needed for per_degradation='
                        'True; set per_degradation=False for undegraded '
                        'data).')
                record['degradation_type'] = str(sample['degradation_type'])
            if self.gt_dir is not None:
                gt = load_seism_gt(self.gt_dir, img_id)
            else:
                gt = self._array(sample, _BOUNDARY.gt_field)
                ignored = gt == self.ignore_index
                if ignored.all():
                    self._skipped += 1
                    continue
                if ignored.any():
                    gt = np.where(ignored, 0, gt)
            if gt.shape != pred.shape:
                raise ValueError(
                    f'BoundarySEISMMetric: image {img_id!r}: prediction '
                    f'shape {pred.shape} != ground truth shape {gt.shape}.')
            self._submit(record, pred, gt)
            self.results.append(record)

    def _resolve_pending(self) -> None:
        """Wait for the background workers and fill in their counts."""
        try:
            for record, job in self._pending:
                record['counts'] = job.get()
        finally:
            self._pending = []
            if self._pool is not None:
                self._pool.close()
                self._pool.join()
                self._pool = None

    def __del__(self) -> None:
        if getattr(self, '_pool', None) is not None:
            self._pool.terminate()

    def evaluate(self, size: int) -> dict:
        """Collect the background results, then pool as usual."""
        self._resolve_pending()
        if self._skipped:
            print_log(f'BoundarySEISMMetric: skipped {self._skipped} '
                      'image(s) whose boundary ground truth is all ignored.',
                      'current')
            self._skipped = 0
        return super().evaluate(size)

    # ------------------------------------------------------------------
    # compute
    # ------------------------------------------------------------------
    def _group(self, results: List[dict]) -> Dict[str, float]:
        return S.seism_metrics([r['counts'] for r in results],
                               self.thresholds)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Pool the per-image counts.

        Args:
            results (list): Records from :meth:`process`, possibly from
                several ranks.

        Returns:
            dict[str, float]: See the class docstring.
        """
        if self.format_only:
            print_log(f'Boundary PNGs written to {self.output_dir}; no '
                      'metric computed (format_only=True).', 'current')
            return {}
        scored = [r for r in results if r['in_subset']]
        if not scored:
            raise ValueError('BoundarySEISMMetric: no image to evaluate (is '
                             'the id filter right?).')
        if self.img_ids is not None:
            seen = {r['img_id'] for r in scored}
            missing = [i for i in self.img_ids if i not in seen]
            if missing:
                print_log(
                    f'BoundarySEISMMetric: {len(missing)} of '
                    f'{len(self.img_ids)} listed ids were not evaluated '
                    f'(e.g. {missing[:3]}).', 'current')
        groups: Dict[str, List[dict]] = OrderedDict(all=scored)
        if self.per_degradation:
            by_type: Dict[str, List[dict]] = {}
            for r in scored:
                by_type.setdefault(r['degradation_type'], []).append(r)
            if 'all' in by_type or 'full' in by_type:
                raise ValueError('BoundarySEISMMetric: "all" and "full" are '
                                 'reserved and cannot be degradation types.')
            known = [t for t in DEGRADATION_ORDER if t in by_type]
            for t in known + sorted(t for t in by_type if t not in known):
                groups[t] = by_type[t]
        if self.report_full and self.img_ids is not None:
            groups['full'] = list(results)
        metrics: Dict[str, float] = OrderedDict()
        rows: Dict[str, Dict[str, float]] = OrderedDict()
        for name, group in groups.items():
            values = self._group(group)
            rows[name] = values
            for key in _KEYS:
                metrics[key if name == 'all' else f'{name}/{key}'] = \
                    values[key]
        self._log_table(rows)
        return dict(metrics)

    @staticmethod
    def _log_table(rows: Dict[str, Dict[str, float]]) -> None:
        table = PrettyTable()
        table.field_names = ['metric'] + list(rows)
        table.align = 'r'
        table.align['metric'] = 'l'
        for key in _KEYS:
            fmt = '{:.0f}' if key == 'num_images' else \
                '{:.3f}' if key == 'ods_threshold' else '{:.2f}'
            table.add_row([key] + [fmt.format(rows[g][key]) for g in rows])
        print_log('\nBoundary (SEISM protocol) results:\n' +
                  table.get_string(), logger='current')
