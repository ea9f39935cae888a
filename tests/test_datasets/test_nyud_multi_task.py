import os
import os.path as osp

import numpy as np
import pytest

from mmallnet.datasets import NYUDMultiTaskDataset
from mmallnet.structures import MultiTaskDataSample

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def test_split_lists_and_paths(nyud_root):
    train = NYUDMultiTaskDataset(data_root=nyud_root['root'], split='train')
    val = NYUDMultiTaskDataset(data_root=nyud_root['root'], split='val')
    assert len(train) == 3 and len(val) == 2
    info = val.get_data_info(0)
    assert info['img_id'] == '0003'
    assert info['img_path'].endswith(osp.join('images', '0003.png'))
    assert sorted(info['ann_paths']) == [
        'boundary', 'depth', 'normals', 'semseg'
    ]
    assert info['ann_paths']['boundary'].endswith(
        osp.join('edge', '0003.png'))
    assert len(train.metainfo['classes']) == 40


def test_pipeline_gives_all_targets(nyud_root):
    dataset = NYUDMultiTaskDataset(
        data_root=nyud_root['root'],
        split='val',
        tasks=['semseg', 'depth', 'normals', 'boundary', 'saliency'],
        pipeline=PIPELINE)
    item = dataset[1]
    sample = item['data_samples']
    assert isinstance(sample, MultiTaskDataSample)
    raw = nyud_root['samples']['0004']
    np.testing.assert_array_equal(
        item['inputs'].numpy().transpose(1, 2, 0), raw['img'][..., ::-1])
    np.testing.assert_array_equal(sample.gt_depth.data[0].numpy(),
                                  raw['depth'])
    np.testing.assert_array_equal(sample.gt_saliency.data[0].numpy(),
                                  raw['saliency'] // 255)
    assert sample.img_id == '0004'


def test_unknown_task_names_the_key(nyud_root):
    with pytest.raises(KeyError, match=r"'sal'.*NYUDMultiTaskDataset.tasks"):
        NYUDMultiTaskDataset(data_root=nyud_root['root'], tasks=['sal'])


def test_missing_file_names_the_file(nyud_root):
    os.remove(osp.join(nyud_root['root'], 'normals', '0001.png'))
    with pytest.raises(FileNotFoundError, match=r'normals/0001.png'):
        NYUDMultiTaskDataset(data_root=nyud_root['root'], split='train')


def test_missing_split_file(nyud_root):
    with pytest.raises(FileNotFoundError, match=r'gt_sets/test.txt'):
        NYUDMultiTaskDataset(data_root=nyud_root['root'], split='test')
