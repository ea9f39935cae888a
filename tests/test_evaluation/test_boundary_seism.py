import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from scipy import ndimage

from mmallnet.evaluation import boundary_seism as S
from mmallnet.evaluation.metrics import BoundarySEISMMetric
from mmallnet.structures import MultiTaskDataSample


def two_region_gt(h=40, w=50, top=8, left=10, bottom=30, right=38):
    """A label map: one rectangle (label 2) on a background (label 1)."""
    label = np.ones((h, w), np.int64)
    label[top:bottom, left:right] = 2
    return label


def synthetic_pair(seed, h=48, w=64):
    """A label map and a plausible boundary probability for it."""
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.int32)
    for k in range(1, 4):
        cy, cx = rng.integers(10, h - 10), rng.integers(10, w - 10)
        ry, rx = rng.integers(5, 14), rng.integers(5, 18)
        cv2.ellipse(label, (int(cx), int(cy)), (int(rx), int(ry)),
                    float(rng.uniform(0, 180)), 0, 360, k, -1)
    dist = ndimage.distance_transform_edt(~S.seg2bmap(label))
    prob = np.exp(-dist**2 / 3.0) * rng.uniform(0.4, 1.0)
    cv2.line(prob, (0, int(rng.integers(0, h))), (w - 1, int(rng.integers(
        0, h))), float(rng.uniform(0.2, 0.6)), 1)
    prob = np.clip(prob + rng.uniform(0, 0.03, (h, w)), 0, 1)
    return prob.astype(np.float32), label


def make_sample(pred, gt, img_id, degradation_type='clean'):
    sample = MultiTaskDataSample()
    sample.set_metainfo(dict(img_id=img_id,
                             degradation_type=degradation_type))
    sample.pred_boundary = PixelData(data=torch.as_tensor(pred)[None])
    sample.gt_boundary = PixelData(
        data=torch.as_tensor(np.asarray(gt, np.float32))[None])
    return sample.to_dict()


def test_thresholds_and_constants():
    t = S.SEISM_THRESHOLDS
    assert t.size == 101 and t[0] == 0.001 and t[-1] == 0.999
    np.testing.assert_allclose(t[1:-1], np.arange(1, 100) / 100)
    assert S.MAX_DIST == {'nyud': 0.011, 'pascal_context': 0.0075}


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
    bmap = S.seg2bmap(two_region_gt())
    assert bmap[7, 9] and bmap[7, 37] and bmap[29, 9] and bmap[29, 37]
    assert bmap.sum() == 2 * (38 - 9) + 2 * (30 - 7) - 4
    # thinning cuts the four 4-connected corners, nothing else
    corners = np.zeros_like(bmap)
    corners[[7, 7, 29, 29], [9, 37, 9, 37]] = True
    np.testing.assert_array_equal(S.thin(bmap), bmap & ~corners)


def test_thin_matches_dataset_thinning():
    rng = np.random.default_rng(0)
    for density in (0.1, 0.3, 0.6):
        mask = ndimage.binary_dilation(rng.random((40, 50)) < density / 4)
        mask |= rng.random((40, 50)) < density / 3
        np.testing.assert_array_equal(S.thin(mask), S.thin_binary(mask))
    square = np.zeros((7, 7), bool)
    square[1:-1, 2:-2] = 1
    square[0, 1] = 1
    expected = np.zeros((7, 7), bool)
    expected[0, 1] = expected[1, 2] = True
    expected[2:5, 3] = True
    np.testing.assert_array_equal(S.thin(square), expected)
    assert not S.thin(np.zeros((5, 6))).any()
    full = np.ones((9, 12), bool)
    np.testing.assert_array_equal(S.thin(full), S.thin_binary(full))


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


def test_perfect_prediction_gives_f_one():
    label = two_region_gt()
    gt_bmap = S.prepare_boundary_gt(label)
    counts = S.seism_counts(gt_bmap.astype(np.float32), label)
    n = int(gt_bmap.sum())
    for key in ('cnt_r', 'sum_r', 'cnt_p', 'sum_p'):
        np.testing.assert_array_equal(counts[key], n)
    m = S.seism_metrics([counts])
    assert m['odsF'] == m['odsP'] == m['odsR'] == m['oisF'] == 100
    assert m['ods_threshold'] == 0.001
    assert m['AP'] == 0  # a single recall value: SEISM's AP is 0


def test_shift_inside_and_outside_tolerance():
    label = two_region_gt()  # 40x50: diagonal 64.0 px
    gt_bmap = S.prepare_boundary_gt(label)
    shifted = np.roll(gt_bmap, 1, axis=1).astype(np.float32)
    n = int(gt_bmap.sum())
    inside = S.seism_counts(shifted, label, max_dist=0.02)  # 1.28 px
    assert inside['cnt_r'][0] == inside['cnt_p'][0] == n
    outside = S.seism_counts(shifted, label, max_dist=0.01)  # 0.64 px
    # only the two horizontal sides still overlap after the shift
    assert 0 < outside['cnt_r'][0] < n
    far = np.roll(gt_bmap, 3, axis=0).astype(np.float32)
    far_counts = S.seism_counts(far, label, max_dist=0.02)
    rows = S.thin(np.roll(gt_bmap, 3, axis=0))
    assert far_counts['sum_p'][0] == rows.sum()
    # only pixels of the vertical sides near their original lie in range
    assert far_counts['cnt_r'][0] < n // 2


def test_thresholds_are_strict():
    label = two_region_gt()
    gt_bmap = S.prepare_boundary_gt(label)
    n = int(gt_bmap.sum())
    pred = np.where(gt_bmap, 0.5, 0).astype(np.float32)
    t = np.array([0.49, 0.5, 0.51])
    strict = S.seism_counts(pred, label, t, quantize=None)
    np.testing.assert_array_equal(strict['sum_p'], [n, 0, 0])
    loose = S.seism_counts(pred, label, t, quantize=None, strict=False)
    np.testing.assert_array_equal(loose['sum_p'], [n, n, 0])
    # 0.2 quantises to 51 / 255, which is 0.2 in single precision
    pred = np.where(gt_bmap, 0.2, 0).astype(np.float32)
    counts = S.seism_counts(pred, label, [0.19, 0.2])
    np.testing.assert_array_equal(counts['sum_p'], [n, 0])


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


def test_max_cardinality_equals_min_cost():
    for seed in range(2):
        pred, label = synthetic_pair(seed)
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


def test_pool_equals_serial():
    pairs = [synthetic_pair(s) for s in range(3)]
    preds, gts = [p for p, _ in pairs], [g for _, g in pairs]
    serial = S.evaluate_boundary_images(preds, gts, max_dist=0.02)
    pooled = S.evaluate_boundary_images(preds, gts, workers=2,
                                        start_method='fork', max_dist=0.02)
    for a, b in zip(serial, pooled):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_png_writer_round_trip(tmp_path):
    pred, label = synthetic_pair(0)
    path = osp.join(str(tmp_path), 'sub', '2008_000002.png')
    S.write_boundary_png(pred, path)
    png = S.read_boundary_png(path)
    np.testing.assert_array_equal(png, np.round(pred * 255).astype(np.uint8))
    S.write_boundary_png(torch.as_tensor(pred)[None], path, 'floor')
    np.testing.assert_array_equal(
        S.read_boundary_png(path), np.floor(pred * 255).astype(np.uint8))
    # scoring the PNG values equals scoring the float map
    a = S.seism_counts(pred, label, max_dist=0.02)
    b = S.seism_counts(S.quantize_boundary(pred), label, max_dist=0.02)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def _samples():
    types = ['clean', 'noise', 'noise', 'fog']
    return [
        make_sample(*synthetic_pair(s), img_id=f'{s:04d}',
                    degradation_type=types[s]) for s in range(4)
    ]


def test_metric_process_compute_and_split(tmp_path):
    samples = _samples()
    metric = BoundarySEISMMetric(max_dist=0.02, output_dir=str(tmp_path))
    metric.process({}, samples)
    assert len(metric.results) == 4
    assert set(metric.results[0]['counts']) == {'cnt_r', 'sum_r', 'cnt_p',
                                                'sum_p'}
    full = metric.compute_metrics(list(metric.results))
    for key in ('odsF', 'oisF', 'AP', 'odsP', 'odsR', 'ods_threshold',
                'num_images', 'noise/odsF', 'clean/num_images', 'fog/AP'):
        assert key in full, key
    assert full['num_images'] == 4 and full['noise/num_images'] == 2
    assert 0 < full['odsF'] <= 100 and 0 < full['oisF'] <= 100
    assert full['oisF'] >= full['odsF'] - 1e-9
    # PNGs for the MATLAB tool
    png = cv2.imread(osp.join(str(tmp_path), '0002.png'),
                     cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.shape == (48, 64)
    # two "ranks" with half of the samples each: identical numbers
    halves = []
    for part in (samples[:2], samples[2:]):
        m = BoundarySEISMMetric(max_dist=0.02)
        m.process({}, part)
        halves.extend(m.results)
    split = BoundarySEISMMetric(max_dist=0.02).compute_metrics(halves)
    assert split == full
    # the pooled statistics are plain sums of the stored counts
    pooled = S.seism_metrics([S.sum_counts([r['counts'] for r in halves])])
    assert pooled['odsF'] == full['odsF']
    # prefixed keys through BaseMetric.evaluate
    metric = BoundarySEISMMetric(max_dist=0.02, per_degradation=False)
    metric.process({}, samples)
    out = metric.evaluate(4)
    assert out['seism/odsF'] == full['odsF']
    assert 'seism/noise/odsF' not in out


def test_metric_workers_equal_serial():
    samples = _samples()
    serial = BoundarySEISMMetric(max_dist=0.02)
    serial.process({}, samples)
    background = BoundarySEISMMetric(max_dist=0.02, workers=2,
                                     start_method='fork')
    background.process({}, samples[:2])
    background.process({}, samples[2:])
    assert background.evaluate(4) == serial.evaluate(4)


def test_metric_id_filter(tmp_path):
    samples = _samples()
    id_file = osp.join(str(tmp_path), 'test_new.txt')
    with open(id_file, 'w') as f:
        f.write('0001\n0003\n\n')
    metric = BoundarySEISMMetric(max_dist=0.02, id_list_file=id_file,
                                 per_degradation=False, report_full=True)
    metric.process({}, samples)
    out = metric.compute_metrics(list(metric.results))
    assert out['num_images'] == 2 and out['full/num_images'] == 4
    subset = BoundarySEISMMetric(max_dist=0.02, img_ids=['0001', '0003'],
                                 per_degradation=False)
    subset.process({}, samples)
    assert len(subset.results) == 2
    only = BoundarySEISMMetric(max_dist=0.02, per_degradation=False)
    only.process({}, [samples[1], samples[3]])
    expected = only.compute_metrics(list(only.results))
    got = subset.compute_metrics(list(subset.results))
    assert got == expected
    assert out['odsF'] == expected['odsF']
    with pytest.raises(ValueError, match='not both'):
        BoundarySEISMMetric(img_ids=['1'], id_list_file=id_file)


def test_metric_gt_handling(tmp_path):
    pred, label = synthetic_pair(1)
    # ground truth read from SEISM-layout files equals the sample's
    cv2.imwrite(osp.join(str(tmp_path), '0007.png'),
                label.astype(np.uint8))
    from_dir = BoundarySEISMMetric(max_dist=0.02, gt_dir=str(tmp_path),
                                   per_degradation=False)
    from_dir.process({}, [make_sample(pred, label, '0007')])
    from_sample = BoundarySEISMMetric(max_dist=0.02, per_degradation=False)
    from_sample.process({}, [make_sample(pred, label, '0007')])
    for key in from_dir.results[0]['counts']:
        np.testing.assert_array_equal(from_dir.results[0]['counts'][key],
                                      from_sample.results[0]['counts'][key])
    # all-ignore ground truth is skipped, missing metainfo is reported
    metric = BoundarySEISMMetric(max_dist=0.02)
    metric.process({}, [make_sample(pred, np.full(label.shape, 255), 'x')])
    assert metric.results == []
    sample = make_sample(pred, label, 'y')
    del sample['degradation_type']
    with pytest.raises(KeyError, match='degradation_type'):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='shape'):
        metric.process({}, [make_sample(pred[:, :-1], label, 'z')])


def test_metric_registered():
    from mmseg.registry import METRICS
    metric = METRICS.build(dict(type='BoundarySEISMMetric', max_dist=0.011))
    assert isinstance(metric, BoundarySEISMMetric)
    assert metric.thresholds.size == 101
    assert not math.isnan(metric.max_dist)
