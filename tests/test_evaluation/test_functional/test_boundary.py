"""Boundary proxy F-measure (pixel tolerance, no NMS / matching)."""
import numpy as np
import pytest

from mmallnet.evaluation import functional as F


def _line_gt(h=8, w=8, col=3):
    gt = np.zeros((1, h, w))
    gt[0, :, col] = 1
    return gt


def test_boundary_perfect_is_100():
    gt = _line_gt()
    assert F.boundary_metrics([F.boundary_stats(gt, gt)])['odsF_proxy'] \
        == 100.0


def test_boundary_tolerance():
    gt = _line_gt(col=3)
    pred = _line_gt(col=4)
    assert F.boundary_metrics([F.boundary_stats(
        pred, gt, tolerance=1)])['odsF_proxy'] == 100.0
    assert F.boundary_metrics([F.boundary_stats(
        pred, gt, tolerance=0)])['odsF_proxy'] == 0.0
    # a diagonal offset is sqrt(2) > 1 px away
    gt1 = np.zeros((1, 5, 5))
    gt1[0, 2, 2] = 1
    pred1 = np.zeros((1, 5, 5))
    pred1[0, 3, 3] = 1
    assert F.boundary_metrics([F.boundary_stats(
        pred1, gt1, tolerance=1)])['odsF_proxy'] == 0.0
    assert F.boundary_metrics([F.boundary_stats(
        pred1, gt1, tolerance=2)])['odsF_proxy'] == 100.0


def test_boundary_threshold_counts():
    gt = np.array([[[1, 0, 0, 0, 0, 1]]], dtype=float)
    pred = np.array([[[0.9, 0.0, 0.0, 0.0, 0.3, 0.0]]])
    s = F.boundary_stats(pred, gt, thresholds=[0.2, 0.5], tolerance=0)
    np.testing.assert_array_equal(s['sum_p'], [2, 1])
    np.testing.assert_array_equal(s['cnt_p'], [1, 1])
    np.testing.assert_array_equal(s['cnt_r'], [1, 1])
    assert s['sum_r'] == 2
    # t=0.2: P=1/2, R=1/2, F=1/2; t=0.5: P=1, R=1/2, F=2/3
    m = F.boundary_metrics([s])
    assert m['odsF_proxy'] == pytest.approx(200 / 3)
    # with tolerance 1 the 0.3 pixel is next to the GT pixel at col 5
    s1 = F.boundary_stats(pred, gt, thresholds=[0.2, 0.5], tolerance=1)
    np.testing.assert_array_equal(s1['cnt_p'], [2, 1])
    np.testing.assert_array_equal(s1['cnt_r'], [2, 1])


def test_boundary_ignore_pixels_never_count():
    gt = _line_gt()
    gt[0, :, 6:] = 255
    pred = _line_gt().copy()
    s_a = F.boundary_stats(pred, gt)
    pred2 = pred.copy()
    pred2[0, :, 6:] = 1.0  # predictions on ignored pixels (and next to GT)
    pred2[0, :, 7] = 0.5
    s_b = F.boundary_stats(pred2, gt)
    for k in s_a:
        np.testing.assert_array_equal(s_a[k], s_b[k])
    assert F.boundary_metrics([s_b])['odsF_proxy'] == 100.0


def test_boundary_counts_summed_before_dividing():
    gt_a = _line_gt()
    pred_a = _line_gt()  # perfect
    gt_b = _line_gt()
    pred_b = np.zeros_like(gt_b)
    pred_b[0, :2, 3] = 1  # 2 of 8 GT pixels, no false positives
    pred_b[0, :, 7] = 1
    stats = [F.boundary_stats(pred_a, gt_a, tolerance=0),
             F.boundary_stats(pred_b, gt_b, tolerance=0)]
    # pooled at t<=1: P = 10/18, R = 10/16
    p, r = 10 / 18, 10 / 16
    assert F.boundary_metrics(stats)['odsF_proxy'] == pytest.approx(
        2 * p * r / (p + r) * 100)


def test_boundary_no_gt_and_no_prediction_is_zero():
    z = np.zeros((1, 4, 4))
    assert F.boundary_metrics([F.boundary_stats(z, z)])['odsF_proxy'] == 0.0


def test_boundary_input_checks():
    with pytest.raises(ValueError, match=r'boundary: ground truth must be'):
        F.boundary_stats(np.zeros((1, 2, 2)), np.full((1, 2, 2), 2.0))
    with pytest.raises(ValueError, match=r'boundary: prediction must be'):
        F.boundary_stats(np.full((1, 2, 2), 1.5), np.zeros((1, 2, 2)))
