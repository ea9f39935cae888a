"""The CPU demo configs' models learn: a short run on a fixed batch."""
import os.path as osp
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS, MODELS

from mmallnet.datasets.synthscenes_generator import generate_synthscenes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE_CONFIG = osp.join(
    REPO, 'configs', 'mtl_baseline',
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')
#: The demo (ALLNet on the baseline's ResNet) and the InternImage variant.
SMALL_ALLNET_CONFIGS = [
    osp.join(REPO, 'configs', 'allnet', name) for name in (
        'allnet_r18-w32_1xb8-500_synthscenes-96x128.py',
        'allnet_internimage-slim-w32_1xb8-500_synthscenes-96x128.py')
]


def train_on_fixed_batch(config: str, root: str,
                         steps: int = 25) -> List[Dict[str, float]]:
    """Train a config's model for ``steps`` AdamW steps on 4 SynthScenes
    images (degraded with a fixed seed); return the losses of every step.
    """
    generate_synthscenes(root, num_train=4, num_val=1, height=48, width=64,
                         progress=False)
    cfg = Config.fromfile(config)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadMultiTaskAnnotations'),
        dict(type='RandomDegradation', degradations=cfg.degradations, seed=0),
        dict(type='PackMultiTaskInputs'),
    ]
    dataset = DATASETS.build(
        dict(cfg.train_dataloader.dataset, data_root=root, generate=None,
             pipeline=pipeline))
    batch = pseudo_collate([dataset[i] for i in range(4)])

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
        history = []
        for _ in range(steps):
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
            total = sum(v for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            history.append({k: v.item() for k, v in losses.items()})
    finally:
        torch.set_num_threads(threads)
    return history


def mean_of(history: List[Dict[str, float]], key: str) -> tuple:
    """Mean of ``key`` over the first three and the last three steps."""
    first = sum(h[key] for h in history[:3]) / 3
    last = sum(h[key] for h in history[-3:]) / 3
    return first, last


def test_baseline_model_loss_decreases(tmp_path):
    history = train_on_fixed_batch(BASELINE_CONFIG, str(tmp_path / 'synth'))
    assert set(history[-1]) >= {
        'decode.loss_semseg', 'decode.loss_depth', 'decode.loss_normals',
        'decode.loss_boundary', 'decode.loss_saliency',
        'decode.loss_restoration'
    }
    totals = [
        sum(v for k, v in h.items() if 'loss' in k) for h in history
    ]
    first, last = sum(totals[:3]) / 3, sum(totals[-3:]) / 3
    assert last < 0.7 * first, totals


@pytest.mark.parametrize('config', SMALL_ALLNET_CONFIGS,
                         ids=lambda path: osp.basename(path).split('_')[1])
def test_small_allnet_lowers_every_task_loss(tmp_path, config):
    history = train_on_fixed_batch(config, str(tmp_path / 'synth'))
    keys = [k for k in history[0] if k.startswith('decode.loss_')]
    assert len(keys) == 6  # five tasks and the restoration
    assert 'route.loss_aux' in history[0]
    for key in keys:
        first, last = mean_of(history, key)
        assert last < first, (key, [h[key] for h in history])
