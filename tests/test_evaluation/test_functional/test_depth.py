"""Depth: pooled RMSE, abs_rel, log RMSE and delta1."""
import math

import numpy as np
import pytest

from mmallnet.evaluation import functional as F


def test_depth_pooled_rmse_differs_from_per_image_mean():
    # image A: 4 valid pixels, error 1 each; image B: 1 valid pixel, error 3
    gt_a, pred_a = np.ones((2, 2)), np.full((2, 2), 2.0)
    gt_b = np.array([[5.0, 0], [0, 0]])
    pred_b = np.array([[8.0, 1], [2, 3]])
    sa, sb = F.depth_stats(pred_a, gt_a), F.depth_stats(pred_b, gt_b)
    per_image = (F.depth_metrics([sa])['rmse'] +
                 F.depth_metrics([sb])['rmse']) / 2
    assert per_image == 2.0
    pooled = F.depth_metrics([sa, sb])['rmse']
    assert pooled == math.sqrt(13 / 5)
    assert pooled != per_image


def test_depth_hand_computed_metrics():
    gt = np.array([[1.0, 2.0, 0.0]])
    pred = np.array([[1.2, 4.0, 9.0]])
    m = F.depth_metrics([F.depth_stats(pred, gt)])
    assert m['abs_rel'] == pytest.approx((0.2 / 1 + 2 / 2) / 2)
    assert m['delta1'] == 50.0
    assert m['log_rmse'] == pytest.approx(
        math.sqrt((math.log(1.2)**2 + math.log(2)**2) / 2))
    assert m['rmse'] == pytest.approx(math.sqrt((0.04 + 4) / 2))


def test_depth_log_clamps_nonpositive_prediction():
    m = F.depth_metrics([F.depth_stats(np.array([[-1.0]]),
                                       np.array([[1.0]]))])
    assert m['log_rmse'] == pytest.approx(-math.log(1e-3))
    assert m['delta1'] == 0.0
    assert m['rmse'] == 2.0


def test_depth_perfect_and_no_valid_pixels():
    d = np.random.default_rng(0).uniform(0.5, 5, (4, 5))
    m = F.depth_metrics([F.depth_stats(d, d)])
    assert m == dict(rmse=0.0, abs_rel=0.0, log_rmse=0.0, delta1=100.0)
    m = F.depth_metrics([F.depth_stats(d, np.zeros_like(d))])
    assert all(math.isnan(v) for v in m.values())
