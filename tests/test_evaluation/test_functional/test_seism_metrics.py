"""Pooling SEISM counts into odsF, oisF and AP."""
import numpy as np
import pytest

from mmallnet.evaluation.functional import seism as S


def test_pooling_sums_counts_before_dividing():
    t = np.array([0.3, 0.6])

    def counts(cnt, sum_r, sum_p):
        cnt = np.array(cnt)
        return dict(cnt_r=cnt, cnt_p=cnt, sum_r=np.full(2, sum_r),
                    sum_p=np.array(sum_p))

    # image a: best at t=0.3 (F .8), image b: best at t=0.6 (F .5)
    a = counts([80, 40], 100, [100, 40])
    b = counts([1, 5], 10, [10, 10])
    m = S.seism_metrics([a, b], t)
    p = np.array([81 / 110, 45 / 50])
    r = np.array([81 / 110, 45 / 110])
    f = 2 * p * r / (p + r)
    assert m['odsF'] == pytest.approx(100 * f.max())
    assert m['ods_threshold'] == 0.3
    assert m['odsP'] == pytest.approx(100 * 81 / 110)
    # OIS: counts of a at 0.3 and b at 0.6, pooled
    p_ois, r_ois = 85 / 110, 85 / 110
    assert m['oisF'] == pytest.approx(100 * 2 * p_ois * r_ois /
                                      (p_ois + r_ois))
    assert m['num_images'] == 2
    # no ground truth and no prediction: SEISM's conventions, F = 0
    none = dict(cnt_r=np.zeros(2), cnt_p=np.zeros(2), sum_r=np.zeros(2),
                sum_p=np.zeros(2))
    assert S.seism_metrics([none], t)['odsF'] == 0


def test_average_precision_formula():
    # P(r) = 1 - r / 2 on [0, 1]: AP = sum_{k=0..100} (1 - k/200) / 100
    rec = np.array([1.0, 0.5, 0.0])
    prec = np.array([0.5, 0.75, 1.0])
    assert S.average_precision(prec, rec) == pytest.approx(0.7575)
    # points outside the recall range are left out
    assert S.average_precision(np.array([0.5, 1.0]),
                               np.array([0.5, 0.0])) == pytest.approx(
                                   sum(1 - k / 100 for k in range(51)) / 100)
    assert S.average_precision(np.ones(3), np.full(3, 0.4)) == 0
