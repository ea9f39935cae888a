"""DegradedBenchmarkDataset: clean set + stored sets, configs, metrics."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import PixelData

from mmallnet.datasets import (
    DegradedBenchmarkDataset,
    PascalContextMultiTaskDataset,
    make_degraded_benchmark,
)
from mmallnet.datasets.degraded_benchmark import benchmark_sets
from mmallnet.engine.hooks import (
    DegradedBenchmarkAverageHook,
    average_over_degradations,
)

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(osp.dirname(HERE)))
BASE = osp.join(REPO, 'configs', '_base_')
SETS = ['noise_15', 'noise_25', 'noise_50', 'rain', 'fog', 'blur']


def test_clean_samples_and_pascal_context(tmp_path):
    from mmallnet.testing import write_pascal_context
    root = str(tmp_path / 'PASCALContext')
    write_pascal_context(root)
    out = str(tmp_path / 'copy')
    make_degraded_benchmark(
        dict(type='PascalContextMultiTaskDataset', data_root=root,
             split='val'), out, sets=benchmark_sets(['fog']),
        progress=False)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPascalContextAnnotations'),
        dict(type='LoadDegradedImage'),
        dict(type='PackMultiTaskInputs'),
    ]
    foggy = PascalContextMultiTaskDataset(
        data_root=root, split='val', degraded_root=out, degradation='fog',
        pipeline=pipeline)
    sample = foggy[0]['data_samples']
    assert sample.degradation_type == 'fog'
    assert sample.degradation_params['depth_source'] == 'prior'
    assert not torch.equal(foggy[0]['inputs'], sample.gt_clean_img.data)
    # the benchmark config: clean + the stored set
    cfg = _benchmark_cfg('pascal_context_multi_task_degraded_benchmark.py',
                         root, out)
    dataset = Runner.build_dataloader(cfg.test_dataloader).dataset
    assert [(dataset[i]['data_samples'].degradation_type,
             dataset[i]['data_samples'].img_id)
            for i in range(len(dataset))] == [
                ('clean', '2008_000007'), ('clean', '2008_000008'),
                ('fog', '2008_000007'), ('fog', '2008_000008')]
    # without a copy the transform marks the sample clean
    clean = PascalContextMultiTaskDataset(
        data_root=root, split='val', pipeline=pipeline)
    packed = clean[0]
    assert packed['data_samples'].degradation_type == 'clean'
    assert packed['data_samples'].degradation_params == {}
    assert torch.equal(packed['inputs'],
                       packed['data_samples'].gt_clean_img.data)


def _benchmark_cfg(name: str, data_root: str, degraded_root: str) -> Config:
    cfg = Config.fromfile(osp.join(BASE, 'datasets', name))
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.degraded_root = degraded_root
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    return cfg


def test_config_test_dataloader_yields_clean_and_every_set(nyud_copy):
    cfg = _benchmark_cfg('nyud_multi_task_degraded_benchmark.py',
                         nyud_copy['root'], nyud_copy['out'])
    # validation keeps the on-the-fly degradations
    assert cfg.val_dataloader.dataset.type == 'NYUDMultiTaskDataset'
    loader = Runner.build_dataloader(cfg.test_dataloader)
    dataset = loader.dataset
    assert isinstance(dataset, DegradedBenchmarkDataset)
    assert dataset.sets == SETS
    seen = {}
    for batch in loader:
        for inputs, sample in zip(batch['inputs'], batch['data_samples']):
            kind = sample.degradation_type
            seen.setdefault(kind, []).append(sample.img_id)
            clean = sample.gt_clean_img.data
            assert torch.equal(inputs, clean) == (kind == 'clean')
            if kind != 'clean':
                assert sample.degradation_params == nyud_copy['manifest'][
                    'images'][kind][sample.img_id]['degradation_params']
    assert seen == {k: ['0003', '0004'] for k in ['clean'] + SETS}

    # a subset of the sets, without the clean images
    cfg.test_dataloader.dataset.sets = ['fog', 'noise_50']
    cfg.test_dataloader.dataset.include_clean = False
    dataset = Runner.build_dataloader(cfg.test_dataloader).dataset
    assert [dataset[i]['data_samples'].degradation_type
            for i in range(len(dataset))] == ['fog'] * 2 + ['noise_50'] * 2
    with pytest.raises(KeyError, match=r"\['snow'\] are not in"):
        DegradedBenchmarkDataset(
            dataset_type='NYUDMultiTaskDataset', data_root=nyud_copy['root'],
            split='val', degraded_root=nyud_copy['out'], sets=['snow'])


def test_metric_reports_every_set_and_the_mean(nyud_copy):
    """MultiTaskMetric columns per set; the hook adds the degraded mean."""
    from mmallnet.evaluation import MultiTaskMetric
    cfg = _benchmark_cfg('nyud_multi_task_degraded_benchmark.py',
                         nyud_copy['root'], nyud_copy['out'])
    cfg.test_dataloader.dataset.tasks = ['depth']
    dataset = Runner.build_dataloader(cfg.test_dataloader).dataset
    metric = MultiTaskMetric(tasks=['depth'], restoration=False)
    metric.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        # samples come set by set, two images each: set k is off by k dm
        gt = sample.gt_depth.data
        sample.pred_depth = PixelData(data=gt + 0.1 * (index // 2))
        metric.process({}, [sample.to_dict()])
    metrics = metric.evaluate(len(dataset))
    for kind in ['clean'] + SETS:
        assert f'mt/{kind}/depth.rmse' in metrics
        index = (['clean'] + SETS).index(kind)
        assert metrics[f'mt/{kind}/depth.rmse'] == pytest.approx(0.1 * index)
    means = average_over_degradations(metrics)
    # the mean of sets 1..6 (0.1 .. 0.6 m), the clean set left out
    assert means['mt/degraded_mean/depth.rmse'] == pytest.approx(0.35)
    assert set(means) == {f'mt/degraded_mean/depth.{k}'
                          for k in ('rmse', 'abs_rel', 'log_rmse', 'delta1')}
    hook = DegradedBenchmarkAverageHook()
    assert hook.priority == 'HIGHEST'
    updated = dict(metrics)
    hook.after_test_epoch(None, updated)
    assert updated == {**metrics, **means}
