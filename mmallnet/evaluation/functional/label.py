"""Label maps (semantic segmentation, human parts): mIoU and pixel accuracy.

Per image :func:`label_stats` counts the per-class intersection,
prediction and label areas over the pixels whose ground truth is not
``ignore_index``; :func:`label_metrics` sums them over all images before
dividing (the multi-task benchmark protocol), so the result does not
depend on how the images are split. mIoU and pixel accuracy are in %.
"""
import math
from typing import Dict, Sequence

import numpy as np

from .utils import ArrayLike, Stats, sum_int, to_label_map


def label_stats(pred: ArrayLike,
                gt: ArrayLike,
                num_classes: int,
                ignore_index: int = 255,
                name: str = 'semseg') -> Stats:
    """Per-class intersection / prediction / label areas of one image.

    Pixels whose ground truth is ``ignore_index`` never count.

    Args:
        pred (ArrayLike): Predicted labels, (H, W) or (1, H, W).
        gt (ArrayLike): Ground-truth labels, same shape.
        num_classes (int): Number of classes.
        ignore_index (int): Ignored ground-truth value. Default 255.
        name (str): Task name used in error messages.

    Returns:
        dict: ``intersect``, ``pred``, ``label``: (num_classes,) int64.

    Raises:
        ValueError: If a valid pixel's label or prediction is not in
            ``[0, num_classes)``.
    """
    pred = to_label_map(pred, f'{name} prediction').astype(np.int64)
    gt = to_label_map(gt, f'{name} ground truth').astype(np.int64)
    valid = gt != ignore_index
    gt, pred = gt[valid], pred[valid]
    for what, x in (('ground truth', gt), ('prediction', pred)):
        bad = (x < 0) | (x >= num_classes)
        if bad.any():
            raise ValueError(
                f'{name}: {what} has labels {np.unique(x[bad])[:5].tolist()}'
                f' outside [0, {num_classes}) on non-ignored pixels '
                f'(ignore index {ignore_index}).')
    hit = pred == gt
    return dict(
        intersect=np.bincount(gt[hit], minlength=num_classes),
        pred=np.bincount(pred, minlength=num_classes),
        label=np.bincount(gt, minlength=num_classes))


def label_metrics(stats_list: Sequence[Stats]) -> Dict[str, float]:
    """Pooled mIoU and pixel accuracy.

    ``IoU_c = TP_c / (TP_c + FP_c + FN_c)`` with counts summed over all
    images.

    Returns:
        dict: ``mIoU`` (mean over ALL classes, a class absent from both
        prediction and ground truth counts as 0: the multi-task papers'
        convention), ``mIoU_nanmean`` (such classes skipped: mmseg's
        convention), ``aAcc`` (pixel accuracy), all in %; and ``IoU``, the
        per-class IoU in % (NaN for absent classes). All are NaN when no
        pixel is labelled (e.g. only images whose human-parts ground truth
        is all ignore): such images contribute nothing, not even their
        predictions as false positives.
    """
    inter = sum_int(stats_list, 'intersect')
    union = sum_int(stats_list, 'pred') + sum_int(stats_list,
                                                    'label') - inter
    label_total = sum_int(stats_list, 'label').sum()
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = inter / union
    if label_total == 0:
        return {'mIoU': math.nan, 'mIoU_nanmean': math.nan,
                'aAcc': math.nan, 'IoU': np.full(inter.shape, math.nan)}
    iou_zero = np.where(union > 0, iou, 0.0)
    nanmean = float(np.nanmean(iou)) if np.any(union > 0) else math.nan
    aacc = inter.sum() / label_total if label_total > 0 else math.nan
    return {
        'mIoU': float(iou_zero.mean()) * 100,
        'mIoU_nanmean': nanmean * 100,
        'aAcc': float(aacc) * 100,
        'IoU': iou * 100,
    }
