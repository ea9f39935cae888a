"""Metric maths for multi-task dense prediction and restoration.

Pure numpy / scipy functions, shared by :class:`MultiTaskMetric` and
usable on their own. Each task has a pair of functions:

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
import math
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch
from scipy import ndimage

ArrayLike = Union[np.ndarray, torch.Tensor]
Stats = Dict[str, np.ndarray]

#: Default proxy-boundary thresholds 0.01, 0.02, ..., 0.99.
BOUNDARY_THRESHOLDS = np.arange(1, 100) / 100
#: Default saliency thresholds 0.05, 0.10, ..., 0.95.
SALIENCY_THRESHOLDS = np.arange(1, 20) / 20
#: PSNR reported for a perfect reconstruction (mse floored at 1e-10).
PSNR_MAX = 100.0
#: Normal-angle thresholds reported as "% of pixels under t degrees".
NORMAL_ANGLE_THRESHOLDS = (11.25, 22.5, 30.0)

#: Whether lower is better, per metric name (the part after the last '/').
DEFAULT_LOWER_IS_BETTER: Dict[str, bool] = {
    'semseg.mIoU': False,
    'semseg.mIoU_nanmean': False,
    'semseg.aAcc': False,
    'parts.mIoU': False,
    'parts.mIoU_nanmean': False,
    'parts.aAcc': False,
    'depth.rmse': True,
    'depth.abs_rel': True,
    'depth.log_rmse': True,
    'depth.delta1': False,
    'normals.mean': True,
    'normals.median': True,
    'normals.11.25': False,
    'normals.22.5': False,
    'normals.30': False,
    'boundary.odsF': False,
    'boundary.odsF_proxy': False,
    'saliency.maxF': False,
    'saliency.maxF_legacy': False,
    'restoration.psnr': False,
    'restoration.ssim': False,
}


def to_numpy(x: ArrayLike, dtype=None) -> np.ndarray:
    """Convert a tensor or array to a numpy array (on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x if dtype is None else x.astype(dtype, copy=False)


def to_label_map(x: ArrayLike, name: str = 'label map') -> np.ndarray:
    """Return a (H, W) array from a (H, W) or (1, H, W) map.

    Raises:
        ValueError: If the map has another shape.
    """
    x = to_numpy(x)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f'{name}: expected a (1, H, W) or (H, W) map, got '
                         f'shape {tuple(x.shape)}.')
    return x


def _fsum(values: Iterable[float]) -> float:
    return math.fsum(float(v) for v in values)


def _sum_int(stats_list: Sequence[Stats], key: str) -> np.ndarray:
    return np.sum(
        np.stack([np.asarray(s[key], dtype=np.int64) for s in stats_list]),
        axis=0)


def _sum_float(stats_list: Sequence[Stats], key: str) -> np.ndarray:
    """Exactly rounded element-wise sum (order independent)."""
    arr = np.stack([np.asarray(s[key], dtype=np.float64) for s in stats_list])
    flat = arr.reshape(len(stats_list), -1)
    out = np.array([math.fsum(col) for col in flat.T], dtype=np.float64)
    return out.reshape(arr.shape[1:])


def _count_at_least(values: np.ndarray,
                    thresholds: np.ndarray) -> np.ndarray:
    """Number of ``values >= t`` for every threshold ``t``."""
    values = np.sort(values.ravel())
    return (values.size -
            np.searchsorted(values, thresholds, side='left')).astype(np.int64)


def _check_binary(gt: np.ndarray, ignore_index: float, name: str) -> None:
    ok = (gt == 0) | (gt == 1) | (gt == ignore_index)
    if not ok.all():
        bad = np.unique(gt[~ok])[:5].tolist()
        raise ValueError(f'{name}: ground truth must be 0, 1 or '
                         f'{ignore_index} (ignore), found {bad}.')


def _check_prob(pred: np.ndarray, name: str) -> None:
    if pred.size and not (pred.min() >= 0 and pred.max() <= 1):
        raise ValueError(f'{name}: prediction must be a probability in '
                         f'[0, 1], found values in [{pred.min()}, '
                         f'{pred.max()}].')


# ---------------------------------------------------------------------------
# Label maps (semantic segmentation, human parts)
# ---------------------------------------------------------------------------
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
    inter = _sum_int(stats_list, 'intersect')
    union = _sum_int(stats_list, 'pred') + _sum_int(stats_list,
                                                    'label') - inter
    label_total = _sum_int(stats_list, 'label').sum()
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


# ---------------------------------------------------------------------------
# Depth
# ---------------------------------------------------------------------------
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
    n = int(_sum_int(stats_list, 'count'))
    if n == 0:
        return dict(rmse=math.nan, abs_rel=math.nan, log_rmse=math.nan,
                    delta1=math.nan)
    return dict(
        rmse=math.sqrt(float(_sum_float(stats_list, 'sq_err')) / n),
        abs_rel=float(_sum_float(stats_list, 'abs_rel')) / n,
        log_rmse=math.sqrt(float(_sum_float(stats_list, 'sq_log_err')) / n),
        delta1=int(_sum_int(stats_list, 'delta1')) / n * 100)


# ---------------------------------------------------------------------------
# Surface normals
# ---------------------------------------------------------------------------
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
    n = int(_sum_int(stats_list, 'count'))
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
    n_zero = int(_sum_int(stats_list, 'num_zero'))
    n_flip = int(_sum_int(stats_list, 'num_flipped'))
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
    below = _sum_int(stats_list, 'below')
    out = dict(
        mean=float(_sum_float(stats_list, 'angle_sum')) / n, median=median)
    out.update({k: int(b) / n * 100 for k, b in zip(keys, below)})
    return out


# ---------------------------------------------------------------------------
# Boundaries (proxy F-measure)
# ---------------------------------------------------------------------------
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
    pred = to_label_map(pred, 'boundary prediction').astype(np.float64)
    gt = to_label_map(gt, 'boundary ground truth')
    thresholds = np.asarray(thresholds, dtype=np.float64)
    _check_binary(gt, ignore_index, 'boundary')
    valid = gt != ignore_index
    _check_prob(pred[valid], 'boundary')
    gt_b = gt == 1
    footprint = disk(tolerance)
    near_gt = ndimage.binary_dilation(gt_b, structure=footprint)
    score = np.where(valid, pred, -np.inf)
    near_score = ndimage.maximum_filter(
        score, footprint=footprint, mode='constant', cval=-np.inf)
    return dict(
        cnt_p=_count_at_least(pred[valid & near_gt], thresholds),
        sum_p=_count_at_least(pred[valid], thresholds),
        cnt_r=_count_at_least(near_score[gt_b], thresholds),
        sum_r=np.int64(gt_b.sum()))


def boundary_metrics(stats_list: Sequence[Stats]) -> Dict[str, float]:
    """Pooled proxy ODS F-measure.

    Counts are summed over images per threshold, then
    ``P = Σcnt_p / Σsum_p``, ``R = Σcnt_r / Σsum_r`` (0 when the
    denominator is 0), ``F = 2PR / (P + R)`` (0 when P + R = 0), and
    ``odsF_proxy`` is the best F over thresholds, in %.
    """
    cnt_p = _sum_int(stats_list, 'cnt_p')
    sum_p = _sum_int(stats_list, 'sum_p')
    cnt_r = _sum_int(stats_list, 'cnt_r')
    sum_r = int(_sum_int(stats_list, 'sum_r'))
    prec = np.where(sum_p > 0, cnt_p / np.maximum(sum_p, 1), 0.0)
    rec = cnt_r / sum_r if sum_r > 0 else np.zeros(cnt_r.shape)
    denom = prec + rec
    f = np.where(denom > 0, 2 * prec * rec / np.where(denom > 0, denom, 1),
                 0.0)
    return {'odsF_proxy': float(f.max()) * 100}


# ---------------------------------------------------------------------------
# Saliency
# ---------------------------------------------------------------------------
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
    pred = to_label_map(pred, 'saliency prediction').astype(np.float64)
    gt = to_label_map(gt, 'saliency ground truth')
    thresholds = np.asarray(thresholds, dtype=np.float64)
    _check_binary(gt, ignore_index, 'saliency')
    valid = gt != ignore_index
    score = pred[valid]
    _check_prob(score, 'saliency')
    if legacy_double_sigmoid:
        score = sigmoid(score)
    pos = gt[valid] == 1
    return dict(
        tp=_count_at_least(score[pos], thresholds),
        pp=_count_at_least(score, thresholds),
        ap=np.int64(pos.sum()))


def saliency_metrics(stats_list: Sequence[Stats],
                     beta2: float = 0.3) -> Dict[str, float]:
    """Pooled maximum F-measure.

    ``P_t = ΣTP_t / ΣPP_t``, ``R_t = ΣTP_t / ΣAP``,
    ``F_t = (1 + β²) P R / (β² P + R)`` with NaN set to 0, and
    ``maxF = max_t F_t`` in %.
    """
    tp = _sum_int(stats_list, 'tp').astype(np.float64)
    pp = _sum_int(stats_list, 'pp').astype(np.float64)
    ap = float(_sum_int(stats_list, 'ap'))
    with np.errstate(divide='ignore', invalid='ignore'):
        prec = tp / pp
        rec = tp / ap
        f = (1 + beta2) * prec * rec / (beta2 * prec + rec)
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    return {'maxF': float(f.max()) * 100}


# ---------------------------------------------------------------------------
# Restoration
# ---------------------------------------------------------------------------
def psnr(pred: ArrayLike,
         gt: ArrayLike,
         data_range: float = 1.0,
         max_psnr: float = PSNR_MAX) -> float:
    """PSNR in dB of one image, ``10·log10(range² / mse)``.

    The mse is floored at ``range² · 10^(−max_psnr/10)``, so a perfect
    reconstruction gives ``max_psnr`` (100 dB by default) instead of inf.
    """
    pred = to_numpy(pred, np.float64)
    gt = to_numpy(gt, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f'psnr: shapes differ, {tuple(pred.shape)} vs '
                         f'{tuple(gt.shape)}.')
    mse = float(np.mean((pred - gt)**2))
    floor = data_range**2 * 10**(-max_psnr / 10)
    if mse <= floor:
        return float(max_psnr)
    return 10 * math.log10(data_range**2 / mse)


def ssim(pred: ArrayLike, gt: ArrayLike, data_range: float = 1.0) -> float:
    """SSIM (Wang et al. 2004) of one (C, H, W) image.

    Gaussian window 11×11 with σ = 1.5, K1 = 0.01, K2 = 0.03, computed on
    the region where the window fits ('valid'), averaged over pixels and
    channels.
    """
    pred = to_numpy(pred, np.float64)
    gt = to_numpy(gt, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f'ssim: shapes differ, {tuple(pred.shape)} vs '
                         f'{tuple(gt.shape)}.')
    if pred.ndim == 2:
        pred, gt = pred[None], gt[None]
    if pred.shape[-1] < 11 or pred.shape[-2] < 11:
        raise ValueError(f'ssim: image {tuple(pred.shape)} is smaller than '
                         'the 11x11 window.')
    c1 = (0.01 * data_range)**2
    c2 = (0.03 * data_range)**2

    def blur(x):
        y = ndimage.gaussian_filter(x, 1.5, truncate=5 / 1.5, mode='nearest')
        return y[5:-5, 5:-5]

    values = []
    for x, y in zip(pred, gt):
        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2) /
             ((mx * mx + my * my + c1) * (sxx + syy + c2)))
        values.append(s.mean())
    return float(np.mean(values))


def restoration_metrics(stats_list: Sequence[Stats]) -> Dict[str, float]:
    """Mean over images of the per-image values (restoration convention).

    Every key of the per-image stats (e.g. ``psnr``, ``input_psnr``,
    ``ssim``) is averaged with an exactly rounded sum.
    """
    n = len(stats_list)
    if n == 0:
        return {}
    return {
        k: float(_sum_float(stats_list, k)) / n
        for k in stats_list[0]
    }


# ---------------------------------------------------------------------------
# Multi-task performance
# ---------------------------------------------------------------------------
def delta_mtl(metrics: Dict[str, float],
              baselines: Dict[str, float],
              lower_is_better: Optional[Dict[str, bool]] = None) -> float:
    """Multi-task performance Δ_MTL in %.

    ``Δ = (1/T) Σ_t (−1)^{l_t} (M_t − B_t) / B_t × 100`` over the T metrics
    named in ``baselines`` (one primary metric per task, e.g.
    ``{'semseg.mIoU': 40.0, 'depth.rmse': 0.5}``), where ``l_t = 1`` if
    lower is better.

    Args:
        metrics (dict): Metric values of the evaluated model; must contain
            every key of ``baselines``.
        baselines (dict): Single-task baseline values.
        lower_is_better (dict, optional): Per-key direction. Keys missing
            here are looked up in :data:`DEFAULT_LOWER_IS_BETTER` by the
            name after the last '/' (so ``'mt/noise/depth.rmse'`` works).

    Returns:
        float: Δ_MTL in percent (positive = better than the baselines).

    Raises:
        KeyError: A baseline key is missing from ``metrics`` or has no
            known direction.
        ValueError: Empty baselines or a zero baseline value.
    """
    if not baselines:
        raise ValueError('delta_mtl: `baselines` is empty.')
    lower_is_better = dict(lower_is_better or {})
    total = []
    for key, base in baselines.items():
        if key not in metrics:
            raise KeyError(f'delta_mtl: metric {key!r} of `baselines` is '
                           f'missing from `metrics` (keys: '
                           f'{sorted(metrics)}).')
        if key in lower_is_better:
            lower = lower_is_better[key]
        elif key.rsplit('/', 1)[-1] in DEFAULT_LOWER_IS_BETTER:
            lower = DEFAULT_LOWER_IS_BETTER[key.rsplit('/', 1)[-1]]
        else:
            raise KeyError(f'delta_mtl: unknown direction for {key!r}; pass '
                           f'`lower_is_better={{{key!r}: True/False}}`.')
        if base == 0:
            raise ValueError(f'delta_mtl: baseline of {key!r} is 0.')
        sign = -1.0 if lower else 1.0
        total.append(sign * (metrics[key] - base) / base)
    return _fsum(total) / len(total) * 100


__all__: List[str] = [
    'BOUNDARY_THRESHOLDS', 'SALIENCY_THRESHOLDS', 'PSNR_MAX',
    'NORMAL_ANGLE_THRESHOLDS', 'DEFAULT_LOWER_IS_BETTER', 'to_numpy',
    'to_label_map', 'label_stats', 'label_metrics', 'depth_stats',
    'depth_metrics', 'normal_angles', 'normal_stats', 'normal_metrics',
    'disk', 'boundary_stats', 'boundary_metrics', 'sigmoid',
    'legacy_saliency_cuts', 'saliency_stats', 'saliency_metrics', 'psnr',
    'ssim', 'restoration_metrics', 'delta_mtl'
]
