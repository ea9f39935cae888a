"""The degraded_root / degradation dataset option (attach_degraded_copy)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmallnet.datasets import NYUDMultiTaskDataset

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='LoadDegradedImage'),
    dict(type='PackMultiTaskInputs'),
]


def test_dataset_option_loads_the_stored_copy(nyud_copy):
    dataset = NYUDMultiTaskDataset(
        data_root=nyud_copy['root'], split='val', tasks=['semseg', 'depth'],
        degraded_root=nyud_copy['out'], degradation='noise_25',
        pipeline=PIPELINE)
    assert len(dataset) == 2
    for index, img_id in enumerate(('0003', '0004')):
        info = dataset.get_data_info(index)
        assert info['degraded_img_path'] == osp.join(
            nyud_copy['out'], 'noise_25', 'images', f'{img_id}.png')
        packed = dataset[index]
        sample = packed['data_samples']
        stored = cv2.imread(info['degraded_img_path'])  # BGR, as loaded
        np.testing.assert_array_equal(packed['inputs'].numpy(),
                                      stored.transpose(2, 0, 1))
        clean_bgr = nyud_copy['samples'][img_id]['img'][..., ::-1]
        np.testing.assert_array_equal(sample.gt_clean_img.data.numpy(),
                                      clean_bgr.transpose(2, 0, 1))
        assert sample.degradation_type == 'noise_25'
        assert sample.degradation_params == nyud_copy['manifest']['images'][
            'noise_25'][img_id]['degradation_params']
        assert sample.degradation_params == {'sigma': 25.0, 'seed': 0}
        assert sample.gt_sem_seg.shape == stored.shape[:2]


def test_dataset_option_errors(nyud_copy):
    kwargs = dict(data_root=nyud_copy['root'], tasks=['depth'],
                  degraded_root=nyud_copy['out'])
    # the copy holds the val ids only
    with pytest.raises(KeyError, match=r"3 of 3 ids are missing from set "
                       r"'fog'.*\['0000', '0001', '0002'\]"):
        NYUDMultiTaskDataset(split='train', degradation='fog', **kwargs)
    with pytest.raises(KeyError, match=r"'snow' is not a set.*noise_15"):
        NYUDMultiTaskDataset(split='val', degradation='snow', **kwargs)
    with pytest.raises(ValueError, match='both `degraded_root`'):
        NYUDMultiTaskDataset(data_root=nyud_copy['root'], split='val',
                             degradation='fog')
    with pytest.raises(FileNotFoundError, match='No degraded benchmark'):
        NYUDMultiTaskDataset(
            data_root=nyud_copy['root'], split='val', degradation='fog',
            degraded_root=osp.join(nyud_copy['out'], 'nowhere'))
    # an id recorded but not in the copy's manifest any more
    path = osp.join(nyud_copy['out'], 'manifest.json')
    with open(path) as f:
        manifest = json.load(f)
    del manifest['images']['rain']['0004']
    with open(path, 'w') as f:
        json.dump(manifest, f)
    with pytest.raises(KeyError, match=r"1 of 2 ids.*'rain'.*\['0004'\]"):
        NYUDMultiTaskDataset(split='val', degradation='rain', **kwargs)
    # a recorded image file that was deleted
    os.remove(osp.join(nyud_copy['out'], 'blur', 'images', '0003.png'))
    with pytest.raises(FileNotFoundError, match='0003.png'):
        NYUDMultiTaskDataset(split='val', degradation='blur', **kwargs)
