"""BoundarySEISMMetric: per-degradation keys, rank split, workers, ids, gt."""
import math
import os.path as osp

import cv2
import numpy as np
import pytest

from mmallnet.evaluation.functional import seism as S
from mmallnet.evaluation.metrics import BoundarySEISMMetric
from mmallnet.testing.boundaries import (
    boundary_sample,
    synthetic_boundary_pair,
)


def _samples():
    types = ['clean', 'noise', 'noise', 'fog']
    return [
        boundary_sample(*synthetic_boundary_pair(s), img_id=f'{s:04d}',
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
    pred, label = synthetic_boundary_pair(1)
    # ground truth read from SEISM-layout files equals the sample's
    cv2.imwrite(osp.join(str(tmp_path), '0007.png'),
                label.astype(np.uint8))
    from_dir = BoundarySEISMMetric(max_dist=0.02, gt_dir=str(tmp_path),
                                   per_degradation=False)
    from_dir.process({}, [boundary_sample(pred, label, '0007')])
    from_sample = BoundarySEISMMetric(max_dist=0.02, per_degradation=False)
    from_sample.process({}, [boundary_sample(pred, label, '0007')])
    for key in from_dir.results[0]['counts']:
        np.testing.assert_array_equal(from_dir.results[0]['counts'][key],
                                      from_sample.results[0]['counts'][key])
    # all-ignore ground truth is skipped, missing metainfo is reported
    metric = BoundarySEISMMetric(max_dist=0.02)
    metric.process({}, [boundary_sample(pred, np.full(label.shape, 255), 'x')])
    assert metric.results == []
    sample = boundary_sample(pred, label, 'y')
    del sample['degradation_type']
    with pytest.raises(KeyError, match='degradation_type'):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='shape'):
        metric.process({}, [boundary_sample(pred[:, :-1], label, 'z')])


def test_metric_registered():
    from mmseg.registry import METRICS
    metric = METRICS.build(dict(type='BoundarySEISMMetric', max_dist=0.011))
    assert isinstance(metric, BoundarySEISMMetric)
    assert metric.thresholds.size == 101
    assert not math.isnan(metric.max_dist)
