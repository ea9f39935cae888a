"""Saliency maxF, plain and with the legacy double sigmoid."""
import math

import numpy as np
import pytest

from mmallnet.evaluation import functional as F


def test_saliency_perfect_is_100():
    gt = np.array([[[1, 0, 1, 255]]])
    pred = np.array([[[1.0, 0.0, 1.0, 0.7]]])
    assert F.saliency_metrics([F.saliency_stats(pred, gt)])['maxF'] == 100.0


def test_saliency_hand_computed():
    gt = np.array([[[1, 1, 0, 0]]])
    pred = np.array([[[0.9, 0.4, 0.6, 0.1]]])
    s = F.saliency_stats(pred, gt, thresholds=[0.3, 0.5, 0.8])
    np.testing.assert_array_equal(s['tp'], [2, 1, 1])
    np.testing.assert_array_equal(s['pp'], [3, 2, 1])
    assert s['ap'] == 2

    def f(p, r, b=0.3):
        return (1 + b) * p * r / (b * p + r)

    best = max(f(2 / 3, 1), f(1 / 2, 1 / 2), f(1, 1 / 2))
    assert F.saliency_metrics([s])['maxF'] == pytest.approx(best * 100)


def test_saliency_default_thresholds():
    # the nearest doubles of the decimals 0.05, 0.10, ..., 0.95
    np.testing.assert_array_equal(
        F.SALIENCY_THRESHOLDS, [float(f'0.{k:02d}') for k in range(5, 100, 5)])
    assert F.SALIENCY_THRESHOLDS.size == 19
    assert F.BOUNDARY_THRESHOLDS.size == 99
    assert F.BOUNDARY_THRESHOLDS[0] == 0.01
    assert F.BOUNDARY_THRESHOLDS[-1] == 0.99


def test_saliency_legacy_double_sigmoid():
    rng = np.random.default_rng(5)
    pred = rng.uniform(0, 1, (1, 40, 40))
    gt = (rng.uniform(0, 1, (1, 40, 40)) < pred).astype(np.int64)
    thr = F.SALIENCY_THRESHOLDS
    leg = F.saliency_stats(pred, gt, thr, legacy_double_sigmoid=True)
    n = pred.size
    # sigmoid(p) lies in [0.5, 0.731]: t <= 0.5 -> every pixel positive
    np.testing.assert_array_equal(leg['pp'][thr <= 0.5], n)
    # t >= 0.75 -> no pixel positive
    assert np.all(leg['pp'][thr >= 0.75] == 0)
    assert np.all(leg['tp'][thr >= 0.75] == 0)
    # 0.55..0.70 are the 4 effective cuts logit(t) on the probability
    mid = (thr > 0.5) & (thr < 0.75)
    cuts = np.log(thr[mid] / (1 - thr[mid]))
    np.testing.assert_allclose(cuts, [0.2007, 0.4055, 0.6190, 0.8473],
                               atol=1e-4)
    std = F.saliency_stats(pred, gt, cuts)
    np.testing.assert_array_equal(leg['pp'][mid], std['pp'])
    np.testing.assert_array_equal(leg['tp'][mid], std['tp'])
    # F at the empty thresholds is 0 (NaN -> 0), so legacy maxF is the best
    # of "all pixels positive" (threshold 0) and the 4 cuts
    legacy = F.saliency_metrics([leg])['maxF']
    effective = F.saliency_stats(pred, gt, np.concatenate([[0.0], cuts]))
    assert legacy == F.saliency_metrics([effective])['maxF']


def test_legacy_saliency_cuts_exact():
    thr = F.SALIENCY_THRESHOLDS
    cuts = F.legacy_saliency_cuts(thr)
    # t = 0.05 .. 0.50: sigmoid(s) >= 0.5 = sigmoid(0) for every s >= 0
    np.testing.assert_array_equal(cuts[:10], np.zeros(10))
    # t = 0.75 .. 0.95 > sigmoid(1) = 0.7311: no probability reaches them
    assert 1 / (1 + math.exp(-1)) < 0.75
    np.testing.assert_array_equal(cuts[14:], np.full(5, np.inf))
    # t = 0.55, 0.60, 0.65, 0.70: the four real cuts logit(t)
    for t, cut, rounded in zip((0.55, 0.6, 0.65, 0.7), cuts[10:14],
                               (0.2007, 0.4055, 0.6190, 0.8473)):
        assert cut == pytest.approx(math.log(t / (1 - t)), rel=1e-15)
        assert round(cut, 4) == rounded
    assert np.unique(cuts[np.isfinite(cuts) & (cuts > 0)]).size == 4


def test_saliency_legacy_hand_built_counts():
    # probabilities just below / above each of the four cuts
    pred = np.array([[[0.0, 0.19, 0.21, 0.40, 0.41, 0.61, 0.62, 0.84, 0.85,
                       1.0]]])
    gt = np.array([[[0, 0, 0, 0, 1, 0, 1, 1, 1, 1]]])
    leg = F.saliency_stats(pred, gt, legacy_double_sigmoid=True)
    #               t: 0.05..0.50  0.55 0.60 0.65 0.70  0.75..0.95
    np.testing.assert_array_equal(leg['pp'], [10] * 10 + [8, 6, 4, 2] +
                                  [0] * 5)
    np.testing.assert_array_equal(leg['tp'], [5] * 10 + [5, 5, 4, 2] +
                                  [0] * 5)
    assert leg['ap'] == 5
    # the same as the plain protocol at the effective cuts
    eff = F.saliency_stats(pred, gt, F.legacy_saliency_cuts())
    for k in leg:
        np.testing.assert_array_equal(leg[k], eff[k])

    def f(p, r, b=0.3):
        return (1 + b) * p * r / (b * p + r)

    # best legacy cut: t = 0.65 (s >= 0.6190): P = 1, R = 4/5
    assert F.saliency_metrics([leg])['maxF'] == pytest.approx(
        f(1, 4 / 5) * 100, rel=1e-12)
    assert f(1, 4 / 5) == pytest.approx(1.04 / 1.1)
    # plain protocol: best is t = 0.65 or 0.80 (s >= t: 3 of 5, P = 1)
    plain = F.saliency_stats(pred, gt)
    assert F.saliency_metrics([plain])['maxF'] == pytest.approx(
        f(1, 3 / 5) * 100, rel=1e-12)


def test_saliency_ignore_pixels_never_count():
    gt = np.array([[[1, 0, 255, 255]]])
    a = F.saliency_stats(np.array([[[0.8, 0.1, 0.0, 0.0]]]), gt)
    b = F.saliency_stats(np.array([[[0.8, 0.1, 1.0, 0.6]]]), gt)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_saliency_input_checks():
    with pytest.raises(ValueError, match=r'saliency: ground truth must be'):
        F.saliency_stats(np.zeros((1, 2, 2)), np.full((1, 2, 2), 3))
    with pytest.raises(ValueError, match=r'saliency: prediction must be'):
        F.saliency_stats(np.full((1, 2, 2), -0.5), np.zeros((1, 2, 2)))
