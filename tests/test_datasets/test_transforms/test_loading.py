import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from mmallnet.datasets.transforms import LoadMultiTaskAnnotations
from mmallnet.datasets.transforms.loading import load_normals, load_semseg


def _results(root, img_id, tasks):
    dirs = dict(semseg=('segmentation', '.png'), depth=('depth', '.npy'),
                normals=('normals', '.png'), boundary=('edge', '.png'),
                saliency=('saliency', '.png'))
    results = dict(
        img_path=osp.join(root, 'images', img_id + '.png'),
        ann_paths={t: osp.join(root, dirs[t][0], img_id + dirs[t][1])
                   for t in tasks})
    return LoadImageFromFile()(results)


def test_load_all_nyud_formats(nyud_root):
    root, sample = nyud_root['root'], nyud_root['samples']['0000']
    tasks = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
    results = LoadMultiTaskAnnotations()(_results(root, '0000', tasks))
    # reduce_zero_label: 0 -> 255, k -> k - 1
    label = sample['label'].astype(np.int64)
    expected = np.where(label == 0, 255, label - 1)
    np.testing.assert_array_equal(results['gt_seg_map'], expected)
    assert results['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(results['gt_depth'], sample['depth'])
    np.testing.assert_allclose(
        results['gt_normal'],
        sample['normals_png'].astype(np.float32) * 2 / 255 - 1, atol=1e-6)
    np.testing.assert_array_equal(results['gt_boundary'],
                                  sample['edge'] // 255)
    np.testing.assert_array_equal(results['gt_saliency'],
                                  sample['saliency'] // 255)
    assert results['seg_fields'] == [
        'gt_seg_map', 'gt_depth', 'gt_normal', 'gt_boundary', 'gt_saliency'
    ]


def test_normals_channel_order(tmp_path):
    # R = x, G = y, B = z; a BGR decoder would swap x and z. The unit
    # normal (0.48, -0.6, 0.64) is coded as round((n + 1) / 2 * 255).
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 189, 51, 209
    path = str(tmp_path / 'n.png')
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    normals = load_normals(path)
    np.testing.assert_allclose(
        normals[0, 0], [189 * 2 / 255 - 1, 51 * 2 / 255 - 1,
                        209 * 2 / 255 - 1], atol=1e-6)


def test_semseg_without_zero_reduction(tmp_path):
    path = str(tmp_path / 's.png')
    cv2.imwrite(path, np.array([[0, 1], [40, 255]], np.uint8))
    np.testing.assert_array_equal(
        load_semseg(path, reduce_zero_label=True), [[255, 0], [39, 255]])
    np.testing.assert_array_equal(
        load_semseg(path, reduce_zero_label=False), [[0, 1], [40, 255]])


def test_missing_file_names_the_path(nyud_root):
    root = nyud_root['root']
    results = _results(root, '0000', ['depth'])
    os.remove(results['ann_paths']['depth'])
    with pytest.raises(FileNotFoundError, match='depth/0000.npy'):
        LoadMultiTaskAnnotations()(results)


def test_size_mismatch_names_file_and_shapes(nyud_root):
    root = nyud_root['root']
    results = _results(root, '0001', ['semseg'])
    cv2.imwrite(results['ann_paths']['semseg'], np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match=r'segmentation/0001.png.*\(10, 10\)'):
        LoadMultiTaskAnnotations()(results)


def test_unknown_task_is_rejected():
    with pytest.raises(KeyError, match="'edges'.*LoadMultiTaskAnnotations"):
        LoadMultiTaskAnnotations(tasks=['edges'])


def test_task_without_annotation_file(nyud_root):
    results = _results(nyud_root['root'], '0000', ['semseg'])
    with pytest.raises(KeyError, match="'depth' has no annotation file"):
        LoadMultiTaskAnnotations(tasks=['semseg', 'depth'])(results)


def test_parts_labels_are_not_shifted(tmp_path):
    path = str(tmp_path / 'p.png')
    cv2.imwrite(path, np.array([[0, 1], [6, 255]], np.uint8))
    results = dict(img_shape=(2, 2), ann_paths=dict(parts=path),
                   reduce_zero_label=True)
    results = LoadMultiTaskAnnotations()(results)
    np.testing.assert_array_equal(results['gt_parts'], [[0, 1], [6, 255]])
    assert results['seg_fields'] == ['gt_parts']
