import numpy as np
import pytest
import torch

from mmallnet.datasets.transforms import PackMultiTaskInputs
from mmallnet.structures import MultiTaskDataSample


def _results():
    rng = np.random.default_rng(1)
    return dict(
        img=rng.integers(0, 256, (6, 7, 3), dtype=np.uint8),
        gt_clean_img=rng.integers(0, 256, (6, 7, 3), dtype=np.uint8),
        gt_seg_map=rng.integers(0, 4, (6, 7)).astype(np.uint8),
        gt_depth=rng.random((6, 7)).astype(np.float32),
        gt_normal=rng.random((6, 7, 3)).astype(np.float32),
        gt_saliency=rng.integers(0, 2, (6, 7)).astype(np.uint8),
        img_id='0003', img_path='x.png', ori_shape=(6, 7), img_shape=(6, 7),
        degradation_type='noise', degradation_params=dict(sigma=25))


def test_pack_types_shapes_and_meta():
    results = _results()
    packed = PackMultiTaskInputs()(dict(results))
    sample = packed['data_samples']
    assert isinstance(sample, MultiTaskDataSample)
    assert packed['inputs'].shape == (3, 6, 7)
    assert packed['inputs'].dtype == torch.uint8
    np.testing.assert_array_equal(packed['inputs'].permute(1, 2, 0).numpy(),
                                  results['img'])
    np.testing.assert_array_equal(
        sample.gt_clean_img.data.permute(1, 2, 0).numpy(),
        results['gt_clean_img'])
    assert sample.gt_sem_seg.data.dtype == torch.int64
    assert sample.gt_sem_seg.data.shape == (1, 6, 7)
    assert sample.gt_depth.data.dtype == torch.float32
    np.testing.assert_array_equal(sample.gt_normal.data.numpy(),
                                  results['gt_normal'].transpose(2, 0, 1))
    assert sample.gt_saliency.data.dtype == torch.int64
    assert 'gt_boundary' not in sample
    assert sample.degradation_type == 'noise'
    assert sample.degradation_params == dict(sigma=25)
    assert sample.img_id == '0003'


def test_pack_without_degradation_uses_img_as_clean():
    results = _results()
    del results['gt_clean_img'], results['degradation_type']
    del results['degradation_params']
    sample = PackMultiTaskInputs()(results)['data_samples']
    np.testing.assert_array_equal(
        sample.gt_clean_img.data.permute(1, 2, 0).numpy(), results['img'])
    assert sample.degradation_type == 'clean'


def test_pack_rejects_mismatched_target():
    results = _results()
    results['gt_depth'] = np.zeros((5, 7), np.float32)
    with pytest.raises(ValueError, match=r"gt_depth.*\(1, 5, 7\)"):
        PackMultiTaskInputs()(results)
