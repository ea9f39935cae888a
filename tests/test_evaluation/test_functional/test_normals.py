"""Normals: angles, pooled mean, histogram median and % under t."""
import numpy as np
import pytest

from mmallnet.evaluation import functional as F


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
