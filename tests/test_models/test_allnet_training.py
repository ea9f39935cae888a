"""ALLNet NYUD configs train: one optimizer step each.

The small SynthScenes ALLNet's learning test is with the other CPU demo
config's, in ``test_demo_model_training.py``.
"""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from mmallnet.structures import MultiTaskDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NYUD_CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', 'allnet', '**', '*nyud*.py'),
        recursive=True))


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def nyud_like_batch(size=64, num_classes=40, seed=0):
    """Two preprocessed-looking samples with every NYUD target."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(2, 3, size, size, generator=g)
    samples = []
    for _ in range(2):
        sample = MultiTaskDataSample(metainfo=dict(
            img_shape=(size, size), pad_shape=(size, size),
            ori_shape=(size, size), img_padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size), generator=g))
        sample.gt_depth = PixelData(
            data=torch.rand(1, size, size, generator=g) * 5 + 0.5)
        sample.gt_normal = PixelData(data=F.normalize(
            torch.randn(3, size, size, generator=g), dim=0))
        sample.gt_boundary = PixelData(
            data=(torch.rand(1, size, size, generator=g) > 0.9).float())
        clean = torch.rand(3, size, size, generator=g)
        sample.gt_clean_img = PixelData(data=clean)
        sample.degraded_img = PixelData(
            data=(clean + 0.1 * torch.randn(3, size, size,
                                             generator=g)).clamp(0, 1))
        samples.append(sample)
    return inputs, samples


def test_configs_are_found():
    names = [osp.basename(p) for p in NYUD_CONFIGS]
    assert len(names) == 7
    assert sum('ablation' in n for n in names) == 5


@pytest.mark.parametrize('path', NYUD_CONFIGS, ids=osp.basename)
def test_config_trains_one_step(path):
    """Builds (no pretrained download), one AdamW step through the
    layer-decay constructor, every loss finite, weights move."""
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    inputs, samples = nyud_like_batch()
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

