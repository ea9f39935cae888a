"""Depth: RMSE, absolute relative error, log RMSE and delta1.

Valid pixels are those with ground truth ``> 0``. :func:`depth_stats`
keeps per-image error sums, :func:`depth_metrics` pools them over all
valid pixels of all images (``rmse = sqrt(sum (p - g)^2 / N)``, not a mean
of per-image RMSEs). RMSE is in the unit of the depth maps (metres),
``abs_rel`` and ``log_rmse`` are plain ratios, ``delta1`` is in %.
"""
import math
from typing import Dict, Sequence

import numpy as np

from .utils import ArrayLike, Stats, sum_float, sum_int, to_label_map


def depth_stats(pred: ArrayLike,
                gt: ArrayLike,
                min_pred: float = 1e-3) -> Stats:
    """Depth error sums of one image over valid pixels (``gt > 0``).

    Args:
        pred (ArrayLike): Predicted depth, (H, W) or (1, H, W).
        gt (ArrayLike): Ground-truth depth; ``<= 0`` is invalid.
        min_pred (float): The prediction is clamped to at least this value
            for the log error and the delta ratio. Default 1e-3.

    Returns:
        dict: ``count`` (valid pixels), ``delta1`` (pixels with
        ``max(p/g, g/p) < 1.25``), ``sq_err`` (Σ(p−g)²), ``abs_rel``
        (Σ|p−g|/g), ``sq_log_err`` (Σ(log p − log g)²).
    """
    pred = to_label_map(pred, 'depth prediction').astype(np.float64)
    gt = to_label_map(gt, 'depth ground truth').astype(np.float64)
    valid = gt > 0
    p, g = pred[valid], gt[valid]
    pc = np.maximum(p, min_pred)
    diff = p - g
    ratio = np.maximum(pc / g, g / pc)
    return dict(
        count=np.int64(g.size),
        delta1=np.int64((ratio < 1.25).sum()),
        sq_err=np.float64((diff * diff).sum()),
        abs_rel=np.float64((np.abs(diff) / g).sum()),
        sq_log_err=np.float64(((np.log(pc) - np.log(g))**2).sum()))


def depth_metrics(stats_list: Sequence[Stats]) -> Dict[str, float]:
    """Pooled depth metrics: ``rmse = sqrt(Σ(p−g)² / N)`` etc.

    Returns:
        dict: ``rmse``, ``abs_rel``, ``log_rmse`` and ``delta1`` (in %).
        NaN when no pixel is valid.
    """
    n = int(sum_int(stats_list, 'count'))
    if n == 0:
        return dict(rmse=math.nan, abs_rel=math.nan, log_rmse=math.nan,
                    delta1=math.nan)
    return dict(
        rmse=math.sqrt(float(sum_float(stats_list, 'sq_err')) / n),
        abs_rel=float(sum_float(stats_list, 'abs_rel')) / n,
        log_rmse=math.sqrt(float(sum_float(stats_list, 'sq_log_err')) / n),
        delta1=int(sum_int(stats_list, 'delta1')) / n * 100)
