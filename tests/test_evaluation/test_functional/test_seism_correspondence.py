"""BSDS correspondPixels: tolerance and one-to-one matching."""
import numpy as np

from mmallnet.evaluation.functional import seism as S


def test_correspond_pixels_tolerance_and_one_to_one():
    # 100x100: diagonal 141.4 px, max_dist 0.011 -> 1.556 px
    gt = np.zeros((100, 100), bool)
    gt[50, 20:80] = True
    mp, mg = S.correspond_pixels(gt, gt, 0.011)
    assert mp.sum() == mg.sum() == 60
    for dy, dx, expect in ((1, 0, 60), (1, 1, 60), (2, 0, 0)):
        pred = np.roll(np.roll(gt, dy, 0), dx, 1)
        mp, mg = S.correspond_pixels(pred, gt, 0.011)
        assert mp.sum() == mg.sum() == expect, (dy, dx)
        if expect:
            np.testing.assert_array_equal(mg, gt)
            np.testing.assert_array_equal(mp, pred)
    # one-to-one: a double line only matches once
    pred = gt | np.roll(gt, 1, 0)
    mp, mg = S.correspond_pixels(pred, gt, 0.011)
    assert mp.sum() == mg.sum() == 60
    empty = np.zeros_like(gt)
    assert S.correspond_pixels(empty, gt)[1].sum() == 0
    assert S.correspond_pixels(gt, empty)[0].sum() == 0
