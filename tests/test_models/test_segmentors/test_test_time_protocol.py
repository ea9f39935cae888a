"""Test-time protocol of the MTL benchmarks: no resize; pad, predict, crop.

The data preprocessor pads each test image bottom/right to the dataset's
size (NYUD-v2 448x576, PASCAL-Context 512x512); the segmentor crops every
prediction back to the image, which is exactly the top-left region of the
prediction on the padded input.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from mmallnet.structures import ALL_TASKS, MultiTaskDataSample

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p and ('nyud' in p or 'pascal' in p))
TEST_SIZE = {'nyud': (448, 576), 'pascal': (512, 512)}
NYUD_CONFIG = osp.join(REPO, 'configs', 'mtl_baseline',
                       'mtl-baseline_r18_1xb4-40k_nyud-448x576.py')


pytestmark = pytest.mark.usefixtures('single_thread')


def _sample(h: int, w: int, seed: int = 0):
    """A uint8 BGR input and its packed sample with test-time targets."""
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    sample = MultiTaskDataSample(metainfo=dict(
        ori_shape=(h, w), img_shape=(h, w), degradation_type='noise'))
    sample.gt_clean_img = PixelData(data=img.clone())
    sample.gt_sem_seg = PixelData(
        data=torch.randint(0, 40, (1, h, w), generator=g))
    sample.gt_depth = PixelData(data=torch.rand(1, h, w, generator=g) + 1)
    return img, sample


def test_configs_are_found():
    assert len(CONFIGS) >= 4
    assert NYUD_CONFIG in CONFIGS


@pytest.mark.parametrize('config', CONFIGS,
                         ids=[osp.basename(p) for p in CONFIGS])
def test_every_config_pads_test_images_to_the_dataset_size(config):
    cfg = Config.fromfile(config)
    size = TEST_SIZE['nyud' if 'nyud' in osp.basename(config) else 'pascal']
    assert tuple(cfg.model.data_preprocessor.test_cfg['size']) == size
    # the test pipeline does not resize
    types = [t.type for t in cfg.test_dataloader.dataset.pipeline]
    assert not any('Resize' in t or 'Crop' in t or 'Pad' in t
                   for t in types), types
    pre = MODELS.build(cfg.model.data_preprocessor)
    h, w = (425, 560) if size == (448, 576) else (375, 500)
    img, sample = _sample(h, w)
    out = pre(dict(inputs=[img], data_samples=[sample]), False)
    assert out['inputs'].shape == (1, 3) + size
    sample = out['data_samples'][0]
    assert sample.img_shape == (h, w) and sample.pad_shape == size
    assert sample.img_padding_size == [0, size[1] - w, 0, size[0] - h]
    # targets stay at the image size, the padded input is zero outside it
    assert sample.gt_sem_seg.shape == (h, w)
    assert sample.gt_clean_img.shape == (h, w)
    assert (sample.degraded_img.data[:, h:] == 0).all()
    assert (sample.degraded_img.data[:, :, w:] == 0).all()


def test_odd_nyud_image_is_padded_predicted_and_cropped_back():
    """425x560 -> 448x576 -> predictions of the top-left 425x560."""
    cfg = Config.fromfile(NYUD_CONFIG)
    head = dict(type='MultiTaskFPNHead', in_channels=[16, 32, 64, 128],
                channels=16, tasks=list(ALL_TASKS), num_classes=40)
    backbone = dict(type='ResNetV1c', depth=18, stem_channels=16,
                    base_channels=16, norm_cfg=dict(type='BN'))
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='MultiTaskEncoderDecoder', backbone=backbone,
             decode_head=head,
             data_preprocessor=cfg.model.data_preprocessor)).eval()
    img, sample = _sample(425, 560, seed=1)
    data = dict(inputs=[img], data_samples=[sample])
    with torch.no_grad():
        padded = model.data_preprocessor(copy.deepcopy(data), False)
        assert padded['inputs'].shape == (1, 3, 448, 576)
        raw = model(padded['inputs'], mode='tensor')
        # the runner's test path: preprocess, predict
        result, = model.test_step(data)
    assert result.img_shape == (425, 560)
    top_left = (slice(None), slice(0, 425), slice(0, 560))
    assert torch.equal(result.seg_logits.data, raw['semseg'][0][top_left])
    assert torch.equal(result.pred_sem_seg.data,
                       raw['semseg'][0][top_left].argmax(0, keepdim=True))
    assert torch.equal(result.pred_depth.data,
                       raw['depth'][0][top_left].clamp(min=0))
    assert torch.equal(result.pred_boundary.data,
                       raw['boundary'][0][top_left].sigmoid())
    assert result.pred_normal.shape == (425, 560)
    assert result.pred_restored.shape == (425, 560)
    assert result.degraded_img.shape == (425, 560)
    # predictions and targets share the frame the metric compares
    assert result.gt_sem_seg.shape == result.pred_sem_seg.shape
    assert result.gt_depth.shape == result.pred_depth.shape
    assert result.gt_clean_img.shape == result.pred_restored.shape
