"""Every cascade config (configs/cascade) builds from a restorer checkpoint
and trains its predictor one step with the restorer frozen."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import METRICS, MODELS

from mmallnet.testing import multi_task_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'cascade', '*.py')))
#: config -> (restorer network, predictor type, evaluated tasks)
EXPECTED = {
    'cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_synthscenes-'
    '96x128.py': ('DenseRestorer', 'MultiTaskEncoderDecoder',
                  ['semseg', 'depth', 'normals', 'boundary', 'saliency']),
    'cascade_mae-restorer-tiny_mtl-baseline-r18_1xb8-500_synthscenes-'
    '96x128.py': ('MaERestorer', 'MultiTaskEncoderDecoder',
                  ['semseg', 'depth', 'normals', 'boundary', 'saliency']),
    'cascade_dense-restorer-tiny_fpn-r18_1xb8-500_synthscenes-96x128.py':
    ('DenseRestorer', 'EncoderDecoder', ['semseg']),
}

pytestmark = pytest.mark.usefixtures('single_thread')


def test_all_configs_are_listed():
    assert sorted(osp.basename(p) for p in CONFIGS) == sorted(EXPECTED)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_the_restorer_and_trains_the_predictor(path, tmp_path):
    network, predictor_type, tasks = EXPECTED[osp.basename(path)]
    cfg = Config.fromfile(path)
    assert cfg.model.restorer.restorer.type == network
    assert cfg.model.predictor.type == predictor_type
    assert cfg.model.freeze_restorer and not cfg.model.freeze_predictor
    # the restorer config's work dir (tools/train.py's default)
    restorer_name = osp.basename(osp.dirname(cfg.model.restorer_checkpoint))
    assert osp.isfile(osp.join(REPO, 'configs', 'restorers',
                               restorer_name + '.py'))
    restorer_cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'restorers', restorer_name + '.py'))
    assert restorer_cfg.model.restorer == cfg.model.restorer.restorer
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        metric = METRICS.build(copy.deepcopy(evaluator))
        assert metric.tasks == tasks and metric.restoration
        assert metric.per_degradation

    torch.manual_seed(0)
    restorer = MODELS.build(cfg.model.restorer)
    checkpoint = str(tmp_path / 'restorer.pth')
    torch.save(dict(state_dict=restorer.state_dict()), checkpoint)
    model = MODELS.build(dict(cfg.model, restorer_checkpoint=checkpoint))
    model.train()
    for key, value in restorer.state_dict().items():
        torch.testing.assert_close(model.restorer.state_dict()[key], value)
    inputs, samples = multi_task_batch([(64, 64)] * 2, num_classes=10)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    predictor_before = [p.detach().clone()
                        for p in model.predictor.parameters()]
    log = model.train_step(dict(inputs=list(inputs), data_samples=samples),
                           wrapper)
    assert torch.isfinite(log['loss'])
    assert all(p.grad is None for p in model.restorer.parameters())
    for key, value in restorer.state_dict().items():
        torch.testing.assert_close(model.restorer.state_dict()[key], value)
    moved = [not torch.equal(before, after) for before, after in zip(
        predictor_before, model.predictor.parameters())]
    assert sum(moved) > len(moved) // 2
