"""The demo config's model learns: a short run on a fixed batch lowers loss."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS, MODELS

from mmallnet.datasets.synthscenes_generator import generate_synthscenes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'mtl_baseline',
                       'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')


def test_demo_model_loss_decreases(tmp_path):
    root = str(tmp_path / 'synthscenes')
    generate_synthscenes(root, num_train=4, num_val=1, height=48, width=64,
                         progress=False)
    cfg = Config.fromfile(DEMO_CONFIG)
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
        totals = []
        for _ in range(25):
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
            total = sum(v for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            totals.append(total.item())
    finally:
        torch.set_num_threads(threads)
    assert set(losses) >= {
        'decode.loss_semseg', 'decode.loss_depth', 'decode.loss_normals',
        'decode.loss_boundary', 'decode.loss_saliency',
        'decode.loss_restoration'
    }
    first, last = sum(totals[:3]) / 3, sum(totals[-3:]) / 3
    assert last < 0.7 * first, totals
