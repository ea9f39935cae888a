"""A SynthScenes degraded copy, written and then tested on: end to end."""
import copy
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmallnet.datasets import make_degraded_benchmark
from mmallnet.datasets.degraded_benchmark import benchmark_sets

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(REPO, 'configs', '_base_')


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
