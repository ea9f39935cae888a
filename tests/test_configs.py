"""Every algorithm config loads, builds its model and runs a forward pass."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_are_found():
    assert len(CONFIGS) >= 2


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert 'mmallnet' in cfg.custom_imports['imports']
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    tasks = cfg.model.decode_head.tasks
    assert set(out) == set(tasks) | {'restoration'}
    assert out['restoration'].shape == (1, 3, 64, 64)
    evaluator = cfg.test_evaluator
    assert evaluator.tasks == tasks
    assert cfg.train_dataloader.dataset.tasks == tasks
