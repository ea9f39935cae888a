"""Surface normals: mean / median angular error and % under 11.25, 22.5, 30.

Valid pixels are those whose ground-truth normal is a non-zero vector;
angles are in degrees. :func:`normal_stats` keeps, per image, the angle
sum, the counts under each threshold and a sparse histogram of the
angles, from which :func:`normal_metrics` reads the pooled median.
"""
import math
from typing import Dict, Sequence

import numpy as np

from .utils import ArrayLike, Stats, sum_float, sum_int, to_numpy

#: Normal-angle thresholds reported as "% of pixels under t degrees".
NORMAL_ANGLE_THRESHOLDS = (11.25, 22.5, 30.0)


def normal_angles(pred: ArrayLike, gt: ArrayLike) -> np.ndarray:
    """Angles in degrees between predicted and ground-truth normals.

    Valid pixels are those whose ground truth is a non-zero vector. Both
    vectors are L2-normalised (a zero prediction stays zero and gives 90°),
    and ``angle = 2·atan2(|p − g|, |p + g|)``, which is exact at 0° and
    180°, unlike ``acos(p·g)``.

    Args:
        pred (ArrayLike): (3, H, W) predicted normals.
        gt (ArrayLike): (3, H, W) ground-truth normals; zero = invalid.

    Returns:
        np.ndarray: 1-D float64 angles of the valid pixels.
    """
    pred = to_numpy(pred, np.float64)
    gt = to_numpy(gt, np.float64)
    for what, x in (('prediction', pred), ('ground truth', gt)):
        if x.ndim != 3 or x.shape[0] != 3:
            raise ValueError(f'normals: {what} must be (3, H, W), got '
                             f'{tuple(x.shape)}.')
    g_norm = np.linalg.norm(gt, axis=0)
    valid = g_norm > 0
    g = gt[:, valid] / g_norm[valid]
    p = pred[:, valid]
    p = p / np.maximum(np.linalg.norm(p, axis=0), 1e-12)
    return np.degrees(2 * np.arctan2(
        np.linalg.norm(p - g, axis=0), np.linalg.norm(p + g, axis=0)))


def normal_stats(pred: ArrayLike,
                 gt: ArrayLike,
                 num_bins: int = 18000) -> Stats:
    """Angle statistics of one image.

    The median of a pooled distribution needs the whole distribution, so
    the angles are kept as a histogram of ``num_bins`` equal bins over
    [0°, 180°] (default 0.01° wide; 180° falls in the last bin). Only the
    non-empty bins are stored (sparse: uint16 / int32 bin index and uint32
    count, about 6 bytes per bin). Angles of exactly 0° (a perfect
    prediction) and exactly 180° (a flipped one) are also counted, so the
    median is exact in those cases.

    Returns:
        dict: ``count``, ``angle_sum``, ``below`` (counts of angles under
        each of :data:`NORMAL_ANGLE_THRESHOLDS`), ``num_zero``,
        ``num_flipped`` (angles == 0° / == 180°), ``hist_idx``,
        ``hist_count``.
    """
    angles = normal_angles(pred, gt)
    idx = np.clip((angles * (num_bins / 180.0)).astype(np.int64), 0,
                  num_bins - 1)
    count = np.bincount(idx, minlength=num_bins)
    nz = np.flatnonzero(count)
    return dict(
        count=np.int64(angles.size),
        angle_sum=np.float64(angles.sum()),
        below=np.array([(angles < t).sum() for t in NORMAL_ANGLE_THRESHOLDS],
                       dtype=np.int64),
        num_zero=np.int64((angles == 0).sum()),
        num_flipped=np.int64((angles == 180).sum()),
        hist_idx=nz.astype(np.uint16 if num_bins <= 65536 else np.int32),
        hist_count=count[nz].astype(np.uint32))


def normal_metrics(stats_list: Sequence[Stats],
                   num_bins: int = 18000) -> Dict[str, float]:
    """Pooled normal metrics.

    ``mean`` is exact (Σ angle / N). ``median`` is the lower median (the
    k-th smallest angle, k = ⌈N/2⌉) read from the pooled histogram: 0° or
    180° exactly when the k-th angle is exactly 0° or 180°, otherwise
    linearly interpolated inside its bin (the bin's values taken as evenly
    spread), so it lies in the same bin as the exact lower median, i.e.
    within one bin width (0.01° by default) of it.

    Returns:
        dict: ``mean``, ``median`` (degrees) and ``11.25``, ``22.5``,
        ``30`` (% of pixels with an angle under that many degrees).
    """
    n = int(sum_int(stats_list, 'count'))
    keys = [f'{t:g}' for t in NORMAL_ANGLE_THRESHOLDS]
    if n == 0:
        return dict(mean=math.nan, median=math.nan,
                    **{k: math.nan for k in keys})
    counts = np.zeros(num_bins, dtype=np.int64)
    for s in stats_list:
        if s['hist_idx'].size and int(s['hist_idx'].max()) >= num_bins:
            raise ValueError(f'normals: histogram bin {s["hist_idx"].max()} '
                             f'out of range for num_bins={num_bins}.')
        np.add.at(counts, s['hist_idx'].astype(np.int64),
                  s['hist_count'].astype(np.int64))
    n_zero = int(sum_int(stats_list, 'num_zero'))
    n_flip = int(sum_int(stats_list, 'num_flipped'))
    k = (n + 1) // 2
    if k <= n_zero:
        median = 0.0
    elif k > n - n_flip:
        median = 180.0
    else:
        # remove the exact 0° / 180° values from the first / last bin
        counts[0] -= n_zero
        counts[-1] -= n_flip
        cum = np.cumsum(counts)
        rank = k - n_zero  # rank among the remaining values
        b = int(np.searchsorted(cum, rank))
        before = int(cum[b] - counts[b])
        frac = (rank - before - 0.5) / int(counts[b])
        median = (b + frac) * (180.0 / num_bins)
    below = sum_int(stats_list, 'below')
    out = dict(
        mean=float(sum_float(stats_list, 'angle_sum')) / n, median=median)
    out.update({k: int(b) / n * 100 for k, b in zip(keys, below)})
    return out
