"""convTri and Dollár's NMS as SEISM applies it."""
import numpy as np
import pytest
from scipy import ndimage

from mmallnet.evaluation.functional import seism as S


def test_conv_tri_kernel():
    impulse = np.zeros((21, 21), np.float32)
    impulse[10, 10] = 1
    out = S.conv_tri(impulse, 4)
    f = np.array([1, 2, 3, 4, 5, 4, 3, 2, 1]) / 25
    np.testing.assert_allclose(out[6:15, 6:15], np.outer(f, f), atol=1e-7)
    assert out.sum() == pytest.approx(1, abs=1e-6)


def test_nms_keeps_ridge_and_removes_flanks():
    line = np.zeros((30, 40), np.float32)
    line[:, 20] = 1
    blurred = ndimage.gaussian_filter1d(line, 1.5, axis=1)
    nms = S.seism_nms(blurred)
    inner = nms[6:-6, 6:-6]
    assert np.unique(np.nonzero(inner)[1] + 6).tolist() == [20]
    # the kept ridge has the UNSMOOTHED values
    np.testing.assert_array_equal(nms[6:-6, 20], blurred[6:-6, 20])
    # border suppression: column x < 5 is scaled by x / 5, row 0 is zeroed
    assert not nms[0].any() and not nms[-1].any()
    np.testing.assert_allclose(nms[2, 20],
                               blurred[2, 20] * np.float32(0.4), rtol=1e-6)
    no_border = S.edges_nms(blurred, S.edge_orientation(blurred), border=0)
    np.testing.assert_array_equal(no_border[:, 20], blurred[:, 20])
    # a diagonal ridge is kept as a 1-pixel line
    yy, xx = np.mgrid[:40, :40]
    diag = np.exp(-(xx - yy)**2 / 9.0).astype(np.float32)
    kept = np.nonzero(S.seism_nms(diag)[6:-6, 6:-6])
    assert np.unique(kept[1] - kept[0]).tolist() == [0]
    # MATLAB quirk kept on purpose: a perfectly horizontal ridge has
    # Oxy == 0, so sign(-Oxy) = 0, O = 0 and the comparison runs along
    # the ridge: nothing is suppressed
    assert np.count_nonzero(S.seism_nms(blurred.T.copy())[6:-6, 6:-6]) > \
        np.count_nonzero(inner)
