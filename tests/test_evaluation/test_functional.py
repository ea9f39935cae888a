import math

import numpy as np
import pytest
import torch

from mmallnet.evaluation import functional as F


# ---------------------------------------------------------------------------
# label maps
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# depth
# ---------------------------------------------------------------------------
def test_depth_pooled_rmse_differs_from_per_image_mean():
    # image A: 4 valid pixels, error 1 each; image B: 1 valid pixel, error 3
    gt_a, pred_a = np.ones((2, 2)), np.full((2, 2), 2.0)
    gt_b = np.array([[5.0, 0], [0, 0]])
    pred_b = np.array([[8.0, 1], [2, 3]])
    sa, sb = F.depth_stats(pred_a, gt_a), F.depth_stats(pred_b, gt_b)
    per_image = (F.depth_metrics([sa])['rmse'] +
                 F.depth_metrics([sb])['rmse']) / 2
    assert per_image == 2.0
    pooled = F.depth_metrics([sa, sb])['rmse']
    assert pooled == math.sqrt(13 / 5)
    assert pooled != per_image


def test_depth_hand_computed_metrics():
    gt = np.array([[1.0, 2.0, 0.0]])
    pred = np.array([[1.2, 4.0, 9.0]])
    m = F.depth_metrics([F.depth_stats(pred, gt)])
    assert m['abs_rel'] == pytest.approx((0.2 / 1 + 2 / 2) / 2)
    assert m['delta1'] == 50.0
    assert m['log_rmse'] == pytest.approx(
        math.sqrt((math.log(1.2)**2 + math.log(2)**2) / 2))
    assert m['rmse'] == pytest.approx(math.sqrt((0.04 + 4) / 2))


def test_depth_log_clamps_nonpositive_prediction():
    m = F.depth_metrics([F.depth_stats(np.array([[-1.0]]),
                                       np.array([[1.0]]))])
    assert m['log_rmse'] == pytest.approx(-math.log(1e-3))
    assert m['delta1'] == 0.0
    assert m['rmse'] == 2.0


def test_depth_perfect_and_no_valid_pixels():
    d = np.random.default_rng(0).uniform(0.5, 5, (4, 5))
    m = F.depth_metrics([F.depth_stats(d, d)])
    assert m == dict(rmse=0.0, abs_rel=0.0, log_rmse=0.0, delta1=100.0)
    m = F.depth_metrics([F.depth_stats(d, np.zeros_like(d))])
    assert all(math.isnan(v) for v in m.values())


# ---------------------------------------------------------------------------
# normals
# ---------------------------------------------------------------------------
def _unit(rng, shape):
    n = rng.normal(size=(3, ) + shape)
    return n / np.linalg.norm(n, axis=0)


def test_normal_perfect_flipped_orthogonal():
    g = _unit(np.random.default_rng(1), (4, 4))
    assert np.all(F.normal_angles(g, g) == 0.0)
    assert np.all(F.normal_angles(-g, g) == 180.0)
    p = np.zeros((3, 1, 1))
    p[0] = 1
    q = np.zeros((3, 1, 1))
    q[1] = 1
    assert F.normal_angles(p, q)[0] == pytest.approx(90.0)
    m = F.normal_metrics([F.normal_stats(g, g)])
    assert m == {'mean': 0.0, 'median': 0.0, '11.25': 100.0,
                 '22.5': 100.0, '30': 100.0}
    m = F.normal_metrics([F.normal_stats(-g, g)])
    assert m == {'mean': 180.0, 'median': 180.0, '11.25': 0.0,
                 '22.5': 0.0, '30': 0.0}


def test_normal_both_vectors_normalised_and_zero_gt_ignored():
    g = _unit(np.random.default_rng(2), (3, 3))
    p = g * 7.5  # unnormalised prediction
    g2 = g * 0.9  # unnormalised GT (PNG decoding is not unit length)
    g2[:, 0, 0] = 0  # invalid pixel
    p[:, 0, 0] = -p[:, 0, 0]  # wrong prediction there must not count
    angles = F.normal_angles(p, g2)
    assert angles.shape == (8, )
    assert np.allclose(angles, 0, atol=1e-6)


def test_normal_zero_prediction_gives_90_degrees():
    g = _unit(np.random.default_rng(3), (2, 2))
    assert np.allclose(F.normal_angles(np.zeros_like(g), g), 90.0)


def test_normal_median_from_histogram_and_thresholds():
    rng = np.random.default_rng(4)
    g = _unit(rng, (30, 30))
    p = g + rng.normal(scale=0.3, size=g.shape)
    q = g + rng.normal(scale=0.5, size=g.shape)
    angles = np.concatenate([F.normal_angles(p, g), F.normal_angles(q, g)])
    m = F.normal_metrics([F.normal_stats(p, g), F.normal_stats(q, g)])
    lower_median = np.sort(angles)[(angles.size + 1) // 2 - 1]
    assert abs(m['median'] - lower_median) < 0.01
    assert m['mean'] == pytest.approx(angles.mean(), rel=1e-12)
    assert m['11.25'] == pytest.approx((angles < 11.25).mean() * 100)
    assert m['22.5'] == pytest.approx((angles < 22.5).mean() * 100)
    assert m['30'] == pytest.approx((angles < 30).mean() * 100)


def test_normal_median_of_three_crafted_pixels():
    g = np.zeros((3, 1, 3))
    g[2] = 1  # all GT = +z
    p = np.zeros((3, 1, 3))
    p[2, 0, 0] = 1  # 0 deg
    p[0, 0, 1] = 1  # 90 deg
    p[2, 0, 2] = -1  # 180 deg
    m = F.normal_metrics([F.normal_stats(p, g)])
    # lower median = 90 deg, alone in bin [90, 90.01): read as the centre
    assert m['median'] == pytest.approx(90.005, abs=1e-9)
    assert m['mean'] == pytest.approx(90.0)
    # 2 of 4 pixels exact -> the lower median (2nd smallest) is exactly 0
    p4 = np.concatenate([p, g[:, :, :1]], axis=2)
    g4 = np.concatenate([g, g[:, :, :1]], axis=2)
    assert F.normal_metrics([F.normal_stats(p4, g4)])['median'] == 0.0


def test_normal_median_exact_zero_and_flip_split_over_images():
    g = np.zeros((3, 1, 5))
    g[2] = 1
    perfect = F.normal_stats(g, g)  # 5 x 0 deg
    flipped = F.normal_stats(-g, g)  # 5 x 180 deg
    assert F.normal_metrics([perfect, flipped])['median'] == 0.0
    flipped6 = F.normal_stats(-np.concatenate([g, g[:, :, :1]], 2),
                              np.concatenate([g, g[:, :, :1]], 2))
    assert F.normal_metrics([perfect, flipped6])['median'] == 180.0
    s = F.normal_stats(g, g)
    assert s['hist_idx'].dtype == np.uint16
    assert s['hist_count'].dtype == np.uint32


def test_normal_shape_errors():
    with pytest.raises(ValueError, match=r'normals: prediction must be'):
        F.normal_angles(np.zeros((1, 2, 2)), np.zeros((3, 2, 2)))


# ---------------------------------------------------------------------------
# boundary proxy
# ---------------------------------------------------------------------------
def _line_gt(h=8, w=8, col=3):
    gt = np.zeros((1, h, w))
    gt[0, :, col] = 1
    return gt


def test_boundary_perfect_is_100():
    gt = _line_gt()
    assert F.boundary_metrics([F.boundary_stats(gt, gt)])['odsF_proxy'] \
        == 100.0


def test_boundary_tolerance():
    gt = _line_gt(col=3)
    pred = _line_gt(col=4)
    assert F.boundary_metrics([F.boundary_stats(
        pred, gt, tolerance=1)])['odsF_proxy'] == 100.0
    assert F.boundary_metrics([F.boundary_stats(
        pred, gt, tolerance=0)])['odsF_proxy'] == 0.0
    # a diagonal offset is sqrt(2) > 1 px away
    gt1 = np.zeros((1, 5, 5))
    gt1[0, 2, 2] = 1
    pred1 = np.zeros((1, 5, 5))
    pred1[0, 3, 3] = 1
    assert F.boundary_metrics([F.boundary_stats(
        pred1, gt1, tolerance=1)])['odsF_proxy'] == 0.0
    assert F.boundary_metrics([F.boundary_stats(
        pred1, gt1, tolerance=2)])['odsF_proxy'] == 100.0


def test_boundary_threshold_counts():
    gt = np.array([[[1, 0, 0, 0, 0, 1]]], dtype=float)
    pred = np.array([[[0.9, 0.0, 0.0, 0.0, 0.3, 0.0]]])
    s = F.boundary_stats(pred, gt, thresholds=[0.2, 0.5], tolerance=0)
    np.testing.assert_array_equal(s['sum_p'], [2, 1])
    np.testing.assert_array_equal(s['cnt_p'], [1, 1])
    np.testing.assert_array_equal(s['cnt_r'], [1, 1])
    assert s['sum_r'] == 2
    # t=0.2: P=1/2, R=1/2, F=1/2; t=0.5: P=1, R=1/2, F=2/3
    m = F.boundary_metrics([s])
    assert m['odsF_proxy'] == pytest.approx(200 / 3)
    # with tolerance 1 the 0.3 pixel is next to the GT pixel at col 5
    s1 = F.boundary_stats(pred, gt, thresholds=[0.2, 0.5], tolerance=1)
    np.testing.assert_array_equal(s1['cnt_p'], [2, 1])
    np.testing.assert_array_equal(s1['cnt_r'], [2, 1])


def test_boundary_ignore_pixels_never_count():
    gt = _line_gt()
    gt[0, :, 6:] = 255
    pred = _line_gt().copy()
    s_a = F.boundary_stats(pred, gt)
    pred2 = pred.copy()
    pred2[0, :, 6:] = 1.0  # predictions on ignored pixels (and next to GT)
    pred2[0, :, 7] = 0.5
    s_b = F.boundary_stats(pred2, gt)
    for k in s_a:
        np.testing.assert_array_equal(s_a[k], s_b[k])
    assert F.boundary_metrics([s_b])['odsF_proxy'] == 100.0


def test_boundary_counts_summed_before_dividing():
    gt_a = _line_gt()
    pred_a = _line_gt()  # perfect
    gt_b = _line_gt()
    pred_b = np.zeros_like(gt_b)
    pred_b[0, :2, 3] = 1  # 2 of 8 GT pixels, no false positives
    pred_b[0, :, 7] = 1
    stats = [F.boundary_stats(pred_a, gt_a, tolerance=0),
             F.boundary_stats(pred_b, gt_b, tolerance=0)]
    # pooled at t<=1: P = 10/18, R = 10/16
    p, r = 10 / 18, 10 / 16
    assert F.boundary_metrics(stats)['odsF_proxy'] == pytest.approx(
        2 * p * r / (p + r) * 100)


def test_boundary_no_gt_and_no_prediction_is_zero():
    z = np.zeros((1, 4, 4))
    assert F.boundary_metrics([F.boundary_stats(z, z)])['odsF_proxy'] == 0.0


def test_boundary_input_checks():
    with pytest.raises(ValueError, match=r'boundary: ground truth must be'):
        F.boundary_stats(np.zeros((1, 2, 2)), np.full((1, 2, 2), 2.0))
    with pytest.raises(ValueError, match=r'boundary: prediction must be'):
        F.boundary_stats(np.full((1, 2, 2), 1.5), np.zeros((1, 2, 2)))


# ---------------------------------------------------------------------------
# saliency
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# restoration
# ---------------------------------------------------------------------------
def test_psnr_and_ssim():
    rng = np.random.default_rng(6)
    img = rng.uniform(0, 1, (3, 16, 16))
    assert F.psnr(img, img) == F.PSNR_MAX == 100.0
    assert F.ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    noisy = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    mse = np.mean((noisy - img)**2)
    assert F.psnr(noisy, img) == pytest.approx(-10 * math.log10(mse))
    assert F.psnr(np.full((3, 2, 2), 0.1), np.zeros((3, 2, 2))) == \
        pytest.approx(20.0)
    assert 0 < F.ssim(noisy, img) < 1
    with pytest.raises(ValueError, match='psnr: shapes differ'):
        F.psnr(img, img[:, :8])
    with pytest.raises(ValueError, match='smaller than the 11x11 window'):
        F.ssim(img[:, :8, :8], img[:, :8, :8])


def test_psnr_ssim_constant_offset_exact():
    rng = np.random.default_rng(7)
    clean = rng.uniform(0, 0.9, (3, 16, 16))
    # mse = 0.1² -> PSNR = 10·log10(1 / 0.01) = 20 dB, whatever the image
    assert F.psnr(clean + 0.1, clean) == pytest.approx(20.0, rel=1e-12)
    assert F.psnr(torch.from_numpy(clean + 0.1).float(),
                  torch.from_numpy(clean).float()) == pytest.approx(
                      20.0, rel=1e-5)
    # constant images a, b: all (co)variances are 0, so
    # SSIM = (2ab + C1) / (a² + b² + C1) with C1 = 0.01²
    c1 = 0.01**2
    a, b = np.full((3, 16, 16), 0.5), np.full((3, 16, 16), 0.6)
    assert F.ssim(b, a) == pytest.approx(
        (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1), rel=1e-12)
    assert F.psnr(b, a) == pytest.approx(20.0, rel=1e-12)


def test_restoration_metrics_mean_over_images():
    stats = [dict(psnr=np.float64(20.0)), dict(psnr=np.float64(30.0))]
    assert F.restoration_metrics(stats) == {'psnr': 25.0}


# ---------------------------------------------------------------------------
# delta MTL
# ---------------------------------------------------------------------------
def test_delta_mtl_hand_computed():
    metrics = {'semseg.mIoU': 44.0, 'depth.rmse': 0.45, 'normals.mean': 22.0,
               'boundary.odsF': 70.0}
    baselines = {'semseg.mIoU': 40.0, 'depth.rmse': 0.5, 'normals.mean': 20.0}
    # +10 % (higher better), +10 % (rmse lower), -10 % (normals higher)
    assert F.delta_mtl(metrics, baselines) == pytest.approx(10 / 3)
    # explicit direction overrides the default table
    assert F.delta_mtl(metrics, baselines,
                       {'normals.mean': False}) == pytest.approx(10.0)
    # prefixed keys use the default table by their last component
    assert F.delta_mtl({'mt/noise/depth.rmse': 0.6},
                       {'mt/noise/depth.rmse': 0.5}) == pytest.approx(-20.0)


def test_delta_mtl_errors():
    with pytest.raises(KeyError, match="'depth.rmse' of `baselines`"):
        F.delta_mtl({}, {'depth.rmse': 0.5})
    with pytest.raises(KeyError, match='unknown direction'):
        F.delta_mtl({'x': 1.0}, {'x': 1.0})
    with pytest.raises(ValueError, match='baseline of'):
        F.delta_mtl({'depth.rmse': 1.0}, {'depth.rmse': 0.0})
    with pytest.raises(ValueError, match='empty'):
        F.delta_mtl({}, {})
