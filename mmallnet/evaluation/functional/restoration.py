"""Restoration: PSNR and SSIM, averaged over images.

Unlike the dense-prediction metrics, restoration follows its own
convention: a value per image (:func:`psnr` in dB, :func:`ssim`), then
the mean over images (:func:`restoration_metrics`, exactly rounded sum).
Images are (C, H, W) in ``[0, data_range]``.
"""
import math
from typing import Dict, Sequence

import numpy as np
from scipy import ndimage

from .utils import ArrayLike, Stats, sum_float, to_numpy

#: PSNR reported for a perfect reconstruction (mse floored at 1e-10).
PSNR_MAX = 100.0


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
        k: float(sum_float(stats_list, k)) / n
        for k in stats_list[0]
    }
