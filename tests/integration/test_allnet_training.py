"""ALLNet NYUD and PASCAL-Context configs train: one optimizer step each.

The small SynthScenes ALLNet's learning test is with the other CPU demo
config's, in ``test_demo_model_training.py``.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

from mmallnet.testing import multi_task_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_CONFIGS = sorted(
    p for pattern in ('*nyud*.py', '*pascal-context*.py')
    for p in glob.glob(
        osp.join(REPO, 'configs', 'allnet', '**', pattern), recursive=True))


pytestmark = pytest.mark.usefixtures('single_thread')


def test_configs_are_found():
    names = [osp.basename(p) for p in PAPER_CONFIGS]
    assert len(names) == 12
    assert sum('ablation' in n for n in names) == 5
    assert sum('pascal-context' in n for n in names) == 2
    # other encoders (tests/test_configs_backbones.py)
    assert sum(n.startswith(('allnet_convnext', 'allnet_swin', 'allnet_mit'))
               for n in names) == 3


@pytest.mark.parametrize('path', PAPER_CONFIGS, ids=osp.basename)
def test_config_trains_one_step(path):
    """Builds (no pretrained download), one AdamW step through the
    config's optimizer constructor, every loss finite, weights move."""
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    inputs, samples = multi_task_batch(
        [(64, 64)] * 2, num_classes=cfg.model.decode_head.num_classes)
    losses = model.loss(inputs, samples)
    tasks = cfg.model.decode_head.tasks
    assert {f'decode.loss_{t}' for t in tasks} <= set(losses)
    assert 'decode.loss_restoration' in losses
    routed = cfg.model.get('neck') is not None and cfg.model.neck.get(
        'use_experts', True)
    assert ('route.loss_aux' in losses) == bool(routed)
    assert all(torch.isfinite(v).all() for v in losses.values())
    before = model.decode_head.task_heads['semseg'][-1].weight.clone()
    total = sum(v for k, v in losses.items() if 'loss' in k)
    wrapper.update_params(total)
    assert not torch.equal(before,
                           model.decode_head.task_heads['semseg'][-1].weight)



def test_pascal_context_config_trains_on_fixture_data(tmp_path):
    """The PASCAL-Context ALLNet config end to end on a tiny dataset in the
    real on-disk layout: its test pipeline, collate, the data preprocessor
    (padding to 64x64 here instead of 512x512) and one training step."""
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    from mmallnet.testing import write_pascal_context

    path = osp.join(REPO, 'configs', 'allnet',
                    'allnet_internimage-t_1xb4-40k_pascal-context-512x512.py')
    cfg = Config.fromfile(path)
    fixture = write_pascal_context(str(tmp_path))
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.update(data_root=fixture['root'],
                       pipeline=cfg.test_pipeline)
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[0], dataset[1]])
    cfg.model.data_preprocessor.size = (64, 64)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.decode_head.task_heads['parts'][-1].weight.clone()
    log_vars = model.train_step(batch, wrapper)
    for task in cfg.model.decode_head.tasks:
        assert torch.isfinite(log_vars[f'decode.loss_{task}']), task
    assert torch.isfinite(log_vars['route.loss_aux'])
    assert not torch.equal(before,
                           model.decode_head.task_heads['parts'][-1].weight)
