"""Sparse bwmorph thinning: identical to the dense Guo-Hall passes."""
import numpy as np
from scipy import ndimage

from mmallnet.evaluation.functional import seism as S
from mmallnet.utils.dense_maps import thin_binary


def test_thin_matches_dataset_thinning():
    rng = np.random.default_rng(0)
    for density in (0.1, 0.3, 0.6):
        mask = ndimage.binary_dilation(rng.random((40, 50)) < density / 4)
        mask |= rng.random((40, 50)) < density / 3
        np.testing.assert_array_equal(S.thin(mask), thin_binary(mask))
    square = np.zeros((7, 7), bool)
    square[1:-1, 2:-2] = 1
    square[0, 1] = 1
    expected = np.zeros((7, 7), bool)
    expected[0, 1] = expected[1, 2] = True
    expected[2:5, 3] = True
    np.testing.assert_array_equal(S.thin(square), expected)
    assert not S.thin(np.zeros((5, 6))).any()
    full = np.ones((9, 12), bool)
    np.testing.assert_array_equal(S.thin(full), thin_binary(full))
