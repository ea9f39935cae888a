"""Saliency: maximum F-measure (beta^2 = 0.3) over thresholds.

:func:`saliency_stats` counts, per threshold, the true and predicted
positives of one image; :func:`saliency_metrics` pools them over all
images before dividing. ``legacy_double_sigmoid`` reproduces the
InvPT-family evaluation, which applies a second sigmoid to the
probability (see :func:`legacy_saliency_cuts`). maxF is in %.
"""
from typing import Dict, Sequence

import numpy as np

from .utils import (
    ArrayLike,
    Stats,
    binary_task_inputs,
    count_at_least,
    sum_int,
)

#: Default saliency thresholds 0.05, 0.10, ..., 0.95.
SALIENCY_THRESHOLDS = np.arange(1, 20) / 20


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function in float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def legacy_saliency_cuts(
        thresholds: Sequence[float] = SALIENCY_THRESHOLDS) -> np.ndarray:
    """Probability cuts that the legacy double sigmoid applies in effect.

    With ``legacy_double_sigmoid`` a pixel of probability ``s`` in [0, 1]
    is positive at threshold ``t`` when ``sigmoid(s) >= t``, i.e. when
    ``s >= c`` with

    - ``c = 0`` for ``t <= 0.5`` (every pixel is positive, as
      ``sigmoid(0) = 0.5``);
    - ``c = logit(t) = log(t / (1 − t))`` for ``0.5 < t <= sigmoid(1)``
      (≈ 0.7311);
    - ``c = inf`` for ``t > sigmoid(1)`` (no pixel is positive; its F is
      0).

    Of the default thresholds 0.05..0.95 only 0.55, 0.60, 0.65 and 0.70
    give real cuts: 0.2007, 0.4055, 0.6190 and 0.8473.

    Args:
        thresholds (Sequence[float]): Thresholds ``t``.

    Returns:
        np.ndarray: float64 cut ``c`` per threshold.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        logit = np.log(t / (1.0 - t))
    return np.where(t <= 0.5, 0.0,
                    np.where(t > float(sigmoid(1.0)), np.inf, logit))


def saliency_stats(pred: ArrayLike,
                   gt: ArrayLike,
                   thresholds: Sequence[float] = SALIENCY_THRESHOLDS,
                   ignore_index: float = 255,
                   legacy_double_sigmoid: bool = False) -> Stats:
    """Per-threshold saliency counts of one image.

    At threshold ``t`` a pixel is positive if ``s >= t`` where ``s`` is
    the saliency probability, or ``sigmoid(s)`` when
    ``legacy_double_sigmoid`` is set. The legacy mode reproduces the
    InvPT / TaskPrompter / MLoRE evaluation, which applies a second
    sigmoid to the probability: the score then lies in [0.5, 0.731], every
    threshold <= 0.5 marks all pixels positive and every threshold >= 0.75
    marks none (see :func:`legacy_saliency_cuts` for the cuts on ``s``).

    Args:
        pred (ArrayLike): Saliency probability in [0, 1], (1, H, W).
        gt (ArrayLike): Ground truth in {0, 1, ignore_index}.
        thresholds (Sequence[float]): Thresholds.
        ignore_index (float): Ignored ground-truth value. Default 255.
        legacy_double_sigmoid (bool): See above. Default False.

    Returns:
        dict: per-threshold ``tp`` and ``pp`` (predicted positives), and
        ``ap`` (positive GT pixels, a scalar).
    """
    pred, gt, thresholds, valid = binary_task_inputs(pred, gt, thresholds,
                                                     ignore_index, 'saliency')
    score = pred[valid]
    if legacy_double_sigmoid:
        score = sigmoid(score)
    pos = gt[valid] == 1
    return dict(
        tp=count_at_least(score[pos], thresholds),
        pp=count_at_least(score, thresholds),
        ap=np.int64(pos.sum()))


def saliency_metrics(stats_list: Sequence[Stats],
                     beta2: float = 0.3) -> Dict[str, float]:
    """Pooled maximum F-measure.

    ``P_t = ΣTP_t / ΣPP_t``, ``R_t = ΣTP_t / ΣAP``,
    ``F_t = (1 + β²) P R / (β² P + R)`` with NaN set to 0, and
    ``maxF = max_t F_t`` in %.
    """
    tp = sum_int(stats_list, 'tp').astype(np.float64)
    pp = sum_int(stats_list, 'pp').astype(np.float64)
    ap = float(sum_int(stats_list, 'ap'))
    with np.errstate(divide='ignore', invalid='ignore'):
        prec = tp / pp
        rec = tp / ap
        f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    return {'maxF': float(f.max()) * 100}
