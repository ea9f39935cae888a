"""Reading a fixed degraded copy: dataset option, transform, configs."""
import copy
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import PixelData

from mmallnet.datasets import (
    DegradedBenchmarkDataset,
    NYUDMultiTaskDataset,
    PascalContextMultiTaskDataset,
    make_degraded_benchmark,
)
from mmallnet.datasets.degraded_benchmark import benchmark_sets
from mmallnet.engine.hooks import (
    DegradedBenchmarkAverageHook,
    average_over_degradations,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(REPO, 'configs', '_base_')
SETS = ['noise_15', 'noise_25', 'noise_50', 'rain', 'fog', 'blur']
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='LoadDegradedImage'),
    dict(type='PackMultiTaskInputs'),
]


@pytest.fixture
def nyud_copy(nyud_root, tmp_path):
    """The fixture's val split with a degraded copy of every default set."""
    out = str(tmp_path / 'NYUDv2_degraded')
    manifest = make_degraded_benchmark(
        dict(type='NYUDMultiTaskDataset', data_root=nyud_root['root'],
             split='val'), out, progress=False)
    return dict(nyud_root, out=out, manifest=manifest)


def test_dataset_option_loads_the_stored_copy(nyud_copy):
    dataset = NYUDMultiTaskDataset(
        data_root=nyud_copy['root'], split='val', tasks=['semseg', 'depth'],
        degraded_root=nyud_copy['out'], degradation='noise_25',
        pipeline=PIPELINE)
    assert len(dataset) == 2
    for index, img_id in enumerate(('0003', '0004')):
        info = dataset.get_data_info(index)
        assert info['degraded_img_path'] == osp.join(
            nyud_copy['out'], 'noise_25', 'images', f'{img_id}.png')
        packed = dataset[index]
        sample = packed['data_samples']
        stored = cv2.imread(info['degraded_img_path'])  # BGR, as loaded
        np.testing.assert_array_equal(packed['inputs'].numpy(),
                                      stored.transpose(2, 0, 1))
        clean_bgr = nyud_copy['samples'][img_id]['img'][..., ::-1]
        np.testing.assert_array_equal(sample.gt_clean_img.data.numpy(),
                                      clean_bgr.transpose(2, 0, 1))
        assert sample.degradation_type == 'noise_25'
        assert sample.degradation_params == nyud_copy['manifest']['images'][
            'noise_25'][img_id]['degradation_params']
        assert sample.degradation_params == {'sigma': 25.0, 'seed': 0}
        assert sample.gt_sem_seg.shape == stored.shape[:2]


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


def test_dataset_option_errors(nyud_copy):
    kwargs = dict(data_root=nyud_copy['root'], tasks=['depth'],
                  degraded_root=nyud_copy['out'])
    # the copy holds the val ids only
    with pytest.raises(KeyError, match=r"3 of 3 ids are missing from set "
                       r"'fog'.*\['0000', '0001', '0002'\]"):
        NYUDMultiTaskDataset(split='train', degradation='fog', **kwargs)
    with pytest.raises(KeyError, match=r"'snow' is not a set.*noise_15"):
        NYUDMultiTaskDataset(split='val', degradation='snow', **kwargs)
    with pytest.raises(ValueError, match='both `degraded_root`'):
        NYUDMultiTaskDataset(data_root=nyud_copy['root'], split='val',
                             degradation='fog')
    with pytest.raises(FileNotFoundError, match='No degraded benchmark'):
        NYUDMultiTaskDataset(
            data_root=nyud_copy['root'], split='val', degradation='fog',
            degraded_root=osp.join(nyud_copy['out'], 'nowhere'))
    # an id recorded but not in the copy's manifest any more
    path = osp.join(nyud_copy['out'], 'manifest.json')
    with open(path) as f:
        manifest = json.load(f)
    del manifest['images']['rain']['0004']
    with open(path, 'w') as f:
        json.dump(manifest, f)
    with pytest.raises(KeyError, match=r"1 of 2 ids.*'rain'.*\['0004'\]"):
        NYUDMultiTaskDataset(split='val', degradation='rain', **kwargs)
    # a recorded image file that was deleted
    os.remove(osp.join(nyud_copy['out'], 'blur', 'images', '0003.png'))
    with pytest.raises(FileNotFoundError, match='0003.png'):
        NYUDMultiTaskDataset(split='val', degradation='blur', **kwargs)


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


def test_average_over_degradations_keys():
    metrics = {
        'mt/semseg.mIoU': 40.0, 'mt/clean/semseg.mIoU': 50.0,
        'mt/noise_15/semseg.mIoU': 30.0, 'mt/fog/semseg.mIoU': 20.0,
        'mt/fog/depth.rmse': 1.0, 'route/fog/expert0': 1.0
    }
    assert average_over_degradations(metrics) == {
        'mt/degraded_mean/semseg.mIoU': 25.0
    }
    assert average_over_degradations({'mt/semseg.mIoU': 1.0}) == {}


def test_synthscenes_benchmark_end_to_end(tmp_path):
    """Write a SynthScenes copy with the tool, then test a model on it."""
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    data_root = str(tmp_path / 'synthscenes')
    generate_synthscenes(data_root, num_train=1, num_val=2, height=32,
                         width=40, progress=False)
    out = str(tmp_path / 'synthscenes_degraded')
    make_degraded_benchmark(
        dict(type='SynthScenesDataset', data_root=data_root, split='val'),
        out, sets=benchmark_sets(levels=dict(noise=[25])), progress=False)
    config = tmp_path / 'benchmark_config.py'
    config.write_text(
        '_base_ = [\n'
        f"    '{BASE}/models/mtl_baseline_r18.py',\n"
        f"    '{BASE}/datasets/synthscenes_degraded_benchmark.py',\n"
        f"    '{BASE}/default_runtime.py',\n"
        f"    '{BASE}/schedules/schedule_500_cpu_demo.py',\n"
        ']\n'
        "tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']\n"
        'model = dict(\n'
        '    backbone=dict(stem_channels=8, base_channels=8),\n'
        '    decode_head=dict(in_channels=[8, 16, 32, 64], channels=8,\n'
        '                     tasks=tasks, num_classes=10))\n')
    cfg = Config.fromfile(str(config))
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.degraded_root = out
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.work_dir = str(tmp_path / 'work_dir')
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                       mp_cfg=dict(mp_start_method='fork'))
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    metrics = runner.test()
    sets = ['noise_25', 'rain', 'fog', 'blur']
    for kind in ['clean'] + sets:
        assert f'mt/{kind}/semseg.mIoU' in metrics
        assert f'mt/{kind}/restoration.input_psnr' in metrics
    assert metrics['mt/clean/restoration.input_psnr'] == 100.0
    assert metrics['mt/degraded_mean/depth.rmse'] == pytest.approx(
        np.mean([metrics[f'mt/{k}/depth.rmse'] for k in sets]))
