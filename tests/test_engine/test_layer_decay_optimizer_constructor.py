"""CustomLayerDecayOptimizerConstructor: layer ids, lrs and weight decay.

The backbone here is a tiny stand-in with the official InternImage
parameter names, so these tests do not depend on the real backbone.
"""
from typing import Dict, Sequence

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

import mmallnet  # noqa: F401
from mmallnet.engine import (
    CustomLayerDecayOptimizerConstructor,
    get_layer_id_for_internimage,
)

LR = 6e-5
WD = 0.05
T_DEPTHS = (4, 4, 18, 4)


def _ln(prefix_permute: bool = False) -> nn.Sequential:
    """An LN wrapped as the official ``build_norm_layer`` does."""
    layers = [nn.Identity()] if prefix_permute else []
    return nn.Sequential(*layers, nn.LayerNorm(2))


class FakeDCNv3(nn.Module):
    """DCNv3 parameter layout (``dw_conv``, offset, mask, projections)."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.dw_conv = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, groups=c), _ln(True), nn.GELU())
        self.offset = nn.Linear(c, 18)
        self.mask = nn.Linear(c, 9)
        self.input_proj = nn.Linear(c, c)
        self.output_proj = nn.Linear(c, c)


class FakeBlock(nn.Module):
    """InternImageLayer parameter layout with layer scale."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.norm1 = _ln()
        self.dcn = FakeDCNv3(c)
        self.norm2 = _ln()
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(c, 4 * c)
        self.mlp.fc2 = nn.Linear(4 * c, c)
        self.gamma1 = nn.Parameter(torch.ones(c))
        self.gamma2 = nn.Parameter(torch.ones(c))


class FakeInternImage(nn.Module):
    """Official InternImage parameter names, 2 channels everywhere."""

    def __init__(self, depths: Sequence[int], stage_norm: bool = True,
                 extra_block: int = -1) -> None:
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.conv1 = nn.Conv2d(3, 2, 3)
        self.patch_embed.norm1 = nn.Sequential(
            nn.Identity(), nn.LayerNorm(2), nn.Identity())
        self.patch_embed.conv2 = nn.Conv2d(2, 2, 3)
        self.patch_embed.norm2 = _ln(True)
        self.levels = nn.ModuleList()
        for i, depth in enumerate(depths):
            level = nn.Module()
            depth += int(i == extra_block)
            level.blocks = nn.ModuleList(FakeBlock() for _ in range(depth))
            if stage_norm:
                level.norm = _ln()
            if i < len(depths) - 1:
                level.downsample = nn.Module()
                level.downsample.conv = nn.Conv2d(2, 2, 3, bias=False)
                level.downsample.norm = _ln(True)
            self.levels.append(level)


class ToySegmentor(nn.Module):
    """``backbone`` + UPerHead / FCNHead-like heads."""

    def __init__(self, depths: Sequence[int] = T_DEPTHS, **kwargs) -> None:
        super().__init__()
        self.backbone = FakeInternImage(depths, **kwargs)
        self.decode_head = nn.Module()
        self.decode_head.conv_seg = nn.Conv2d(2, 3, 1)
        self.decode_head.bottleneck = nn.Module()
        self.decode_head.bottleneck.conv = nn.Conv2d(2, 2, 3, bias=False)
        self.decode_head.bottleneck.bn = nn.BatchNorm2d(2)
        self.auxiliary_head = nn.Module()
        self.auxiliary_head.convs = nn.ModuleList([nn.Module()])
        self.auxiliary_head.convs[0].conv = nn.Conv2d(2, 2, 3, bias=False)


def optim_cfg(**paramwise) -> dict:
    """An AdamW wrapper config using the constructor."""
    return dict(
        type='OptimWrapper',
        optimizer=dict(
            type='AdamW', lr=LR, betas=(0.9, 0.999), weight_decay=WD),
        constructor='CustomLayerDecayOptimizerConstructor',
        paramwise_cfg=paramwise)


def groups_by_name(model: nn.Module, cfg: dict) -> Dict[str, dict]:
    """Build the wrapper; map each parameter name to its param group."""
    wrapper = build_optim_wrapper(model, cfg)
    out = {}
    for group in wrapper.optimizer.param_groups:
        assert len(group['params']) == len(group['param_names'])
        for name in group['param_names']:
            assert name not in out
            out[name] = group
    return out


# (parameter name, layer id, weight decay applies) for InternImage-T,
# num_layers=30: ids 0 (stem) .. 31 (heads).
T_CASES = [
    ('backbone.patch_embed.conv1.weight', 0, True),
    ('backbone.patch_embed.conv1.bias', 0, False),
    ('backbone.patch_embed.norm1.1.weight', 0, False),
    ('backbone.patch_embed.conv2.weight', 0, True),
    ('backbone.patch_embed.norm2.1.bias', 0, False),
    ('backbone.levels.0.blocks.0.norm1.0.weight', 1, False),
    ('backbone.levels.0.blocks.0.dcn.offset.weight', 1, True),
    ('backbone.levels.0.blocks.0.dcn.offset.bias', 1, False),
    ('backbone.levels.0.blocks.0.dcn.dw_conv.0.weight', 1, True),
    ('backbone.levels.0.blocks.0.dcn.dw_conv.1.1.weight', 1, False),
    ('backbone.levels.0.blocks.0.gamma1', 1, False),
    ('backbone.levels.0.blocks.3.mlp.fc2.weight', 4, True),
    ('backbone.levels.0.norm.0.weight', 5, False),
    ('backbone.levels.0.downsample.conv.weight', 5, True),
    ('backbone.levels.0.downsample.norm.1.weight', 5, False),
    ('backbone.levels.1.blocks.0.mlp.fc1.weight', 5, True),
    ('backbone.levels.1.blocks.3.dcn.output_proj.weight', 8, True),
    ('backbone.levels.1.norm.0.bias', 9, False),
    ('backbone.levels.1.downsample.conv.weight', 9, True),
    ('backbone.levels.2.blocks.0.dcn.input_proj.weight', 9, True),
    ('backbone.levels.2.blocks.17.mlp.fc1.weight', 26, True),
    ('backbone.levels.2.blocks.17.mlp.fc1.bias', 26, False),
    ('backbone.levels.2.blocks.17.gamma2', 26, False),
    ('backbone.levels.2.norm.0.bias', 27, False),
    ('backbone.levels.2.downsample.conv.weight', 27, True),
    ('backbone.levels.3.blocks.0.dcn.mask.weight', 27, True),
    ('backbone.levels.3.blocks.3.mlp.fc2.weight', 30, True),
    ('backbone.levels.3.blocks.3.norm2.0.weight', 30, False),
    # The last stage has no downsample; its norm keeps the id of its own
    # first block (as the official rule does).
    ('backbone.levels.3.norm.0.weight', 27, False),
    ('decode_head.conv_seg.weight', 31, True),
    ('decode_head.conv_seg.bias', 31, False),
    ('decode_head.bottleneck.conv.weight', 31, True),
    ('decode_head.bottleneck.bn.weight', 31, False),
    ('auxiliary_head.convs.0.conv.weight', 31, True),
]


def test_registered_in_mmseg():
    assert (OPTIM_WRAPPER_CONSTRUCTORS.get(
        'CustomLayerDecayOptimizerConstructor') is
            CustomLayerDecayOptimizerConstructor)


@pytest.mark.skipif(
    MODELS.get('InternImage') is None, reason='no InternImage backbone')
def test_fake_backbone_has_the_real_parameter_names():
    """The stand-in above names its parameters as the real InternImage-T."""
    real = MODELS.build(dict(type='InternImage', arch='t', layer_scale=1.0))
    assert ({n for n, _ in real.named_parameters()} == {
        n for n, _ in FakeInternImage(T_DEPTHS).named_parameters()})


@pytest.mark.parametrize('name,layer_id,decays', T_CASES)
def test_layer_id_function(name, layer_id, decays):
    assert get_layer_id_for_internimage(name, 30, T_DEPTHS) == layer_id


@pytest.mark.parametrize('rate', [1.0, 0.9])
def test_internimage_t_groups(rate):
    model = ToySegmentor()
    groups = groups_by_name(
        model, optim_cfg(num_layers=30, layer_decay_rate=rate,
                         depths=list(T_DEPTHS)))
    # Every trainable parameter is in exactly one group.
    assert set(groups) == {n for n, _ in model.named_parameters()}
    for name, layer_id, decays in T_CASES:
        group = groups[name]
        kind = 'decay' if decays else 'no_decay'
        assert group['group_name'] == f'layer_{layer_id}_{kind}', name
        assert group['weight_decay'] == (WD if decays else 0.0), name
        assert group['lr_scale'] == pytest.approx(rate**(31 - layer_id))
        assert group['lr'] == pytest.approx(LR * rate**(31 - layer_id))


def test_internimage_t_exact_lrs_decay_0_9():
    groups = groups_by_name(
        ToySegmentor(),
        optim_cfg(num_layers=30, layer_decay_rate=0.9, depths=T_DEPTHS))
    expected = {
        # stem: 6e-5 * 0.9 ** 31
        'backbone.patch_embed.conv1.weight': 2.289122546861677e-06,
        # stage 0 downsample, id 5: 6e-5 * 0.9 ** 26
        'backbone.levels.0.downsample.conv.weight': 3.876649133536006e-06,
        # last block, id 30: 6e-5 * 0.9
        'backbone.levels.3.blocks.3.mlp.fc1.weight': 5.4e-05,
        # stage 3 norm, id 27: 6e-5 * 0.9 ** 4
        'backbone.levels.3.norm.0.weight': 3.9366e-05,
        'decode_head.conv_seg.weight': 6e-05,
        'decode_head.conv_seg.bias': 6e-05,
    }
    for name, lr in expected.items():
        assert groups[name]['lr'] == pytest.approx(lr, rel=1e-12), name
    # decay 1.0 gives every group the base lr.
    groups = groups_by_name(
        ToySegmentor(),
        optim_cfg(num_layers=30, layer_decay_rate=1.0, depths=T_DEPTHS))
    assert {g['lr'] for g in groups.values()} == {LR}
    assert {g['weight_decay'] for g in groups.values()} == {0.0, WD}


def test_post_norm_preset_without_stage_norms():
    """S/B depths (4, 4, 21, 4), no ``levels.i.norm`` (post-norm)."""
    model = ToySegmentor((4, 4, 21, 4), stage_norm=False)
    groups = groups_by_name(
        model, optim_cfg(num_layers=33, layer_decay_rate=0.5,
                         depths=[4, 4, 21, 4]))
    for name, layer_id in [
        ('backbone.patch_embed.conv2.weight', 0),
        ('backbone.levels.1.downsample.conv.weight', 9),
        ('backbone.levels.2.blocks.20.mlp.fc1.weight', 29),
        ('backbone.levels.2.downsample.conv.weight', 30),
        ('backbone.levels.3.blocks.3.mlp.fc1.weight', 33),
        ('decode_head.conv_seg.weight', 34),
    ]:
        assert groups[name]['group_name'] == f'layer_{layer_id}_decay'
        assert groups[name]['lr'] == pytest.approx(LR * 0.5**(34 - layer_id))


def test_frozen_params_are_left_out():
    model = ToySegmentor()
    for param in model.backbone.patch_embed.parameters():
        param.requires_grad_(False)
    groups = groups_by_name(
        model, optim_cfg(num_layers=30, layer_decay_rate=0.9,
                         depths=T_DEPTHS))
    assert not any(n.startswith('backbone.patch_embed') for n in groups)
    assert 'backbone.levels.0.blocks.0.mlp.fc1.weight' in groups


def test_offset_lr_scale_and_flags():
    model = ToySegmentor((1, 1, 1, 1))
    model.backbone.sampling_offsets = nn.Linear(2, 2)
    model.decode_head.reference_points = nn.Linear(2, 2)
    model.decode_head.norm_proj = nn.Linear(2, 2)
    cfg = optim_cfg(
        num_layers=4, layer_decay_rate=0.5, depths=[1, 1, 1, 1],
        offset_lr_scale=0.25)
    groups = groups_by_name(model, cfg)
    # backbone offsets: top id, no weight decay, lr * offset_lr_scale.
    group = groups['backbone.sampling_offsets.weight']
    assert group['group_name'] == 'layer_5_no_decay_offset_lr_scale'
    assert group['weight_decay'] == 0.0
    assert group['lr'] == pytest.approx(LR * 0.25)
    # outside the backbone the offset scale does not apply; 'norm' in a
    # name exempts a 2-D weight from decay.
    assert groups['decode_head.reference_points.weight']['lr'] == LR
    assert groups['decode_head.norm_proj.weight']['weight_decay'] == 0.0

    cfg['paramwise_cfg'].update(dino_head=True, backbone_small_lr=True)
    groups = groups_by_name(model, cfg)
    group = groups['decode_head.reference_points.weight']
    assert group['group_name'] == 'layer_5_decay_0.1x'
    assert group['lr'] == pytest.approx(LR * 0.1)
    # backbone_small_lr: scales below 1 are multiplied by 0.1.
    group = groups['backbone.levels.0.blocks.0.mlp.fc1.weight']
    assert group['lr'] == pytest.approx(LR * 0.5**4 * 0.1)
    assert groups['decode_head.conv_seg.weight']['lr'] == LR


def test_no_weight_decay_in_optimizer():
    cfg = optim_cfg(num_layers=4, layer_decay_rate=1.0, depths=[1, 1, 1, 1])
    del cfg['optimizer']['weight_decay']
    groups = groups_by_name(ToySegmentor((1, 1, 1, 1)), cfg)
    # torch's AdamW default applies to decayed params; exempt ones get 0.
    assert groups['decode_head.conv_seg.weight']['weight_decay'] == 0.01
    assert groups['decode_head.conv_seg.bias']['weight_decay'] == 0.0


def test_logs_param_group_summary(tmp_path):
    log_file = tmp_path / 'log.txt'
    MMLogger.get_instance(
        'test_layer_decay', log_file=str(log_file), log_level='INFO')
    groups_by_name(
        ToySegmentor((1, 1, 1, 1)),
        optim_cfg(num_layers=4, layer_decay_rate=0.9, depths=[1, 1, 1, 1]))
    for handler in MMLogger.get_instance('test_layer_decay').handlers:
        handler.flush()
    text = log_file.read_text()
    assert 'Build CustomLayerDecayOptimizerConstructor' in text
    assert 'Param groups = ' in text
    assert '"layer_0_decay"' in text
    assert 'backbone.patch_embed.conv1.weight' in text


@pytest.mark.parametrize('paramwise,match', [
    (dict(layer_decay_rate=1.0, depths=[4, 4, 18, 4]),
     r'paramwise_cfg\.num_layers'),
    (dict(num_layers=30, depths=[4, 4, 18, 4]),
     r'paramwise_cfg\.layer_decay_rate'),
    (dict(num_layers=30, layer_decay_rate=1.0), r'paramwise_cfg\.depths'),
    (dict(), r'paramwise_cfg\.num_layers, paramwise_cfg\.layer_decay_rate'),
    (dict(num_layers=33, layer_decay_rate=1.0, depths=[4, 4, 18, 4]),
     r'num_layers=33 must equal sum\(paramwise_cfg\.depths\)=30'),
    (dict(num_layers=30, layer_decay_rate=0.0, depths=[4, 4, 18, 4]),
     r'paramwise_cfg\.layer_decay_rate must be a positive'),
    (dict(num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4],
          offset_lr_scale=-1), r'paramwise_cfg\.offset_lr_scale'),
    (dict(num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4.5]),
     r'paramwise_cfg\.depths must be'),
    (dict(num_layers=30, layer_decay_rate=1.0, depths=[4, 4, 18, 4],
          custom_keys=dict()), r"key\(s\) \['custom_keys'\]"),
])
def test_bad_paramwise_cfg(paramwise, match):
    with pytest.raises(ValueError, match=match):
        build_optim_wrapper(ToySegmentor(), optim_cfg(**paramwise))


def test_depths_not_matching_backbone():
    # One block more in stage 2 than depths declares.
    model = ToySegmentor((1, 1, 1, 1), extra_block=2)
    with pytest.raises(ValueError, match=r'block 1 of stage 2.*depths'):
        build_optim_wrapper(
            model, optim_cfg(num_layers=4, layer_decay_rate=1.0,
                             depths=[1, 1, 1, 1]))
    with pytest.raises(ValueError, match=r'stage 3.*3 stages'):
        build_optim_wrapper(
            ToySegmentor((1, 1, 1, 1)),
            optim_cfg(num_layers=3, layer_decay_rate=1.0, depths=[1, 1, 1]))


def test_lr_is_required():
    cfg = optim_cfg(num_layers=4, layer_decay_rate=1.0, depths=[1, 1, 1, 1])
    del cfg['optimizer']['lr']
    with pytest.raises(ValueError, match=r'optimizer\.lr'):
        build_optim_wrapper(ToySegmentor((1, 1, 1, 1)), cfg)
