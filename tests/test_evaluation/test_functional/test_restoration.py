"""Restoration: PSNR, SSIM and their mean over images."""
import math

import numpy as np
import pytest
import torch

from mmallnet.evaluation import functional as F


def test_psnr_and_ssim():
    rng = np.random.default_rng(6)
    img = rng.uniform(0, 1, (3, 16, 16))
    assert F.psnr(img, img) == F.PSNR_MAX == 100.0
    assert F.ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    noisy = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    mse = np.mean((noisy - img)**2)
    assert F.psnr(noisy, img) == pytest.approx(-10 * math.log10(mse))
    assert F.psnr(np.full((3, 2, 2), 0.1), np.zeros((3, 2, 2))) == \
        pytest.approx(20.0)
    assert 0 < F.ssim(noisy, img) < 1
    with pytest.raises(ValueError, match='psnr: shapes differ'):
        F.psnr(img, img[:, :8])
    with pytest.raises(ValueError, match='smaller than the 11x11 window'):
        F.ssim(img[:, :8, :8], img[:, :8, :8])


def test_psnr_ssim_constant_offset_exact():
    rng = np.random.default_rng(7)
    clean = rng.uniform(0, 0.9, (3, 16, 16))
    # mse = 0.1² -> PSNR = 10·log10(1 / 0.01) = 20 dB, whatever the image
    assert F.psnr(clean + 0.1, clean) == pytest.approx(20.0, rel=1e-12)
    assert F.psnr(torch.from_numpy(clean + 0.1).float(),
                  torch.from_numpy(clean).float()) == pytest.approx(
                      20.0, rel=1e-5)
    # constant images a, b: all (co)variances are 0, so
    # SSIM = (2ab + C1) / (a² + b² + C1) with C1 = 0.01²
    c1 = 0.01**2
    a, b = np.full((3, 16, 16), 0.5), np.full((3, 16, 16), 0.6)
    assert F.ssim(b, a) == pytest.approx(
        (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1), rel=1e-12)
    assert F.psnr(b, a) == pytest.approx(20.0, rel=1e-12)


def test_restoration_metrics_mean_over_images():
    stats = [dict(psnr=np.float64(20.0)), dict(psnr=np.float64(30.0))]
    assert F.restoration_metrics(stats) == {'psnr': 25.0}
