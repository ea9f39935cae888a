"""Every algorithm config loads, builds its model and runs a forward pass."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

from mmallnet.testing.golden import sync_bn_to_bn

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# configs/stl (one task, no restoration): tests/test_configs_stl.py
# configs/restorers (no dense task):
# tests/test_models/test_restorers/test_restorer_configs.py
# configs/cascade (needs a trained restorer checkpoint):
# tests/test_models/test_segmentors/test_two_stage_cascade.py
OWN_TESTS = ('stl', 'restorers', 'cascade')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and not any(
        osp.join('configs', folder, '') in p for folder in OWN_TESTS))


def test_configs_are_found():
    assert len(CONFIGS) >= 3


def check_multi_task(cfg: Config) -> None:
    """Multi-task configs: one output per task plus the restoration."""
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    tasks = cfg.model.decode_head.tasks
    assert set(out) == set(tasks) | {'restoration'}
    assert out['restoration'].shape == (1, 3, 64, 64)
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    metrics = [e for e in evaluators if e.type == 'MultiTaskMetric']
    assert len(metrics) == 1
    assert metrics[0].tasks == tasks
    assert cfg.train_dataloader.dataset.tasks == tasks


def check_encoder_decoder(cfg: Config) -> None:
    """Plain MMSeg segmentors: logits at 1/4 and the optimizer builds.

    ``init_weights`` is not called, so no pretrained file is fetched.
    """
    model = MODELS.build(sync_bn_to_bn(cfg.model)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    num_classes = cfg.model.decode_head.num_classes
    assert out.shape == (1, num_classes, 16, 16)

    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    names = [n for g in groups for n in g.get('param_names', [])]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(names) == sorted(trainable)
    base_lr = cfg.optim_wrapper.optimizer.lr
    paramwise = cfg.optim_wrapper.get('paramwise_cfg')
    if cfg.optim_wrapper.get('constructor') == (
            'CustomLayerDecayOptimizerConstructor'):
        top = paramwise.num_layers + 1
        rate = paramwise.layer_decay_rate
        for group in groups:
            layer_id = int(group['group_name'].split('_')[1])
            assert 0 <= layer_id <= top
            assert group['lr'] == pytest.approx(
                base_lr * rate**(top - layer_id))
        by_name = {n: g for g in groups for n in g['param_names']}
        assert by_name['decode_head.conv_seg.weight']['group_name'] == (
            f'layer_{top}_decay')
        assert by_name['decode_head.conv_seg.bias']['weight_decay'] == 0
        assert by_name['backbone.patch_embed.conv1.weight'][
            'group_name'] == 'layer_0_decay'


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert 'mmallnet' in cfg.custom_imports['imports']
    if cfg.model.type == 'EncoderDecoder':
        check_encoder_decoder(cfg)
    else:
        check_multi_task(cfg)


@pytest.mark.parametrize('name, max_dist', [
    ('allnet/allnet_internimage-t_1xb4-40k_nyud-448x576.py', 0.011),
    ('allnet/allnet_internimage-t_1xb4-40k_pascal-context-512x512.py',
     0.0075),
    ('mtl_baseline/mtl-baseline_r18_1xb4-40k_nyud-448x576.py', 0.011),
])
def test_paper_configs_test_with_seism_boundary_protocol(name, max_dist):
    from mmseg.registry import METRICS

    import mmallnet  # noqa: F401  (registers the metrics)
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    metrics = [METRICS.build(m) for m in cfg.test_evaluator]
    assert [type(m).__name__ for m in metrics] == [
        'MultiTaskMetric', 'BoundarySEISMMetric'
    ]
    assert metrics[1].max_dist == max_dist
    # validation during training keeps the cheap metric only
    assert cfg.val_evaluator.type == 'MultiTaskMetric'
