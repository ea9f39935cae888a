"""seg2bmap and the thinned SEISM ground truth."""
import numpy as np

from mmallnet.evaluation.functional import seism as S
from mmallnet.testing.boundaries import two_region_label


def test_seg2bmap_two_regions():
    # vertical split: the last column of the left region is the boundary
    seg = np.array([[1, 1, 2, 2, 2]] * 4)
    expected = np.zeros((4, 5), bool)
    expected[:, 1] = True
    np.testing.assert_array_equal(S.seg2bmap(seg), expected)
    # horizontal split: the last row of the top region, last column too
    seg = np.array([[1] * 5] * 2 + [[2] * 5] * 2)
    expected = np.zeros((4, 5), bool)
    expected[1, :] = True
    np.testing.assert_array_equal(S.seg2bmap(seg), expected)
    # the lower-right neighbour counts; last row / column special cases;
    # the bottom-right pixel never is a boundary
    np.testing.assert_array_equal(
        S.seg2bmap(np.array([[1, 1], [1, 2]])), [[True, True], [True,
                                                               False]])
    np.testing.assert_array_equal(
        S.seg2bmap(np.array([[1, 2], [1, 2]])), [[True, False],
                                                 [True, False]])
    assert not S.seg2bmap(np.full((3, 4), 7)).any()
    assert not S.seg2bmap(np.zeros((3, 4))).any()
    # a rectangle: a closed 1-px contour, half a pixel towards the origin
    bmap = S.seg2bmap(two_region_label())
    assert bmap[7, 9] and bmap[7, 37] and bmap[29, 9] and bmap[29, 37]
    assert bmap.sum() == 2 * (38 - 9) + 2 * (30 - 7) - 4
    # thinning cuts the four 4-connected corners, nothing else
    corners = np.zeros_like(bmap)
    corners[[7, 7, 29, 29], [9, 37, 9, 37]] = True
    np.testing.assert_array_equal(S.thin(bmap), bmap & ~corners)
