"""Every restorer config builds (tiny preset) and runs one training step."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import METRICS, MODELS

from mmallnet.structures import MultiTaskDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'restorers', '*.py')))
PRESETS = {
    'mae-restorer_tiny_1xb8-500_synthscenes-96x128.py': ('MaERestorer',
                                                          'tiny'),
    'restormer-dense_tiny_1xb8-500_synthscenes-96x128.py': ('DenseRestorer',
                                                            'tiny'),
    'mae-restorer_base_1xb4-40k_nyud-448x576.py': ('MaERestorer', 'base'),
    'restormer-dense_base_1xb4-40k_nyud-448x576.py': ('DenseRestorer',
                                                      'base'),
}


def test_all_configs_are_listed():
    assert sorted(osp.basename(p) for p in CONFIGS) == sorted(PRESETS)


def batch(size=(24, 40)):
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for kind in ('noise', 'rain'):
        clean = torch.randint(0, 256, (3, ) + size, generator=gen,
                              dtype=torch.uint8)
        sample = MultiTaskDataSample(metainfo=dict(degradation_type=kind))
        sample.gt_clean_img = PixelData(data=clean)
        inputs.append((clean // 2 + 60).to(torch.uint8))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_trains_one_step(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert 'mmallnet' in cfg.custom_imports['imports']
    assert cfg.model.type == 'ImageRestorer'
    network, arch = PRESETS[osp.basename(path)]
    assert cfg.model.restorer.type == network
    assert cfg.model.restorer.arch == arch
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        metric = METRICS.build(copy.deepcopy(evaluator))
        assert metric.tasks == [] and metric.restoration and metric.ssim
        assert metric.per_degradation

    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.restorer.arch = 'tiny'
    model_cfg.data_preprocessor.pop('size', None)  # 448x576: too big here
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.restorer.output.weight.detach().clone()
    log = model.train_step(batch(), optim)
    assert torch.isfinite(log['loss_restoration'])
    assert ('route.loss_aux' in log) == (network == 'MaERestorer')
    assert not torch.equal(model.restorer.output.weight, before)
