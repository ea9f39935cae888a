"""ALLNet on other encoders (ConvNeXt-T, Swin-T, MiT-B1): each config builds
with its neck and head fitted to the encoder's real outputs and trains a
step; no pretrained file is read (``init_cfg`` is dropped and
``init_weights`` is not called)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

from mmallnet.engine.optimizers.layer_decay_optimizer_constructor import (
    is_no_decay_param,
)
from mmallnet.testing import multi_task_batch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALLNET_DIR = osp.join(REPO, 'configs', 'allnet')
#: config name -> (backbone type in the config, built class, stage widths)
BACKBONES = {
    'allnet_convnext-t_1xb4-40k_nyud-448x576':
    ('mmpretrain.ConvNeXt', 'ConvNeXt', [96, 192, 384, 768]),
    'allnet_swin-t_1xb4-40k_nyud-448x576':
    ('mmpretrain.SwinTransformer', 'SwinTransformer', [96, 192, 384, 768]),
    'allnet_mit-b1_1xb4-40k_nyud-448x576':
    ('MixVisionTransformer', 'MixVisionTransformer', [64, 128, 320, 512]),
}

pytestmark = pytest.mark.usefixtures('single_thread')


def load(name: str) -> Config:
    """The config with its backbone's pretrained ``init_cfg`` removed."""
    cfg = Config.fromfile(osp.join(ALLNET_DIR, name + '.py'))
    init_cfg = cfg.model.backbone.pop('init_cfg')
    assert init_cfg.type == 'Pretrained'
    assert init_cfg.checkpoint.startswith('https://download.openmmlab.com/')
    return cfg


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_backbone_config_fits_and_trains_a_step(name):
    """The encoder gives four NCHW maps at strides 4/8/16/32 whose widths
    are the neck's and head's ``in_channels``; one AdamW step of the whole
    model on a 64x64 batch is finite and moves the encoder's stem; weight
    decay spares the parameters InternImage's constructor spares."""
    config_type, class_name, widths = BACKBONES[name]
    cfg = load(name)
    assert cfg.model.backbone.type == config_type
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    assert type(model.backbone).__name__ == class_name

    with torch.no_grad():
        feats = model.backbone(torch.rand(1, 3, 64, 64))
    assert [f.dim() for f in feats] == [4] * 4
    assert [64 // f.shape[-1] for f in feats] == [4, 8, 16, 32]
    channels = [f.shape[1] for f in feats]
    assert channels == widths
    assert cfg.model.neck.in_channels == channels
    assert cfg.model.decode_head.in_channels == channels

    inputs, samples = multi_task_batch([(64, 64), (48, 56)], num_classes=40)
    losses = model.loss(inputs, samples)
    tasks = cfg.model.decode_head.tasks
    assert {f'decode.loss_{t}' for t in tasks} | {
        'decode.loss_restoration', 'route.loss_aux'
    } <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    stem_name, stem = next(iter(model.backbone.named_parameters()))
    before = stem.detach().clone()
    wrapper.update_params(sum(v for k, v in losses.items() if 'loss' in k))
    assert not torch.equal(before, stem), stem_name

    decay = {
        id(p): group['weight_decay']
        for group in wrapper.optimizer.param_groups for p in group['params']
    }
    wrong = [
        n for n, p in model.named_parameters()
        if (decay[id(p)] == 0) != is_no_decay_param(n, p)
    ]
    assert not wrong


def test_swin_pads_maps_smaller_than_its_window():
    """At 64x64 the 1/32 map (2x2) is smaller than Swin's 7x7 window:
    MMPretrain's Swin refuses it unless ``pad_small_map=True``, which the
    config sets (inputs of 224 px a side and more do not need it)."""
    backbone = load('allnet_swin-t_1xb4-40k_nyud-448x576').model.backbone
    assert backbone.pad_small_map is True
    backbone.pad_small_map = False
    model = MODELS.build(backbone)
    with pytest.raises(AssertionError, match='smaller than the window'):
        model(torch.rand(1, 3, 64, 64))
