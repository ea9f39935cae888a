"""tools/analysis_tools/get_flops.py on a multi-task and an MMSeg config."""
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'get_flops.py')
BASELINE_CONFIG = osp.join(
    REPO, 'configs', 'mtl_baseline',
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')

# A tiny UperNet + InternImage segmentor with SyncBN heads and test-time
# padding to a multiple of 32.
INTERNIMAGE_CONFIG = """
default_scope = 'mmseg'
custom_imports = dict(imports=['mmallnet'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        test_cfg=dict(size_divisor=32)),
    backbone=dict(
        type='InternImage',
        arch=dict(channels=16, depths=[1, 1, 1, 1], groups=[1, 2, 4, 8])),
    decode_head=dict(
        type='UPerHead',
        in_channels=[16, 32, 64, 128],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=2,
        channels=16,
        num_convs=1,
        num_classes=4,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
"""


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('get_flops_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def num_params(config: str) -> int:
    cfg = Config.fromfile(config)
    init_default_scope('mmseg')
    return sum(p.numel() for p in MODELS.build(cfg.model).parameters())


def test_multi_task_demo_config(tool, capsys):
    result = tool.main([BASELINE_CONFIG, '--shape', '64', '96'])
    out = capsys.readouterr().out
    assert 'Input shape: (3, 64, 96)' in out
    assert f'Flops: {result["flops"] / 1e9:.3f} G' in out
    assert f'Params: {result["params"] / 1e6:.3f} M' in out
    assert result['input_shape'] == (3, 64, 96)
    assert result['flops'] > 0 and result['activations'] > 0
    assert result['params'] == num_params(BASELINE_CONFIG)
    # Every task head (and the restoration branch) is traced.
    by_module = result['flop_analyzer'].by_module()
    for task in ('semseg', 'depth', 'normals', 'boundary', 'saliency'):
        assert by_module[f'decode_head.task_heads.{task}'] > 0
    assert by_module['decode_head.restoration_pred'] > 0


def test_internimage_upernet_config(tool, tmp_path, capsys):
    config = tmp_path / 'upernet_internimage_tiny.py'
    config.write_text(INTERNIMAGE_CONFIG)
    result = tool.main([str(config), '--shape', '60', '60', '--show-table'])
    out = capsys.readouterr().out
    # Padded to 64 x 64 by the preprocessor's size_divisor.
    assert 'from (60, 60) to (64, 64)' in out
    assert 'Input shape: (3, 64, 64)' in out
    assert 'Flops: ' in out and 'Params: ' in out
    assert 'of which auxiliary head (training only)' in out
    assert 'backbone.levels' in out  # the table
    assert result['params'] == num_params(str(config))
    # DCNv3 core, official convention: sum over levels of
    # 5 * (64 / 4 / 2^i)^2 * 9 * (16 * 2^i) for one block per level.
    expected = sum(5 * (16 // 2**i)**2 * 9 * 16 * 2**i for i in range(4))
    assert expected == 345600
    assert result['flops_by_operator']['dcnv3'] == expected
    assert 'prim::PythonOp.DCNv3Function' not in result['unsupported_ops']
    # The auxiliary head is not part of the inference forward.
    assert result['flop_analyzer'].total('auxiliary_head') == 0


def test_count_softmax_and_cfg_options(tool, tmp_path, capsys):
    config = tmp_path / 'upernet_internimage_tiny.py'
    config.write_text(INTERNIMAGE_CONFIG)
    args = [str(config), '--shape', '32']
    base = tool.main(args)
    softmax = tool.main(args + ['--count-softmax'])
    # One softmax per DCNv3 layer over (H/4/2^i)^2 * groups * 9 masks.
    masks = sum((8 // 2**i)**2 * 2**i * 9 for i in range(4))
    assert softmax['flops'] - base['flops'] == masks
    wider = tool.main(args +
                      ['--cfg-options', 'model.decode_head.channels=48'])
    assert wider['params'] > base['params']
    assert wider['flops'] > base['flops']
