"""Label maps: pooled mIoU (two conventions) and pixel accuracy."""
import math

import numpy as np
import pytest
import torch

from mmallnet.evaluation import functional as F


def test_miou_absent_class_convention_vs_nanmean():
    # class 0: I=1, U=2 -> 1/2; class 1: I=2, U=3 -> 2/3; class 2 absent.
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    stats = F.label_stats(pred, gt, num_classes=3)
    np.testing.assert_array_equal(stats['intersect'], [1, 2, 0])
    np.testing.assert_array_equal(stats['pred'], [1, 3, 0])
    np.testing.assert_array_equal(stats['label'], [2, 2, 0])
    m = F.label_metrics([stats])
    assert m['mIoU'] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3 * 100)
    assert m['mIoU_nanmean'] == pytest.approx((1 / 2 + 2 / 3) / 2 * 100)
    assert m['aAcc'] == pytest.approx(75.0)
    assert np.isnan(m['IoU'][2])


def test_miou_class_only_predicted_counts_zero_in_both_conventions():
    gt = np.array([[0, 0]])
    pred = np.array([[0, 1]])
    m = F.label_metrics([F.label_stats(pred, gt, 2)])
    # class 1: I=0, U=1 -> IoU 0 (not NaN), class 0: 1/2
    assert m['mIoU'] == pytest.approx(25.0)
    assert m['mIoU_nanmean'] == pytest.approx(25.0)


def test_label_ignore_pixels_never_count():
    gt = np.array([[0, 1, 255, 255]])
    a = F.label_stats(np.array([[0, 1, 0, 1]]), gt, 2)
    b = F.label_stats(np.array([[0, 1, 1, 7]]), gt, 2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert F.label_metrics([a])['mIoU'] == 100.0


def test_label_pooled_over_images():
    s1 = F.label_stats(np.array([[0, 0]]), np.array([[0, 1]]), 2)
    s2 = F.label_stats(np.array([[1, 1, 1]]), np.array([[1, 1, 1]]), 2)
    m = F.label_metrics([s1, s2])
    # class 0: I=1, U=2; class 1: I=3, U=4 (pooled), not per-image means
    assert m['mIoU'] == pytest.approx((1 / 2 + 3 / 4) / 2 * 100)
    assert m['aAcc'] == pytest.approx(4 / 5 * 100)


def test_label_out_of_range_raises():
    with pytest.raises(ValueError, match=r'semseg: ground truth .*\[3\]'):
        F.label_stats(np.array([[0]]), np.array([[3]]), 3)
    with pytest.raises(ValueError, match=r'parts: prediction .*\[9\]'):
        F.label_stats(np.array([[9]]), np.array([[0]]), 7, name='parts')
    with pytest.raises(ValueError, match=r'\(1, H, W\)'):
        F.label_stats(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), 3)


def test_label_no_labelled_pixel_is_nan_not_zero():
    # e.g. parts of images without persons: all-ignore GT; whatever is
    # predicted there is neither a true nor a false positive
    gt = np.full((1, 2, 3), 255)
    s = F.label_stats(np.array([[[1, 2, 3], [4, 5, 6]]]), gt, 7)
    for k in ('intersect', 'pred', 'label'):
        np.testing.assert_array_equal(s[k], np.zeros(7))
    m = F.label_metrics([s])
    assert all(math.isnan(m[k]) for k in ('mIoU', 'mIoU_nanmean', 'aAcc'))
    assert np.isnan(m['IoU']).all()


def test_label_accepts_tensors_with_channel_dim():
    t = torch.tensor([[[0, 1], [1, 255]]])
    m = F.label_metrics([F.label_stats(t, t, 2)])
    assert m['mIoU'] == 100.0
