"""The fast matcher equals the min-cost assignment and fresh matchings."""
import numpy as np

from mmallnet.evaluation.functional import seism as S
from mmallnet.testing.boundaries import synthetic_boundary_pair


def test_max_cardinality_equals_min_cost():
    for seed in range(2):
        pred, label = synthetic_boundary_pair(seed)
        fast = S.seism_counts(pred, label, max_dist=0.03)
        exact = S.seism_counts(pred, label, max_dist=0.03,
                               matching='min_cost')
        for key in fast:
            np.testing.assert_array_equal(fast[key], exact[key])
        assert fast['cnt_r'].max() > 0
        # and each threshold equals a fresh correspondPixels run
        edge = S.seism_nms(S.prepare_boundary_prediction(pred))
        gt_bmap = S.prepare_boundary_gt(label)
        for i in (0, 30, 60):
            binary = S.thin(edge > np.float32(S.SEISM_THRESHOLDS[i]))
            mp, mg = S.correspond_pixels(binary, gt_bmap, 0.03)
            assert fast['cnt_r'][i] == mg.sum() == mp.sum()
            assert fast['sum_p'][i] == binary.sum()
