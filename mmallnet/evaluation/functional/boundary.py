"""Boundaries, proxy protocol: a cheap ODS F-measure with a pixel tolerance.

NOT the papers' number: no non-maximum suppression, no thinning, no
one-to-one matching, and a tolerance in pixels rather than a fraction of
the diagonal. The SEISM protocol the papers report is
:mod:`mmallnet.evaluation.functional.seism`. F is in %.
"""
from typing import Dict, Sequence

import numpy as np
from scipy import ndimage

from .utils import (
    ArrayLike,
    Stats,
    binary_task_inputs,
    count_at_least,
    sum_int,
)

#: Default proxy-boundary thresholds 0.01, 0.02, ..., 0.99.
BOUNDARY_THRESHOLDS = np.arange(1, 100) / 100


def disk(radius: int) -> np.ndarray:
    """Boolean disk footprint ``x² + y² <= radius²``."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy * yy + xx * xx) <= r * r


def boundary_stats(pred: ArrayLike,
                   gt: ArrayLike,
                   thresholds: Sequence[float] = BOUNDARY_THRESHOLDS,
                   tolerance: int = 1,
                   ignore_index: float = 255) -> Stats:
    """Per-threshold boundary counts of one image (proxy protocol).

    This is a cheap PROXY of the SEISM odsF, not the official protocol
    (no non-maximum suppression, no thinning, no one-to-one bipartite
    matching; tolerance in pixels, not a fraction of the diagonal). At
    threshold ``t`` the prediction is ``pred >= t``. A predicted pixel is
    correct if a ground-truth boundary pixel lies within ``tolerance``
    pixels (Euclidean disk); a ground-truth boundary pixel is recalled if
    a predicted pixel lies within ``tolerance`` pixels. Pixels whose
    ground truth is ``ignore_index`` are neither predictions nor targets.

    Args:
        pred (ArrayLike): Boundary probability in [0, 1], (1, H, W).
        gt (ArrayLike): Ground truth in {0, 1, ignore_index}.
        thresholds (Sequence[float]): Thresholds.
        tolerance (int): Matching radius in pixels. Default 1.
        ignore_index (float): Ignored ground-truth value. Default 255.

    Returns:
        dict: per-threshold ``cnt_p`` (correct predicted pixels),
        ``sum_p`` (predicted pixels), ``cnt_r`` (recalled GT pixels) and
        ``sum_r`` (GT boundary pixels, a scalar).
    """
    pred, gt, thresholds, valid = binary_task_inputs(pred, gt, thresholds,
                                                     ignore_index, 'boundary')
    gt_b = gt == 1
    footprint = disk(tolerance)
    near_gt = ndimage.binary_dilation(gt_b, structure=footprint)
    score = np.where(valid, pred, -np.inf)
    near_score = ndimage.maximum_filter(
        score, footprint=footprint, mode='constant', cval=-np.inf)
    return dict(
        cnt_p=count_at_least(pred[valid & near_gt], thresholds),
        sum_p=count_at_least(pred[valid], thresholds),
        cnt_r=count_at_least(near_score[gt_b], thresholds),
        sum_r=np.int64(gt_b.sum()))


def boundary_metrics(stats_list: Sequence[Stats]) -> Dict[str, float]:
    """Pooled proxy ODS F-measure.

    Counts are summed over images per threshold, then
    ``P = Σcnt_p / Σsum_p``, ``R = Σcnt_r / Σsum_r`` (0 when the
    denominator is 0), ``F = 2PR / (P + R)`` (0 when P + R = 0), and
    ``odsF_proxy`` is the best F over thresholds, in %.
    """
    cnt_p = sum_int(stats_list, 'cnt_p')
    sum_p = sum_int(stats_list, 'sum_p')
    cnt_r = sum_int(stats_list, 'cnt_r')
    sum_r = int(sum_int(stats_list, 'sum_r'))
    prec = np.where(sum_p > 0, cnt_p / np.maximum(sum_p, 1), 0.0)
    rec = cnt_r / sum_r if sum_r > 0 else np.zeros(cnt_r.shape)
    denom = prec + rec
    f = np.where(denom > 0, 2 * prec * rec / np.where(denom > 0, denom, 1),
                 0.0)
    return {'odsF_proxy': float(f.max()) * 100}
