"""SEISM protocol parameters: the HED thresholds and maxDist."""
import numpy as np

from mmallnet.evaluation.functional import seism as S


def test_thresholds_and_constants():
    t = S.SEISM_THRESHOLDS
    assert t.size == 101 and t[0] == 0.001 and t[-1] == 0.999
    np.testing.assert_allclose(t[1:-1], np.arange(1, 100) / 100)
    assert S.MAX_DIST == {'nyud': 0.011, 'pascal_context': 0.0075}
