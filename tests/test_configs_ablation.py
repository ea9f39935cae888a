"""The demo-scale ablation rows (configs/allnet/ablation/*synthscenes*):
one shared encoder, schedule and data; each row adds one step of the
paper's ablation to the one before."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALLNET = osp.join(REPO, 'configs', 'allnet')
ROWS = sorted(glob.glob(osp.join(ALLNET, 'ablation', '*_synthscenes-*.py')))
DEMO = osp.join(ALLNET, 'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
BASELINE = osp.join(REPO, 'configs', 'mtl_baseline',
                    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')
FLAGS = ('use_cti', 'use_afu', 'use_image_tokens')


def load(path):
    return Config.fromfile(path)


def test_five_rows_in_order():
    names = [osp.basename(p).split('_')[0] for p in ROWS]
    assert names == [
        'allnet-ablation-1-mtl-baseline', 'allnet-ablation-2-mae',
        'allnet-ablation-3-cti', 'allnet-ablation-4-afu',
        'allnet-ablation-5-theta'
    ]


def test_rows_share_data_schedule_and_encoder():
    demo = load(DEMO)
    for path in ROWS:
        cfg = load(path)
        for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper',
                    'param_scheduler', 'train_cfg'):
            assert cfg[key] == demo[key], (osp.basename(path), key)
        assert cfg.model.backbone == demo.model.backbone


def test_row_1_is_the_baseline_and_row_5_the_demo():
    assert load(ROWS[0]).model == load(BASELINE).model
    assert load(ROWS[-1]).model == load(DEMO).model


@pytest.mark.parametrize('row,flags', [
    (1, (False, False, False)),
    (2, (True, False, False)),
    (3, (True, True, False)),
    (4, (True, True, True)),
])
def test_each_row_adds_one_step(row, flags):
    demo = load(DEMO).model
    model = load(ROWS[row]).model
    assert tuple(model.decode_head[f] for f in FLAGS) == flags
    assert model.neck == demo.neck
    rest = {k: v for k, v in model.decode_head.items() if k not in FLAGS}
    assert rest == {
        k: v
        for k, v in demo.decode_head.items() if k not in FLAGS
    }


def test_each_step_only_adds_parameters():
    keys = [
        set(MODELS.build(load(p).model).state_dict()) for p in ROWS[1:]
    ]
    for before, after in zip(keys, keys[1:]):
        assert before < after
    baseline = set(MODELS.build(load(ROWS[0]).model).state_dict())
    encoder = {k for k in baseline if k.startswith('backbone.')}
    assert encoder == {k for k in keys[0] if k.startswith('backbone.')}
