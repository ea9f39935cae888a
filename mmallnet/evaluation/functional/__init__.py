"""Metric maths for multi-task dense prediction and restoration.

Pure numpy / scipy functions, shared by :class:`MultiTaskMetric` and
usable on their own, one file per metric family (:mod:`.label`,
:mod:`.depth`, :mod:`.normals`, :mod:`.boundary`, :mod:`.saliency`,
:mod:`.restoration`, :mod:`.multi_task`; the SEISM boundary protocol is
the sub-package :mod:`.seism`). Each task has a pair of functions:

- ``<task>_stats(pred, gt, ...)`` reduces ONE image to small sufficient
  statistics (a dict of numpy integers / floats / small arrays);
- ``<task>_metrics(stats_list, ...)`` pools the statistics of any number of
  images and returns the dataset-level metrics.

Pooling follows the multi-task benchmark protocol: every metric except the
restoration ones is computed over all valid pixels of all images, never
averaged per image. Integer statistics are summed exactly and float
statistics with :func:`math.fsum`, so the result does not depend on the
order of the images (multi-process evaluation equals single-process
evaluation bit for bit).

Units: mIoU, pixel accuracy, depth ``delta1``, normals ``% < t``, saliency
maxF and boundary F are percentages (0-100); depth RMSE is in the unit of
the depth maps (metres), ``abs_rel`` and ``log_rmse`` are plain ratios,
normal angles are degrees and PSNR is dB.
"""
from typing import List

from .boundary import (
    BOUNDARY_THRESHOLDS,
    boundary_metrics,
    boundary_stats,
    disk,
)
from .depth import depth_metrics, depth_stats
from .label import label_metrics, label_stats
from .multi_task import DEFAULT_LOWER_IS_BETTER, delta_mtl
from .normals import (
    NORMAL_ANGLE_THRESHOLDS,
    normal_angles,
    normal_metrics,
    normal_stats,
)
from .restoration import PSNR_MAX, psnr, restoration_metrics, ssim
from .saliency import (
    SALIENCY_THRESHOLDS,
    legacy_saliency_cuts,
    saliency_metrics,
    saliency_stats,
    sigmoid,
)
from .utils import to_label_map, to_numpy

__all__: List[str] = [
    'BOUNDARY_THRESHOLDS', 'SALIENCY_THRESHOLDS', 'PSNR_MAX',
    'NORMAL_ANGLE_THRESHOLDS', 'DEFAULT_LOWER_IS_BETTER', 'to_numpy',
    'to_label_map', 'label_stats', 'label_metrics', 'depth_stats',
    'depth_metrics', 'normal_angles', 'normal_stats', 'normal_metrics',
    'disk', 'boundary_stats', 'boundary_metrics', 'sigmoid',
    'legacy_saliency_cuts', 'saliency_stats', 'saliency_metrics', 'psnr',
    'ssim', 'restoration_metrics', 'delta_mtl'
]
