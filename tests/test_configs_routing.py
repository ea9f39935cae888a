"""The routing study and sensitivity configs: the demo with one routing
switch each."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'allnet',
                'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
ROUTING = sorted(
    glob.glob(osp.join(REPO, 'configs', 'allnet', 'routing', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'allnet', 'sensitivity', '*.py')))
WARMUP = osp.join(REPO, 'configs', 'allnet', 'routing',
                  'allnet-route-warmup_r18-w32_1xb8-500_synthscenes-96x128.py')
TYPE_LOSS = osp.join(
    REPO, 'configs', 'allnet', 'routing',
    'allnet-route-type_r18-w32_1xb8-500_synthscenes-96x128.py')
#: What each config changes in the demo's MaE neck.
NECK_SWITCHES = {
    'allnet-route-warmup_': {},
    'allnet-route-warmup-prior_': dict(logit_source='prior'),
    'allnet-route-renorm_': dict(gate_mode='renorm'),
    'allnet-route-type_': {},
    'allnet-sens-experts2_': dict(
        num_experts=2, expert_channel_divisors=(1, 8),
        expert_windows=(4, 32), expert_kernel_sizes=(3, 9)),
    'allnet-sens-experts8_': dict(
        num_experts=8, expert_channel_divisors=(1, 1, 2, 2, 4, 4, 8, 8),
        expert_windows=(4, 4, 8, 8, 16, 16, 32, 32),
        expert_kernel_sizes=(3, 3, 5, 5, 7, 7, 9, 9)),
    'allnet-sens-temp-fixed_': dict(temperature_range=(1.0, 1.0)),
    'allnet-sens-temp-wide_': dict(temperature_range=(0.25, 4.0)),
}


def switches_of(path):
    name = osp.basename(path)
    matches = [k for k in NECK_SWITCHES if name.startswith(k)]
    assert len(matches) == 1, name
    return NECK_SWITCHES[matches[0]]


def test_every_routing_config_is_known():
    assert len(ROUTING) == len(NECK_SWITCHES)
    for path in ROUTING:
        switches_of(path)


@pytest.mark.parametrize('path', ROUTING, ids=osp.basename)
def test_only_the_routing_differs_from_the_demo(path):
    demo, cfg = Config.fromfile(DEMO), Config.fromfile(path)
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg',
                'optim_wrapper', 'param_scheduler'):
        assert cfg[key] == demo[key], key
    switches = switches_of(path)
    want = copy.deepcopy(demo.model.to_dict())
    want['neck'].update(switches)
    if osp.basename(path).startswith('allnet-route-type_'):
        want['route_type_loss_weight'] = 0.1
    # the routing table has one column per expert
    evaluator = copy.deepcopy(demo.val_evaluator)
    evaluator[1]['num_experts'] = switches.get('num_experts', 4)
    assert cfg.val_evaluator == evaluator
    assert cfg.test_evaluator == cfg.val_evaluator
    assert cfg.model.to_dict() == want
    hooks = [h['type'] for h in cfg.custom_hooks]
    demo_hooks = [h['type'] for h in demo.custom_hooks]
    warmup = 'warmup' in osp.basename(path)
    assert hooks == demo_hooks + ['RouteLossWeightHook'] * warmup


def tiny_runner(path, tmp_path, iters=3):
    """The config's Runner on two generated training images."""
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.update(
        data_root=str(tmp_path / 'data'),
        generate=dict(num_train=2, num_val=1, height=96, width=128, seed=0))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=100)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.launcher = 'none'
    return cfg


def test_warm_up_config_schedules_the_weight_in_a_runner(tmp_path):
    cfg = tiny_runner(WARMUP, tmp_path)
    cfg.custom_hooks[-1].update(iters=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    values, _ = runner.message_hub.get_scalar(
        'train/route_loss_weight').data
    # cosine over 2 iterations: 1.0, halfway 0.505, then the config's 0.01
    np.testing.assert_allclose(values[-3:], [1.0, 0.505, 0.01])
    assert runner.model.route_loss_weight == 0.01


def test_type_loss_config_trains_on_the_pipeline_types(tmp_path):
    """The train pipeline's degradation types reach the routing loss."""
    runner = Runner.from_cfg(tiny_runner(TYPE_LOSS, tmp_path, iters=1))
    runner.train()
    values, _ = runner.message_hub.get_scalar('train/route.loss_type').data
    # 0.1 x H(T | E) with two images: between 0 and 0.1 x 1 bit
    assert 0 <= values[-1] <= 0.1
