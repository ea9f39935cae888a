import math
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.registry import METRICS

from mmallnet.evaluation.metrics.multi_task_metric import MultiTaskMetric
from mmallnet.structures import MultiTaskDataSample

ALL = ['semseg', 'depth', 'normals', 'boundary', 'parts', 'saliency']
H, W = 12, 14


def make_sample(degradation_type='clean', **fields):
    """A MultiTaskDataSample as a dict, the way mmengine's Evaluator sees it.

    ``fields`` maps field names to tensors; ``None`` leaves a field out.
    """
    sample = MultiTaskDataSample()
    sample.set_metainfo(
        dict(img_id='0001', degradation_type=degradation_type,
             degradation_params={}))
    for name, value in fields.items():
        if value is not None:
            setattr(sample, name, PixelData(data=value))
    return sample.to_dict()


def perfect_fields(seed=0, num_classes=5):
    g = torch.Generator().manual_seed(seed)
    seg = torch.randint(0, num_classes, (1, H, W), generator=g)
    seg[0, 0, :3] = 255
    depth = torch.rand(1, H, W, generator=g) * 4 + 0.5
    depth[0, -1] = 0
    normal = torch.nn.functional.normalize(
        torch.randn(3, H, W, generator=g), dim=0)
    normal[:, 0, 0] = 0
    boundary = (torch.rand(1, H, W, generator=g) > 0.8).float()
    boundary[0, :, -1] = 255
    parts = torch.randint(0, 7, (1, H, W), generator=g)
    parts[0, -2:] = 255
    sal = (torch.rand(1, H, W, generator=g) > 0.5).long()
    sal[0, 1, :] = 255
    clean = torch.rand(3, H, W, generator=g)
    degraded = (clean + 0.1 * torch.randn(3, H, W, generator=g)).clamp(0, 1)
    return dict(
        gt_sem_seg=seg, pred_sem_seg=seg.clone().masked_fill(seg == 255, 0),
        gt_depth=depth, pred_depth=depth.clone(),
        gt_normal=normal, pred_normal=normal.clone(),
        gt_boundary=boundary,
        pred_boundary=boundary.clone().masked_fill(boundary == 255, 0),
        gt_parts=parts, pred_parts=parts.clone().masked_fill(parts == 255, 0),
        gt_saliency=sal,
        pred_saliency=sal.float().masked_fill(sal == 255, 0),
        gt_clean_img=clean, pred_restored=clean.clone(),
        degraded_img=degraded)


def run(metric, samples):
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    metric.results.clear()
    return out


def same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]) or (math.isnan(a[k]) and math.isnan(b[k])), k


def test_perfect_prediction():
    metric = MultiTaskMetric(tasks=ALL, num_classes=5, ssim=True,
                             legacy_double_sigmoid=True)
    out = run(metric, [make_sample('clean', **perfect_fields(0)),
                       make_sample('noise', **perfect_fields(1))])
    for prefix in ('', 'clean/', 'noise/'):
        m = {k[len(prefix):]: v for k, v in out.items()
             if k.startswith(prefix) and '/' not in k[len(prefix):]}
        assert m['semseg.mIoU'] == 100.0
        assert m['semseg.mIoU_nanmean'] == 100.0
        assert m['semseg.aAcc'] == 100.0
        assert m['parts.mIoU'] == 100.0
        assert m['depth.rmse'] == 0.0
        assert m['depth.abs_rel'] == 0.0
        assert m['depth.log_rmse'] == 0.0
        assert m['depth.delta1'] == 100.0
        assert m['normals.mean'] == 0.0
        assert m['normals.median'] == 0.0
        assert m['normals.11.25'] == 100.0
        assert m['normals.30'] == 100.0
        assert m['boundary.odsF_proxy'] == 100.0
        assert m['saliency.maxF'] == 100.0
        assert m['saliency.maxF_legacy'] == 100.0
        assert m['restoration.psnr'] == 100.0  # documented cap
        assert m['restoration.ssim'] == pytest.approx(1.0, abs=1e-12)
        assert 10 < m['restoration.input_psnr'] < 40


def test_key_names():
    metric = MultiTaskMetric(tasks=ALL, num_classes=5)
    out = run(metric, [make_sample('fog', **perfect_fields(0))])
    expected = [
        'semseg.mIoU', 'semseg.mIoU_nanmean', 'semseg.aAcc', 'depth.rmse',
        'depth.abs_rel', 'depth.log_rmse', 'depth.delta1', 'normals.mean',
        'normals.median', 'normals.11.25', 'normals.22.5', 'normals.30',
        'boundary.odsF_proxy', 'parts.mIoU', 'parts.mIoU_nanmean',
        'parts.aAcc', 'saliency.maxF', 'restoration.psnr',
        'restoration.input_psnr'
    ]
    assert sorted(out) == sorted(expected + [f'fog/{k}' for k in expected])
    assert all(isinstance(v, float) for v in out.values())
    out = run(MultiTaskMetric(tasks=['depth'], restoration=False,
                              per_degradation=False),
              [make_sample(**perfect_fields(0))])
    assert sorted(out) == [
        'depth.abs_rel', 'depth.delta1', 'depth.log_rmse', 'depth.rmse'
    ]


def test_flipped_normal_is_180():
    f = perfect_fields(0)
    f['pred_normal'] = -f['gt_normal']
    out = run(MultiTaskMetric(tasks=['normals'], restoration=False,
                              per_degradation=False), [make_sample(**f)])
    assert out['normals.mean'] == 180.0
    assert out['normals.median'] == 180.0
    assert out['normals.30'] == 0.0


def test_ignore_pixels_never_count():
    f = perfect_fields(0)
    g = torch.Generator().manual_seed(9)
    # make the predictions imperfect so that the metrics are not trivial
    f['pred_depth'] = f['pred_depth'] + torch.rand(1, H, W, generator=g)
    f['pred_normal'] = f['pred_normal'] + 0.3 * torch.randn(
        3, H, W, generator=g)
    f['pred_boundary'] = torch.rand(1, H, W, generator=g)
    f['pred_saliency'] = torch.rand(1, H, W, generator=g)
    f['pred_sem_seg'] = torch.randint(0, 5, (1, H, W), generator=g)
    f['pred_parts'] = torch.randint(0, 7, (1, H, W), generator=g)
    changed = {k: v.clone() for k, v in f.items()}
    masks = dict(
        pred_sem_seg=f['gt_sem_seg'] == 255,
        pred_depth=f['gt_depth'] == 0,
        pred_normal=(f['gt_normal'] == 0).all(0, keepdim=True).expand(3, H, W),
        pred_boundary=f['gt_boundary'] == 255,
        pred_parts=f['gt_parts'] == 255,
        pred_saliency=f['gt_saliency'] == 255)
    other = dict(pred_sem_seg=3, pred_depth=100.0, pred_normal=-5.0,
                 pred_boundary=1.0, pred_parts=6, pred_saliency=1.0)
    for key, mask in masks.items():
        assert mask.any(), key
        changed[key] = changed[key].masked_fill(mask, other[key])
    a = run(MultiTaskMetric(tasks=ALL, num_classes=5), [make_sample(**f)])
    b = run(MultiTaskMetric(tasks=ALL, num_classes=5),
            [make_sample(**changed)])
    same(a, b)
    assert a['depth.rmse'] > 0 and a['normals.mean'] > 0
    assert a['semseg.mIoU'] < 100


def test_pooled_rmse_not_per_image_mean():
    gt_a, pred_a = torch.ones(1, 2, 2), torch.full((1, 2, 2), 2.0)
    gt_b = torch.tensor([[[5.0, 0.0], [0.0, 0.0]]])
    pred_b = torch.tensor([[[8.0, 1.0], [2.0, 3.0]]])
    metric = MultiTaskMetric(tasks=['depth'], restoration=False,
                             per_degradation=False)
    out = run(metric, [
        make_sample(gt_depth=gt_a, pred_depth=pred_a),
        make_sample(gt_depth=gt_b, pred_depth=pred_b)
    ])
    per_image_mean = (1.0 + 3.0) / 2
    assert out['depth.rmse'] == math.sqrt((4 * 1 + 9) / 5)
    assert out['depth.rmse'] != per_image_mean


def test_miou_conventions_hand_computed():
    gt = torch.tensor([[[0, 0, 1, 1, 255]]])
    pred = torch.tensor([[[0, 1, 1, 1, 2]]])
    out = run(MultiTaskMetric(tasks=['semseg'], num_classes=3,
                              restoration=False, per_degradation=False),
              [make_sample(gt_sem_seg=gt, pred_sem_seg=pred)])
    # IoU: class 0 = 1/2, class 1 = 2/3, class 2 absent everywhere
    assert out['semseg.mIoU'] == pytest.approx((1 / 2 + 2 / 3) / 3 * 100)
    assert out['semseg.mIoU_nanmean'] == pytest.approx(
        (1 / 2 + 2 / 3) / 2 * 100)
    assert out['semseg.aAcc'] == pytest.approx(75.0)


def test_num_classes_from_dataset_meta():
    metric = MultiTaskMetric(tasks=['semseg'], restoration=False,
                             per_degradation=False)
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    t = torch.tensor([[[0, 1, 2, 3]]])
    out = run(metric, [make_sample(gt_sem_seg=t, pred_sem_seg=t)])
    assert out['semseg.mIoU'] == 100.0
    metric = MultiTaskMetric(tasks=['semseg'], restoration=False,
                             per_degradation=False)
    with pytest.raises(ValueError, match='num_classes'):
        metric.process({}, [make_sample(gt_sem_seg=t, pred_sem_seg=t)])


def test_parts_images_without_parts_do_not_count():
    gt = torch.tensor([[[0, 1, 2, 2]]])
    pred = torch.tensor([[[0, 1, 2, 1]]])
    no_parts = torch.full((1, 1, 4), 255)
    metric = MultiTaskMetric(tasks=['parts'], restoration=False,
                             per_degradation=False)
    a = run(metric, [make_sample(gt_parts=gt, pred_parts=pred)])
    b = run(metric, [
        make_sample(gt_parts=gt, pred_parts=pred),
        make_sample(gt_parts=no_parts,
                    pred_parts=torch.tensor([[[3, 4, 5, 6]]]))
    ])
    same(a, b)
    # 7 classes, absent ones count 0: (1 + 1/2 + 1/2) / 7
    assert a['parts.mIoU'] == pytest.approx(2 / 7 * 100)


def test_split_across_ranks_equals_single_process():
    rng = np.random.default_rng(0)
    samples = []
    for i, deg in enumerate(['clean', 'noise', 'rain', 'noise', 'fog',
                             'blur', 'clean']):
        f = perfect_fields(i)
        f['pred_depth'] = f['pred_depth'] * float(rng.uniform(0.7, 1.3))
        f['pred_normal'] = f['pred_normal'] + torch.from_numpy(
            rng.normal(0, 0.4, (3, H, W))).float()
        f['pred_boundary'] = torch.from_numpy(rng.uniform(
            0, 1, (1, H, W))).float()
        f['pred_saliency'] = torch.from_numpy(rng.uniform(
            0, 1, (1, H, W))).float()
        f['pred_sem_seg'] = torch.from_numpy(rng.integers(0, 5, (1, H, W)))
        f['pred_restored'] = f['degraded_img'] * 0.5 + f['gt_clean_img'] * .5
        samples.append(make_sample(deg, **f))
    cfg = dict(tasks=ALL, num_classes=5, ssim=True,
               legacy_double_sigmoid=True)
    single = MultiTaskMetric(**cfg)
    single.process({}, samples)
    expected = single.compute_metrics(single.results)
    rank0, rank1 = MultiTaskMetric(**cfg), MultiTaskMetric(**cfg)
    rank0.process({}, samples[0::2])  # mmengine's DefaultSampler split
    rank1.process({}, samples[1::2])
    # concatenated rank by rank ...
    same(expected, single.compute_metrics(rank0.results + rank1.results))
    # ... or interleaved as mmengine's collect_results does
    zipped = [r for pair in zip(rank0.results, rank1.results) for r in pair]
    zipped.append(rank0.results[-1])
    same(expected, single.compute_metrics(zipped))
    assert set(k.split('/')[0] for k in expected if '/' in k) == {
        'clean', 'noise', 'rain', 'fog', 'blur'}


def test_per_degradation_breakdown():
    def depth_sample(deg, err, valid):
        gt = torch.zeros(1, 2, 4)
        gt.view(-1)[:valid] = 2.0
        return make_sample(deg, gt_depth=gt, pred_depth=gt + err)

    metric = MultiTaskMetric(tasks=['depth'], restoration=False)
    out = run(metric, [
        depth_sample('noise', 1.0, 8),
        depth_sample('fog', 2.0, 2),
        depth_sample('noise', 1.0, 4),
        depth_sample('rain', 4.0, 1),
    ])
    assert out['noise/depth.rmse'] == 1.0
    assert out['fog/depth.rmse'] == 2.0
    assert out['rain/depth.rmse'] == 4.0
    assert out['depth.rmse'] == math.sqrt((12 * 1 + 2 * 4 + 16) / 15)
    assert 'clean/depth.rmse' not in out


def test_restoration_per_degradation():
    clean = torch.zeros(3, 4, 4)
    noisy = torch.full((3, 4, 4), 0.1)  # PSNR 20 dB
    worse = torch.full((3, 4, 4), 0.01)  # PSNR 40 dB
    metric = MultiTaskMetric(tasks=[])
    out = run(metric, [
        make_sample('noise', gt_clean_img=clean, degraded_img=noisy,
                    pred_restored=worse),
        make_sample('clean', gt_clean_img=clean, degraded_img=clean,
                    pred_restored=clean),
    ])
    assert out['noise/restoration.input_psnr'] == pytest.approx(20.0)
    assert out['noise/restoration.psnr'] == pytest.approx(40.0)
    assert out['clean/restoration.input_psnr'] == 100.0
    assert out['restoration.psnr'] == pytest.approx(70.0)


def test_legacy_double_sigmoid_thresholds():
    g = torch.Generator().manual_seed(3)
    pred = torch.rand(1, H, W, generator=g)
    gt = (torch.rand(1, H, W, generator=g) < pred).long()
    metric = MultiTaskMetric(tasks=['saliency'], restoration=False,
                             per_degradation=False,
                             legacy_double_sigmoid=True,
                             saliency_thresholds=[0.75, 0.8, 0.95])
    out = run(metric, [make_sample(gt_saliency=gt, pred_saliency=pred)])
    assert out['saliency.maxF_legacy'] == 0.0  # sigmoid(p) <= 0.731
    assert out['saliency.maxF'] > 0.0
    metric = MultiTaskMetric(tasks=['saliency'], restoration=False,
                             per_degradation=False)
    out = run(metric, [make_sample(gt_saliency=gt, pred_saliency=pred)])
    assert 'saliency.maxF_legacy' not in out


def test_missing_field_raises_key_error():
    f = perfect_fields(0)
    f['pred_depth'] = None
    metric = MultiTaskMetric(tasks=['semseg', 'depth'], num_classes=5)
    with pytest.raises(KeyError, match=r"'pred_depth'.*task 'depth'"):
        metric.process({}, [make_sample(**f)])
    f = perfect_fields(0)
    f['gt_normal'] = None
    metric = MultiTaskMetric(tasks=['normals'])
    with pytest.raises(KeyError, match=r"'gt_normal'.*task 'normals'"):
        metric.process({}, [make_sample(**f)])
    f = perfect_fields(0)
    f['pred_restored'] = None
    metric = MultiTaskMetric(tasks=['depth'])
    with pytest.raises(KeyError,
                       match=r"'pred_restored'.*task 'restoration'"):
        metric.process({}, [make_sample(**f)])
    sample = make_sample(**perfect_fields(0))
    del sample['degradation_type']
    with pytest.raises(KeyError, match='degradation_type'):
        MultiTaskMetric(tasks=['depth']).process({}, [sample])


def test_shape_mismatch_raises_value_error():
    f = perfect_fields(0)
    f['pred_depth'] = f['pred_depth'][:, :-1]
    metric = MultiTaskMetric(tasks=['depth'], restoration=False)
    with pytest.raises(ValueError) as err:
        metric.process({}, [make_sample(**f)])
    msg = str(err.value)
    assert "'pred_depth'" in msg and "'gt_depth'" in msg
    assert f'(1, {H - 1}, {W})' in msg and f'(1, {H}, {W})' in msg


def test_bad_config_raises():
    with pytest.raises(KeyError, match='MultiTaskMetric.tasks'):
        MultiTaskMetric(tasks=['semseg', 'edges'])
    with pytest.raises(ValueError, match='nothing to evaluate'):
        MultiTaskMetric(tasks=[], restoration=False)
    with pytest.raises(ValueError, match='boundary_tolerance'):
        MultiTaskMetric(tasks=['boundary'], boundary_tolerance=-1)
    with pytest.raises(ValueError, match='no results'):
        MultiTaskMetric(tasks=['depth']).compute_metrics([])


def test_results_are_small_statistics():
    metric = MultiTaskMetric(tasks=ALL, num_classes=5)
    metric.process({}, [make_sample(**perfect_fields(0))])
    assert len(metric.results) == 1

    def leaves(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from leaves(v)
        else:
            yield x

    for leaf in leaves(metric.results[0]):
        assert isinstance(leaf, (str, np.ndarray, np.generic)), type(leaf)


def test_registry_evaluator_prefix_and_table():
    metric = METRICS.build(
        dict(type='MultiTaskMetric', tasks=['depth', 'semseg'],
             num_classes=5, restoration=False))
    evaluator = Evaluator(metrics=[metric])
    samples = []
    for i, deg in enumerate(['noise', 'clean', 'rain']):
        f = perfect_fields(i)
        sample = MultiTaskDataSample()
        sample.set_metainfo(dict(degradation_type=deg))
        for key in ('gt_depth', 'pred_depth', 'gt_sem_seg', 'pred_sem_seg'):
            setattr(sample, key, PixelData(data=f[key]))
        samples.append(sample)
    evaluator.process(samples[:2])
    evaluator.process(samples[2:])
    path = 'mmallnet.evaluation.metrics.multi_task_metric.print_log'
    with mock.patch(path) as log:
        out = evaluator.evaluate(3)
    assert out['mt/semseg.mIoU'] == 100.0
    assert out['mt/noise/depth.rmse'] == 0.0
    assert 'mt/rain/semseg.aAcc' in out
    table = log.call_args[0][0]
    header = [line for line in table.splitlines() if 'metric' in line][0]
    assert header.index('all (n=3)') < header.index('clean (n=1)') < \
        header.index('noise (n=1)') < header.index('rain (n=1)')
    assert 'depth.rmse' in table and 'semseg.mIoU_nanmean' in table


def test_parts_per_degradation_type_without_parts_is_nan():
    gt = torch.tensor([[[0, 1, 2, 2]]])
    pred = torch.tensor([[[0, 1, 2, 1]]])
    metric = MultiTaskMetric(tasks=['parts'], restoration=False)
    out = run(metric, [
        make_sample('noise', gt_parts=gt, pred_parts=pred),
        # no person: all ignore; its predictions are no false positives
        make_sample('fog', gt_parts=torch.full((1, 1, 4), 255),
                    pred_parts=torch.tensor([[[3, 4, 5, 6]]])),
    ])
    # 7 classes, absent ones count 0: (1 + 1/2 + 1/2) / 7, in both groups
    assert out['parts.mIoU'] == pytest.approx(2 / 7 * 100)
    assert out['noise/parts.mIoU'] == out['parts.mIoU']
    assert out['noise/parts.aAcc'] == 75.0
    assert math.isnan(out['fog/parts.mIoU'])
    assert math.isnan(out['fog/parts.aAcc'])


def test_legacy_double_sigmoid_hand_built():
    # probabilities on both sides of the four effective cuts
    # logit(0.55 / 0.60 / 0.65 / 0.70) = 0.2007 / 0.4055 / 0.6190 / 0.8473
    pred = torch.tensor([[[0.0, 0.19, 0.21, 0.40, 0.41, 0.61, 0.62, 0.84,
                           0.85, 1.0]]], dtype=torch.float64)
    gt = torch.tensor([[[0, 0, 0, 0, 1, 0, 1, 1, 1, 1]]])
    metric = MultiTaskMetric(tasks=['saliency'], restoration=False,
                             per_degradation=False,
                             legacy_double_sigmoid=True)
    out = run(metric, [make_sample(gt_saliency=gt, pred_saliency=pred)])
    # legacy: best at t = 0.65 (s >= 0.6190): P = 1, R = 4/5
    assert out['saliency.maxF_legacy'] == pytest.approx(
        1.3 * 0.8 / (0.3 + 0.8) * 100, rel=1e-12)
    # plain: best at t = 0.65 / 0.80 (s >= t): P = 1, R = 3/5
    assert out['saliency.maxF'] == pytest.approx(
        1.3 * 0.6 / (0.3 + 0.6) * 100, rel=1e-12)


def test_restoration_psnr_ssim_per_degradation_exact():
    c1 = 0.01**2

    def const(value):
        return torch.full((3, 16, 16), value, dtype=torch.float64)

    def ssim(a, b):  # constant images: no (co)variance
        return (2 * a * b + c1) / (a * a + b * b + c1)

    metric = MultiTaskMetric(tasks=[], ssim=True)
    out = run(metric, [
        make_sample('noise', gt_clean_img=const(0.5),
                    pred_restored=const(0.6), degraded_img=const(0.7)),
        make_sample('fog', gt_clean_img=const(0.2),
                    pred_restored=const(0.2), degraded_img=const(0.25)),
    ])
    expected = {
        'noise/restoration.psnr': 20.0,
        'noise/restoration.ssim': ssim(0.5, 0.6),
        'noise/restoration.input_psnr': 10 * math.log10(1 / 0.2**2),
        'noise/restoration.input_ssim': ssim(0.5, 0.7),
        'fog/restoration.psnr': 100.0,
        'fog/restoration.ssim': 1.0,
        'fog/restoration.input_psnr': 10 * math.log10(1 / 0.05**2),
        'fog/restoration.input_ssim': ssim(0.2, 0.25),
    }
    for name in ('psnr', 'ssim', 'input_psnr', 'input_ssim'):
        expected[f'restoration.{name}'] = (
            expected[f'noise/restoration.{name}'] +
            expected[f'fog/restoration.{name}']) / 2
    assert sorted(out) == sorted(expected)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, rel=1e-12), key


def delta_samples():
    """Semseg + depth, one 'noise' and one 'fog' image (hand-computed).

    noise: semseg perfect (mIoU 100), depth error 1 everywhere (rmse 1);
    fog: semseg IoU 1/2 and 2/3 (mIoU 175/3), depth error 2 (rmse 2);
    all: IoU 3/4 and 4/5 (mIoU 77.5), rmse sqrt((4·1 + 4·4) / 8).
    """
    gt_seg = torch.tensor([[[0, 0, 1, 1]]])
    gt_depth = torch.full((1, 1, 4), 2.0)
    return [
        make_sample('noise', gt_sem_seg=gt_seg, pred_sem_seg=gt_seg.clone(),
                    gt_depth=gt_depth, pred_depth=gt_depth + 1),
        make_sample('fog', gt_sem_seg=gt_seg,
                    pred_sem_seg=torch.tensor([[[0, 1, 1, 1]]]),
                    gt_depth=gt_depth, pred_depth=gt_depth + 2),
    ]


def test_delta_mtl_overall_and_per_degradation():
    refs = {'semseg.mIoU': 50.0, 'depth.rmse': 2.0,
            'fog/depth.rmse': 4.0}
    metric = MultiTaskMetric(tasks=['semseg', 'depth'], num_classes=2,
                             restoration=False, single_task_refs=refs)
    out = run(metric, delta_samples())
    assert out['semseg.mIoU'] == 77.5
    assert out['depth.rmse'] == math.sqrt(2.5)
    # all: (+(77.5 − 50)/50 − (sqrt(2.5) − 2)/2) / 2
    assert out['delta_mtl'] == pytest.approx(
        (0.55 - (math.sqrt(2.5) - 2) / 2) / 2 * 100, rel=1e-12)
    # noise: (+(100 − 50)/50 − (1 − 2)/2) / 2 = 75 %
    assert out['noise/delta_mtl'] == 75.0
    # fog (own depth reference 4): (+(175/3 − 50)/50 − (2 − 4)/4) / 2
    assert out['fog/delta_mtl'] == pytest.approx(
        (1 / 6 + 1 / 2) / 2 * 100, rel=1e-12)
    # config-friendly underscore keys and prefixed keys (as in the metrics
    # JSON of a single-task run) give the same numbers
    for refs2 in (dict(semseg_mIoU=50.0, depth_rmse=2.0,
                       **{'fog/depth_rmse': 4.0}),
                  {'mt/semseg.mIoU': 50, 'mt/depth.rmse': 2.0,
                   'mt/fog/depth.rmse': 4.0}):
        metric = MultiTaskMetric(tasks=['semseg', 'depth'], num_classes=2,
                                 restoration=False, single_task_refs=refs2)
        same(out, run(metric, delta_samples()))
    # without single_task_refs there is no delta_mtl
    out = run(MultiTaskMetric(tasks=['semseg', 'depth'], num_classes=2,
                              restoration=False), delta_samples())
    assert not any('delta_mtl' in k for k in out)


def test_delta_mtl_in_table_and_evaluator_keys():
    metric = METRICS.build(
        dict(type='MultiTaskMetric', tasks=['semseg', 'depth'],
             num_classes=2, restoration=False,
             single_task_refs=dict(semseg_mIoU=50.0, depth_rmse=2.0)))
    evaluator = Evaluator(metrics=[metric])
    evaluator.process(delta_samples())
    path = 'mmallnet.evaluation.metrics.multi_task_metric.print_log'
    with mock.patch(path) as log:
        out = evaluator.evaluate(2)
    assert out['mt/noise/delta_mtl'] == 75.0
    assert 'mt/delta_mtl' in out and 'mt/fog/delta_mtl' in out
    assert 'delta_mtl' in log.call_args[0][0]


def test_single_task_refs_errors():
    def build(refs, **kwargs):
        cfg = dict(tasks=['semseg', 'depth'], num_classes=2,
                   restoration=False)
        cfg.update(kwargs)
        return MultiTaskMetric(single_task_refs=refs, **cfg)

    with pytest.raises(KeyError, match=r"single_task_refs: unknown metric "
                       r"'semseg.miou'.*'semseg.mIoU'"):
        build({'semseg.miou': 40.0})
    with pytest.raises(KeyError, match="unknown metric 'normals.mean'"):
        build({'normals.mean': 20.0})  # task not evaluated
    with pytest.raises(KeyError, match="unknown metric 'restoration.psnr'"):
        build({'restoration.psnr': 20.0})  # restoration=False
    with pytest.raises(KeyError, match="unknown metric 'restoration.ssim'"):
        build({'restoration.ssim': 0.8}, tasks=[], restoration=True)
    with pytest.raises(KeyError, match="unknown metric 'boundary.odsF'"):
        build({'boundary.odsF': 70.0}, tasks=['boundary'])
    with pytest.raises(KeyError, match="more than one '/'"):
        build({'semseg.mIoU': 40.0, 'a/b/depth.rmse': 1.0})
    with pytest.raises(ValueError, match=r"one primary metric per task.*"
                       r"'semseg.mIoU' and 'semseg.aAcc'"):
        build({'semseg.mIoU': 40.0, 'semseg.aAcc': 80.0})
    with pytest.raises(ValueError, match="'depth.rmse' is given twice"):
        build({'depth.rmse': 1.0, 'depth_rmse': 1.0})
    with pytest.raises(ValueError, match='non-zero'):
        build({'depth.rmse': 0.0})
    with pytest.raises(ValueError, match='finite'):
        build({'depth.rmse': math.nan})
    with pytest.raises(TypeError, match='must be a number'):
        build({'depth.rmse': '0.5'})
    with pytest.raises(TypeError, match='must be a dict'):
        build([('depth.rmse', 0.5)])
    with pytest.raises(ValueError, match='empty'):
        build({})
    with pytest.raises(ValueError, match='only per-type keys'):
        build({'fog/depth.rmse': 1.0})
    with pytest.raises(ValueError, match=r"'fog' has references for "
                       r"\['semseg.mIoU'\] but there is no overall"):
        build({'depth.rmse': 1.0, 'fog/semseg.mIoU': 40.0})
    with pytest.raises(ValueError, match='need per_degradation=True'):
        build({'depth.rmse': 1.0, 'fog/depth.rmse': 2.0},
              per_degradation=False)
    # a reference for a type no image has is reported, not fatal
    metric = build({'depth.rmse': 2.0, 'rain/depth.rmse': 3.0})
    path = 'mmallnet.evaluation.metrics.multi_task_metric.print_log'
    with mock.patch(path) as log:
        out = run(metric, delta_samples())
    assert any("['rain']" in c[0][0] for c in log.call_args_list)
    assert out['noise/delta_mtl'] == 50.0
