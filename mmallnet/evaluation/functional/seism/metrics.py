"""Pooling of SEISM counts into odsF, oisF and AP.

Follows SEISM's ``gather_measure``, ``general_ods``, ``general_ois`` and
``general_ap``: odsF is the best F of the counts summed over images per
threshold, oisF the F of the counts summed at each image's own best
threshold, AP the area under the pooled precision-recall curve. F, P, R
and AP are returned in % (0-100).
"""
import math
from typing import Dict, Sequence

import numpy as np

from ..utils import Stats
from .params import COUNT_KEYS, SEISM_THRESHOLDS


def _image_pr(cnt_r, sum_r, cnt_p, sum_p):
    """Precision / recall with SEISM ``eval_cont``'s conventions (one image
    or pooled OIS counts): no GT -> R = 1, P = 0; else no prediction ->
    R = 0, P = 1."""
    cnt_r, sum_r, cnt_p, sum_p = (np.asarray(x, dtype=np.float64)
                                  for x in (cnt_r, sum_r, cnt_p, sum_p))
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = np.where(sum_r == 0, 1.0,
                       np.where(sum_p == 0, 0.0, cnt_r / sum_r))
        prec = np.where(sum_r == 0, 0.0,
                        np.where(sum_p == 0, 1.0, cnt_p / sum_p))
    return prec, rec


def _pooled_pr(cnt_r, sum_r, cnt_p, sum_p):
    """Precision / recall with SEISM ``gather_measure``'s conventions for
    counts summed over images: 0 / 0 by default; no GT and no match ->
    R = 1, P = 0; no prediction and no match -> R = 0, P = 1 (this one wins
    when both sums are 0); otherwise the ratios where ``cntR != 0``."""
    cnt_r, sum_r, cnt_p, sum_p = (np.asarray(x, dtype=np.float64)
                                  for x in (cnt_r, sum_r, cnt_p, sum_p))
    rec = np.zeros(cnt_r.shape)
    prec = np.zeros(cnt_r.shape)
    case = (sum_r == 0) & (cnt_p == 0)
    rec[case], prec[case] = 1.0, 0.0
    case = (sum_p == 0) & (cnt_r == 0)
    rec[case], prec[case] = 0.0, 1.0
    case = (sum_p != 0) & (cnt_r != 0)
    rec[case] = cnt_r[case] / sum_r[case]
    prec[case] = cnt_p[case] / sum_p[case]
    return prec, rec


def _f_measure(prec, rec):
    denom = prec + rec
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denom == 0, 0.0, 2 * prec * rec / denom)


def _matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` (first half from the start, second half
    back from the end, as MATLAB computes it)."""
    n = int(math.floor((stop - start) / step + 1e-10))
    k = np.arange(n + 1)
    return np.where(k <= n / 2, start + k * step, stop - (n - k) * step)


def average_precision(prec: np.ndarray, rec: np.ndarray) -> float:
    """SEISM ``general_ap`` / BSDS ``edgesEvalDir`` AP of a PR curve.

    Keep one point per distinct recall (the first in threshold order,
    MATLAB ``unique``), interpolate precision linearly in recall at
    ``r = 0, 0.01, ..., 1`` (points outside the recall range are dropped,
    ``interp1``'s NaN) and return ``sum / 100``. 0 with fewer than two
    distinct recalls.

    Args:
        prec (np.ndarray): (T,) precision per threshold (fractions).
        rec (np.ndarray): (T,) recall per threshold.

    Returns:
        float: AP as a fraction.
    """
    rec_u, first = np.unique(np.asarray(rec, dtype=np.float64),
                             return_index=True)
    if rec_u.size < 2:
        return 0.0
    prec_u = np.asarray(prec, dtype=np.float64)[first]
    query = _matlab_colon(0.0, 0.01, 1.0)
    inside = (query >= rec_u[0]) & (query <= rec_u[-1])
    return float(np.interp(query[inside], rec_u, prec_u).sum() / 100)


def sum_counts(stats_list: Sequence[Stats]) -> Stats:
    """Sum per-image counts (exact int64)."""
    if not stats_list:
        raise ValueError('No boundary statistics to pool.')
    return {
        k: np.sum(np.stack([np.asarray(s[k], dtype=np.int64)
                            for s in stats_list]), axis=0)
        for k in COUNT_KEYS
    }


def seism_metrics(stats_list: Sequence[Stats],
                  thresholds: Sequence[float] = SEISM_THRESHOLDS
                  ) -> Dict[str, float]:
    """Pool per-image counts into SEISM's odsF, oisF and AP.

    - ODS: counts summed over images per threshold, P / R with SEISM's
      conventions (:func:`_pooled_pr`), ``F = 2PR / (P + R)`` (0 if
      ``P + R = 0``); ``odsF`` is the maximum over thresholds (the first
      threshold on ties gives ``odsP``, ``odsR``, ``ods_threshold``).
    - OIS: each image's best threshold (max of its own F, first on ties,
      F rounded to 6 decimals as SEISM reads it back from its ``%f``
      result files), then the counts at those thresholds are summed and
      turned into ``oisF`` / ``oisP`` / ``oisR``.
    - AP: :func:`average_precision` of the pooled (P, R) curve:
      ``AP = (1/100) * sum_{r in {0, .01, ..., 1}, R_min <= r <= R_max}
      P(r)`` with P(r) linear interpolation of precision against recall.

    Args:
        stats_list (Sequence[dict]): Per-image counts
            (:func:`seism_counts`).
        thresholds (Sequence[float]): The thresholds of the counts.

    Returns:
        dict[str, float]: ``odsF``, ``odsP``, ``odsR``, ``oisF``, ``oisP``,
        ``oisR``, ``AP`` in % (0-100), ``ods_threshold`` and
        ``num_images``.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    total = sum_counts(stats_list)
    if total['cnt_r'].shape != thresholds.shape:
        raise ValueError(f'Counts have {total["cnt_r"].shape[0]} thresholds '
                         f'but {thresholds.size} thresholds were given.')
    prec, rec = _pooled_pr(*(total[k] for k in COUNT_KEYS))
    f = _f_measure(prec, rec)
    best = int(np.argmax(f))

    per_image = np.stack([
        np.stack([np.asarray(s[k], dtype=np.int64) for k in COUNT_KEYS])
        for s in stats_list
    ])  # (N, 4, T)
    img_f = np.round(_f_measure(*_image_pr(*per_image.transpose(1, 0, 2))),
                     6)
    pick = np.argmax(img_f, axis=1)
    ois = per_image[np.arange(len(stats_list)), :, pick].sum(axis=0)
    ois_p, ois_r = _image_pr(*ois)
    return {
        'odsF': float(f[best]) * 100,
        'odsP': float(prec[best]) * 100,
        'odsR': float(rec[best]) * 100,
        'ods_threshold': float(thresholds[best]),
        'oisF': float(_f_measure(ois_p, ois_r)) * 100,
        'oisP': float(ois_p) * 100,
        'oisR': float(ois_r) * 100,
        'AP': average_precision(prec, rec) * 100,
        'num_images': float(len(stats_list)),
    }
