"""Annotation files are checked where they are read (issue 13)."""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import scipy.io
from mmcv.transforms import LoadImageFromFile

from mmallnet.datasets import NYUDMultiTaskDataset
from mmallnet.datasets.annotation_checks import check_labels, check_normals
from mmallnet.datasets.base_multi_task_dataset import read_id_list
from mmallnet.datasets.transforms import (
    LoadMultiTaskAnnotations,
    LoadPascalContextAnnotations,
)
from mmallnet.datasets.transforms.loading import (
    load_depth,
    load_normals,
    load_semseg,
)
from mmallnet.datasets.transforms.pascal_context import (
    load_label_png,
    load_saliency,
)
from mmallnet.testing.normals import random_normals_png
from mmallnet.utils.dense_maps import AnnotationError, encode_normals


def _nyud_results(root, img_id, tasks):
    dirs = dict(semseg=('segmentation', '.png'), depth=('depth', '.npy'),
                normals=('normals', '.png'), boundary=('edge', '.png'))
    results = dict(
        img_id=img_id,
        img_path=osp.join(root, 'images', img_id + '.png'),
        ann_paths={t: osp.join(root, dirs[t][0], img_id + dirs[t][1])
                   for t in tasks})
    return LoadImageFromFile()(results)


def _truncate(path, keep=0.5):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def _write_rgb(path, rgb):
    assert cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


# ---------------------------------------------------------------------------
# normals
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('array, kind', [
    (np.full((3, 4), 128, np.uint8), 'grayscale'),
    (np.full((3, 4, 4), 128, np.uint8), 'RGBA'),
])
def test_normals_png_must_have_3_channels(tmp_path, array, kind):
    path = str(tmp_path / 'n.png')
    cv2.imwrite(path, array)
    message = (f'{path}: normals PNG is {kind} (shape {array.shape}); '
               'expected a 3-channel RGB PNG with R, G, B = x, y, z, v = '
               'round((n + 1) / 2 * 255).')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        load_normals(path)


def test_normals_png_must_be_8_bit(tmp_path):
    path = str(tmp_path / 'n.png')
    cv2.imwrite(path, np.full((3, 4, 3), 32768, np.uint16))
    with pytest.raises(AnnotationError, match='dtype uint16; expected 8-bit'):
        load_normals(path)


def test_unit_normals_with_invalid_pixels_pass(tmp_path):
    # 8-bit unit normals, and zero vectors (coded 128 as encode_normals
    # writes them, or 127) for invalid pixels
    rgb = random_normals_png(np.random.default_rng(0), (6, 8))
    rgb[0, :3] = encode_normals(np.zeros((3, 3)))
    rgb[1, :3] = 127
    path = str(tmp_path / 'n.png')
    _write_rgb(path, rgb)
    normals = load_normals(path)
    np.testing.assert_array_equal(normals, rgb.astype(np.float32) * (
        2.0 / 255.0) - 1.0)
    norms = np.linalg.norm(normals, axis=-1)
    assert norms[0, :3].max() < 0.01 and norms[1, :3].max() < 0.01
    assert np.abs(norms[2:] - 1).max() < 0.01


def test_random_bytes_are_not_normals(tmp_path):
    # what the fixtures used to write: random RGB bytes decode to vectors
    # of norm 0.005 .. 1.73
    rgb = np.random.default_rng(0).integers(0, 256, (24, 32, 3),
                                            dtype=np.uint8)
    n = rgb.astype(np.float32) * (2.0 / 255.0) - 1.0
    norm = np.linalg.norm(n, axis=-1)
    nonzero = norm >= 0.05
    bad = nonzero & ((norm < 0.5) | (norm > 1.5))
    path = str(tmp_path / 'n.png')
    _write_rgb(path, rgb)
    fraction = f'{bad.sum() / nonzero.sum():.1%}'
    with pytest.raises(
            AnnotationError,
            match=f'^{re.escape(path)}: {re.escape(fraction)} of the '
            f'{nonzero.sum()} non-zero normals \\({bad.sum()} px\\) have a '
            r'norm outside \[0.5, 1.5\].*more than the 2% allowed'):
        load_normals(path)
    assert 0.05 < bad.sum() / nonzero.sum() < 0.12
    # the check can be skipped
    np.testing.assert_array_equal(load_normals(path, check=False), n)


def test_normals_bad_fraction_threshold():
    n = np.zeros((10, 10, 3), np.float32)
    n[..., 2] = 1.0
    n[0, :2] = (0.3, 0.0, 0.0)  # 2 of 100 non-zero vectors: allowed
    check_normals(n, 'x.png')
    n[0, 2] = (0.0, 1.6, 0.0)  # 3 of 100: too many
    with pytest.raises(AnnotationError, match=r'^x\.png: 3\.0% of the 100 '
                       r'non-zero normals \(3 px\).*\(e\.g\. 0\.300 at '
                       r'\(0, 0\)\)'):
        check_normals(n, 'x.png')
    n[1:] = 0.0  # 90 invalid pixels are not counted: 3 of 10
    with pytest.raises(AnnotationError, match='30.0% of the 10 non-zero'):
        check_normals(n, 'x.png')
    check_normals(np.zeros((4, 4, 3), np.float32), 'x.png')  # all invalid


def test_nyud_transform_names_normals_file_and_sample(nyud_root):
    results = _nyud_results(nyud_root['root'], '0001', ['normals'])
    path = results['ann_paths']['normals']
    _write_rgb(path, np.full((24, 32, 3), 255, np.uint8))  # norm 1.73
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(path)} \\(sample '0001'\\): "
                       '100.0% of the 768 non-zero normals'):
        LoadMultiTaskAnnotations()(results)


def test_pascal_normals_checked_where_kept(pascal_root):
    root = pascal_root['root']
    sample = pascal_root['samples']['2008_000002']
    path = osp.join(root, 'normals_distill', '2008_000002.png')
    col = sample['split_col']  # left: kept (table), right: masked (sky)
    rgb = sample['normals_png'].copy()
    rgb[:, col:] = 255  # implausible, but masked out
    _write_rgb(path, rgb)
    results = dict(
        img_id='2008_000002', img_shape=(40, 48),
        ann_paths=dict(normals=path),
        context_label_path=osp.join(root, 'pascal-context', 'trainval',
                                    '2008_000002.mat'))
    out = LoadPascalContextAnnotations(['normals'])(dict(results))
    np.testing.assert_allclose(out['gt_normal'], sample['normals'],
                               atol=1e-6)
    rgb[:, :col] = 0  # kept pixels of norm 1.73
    _write_rgb(path, rgb)
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(path)} \\(sample '2008_000002'"
                       r'\): 100\.0% of the 800 non-zero normals'):
        LoadPascalContextAnnotations(['normals'])(dict(results))


# ---------------------------------------------------------------------------
# depth
# ---------------------------------------------------------------------------
def test_integer_depth_hints_at_millimetres(tmp_path):
    path = str(tmp_path / 'd.npy')
    np.save(path, np.array([[0, 1500], [4321, 800]], np.uint16))
    message = (f'{path}: depth has integer dtype uint16 (max 4321); if '
               'these are millimetres, save depth.astype(np.float32) / '
               '1000; expected float depth in metres, 0 = invalid.')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        load_depth(path)


def test_negative_depth_raises(tmp_path):
    path = str(tmp_path / 'd.npy')
    np.save(path, np.array([[1.0, 2.0], [0.0, -0.25]], np.float32))
    message = (f'{path}: 1 depth values are negative (min -0.25, first at '
               '(1, 1)); expected depth in metres >= 0, 0 = invalid.')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        load_depth(path)


@pytest.mark.parametrize('value', [np.nan, np.inf])
def test_non_finite_depth_raises(tmp_path, value):
    path = str(tmp_path / 'd.npy')
    np.save(path, np.array([[1.0, 2.0], [value, value]], np.float32))
    with pytest.raises(AnnotationError,
                       match=f'^{re.escape(path)}: 2 depth values are NaN or '
                       r'infinite \(first at \(1, 0\)\); .*0 = invalid'):
        load_depth(path)


def test_depth_above_max_depth_raises(tmp_path):
    path = str(tmp_path / 'd.npy')
    depth = np.array([[0.0, 850.0], [4500.0, 1200.0]], np.float32)  # mm
    np.save(path, depth)
    with pytest.raises(AnnotationError,
                       match=f'^{re.escape(path)}: depth reaches 4500, above '
                       r'max_depth=100 m .*LoadMultiTaskAnnotations\(max_'
                       r'depth=\.\.\.\).*millimetres: divide by 1000\.$'):
        load_depth(path)
    np.testing.assert_array_equal(load_depth(path, max_depth=None), depth)
    # metres, 0 = invalid, float64 and (1, H, W) are fine
    np.save(path, (depth / 1000).astype(np.float64)[None])
    out = load_depth(path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, (depth / 1000).astype(np.float32))


def test_transform_max_depth_and_sample_id(nyud_root):
    # the fixture depth is U(0.5, 9) m
    results = _nyud_results(nyud_root['root'], '0002', ['depth'])
    path = results['ann_paths']['depth']
    depth = nyud_root['samples']['0002']['depth']
    out = LoadMultiTaskAnnotations()(dict(results))
    np.testing.assert_array_equal(out['gt_depth'], depth)
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(path)} \\(sample '0002'\\): depth "
                       f'reaches {float(depth.max()):g}, above max_depth=5 '
                       'm'):
        LoadMultiTaskAnnotations(max_depth=5.0)(dict(results))
    with pytest.raises(ValueError, match='max_depth must be positive'):
        LoadMultiTaskAnnotations(max_depth=0)


def test_truncated_npy_names_the_file(nyud_root):
    results = _nyud_results(nyud_root['root'], '0003', ['depth'])
    path = results['ann_paths']['depth']
    _truncate(path)
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(path)} \\(sample '0003'\\): numpy "
                       'could not read the file .*expected a complete .npy'):
        LoadMultiTaskAnnotations()(results)
    np.savez(path[:-4] + '.npz', depth=np.ones((2, 2)))
    os.replace(path[:-4] + '.npz', path)
    with pytest.raises(AnnotationError, match='is an .npz archive'):
        load_depth(path)


# ---------------------------------------------------------------------------
# truncated image files
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('task', ['semseg', 'normals', 'boundary'])
def test_truncated_png_names_file_and_sample(nyud_root, task):
    results = _nyud_results(nyud_root['root'], '0000', [task])
    path = results['ann_paths'][task]
    _truncate(path)
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(path)} \\(sample '0000'\\): OpenCV "
                       r'could not decode the file \(\d+ bytes; truncated'):
        LoadMultiTaskAnnotations()(results)


def test_truncated_pascal_files_name_the_file(pascal_root):
    root = pascal_root['root']
    label = osp.join(root, 'semseg', 'VOC12', '2008_000002.png')
    sal = osp.join(root, 'sal_distill', '2008_000002.png')
    for path in (label, sal):
        _truncate(path)
    with pytest.raises(AnnotationError, match=f'^{re.escape(label)}: Could '
                       'not decode label image'):
        load_label_png(label)
    with pytest.raises(AnnotationError, match=f'^{re.escape(sal)}: OpenCV '
                       'could not decode'):
        load_saliency(sal)
    mat = osp.join(root, 'human_parts', '2008_000002.mat')
    _truncate(mat)
    results = dict(img_id='2008_000002', img_shape=(40, 48),
                   ann_paths=dict(parts=mat))
    with pytest.raises(AnnotationError,
                       match=f"^{re.escape(mat)} \\(sample '2008_000002'\\): "
                       'Could not read MATLAB file'):
        LoadPascalContextAnnotations(['parts'])(results)


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------
def test_nyud_semseg_label_above_class_count(nyud_root):
    root = nyud_root['root']
    path = osp.join(root, 'segmentation', '0004.png')
    label = np.full((24, 32), 40, np.uint8)  # stored 40 = class 39: valid
    label[0, 0] = 0  # unlabelled
    label[2, 5:7] = 41
    label[3, 1] = 200
    cv2.imwrite(path, label)
    dataset = NYUDMultiTaskDataset(
        data_root=root, split='val', tasks=['semseg'],
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadMultiTaskAnnotations')])
    assert dataset.get_data_info(1)['num_classes'] == 40
    message = (f"{path} (sample '0004'): semseg labels [40, 199] (stored "
               'values [41, 200], reduce_zero_label: stored k -> label k - '
               '1) in 3 px (first at (2, 5)) are outside the 40 classes; '
               'expected 0..39 or 255 (ignore).')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        dataset[1]
    # an explicit class count wins over the dataset's
    results = _nyud_results(root, '0004', ['semseg'])
    results['num_classes'] = 40
    with pytest.raises(AnnotationError, match=r'outside the 10 classes'):
        LoadMultiTaskAnnotations(num_classes=10)(dict(results))
    label[label > 40] = 255
    cv2.imwrite(path, label)
    assert dataset[1]['gt_seg_map'][0, 0] == 255


def test_semseg_without_class_count_is_not_checked(tmp_path):
    path = str(tmp_path / 's.png')
    cv2.imwrite(path, np.array([[0, 90]], np.uint8))
    np.testing.assert_array_equal(load_semseg(path, False), [[0, 90]])
    with pytest.raises(AnnotationError, match=r'labels \[90\] in 1 px'):
        load_semseg(path, False, num_classes=21)


def test_parts_label_above_class_count(tmp_path):
    path = str(tmp_path / 'p.png')
    cv2.imwrite(path, np.array([[0, 6], [7, 255]], np.uint8))
    results = dict(img_id='7', img_shape=(2, 2), ann_paths=dict(parts=path))
    message = (f"{path} (sample '7'): parts labels [7] in 1 px (first at "
               '(1, 0)) are outside the 7 classes; expected 0..6 or 255 '
               '(ignore).')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        LoadMultiTaskAnnotations()(dict(results))
    out = LoadMultiTaskAnnotations(num_parts_classes=8)(dict(results))
    np.testing.assert_array_equal(out['gt_parts'], [[0, 6], [7, 255]])


def test_pascal_labels_name_file_sample_and_class_count(pascal_root):
    root = pascal_root['root']
    path = osp.join(root, 'semseg', 'pascal-context', '2008_000003.png')
    label = np.zeros((40, 48), np.uint8)
    label[1, 2] = 30
    cv2.imwrite(path, label)
    results = dict(img_id='2008_000003', img_shape=(40, 48),
                   ann_paths=dict(semseg=path))
    message = (f"{path} (sample '2008_000003'): semseg labels [30] in 1 px "
               '(first at (1, 2)) are outside the 21 classes; expected '
               '0..20 or 255 (ignore).')
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        LoadPascalContextAnnotations(['semseg'])(dict(results))
    # parts built with a custom table beyond the class count
    mat = osp.join(root, 'human_parts', '2008_000002.mat')
    results = dict(img_id='2008_000002', img_shape=(40, 48),
                   ann_paths=dict(parts=mat))
    with pytest.raises(AnnotationError, match=r'parts labels \[2, 3, 4, 5, '
                       r'6\] .*outside the 2 classes'):
        LoadPascalContextAnnotations(['parts'],
                                     num_parts_classes=2)(dict(results))


def test_check_labels_lists_at_most_ten_values():
    label = np.arange(30, dtype=np.uint8).reshape(5, 6)
    with pytest.raises(AnnotationError,
                       match=r'^l\.png: semseg labels \[10, 11, 12, 13, 14, '
                       r'15, 16, 17, 18, 19\] and 10 more in 20 px \(first '
                       r'at \(1, 4\)\)'):
        check_labels(label, 'l.png', 10)


# ---------------------------------------------------------------------------
# split lists
# ---------------------------------------------------------------------------
def test_duplicate_id_in_split_list(tmp_path):
    path = str(tmp_path / 'train.txt')
    with open(path, 'w') as f:
        f.write('0001\n0002\n\n 0003\n0002 \n0001\n')
    message = (f"{path}: NYUDMultiTaskDataset: id '0002' is listed twice, "
               "on lines 2 and 5 (split='train'); expected each id once.")
    with pytest.raises(AnnotationError, match=f'^{re.escape(message)}$'):
        read_id_list(path, 'NYUDMultiTaskDataset', 'train')
    with open(path, 'w') as f:
        f.write('0001\n\n0002\n')
    assert read_id_list(path, 'X', 'train') == ['0001', '0002']


def test_dataset_with_duplicate_id_raises(nyud_root):
    path = osp.join(nyud_root['root'], 'gt_sets', 'val.txt')
    with open(path, 'a') as f:
        f.write('0003\n')
    with pytest.raises(AnnotationError, match=f"^{re.escape(path)}: "
                       "NYUDMultiTaskDataset: id '0003' is listed twice, on "
                       'lines 1 and 3'):
        NYUDMultiTaskDataset(data_root=nyud_root['root'], split='val')


def test_annotation_error_is_a_value_error_and_pickles():
    import pickle
    err = AnnotationError('a.png', 'bad.', sample_id='7')
    assert isinstance(err, ValueError)
    assert str(err) == "a.png (sample '7'): bad."
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is AnnotationError and str(again) == str(err)


def test_malformed_mat_is_an_annotation_error(tmp_path):
    path = str(tmp_path / 'l.mat')
    scipy.io.savemat(path, {'LabelMap': np.zeros((4, 4), np.uint16)})
    _truncate(path, 0.3)
    results = dict(img_id='x', img_shape=(4, 4),
                   ann_paths=dict(boundary=path))
    with pytest.raises(AnnotationError, match=f"^{re.escape(path)} \\(sample "
                       "'x'\\): Could not read MATLAB file"):
        LoadPascalContextAnnotations(['boundary'])(results)
