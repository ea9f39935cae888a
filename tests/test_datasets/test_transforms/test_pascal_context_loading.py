"""LoadPascalContextAnnotations: every target of the tiny PASCAL-Context."""
import os.path as osp

import cv2
import numpy as np
import pytest
import scipy.io
from mmcv.transforms import LoadImageFromFile

from mmallnet.datasets import PascalContextMultiTaskDataset
from mmallnet.datasets.transforms import LoadPascalContextAnnotations
from mmallnet.datasets.transforms.pascal_context import load_human_parts
from mmallnet.testing.pascal_context import SAMPLE_SPECS


def _load(root, img_id, tasks=None):
    dataset = PascalContextMultiTaskDataset(
        data_root=root, split=SAMPLE_SPECS[img_id][0])
    info = next(
        dataset.get_data_info(i) for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == img_id)
    results = LoadImageFromFile()(dict(info))
    return LoadPascalContextAnnotations(tasks)(results)


def _two_region_edges(shape, split_col):
    """Thinned Laplacian edge of a left/right label map.

    The Laplacian marks columns split_col - 1 and split_col; thinning keeps
    the left column, without its top pixel.
    """
    edges = np.zeros(shape, np.uint8)
    edges[1:, split_col - 1] = 1
    return edges


@pytest.mark.parametrize('img_id', sorted(SAMPLE_SPECS))
def test_loaded_values(pascal_root, img_id):
    sample = pascal_root['samples'][img_id]
    results = _load(pascal_root['root'], img_id)
    assert results['seg_fields'] == [
        'gt_seg_map', 'gt_parts', 'gt_saliency', 'gt_normal', 'gt_boundary'
    ]
    assert results['reduce_zero_label'] is False

    semseg = results['gt_seg_map']
    assert semseg.dtype == np.uint8
    np.testing.assert_array_equal(semseg, sample['semseg'])
    assert (semseg[:3, :5] == 255).all()  # ignore is kept as 255

    np.testing.assert_array_equal(results['gt_parts'], sample['parts'])

    saliency = results['gt_saliency']
    np.testing.assert_array_equal(saliency, sample['saliency'])
    # stored 127, 128, 0, 255 -> v / 255 > 0.5
    np.testing.assert_array_equal(saliency[0, :4], [0, 1, 0, 1])

    normals = results['gt_normal']
    assert normals.dtype == np.float32 and normals.shape == (40, 48, 3)
    np.testing.assert_allclose(normals, sample['normals'], atol=1e-6)

    boundary = results['gt_boundary']
    assert boundary.dtype == np.uint8
    np.testing.assert_array_equal(
        boundary, _two_region_edges((40, 48), sample['split_col']))


def test_semseg_prefers_voc12_over_context(pascal_root):
    sample = pascal_root['samples']['2008_000002']
    results = _load(pascal_root['root'], '2008_000002', ['semseg'])
    decoy = cv2.imread(
        osp.join(pascal_root['root'], 'semseg', 'pascal-context',
                 '2008_000002.png'), cv2.IMREAD_UNCHANGED)
    assert not np.array_equal(decoy, sample['semseg'])
    np.testing.assert_array_equal(results['gt_seg_map'], sample['semseg'])


def test_human_part_ids(pascal_root):
    parts = _load(pascal_root['root'], '2008_000002', ['parts'])['gt_parts']
    assert parts.dtype == np.uint8
    assert parts[4, 15] == 1  # hair (over head)
    assert parts[7, 15] == 1  # head
    assert parts[12, 20] == 2  # torso
    assert parts[15, 11] == 4  # lhand, painted after torso
    assert parts[11, 8] == 3  # luarm
    assert parts[25, 12] == 5  # ruleg
    assert parts[32, 18] == 6  # lfoot
    assert parts[33, 9] == 0  # inside the person, no part
    assert parts[32, 32] == 0  # cat head: not a person part
    assert parts[1, 44] == 0  # person without parts
    assert parts[39, 0] == 0
    assert set(np.unique(parts)) == {0, 1, 2, 3, 4, 5, 6}
    # images without a person with parts are entirely ignored
    for img_id in ('2008_000003', '2008_000007', '2008_000008'):
        parts = _load(pascal_root['root'], img_id, ['parts'])['gt_parts']
        assert parts.shape == (40, 48) and (parts == 255).all(), img_id


def test_normals_masked_by_context_class(pascal_root):
    root, samples = pascal_root['root'], pascal_root['samples']
    for img_id, valid in (('2008_000002', 'left'), ('2008_000007', 'all'),
                          ('2008_000008', 'none')):
        sample = samples[img_id]
        normals = _load(root, img_id, ['normals'])['gt_normal']
        decoded = sample['normals_png'].astype(np.float32) * 2 / 255 - 1
        col = sample['split_col']
        if valid == 'left':  # table (whitelisted) | sky (not)
            np.testing.assert_allclose(normals[:, :col], decoded[:, :col],
                                       atol=1e-6)
            assert (normals[:, col:] == 0).all()
        elif valid == 'all':  # ceiling | wall
            np.testing.assert_allclose(normals, decoded, atol=1e-6)
        else:  # sky | mountain
            assert (normals == 0).all()


def test_malformed_mat_files_name_file_and_field(pascal_root):
    root = pascal_root['root']
    label_path = osp.join(root, 'pascal-context', 'trainval',
                          '2008_000002.mat')
    scipy.io.savemat(label_path, {'Labels': np.zeros((40, 48), np.uint16)})
    with pytest.raises(KeyError, match=r'2008_000002\.mat.*"LabelMap"'):
        _load(root, '2008_000002', ['boundary'])

    parts_path = osp.join(root, 'human_parts', '2008_000002.mat')
    scipy.io.savemat(parts_path, {'objects': np.zeros((1, 1))})
    with pytest.raises(KeyError, match=r'2008_000002\.mat.*"anno"'):
        _load(root, '2008_000002', ['parts'])

    with open(parts_path, 'wb') as f:
        f.write(b'not a mat file')
    with pytest.raises(ValueError, match='Could not read MATLAB file'):
        load_human_parts(parts_path, (40, 48))


def test_semseg_label_out_of_range(pascal_root):
    root = pascal_root['root']
    path = osp.join(root, 'semseg', 'pascal-context', '2008_000003.png')
    label = np.zeros((40, 48), np.uint8)
    label[0, 0] = 21
    cv2.imwrite(path, label)
    with pytest.raises(ValueError, match=r'2008_000003\.png.*\[21\]'):
        _load(root, '2008_000003', ['semseg'])
