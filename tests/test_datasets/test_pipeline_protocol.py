"""The base dataset configs follow the multi-task data protocol.

Training: scale s ~ U(0.5, 2) (bilinear image, nearest labels, depth / s),
random crop (cat_max_ratio 0.75), flip (normals' x negated), photometric
distortion, degradation, pack; normalise and pad happen in the data
preprocessor. Test: no geometric transform at all.
"""
import os.path as osp
import random

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.config import Config

from mmallnet.datasets import NYUDMultiTaskDataset
from mmallnet.datasets.transforms import MultiTaskRandomResize

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = osp.join(REPO, 'configs', '_base_', 'datasets')

#: config -> (annotation loader, extra step after the flip, crop size)
CONFIGS = {
    'nyud_multi_task.py': ('LoadMultiTaskAnnotations', (), (448, 576)),
    'pascal_context_multi_task.py':
    ('LoadPascalContextAnnotations', ('IgnoreEmptyParts', ), (512, 512)),
    'synthscenes.py': ('LoadMultiTaskAnnotations', (), (96, 128)),
}
GEOMETRIC = {'Resize', 'RandomResize', 'RandomCrop', 'RandomFlip', 'Pad',
             'MultiTaskRandomResize', 'MultiTaskRandomCrop',
             'MultiTaskRandomFlip', 'MultiTaskPad', 'RandomRotate'}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_train_pipeline_order(name):
    loader, extra, crop_size = CONFIGS[name]
    cfg = Config.fromfile(osp.join(DATASETS, name))
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == [
        'LoadImageFromFile', loader, 'MultiTaskRandomResize',
        'MultiTaskRandomCrop', 'MultiTaskRandomFlip', *extra,
        'PhotoMetricDistortion', 'RandomDegradation', 'PackMultiTaskInputs'
    ]
    steps = {t.type: t for t in pipeline}
    assert tuple(steps['MultiTaskRandomResize'].ratio_range) == (0.5, 2.0)
    assert steps['MultiTaskRandomCrop'].cat_max_ratio == 0.75
    assert tuple(steps['MultiTaskRandomCrop'].crop_size) == crop_size
    assert steps['MultiTaskRandomFlip'].get('prob', 0.5) == 0.5
    assert steps['MultiTaskRandomFlip'].get('direction',
                                            'horizontal') == 'horizontal'
    # a fresh degradation per training sample
    assert steps['RandomDegradation'].seed is None


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_test_pipeline_has_no_geometric_transform(name):
    loader, _, _ = CONFIGS[name]
    cfg = Config.fromfile(osp.join(DATASETS, name))
    for loader_cfg in (cfg.val_dataloader, cfg.test_dataloader):
        types = [t.type for t in loader_cfg.dataset.pipeline]
        assert types == ['LoadImageFromFile', loader, 'RandomDegradation',
                         'PackMultiTaskInputs']
        assert not GEOMETRIC & set(types)
        assert loader_cfg.batch_size == 1


def test_resize_divides_depth_by_s_exactly():
    depth = np.array([[1.0, 2.0], [4.0, 8.0]], np.float32)
    labels = np.array([[0, 1], [2, 3]], np.uint8)
    results = dict(
        img=np.zeros((2, 2, 3), np.uint8), gt_depth=depth.copy(),
        gt_seg_map=labels.copy(), seg_fields=['gt_depth', 'gt_seg_map'])
    up = MultiTaskRandomResize.rescale(results, 2.0)
    # nearest: every pixel becomes a 2x2 block; depth halves
    np.testing.assert_array_equal(
        up['gt_depth'],
        np.array([[0.5, 0.5, 1.0, 1.0], [0.5, 0.5, 1.0, 1.0],
                  [2.0, 2.0, 4.0, 4.0], [2.0, 2.0, 4.0, 4.0]], np.float32))
    np.testing.assert_array_equal(up['gt_seg_map'],
                                  labels.repeat(2, 0).repeat(2, 1))
    assert up['gt_depth'].dtype == np.float32
    assert up['img_shape'] == (4, 4) and up['scale_factor'] == (2.0, 2.0)
    down = MultiTaskRandomResize.rescale(up, 0.5)
    np.testing.assert_array_equal(down['gt_depth'], depth)  # back again
    # the transform applies the s it draws
    np.random.seed(0)
    s = np.random.uniform(0.5, 2.0)
    np.random.seed(0)
    out = MultiTaskRandomResize((0.5, 2.0))(
        dict(img=np.zeros((40, 40, 3), np.uint8),
             gt_depth=np.full((40, 40), 3.0, np.float32),
             seg_fields=['gt_depth']))
    assert out['img_shape'] == (round(40 * s), ) * 2
    np.testing.assert_array_equal(out['gt_depth'],
                                  np.float32(3.0) / np.float32(s))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def test_nyud_train_pipeline_runs_in_order(nyud_root):
    """Photometric distortion before the degradation: the clean target is
    the distorted image, and the degraded input is uint8."""
    cfg = Config.fromfile(osp.join(DATASETS, 'nyud_multi_task.py'))
    pipeline = cfg.train_dataloader.dataset.pipeline
    dataset = NYUDMultiTaskDataset(data_root=nyud_root['root'],
                                   split='train', pipeline=[])
    for index in range(3):
        seed_everything(index)
        distorted = Compose(pipeline[:-2])(dataset.get_data_info(index))
        seed_everything(index)
        results = Compose(pipeline[:-1])(dataset.get_data_info(index))
        np.testing.assert_array_equal(results['gt_clean_img'],
                                      distorted['img'])
        h, w = results['img'].shape[:2]
        assert results['img'].dtype == np.uint8
        assert results['gt_clean_img'].shape == (h, w, 3)
        for key in ('gt_seg_map', 'gt_depth', 'gt_normal', 'gt_boundary'):
            assert results[key].shape[:2] == (h, w), key
        assert results['degradation_type'] in ('noise', 'rain', 'fog',
                                               'blur')
        # the raw depth lies in [0.5, 9] m; after / s in [0.25, 18]
        depth = results['gt_depth']
        s = results['scale_factor'][0]
        assert depth.min() >= 0.5 / s - 0.1 and depth.max() <= 9.0 / s + 0.1
