"""Per-image SEISM counts: perfect, shifted, strict thresholds, pools."""
import numpy as np

from mmallnet.evaluation.functional import seism as S
from mmallnet.testing.boundaries import (
    synthetic_boundary_pair,
    two_region_label,
)


def test_perfect_prediction_gives_f_one():
    label = two_region_label()
    gt_bmap = S.prepare_boundary_gt(label)
    counts = S.seism_counts(gt_bmap.astype(np.float32), label)
    n = int(gt_bmap.sum())
    for key in ('cnt_r', 'sum_r', 'cnt_p', 'sum_p'):
        np.testing.assert_array_equal(counts[key], n)
    m = S.seism_metrics([counts])
    assert m['odsF'] == m['odsP'] == m['odsR'] == m['oisF'] == 100
    assert m['ods_threshold'] == 0.001
    assert m['AP'] == 0  # a single recall value: SEISM's AP is 0


def test_shift_inside_and_outside_tolerance():
    label = two_region_label()  # 40x50: diagonal 64.0 px
    gt_bmap = S.prepare_boundary_gt(label)
    shifted = np.roll(gt_bmap, 1, axis=1).astype(np.float32)
    n = int(gt_bmap.sum())
    inside = S.seism_counts(shifted, label, max_dist=0.02)  # 1.28 px
    assert inside['cnt_r'][0] == inside['cnt_p'][0] == n
    outside = S.seism_counts(shifted, label, max_dist=0.01)  # 0.64 px
    # only the two horizontal sides still overlap after the shift
    assert 0 < outside['cnt_r'][0] < n
    far = np.roll(gt_bmap, 3, axis=0).astype(np.float32)
    far_counts = S.seism_counts(far, label, max_dist=0.02)
    rows = S.thin(np.roll(gt_bmap, 3, axis=0))
    assert far_counts['sum_p'][0] == rows.sum()
    # only pixels of the vertical sides near their original lie in range
    assert far_counts['cnt_r'][0] < n // 2


def test_thresholds_are_strict():
    label = two_region_label()
    gt_bmap = S.prepare_boundary_gt(label)
    n = int(gt_bmap.sum())
    pred = np.where(gt_bmap, 0.5, 0).astype(np.float32)
    t = np.array([0.49, 0.5, 0.51])
    strict = S.seism_counts(pred, label, t, quantize=None)
    np.testing.assert_array_equal(strict['sum_p'], [n, 0, 0])
    loose = S.seism_counts(pred, label, t, quantize=None, strict=False)
    np.testing.assert_array_equal(loose['sum_p'], [n, n, 0])
    # 0.2 quantises to 51 / 255, which is 0.2 in single precision
    pred = np.where(gt_bmap, 0.2, 0).astype(np.float32)
    counts = S.seism_counts(pred, label, [0.19, 0.2])
    np.testing.assert_array_equal(counts['sum_p'], [n, 0])


def test_pool_equals_serial():
    pairs = [synthetic_boundary_pair(s) for s in range(3)]
    preds, gts = [p for p, _ in pairs], [g for _, g in pairs]
    serial = S.evaluate_boundary_images(preds, gts, max_dist=0.02)
    pooled = S.evaluate_boundary_images(preds, gts, workers=2,
                                        start_method='fork', max_dist=0.02)
    for a, b in zip(serial, pooled):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
