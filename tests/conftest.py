"""Shared fixtures: tiny datasets written in the real on-disk layouts, a
crafted checkpoint."""
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_nyud_sample(root: str, img_id: str, rng: np.random.Generator,
                      height: int = 24, width: int = 32) -> dict:
    """Write one NYUD-layout sample with random content; return its arrays.

    Returns:
        dict: ``img`` (RGB uint8), ``label`` (stored 0..K), ``depth``,
        ``normals_png`` (RGB uint8, unit normals), ``edge`` (0/255),
        ``saliency`` (0/255).
    """
    from mmallnet.testing.normals import random_normals_png
    arrays = dict(
        img=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        label=rng.integers(0, 6, (height, width), dtype=np.uint8),
        depth=rng.uniform(0.5, 9.0, (height, width)).astype(np.float32),
        normals_png=random_normals_png(rng, (height, width)),
        edge=(rng.random((height, width)) < 0.2).astype(np.uint8) * 255,
        saliency=(rng.random((height, width)) < 0.4).astype(np.uint8) * 255)
    cv2.imwrite(
        osp.join(root, 'images', img_id + '.png'),
        cv2.cvtColor(arrays['img'], cv2.COLOR_RGB2BGR))
    cv2.imwrite(
        osp.join(root, 'segmentation', img_id + '.png'), arrays['label'])
    np.save(osp.join(root, 'depth', img_id + '.npy'), arrays['depth'])
    cv2.imwrite(
        osp.join(root, 'normals', img_id + '.png'),
        cv2.cvtColor(arrays['normals_png'], cv2.COLOR_RGB2BGR))
    cv2.imwrite(osp.join(root, 'edge', img_id + '.png'), arrays['edge'])
    cv2.imwrite(
        osp.join(root, 'saliency', img_id + '.png'), arrays['saliency'])
    return arrays


@pytest.fixture
def nyud_root(tmp_path):
    """A 5-image NYUD-v2 multi-task tree (3 train, 2 val)."""
    import os
    root = str(tmp_path / 'NYUDv2')
    for sub in ('images', 'segmentation', 'depth', 'normals', 'edge',
                'saliency', 'gt_sets'):
        os.makedirs(osp.join(root, sub))
    rng = np.random.default_rng(0)
    ids = [f'{i:04d}' for i in range(5)]
    samples = {i: write_nyud_sample(root, i, rng) for i in ids}
    with open(osp.join(root, 'gt_sets', 'train.txt'), 'w') as f:
        f.write('\n'.join(ids[:3]) + '\n')
    with open(osp.join(root, 'gt_sets', 'val.txt'), 'w') as f:
        f.write('\n'.join(ids[3:]) + '\n')
    return dict(root=root, samples=samples, ids=ids)


@pytest.fixture
def single_thread():
    """One intra-op thread: tiny convs gain nothing from more, on a busy
    two-core machine oversubscribed threads make steps 10x slower, and a
    fixed thread count keeps reductions in one order (golden records)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def mmseg_default_scope():
    """Build registry names in MMSeg's scope, as configs do."""
    from mmengine.registry import DefaultScope, init_default_scope
    init_default_scope('mmseg')
    yield
    DefaultScope._instance_dict.clear()


class _RunsCommand:
    """Unpickling this calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


@pytest.fixture
def crafted_checkpoint(tmp_path):
    """A checkpoint-shaped file whose unpickling runs ``touch <marker>``.

    Returns:
        dict: ``path`` of the file and ``marker``, the path the command
        would create.
    """
    marker = tmp_path / 'command-ran'
    path = str(tmp_path / 'crafted.pth')
    torch.save(
        {
            'state_dict': {'weight': torch.zeros(1)},
            'meta': _RunsCommand(f'touch {marker}')
        }, path)
    return dict(path=path, marker=marker)
