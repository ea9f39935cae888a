"""PerDegradationIoUMetric: MMSeg's IoU numbers per set, mean and drop."""
import json
import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from mmallnet.evaluation.metrics.per_degradation_iou_metric import (
    PerDegradationIoUMetric,
    format_table,
    order_sets,
    sample_set_name,
    table_rows,
)

META = dict(classes=('a', 'b'))


def make_sample(gt, pred, degradation_type='clean', params=None,
                drop_keys=False):
    """A packed SegDataSample, as the Evaluator gets it from a model."""
    sample = SegDataSample()
    meta = dict(img_path='x.jpg')
    if not drop_keys:
        meta.update(degradation_type=degradation_type,
                    degradation_params=params or {})
    sample.set_metainfo(meta)
    sample.gt_sem_seg = PixelData(data=torch.tensor([gt]))
    sample.pred_sem_seg = PixelData(data=torch.tensor([pred]))
    return sample


#: Hand-made predictions (2 classes, 255 ignored) and what each set gives.
SAMPLES = [
    # clean: class 0 IoU 2/3, class 1 IoU 1/2; aAcc 3/4
    make_sample([[0, 0], [1, 1]], [[0, 0], [0, 1]], 'clean'),
    # noise, sigma 15: class 0 IoU 0, class 1 IoU 2/4; aAcc 2/4
    make_sample([[0, 0], [1, 1]], [[1, 1], [1, 1]], 'noise',
                dict(sigma=15.0, seed=0)),
    # noise, sigma 50, one ignored pixel: IoU 0 and 1/3; aAcc 1/3
    make_sample([[0, 0], [1, 255]], [[1, 1], [1, 0]], 'noise',
                dict(sigma=50.0, seed=0)),
    # rain, two images pooled: class 0 IoU 4/5, class 1 IoU 3/4; aAcc 7/8
    make_sample([[0, 0], [0, 0]], [[0, 0], [0, 0]], 'rain', dict(seed=0)),
    make_sample([[1, 1], [1, 1]], [[0, 1], [1, 1]], 'rain', dict(seed=0)),
    # a fixed benchmark's set name: class 1 absent from gt and pred (NaN,
    # left out of the mean as IoUMetric does)
    make_sample([[0, 0], [0, 0]], [[0, 0], [0, 0]], 'fog_0.6',
                dict(beta=0.6)),
]
EXPECTED = {
    'clean/aAcc': 75.0, 'clean/mIoU': 58.33, 'clean/mAcc': 75.0,
    'noise_15/aAcc': 50.0, 'noise_15/mIoU': 25.0, 'noise_15/mAcc': 50.0,
    'noise_15/mIoU_drop': 33.33, 'noise_15/mIoU_drop_rel': 57.14,
    'noise_50/aAcc': 33.33, 'noise_50/mIoU': 16.67, 'noise_50/mAcc': 50.0,
    'noise_50/mIoU_drop': 41.66, 'noise_50/mIoU_drop_rel': 71.42,
    'rain/aAcc': 87.5, 'rain/mIoU': 77.5, 'rain/mAcc': 87.5,
    'rain/mIoU_drop': -19.17, 'rain/mIoU_drop_rel': -32.86,
    'fog_0.6/aAcc': 100.0, 'fog_0.6/mIoU': 100.0, 'fog_0.6/mAcc': 100.0,
    'fog_0.6/mIoU_drop': -41.67, 'fog_0.6/mIoU_drop_rel': -71.44,
    # (50 + 33.33 + 87.5 + 100) / 4, (25 + 16.67 + 77.5 + 100) / 4, ...
    'degraded_mean/aAcc': 67.71, 'degraded_mean/mIoU': 54.79,
    'degraded_mean/mAcc': 71.88, 'degraded_mean/mIoU_drop': 3.54,
    'degraded_mean/mIoU_drop_rel': 6.07,
}


def approx(value):
    """Per-set values are IoUMetric's float32 numbers (58.33 is
    58.33000183...); means and drops are rounded float64."""
    return pytest.approx(value, abs=1e-5)


def evaluate(samples, **kwargs):
    evaluator = Evaluator(dict(type='PerDegradationIoUMetric', **kwargs))
    evaluator.dataset_meta = META
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_exact_values_per_set_mean_and_drop():
    metrics = evaluate(SAMPLES)
    assert list(metrics) == list(EXPECTED)
    for key, value in EXPECTED.items():
        assert metrics[key] == approx(value), key
        if '_drop' in key or key.startswith('degraded_mean'):
            assert metrics[key] == value, key  # exactly, float64 rounded


def test_each_set_equals_mmseg_iou_metric_on_that_set():
    groups = {
        'clean': SAMPLES[:1], 'noise_15': SAMPLES[1:2],
        'noise_50': SAMPLES[2:3], 'rain': SAMPLES[3:5], 'fog_0.6': SAMPLES[5:]
    }
    metrics = evaluate(SAMPLES, iou_metrics=['mIoU', 'mDice'])
    for name, samples in groups.items():
        reference = Evaluator(dict(type='IoUMetric',
                                   iou_metrics=['mIoU', 'mDice']))
        reference.dataset_meta = META
        reference.process(samples)
        ref = reference.evaluate(len(samples))
        assert set(ref) == {'aAcc', 'mIoU', 'mAcc', 'mDice'}
        for key, value in ref.items():
            assert metrics[f'{name}/{key}'] == value, (name, key)


def test_prefix_and_no_clean_set():
    metrics = evaluate(SAMPLES[1:3], prefix='rob')
    assert metrics == approx({
        'rob/noise_15/aAcc': 50.0, 'rob/noise_15/mIoU': 25.0,
        'rob/noise_15/mAcc': 50.0, 'rob/noise_50/aAcc': 33.33,
        'rob/noise_50/mIoU': 16.67, 'rob/noise_50/mAcc': 50.0,
        'rob/degraded_mean/aAcc': 41.67, 'rob/degraded_mean/mIoU': 20.84,
        'rob/degraded_mean/mAcc': 50.0
    })
    # only clean: no mean, no drop
    assert evaluate(SAMPLES[:1]) == approx({
        'clean/aAcc': 75.0, 'clean/mIoU': 58.33, 'clean/mAcc': 75.0
    })


def test_severity_keys_and_set_names():
    # default: noise split by sigma, the others one set per type
    metrics = evaluate(SAMPLES)
    assert 'noise_15/mIoU' in metrics and 'noise/mIoU' not in metrics
    # no severity keys: one noise set (both images pooled)
    metrics = evaluate(SAMPLES, severity_keys={})
    assert metrics['noise/aAcc'] == pytest.approx(100 * 3 / 7, abs=5e-3)
    assert 'noise_15/mIoU' not in metrics
    assert sample_set_name('fog', dict(beta=0.6), {'fog': 'beta'}) == \
        'fog_0.6'
    assert sample_set_name('blur', dict(kernel_size=9),
                           {'blur': 'kernel_size'}) == 'blur_9'
    assert sample_set_name('noise_25', {}, {'noise': 'sigma'}) == 'noise_25'
    assert order_sets(['blur', 'noise_50', 'x', 'degraded_mean', 'noise_15',
                       'fog', 'clean', 'rain_0.005', 'rain']) == [
        'clean', 'noise_15', 'noise_50', 'rain', 'rain_0.005', 'fog', 'blur',
        'x', 'degraded_mean'
    ]


def test_table_rows_and_formats():
    metrics = evaluate(SAMPLES)
    rows = table_rows(metrics, dict(clean=1, rain=2))
    assert [r['set'] for r in rows] == [
        'clean', 'noise_15', 'noise_50', 'rain', 'fog_0.6', 'degraded_mean'
    ]
    assert rows[0] == dict(set='clean', n=1, aAcc=75.0, mIoU=approx(58.33),
                           mAcc=75.0, drop=None, drop_rel=None)
    assert rows[3]['n'] == 2 and rows[3]['drop'] == -19.17
    json.dumps(rows)
    text = format_table(rows)
    assert 'drop %' in text and '58.33' in text
    md = format_table(rows, markdown=True).splitlines()
    assert md[0] == '| set | n | aAcc | mIoU | mAcc | drop | drop % |'
    assert md[2] == '| clean | 1 | 75.00 | 58.33 | 75.00 | - | - |'
    assert md[-1] == ('| degraded_mean | - | 67.71 | 54.79 | 71.88 | 3.54 '
                      '| 6.07 |')


def test_zero_clean_gives_nan_relative_drop():
    zero = make_sample([[0, 0]], [[1, 1]], 'clean')
    metrics = evaluate([zero, SAMPLES[1]])
    assert metrics['clean/mIoU'] == 0.0
    assert metrics['noise_15/mIoU_drop'] == -25.0
    assert math.isnan(metrics['noise_15/mIoU_drop_rel'])


def test_errors():
    with pytest.raises(KeyError, match=r"x.jpg has no metainfo "
                       r"'degradation_type'.*meta_keys of PackSegInputs"):
        evaluate([make_sample([[0]], [[0]], drop_keys=True)])
    with pytest.raises(KeyError, match=r"'noise' has no "
                       r"degradation_params\['sigma'\]"):
        evaluate([make_sample([[0]], [[0]], 'noise', {})])
    with pytest.raises(ValueError, match='degraded_mean.*reserved'):
        evaluate([make_sample([[0]], [[0]], 'degraded_mean')])
    with pytest.raises(KeyError, match=r"drop_metric 'mDice' is not "
                       'reported'):
        PerDegradationIoUMetric(drop_metric='mDice')
    with pytest.raises(KeyError, match=r"iou_metrics \['mIoUU'\]"):
        PerDegradationIoUMetric(iou_metrics=['mIoUU'])
    assert isinstance(PerDegradationIoUMetric(), IoUMetric)
