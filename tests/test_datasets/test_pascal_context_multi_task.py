import os
import os.path as osp

import cv2
import numpy as np
import pytest
import scipy.io
import torch
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader

from mmallnet.datasets import PascalContextMultiTaskDataset
from mmallnet.datasets.transforms import (
    IgnoreEmptyParts,
    LoadPascalContextAnnotations,
)
from mmallnet.datasets.transforms.pascal_context import (
    NORMALS_VALID_CONTEXT_CLASSES,
    context_label_edges,
    load_human_parts,
    thin_binary,
)
from mmallnet.structures import MultiTaskDataSample
from mmallnet.testing import write_pascal_context
from mmallnet.testing.pascal_context import SAMPLE_SPECS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                       'pascal_context_multi_task.py')
TASKS = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPascalContextAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


@pytest.fixture
def pascal_root(tmp_path):
    """The 4-image PASCAL-Context tree of :func:`write_pascal_context`."""
    return write_pascal_context(str(tmp_path / 'PASCALContext'))


def _load(root, img_id, tasks=None):
    dataset = PascalContextMultiTaskDataset(
        data_root=root, split=SAMPLE_SPECS[img_id][0])
    info = next(
        dataset.get_data_info(i) for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == img_id)
    results = LoadImageFromFile()(dict(info))
    return LoadPascalContextAnnotations(tasks)(results)


def _ids(dataset):
    return [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]


def _two_region_edges(shape, split_col):
    """Thinned Laplacian edge of a left/right label map.

    The Laplacian marks columns split_col - 1 and split_col; thinning keeps
    the left column, without its top pixel.
    """
    edges = np.zeros(shape, np.uint8)
    edges[1:, split_col - 1] = 1
    return edges


def test_split_lists_and_paths(pascal_root):
    root = pascal_root['root']
    train = PascalContextMultiTaskDataset(data_root=root, split='train')
    val = PascalContextMultiTaskDataset(data_root=root, split='val')
    assert _ids(train) == ['2008_000002', '2008_000003']
    assert _ids(val) == ['2008_000007', '2008_000008']
    info = train.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'JPEGImages',
                                        '2008_000002.jpg')
    assert sorted(info['ann_paths']) == sorted(TASKS)
    paths = info['ann_paths']
    # VOC12 semseg is preferred when it exists
    assert paths['semseg'] == osp.join(root, 'semseg', 'VOC12',
                                       '2008_000002.png')
    assert train.get_data_info(1)['ann_paths']['semseg'] == osp.join(
        root, 'semseg', 'pascal-context', '2008_000003.png')
    assert paths['parts'] == osp.join(root, 'human_parts', '2008_000002.mat')
    assert paths['saliency'] == osp.join(root, 'sal_distill',
                                         '2008_000002.png')
    assert paths['normals'] == osp.join(root, 'normals_distill',
                                        '2008_000002.png')
    label_path = osp.join(root, 'pascal-context', 'trainval',
                          '2008_000002.mat')
    assert paths['boundary'] == label_path
    assert info['context_label_path'] == label_path
    assert info['reduce_zero_label'] is False

    meta = train.metainfo
    assert len(meta['classes']) == 21 and meta['classes'][15] == 'person'
    assert len(meta['palette']) == 21
    assert meta['palette'][15] == [192, 128, 128]  # VOC person colour
    assert meta['parts_classes'] == ('background', 'head', 'torso', 'uarm',
                                     'larm', 'uleg', 'lleg')
    assert len(meta['parts_palette']) == 7


def test_task_subset(pascal_root):
    dataset = PascalContextMultiTaskDataset(
        data_root=pascal_root['root'], split='val', tasks=['saliency'])
    info = dataset.get_data_info(0)
    assert list(info['ann_paths']) == ['saliency']
    assert 'context_label_path' not in info


def test_normals_whitelist_has_170_ids():
    assert len(NORMALS_VALID_CONTEXT_CLASSES) == 170
    assert NORMALS_VALID_CONTEXT_CLASSES[427] == 'tvmonitor'
    assert 431 not in NORMALS_VALID_CONTEXT_CLASSES  # 'unknown'
    assert 360 not in NORMALS_VALID_CONTEXT_CLASSES  # 'sky'


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


def test_context_label_edges_two_regions():
    label = np.full((8, 10), 360, np.uint16)
    label[:, :4] = 397
    expected = np.zeros((8, 10), np.uint8)
    expected[1:, 3] = 1
    np.testing.assert_array_equal(context_label_edges(label), expected)
    assert not context_label_edges(np.full((5, 5), 7)).any()


def test_thin_binary():
    # the example of skimage.morphology.thin's documentation
    square = np.zeros((7, 7), bool)
    square[1:-1, 2:-2] = 1
    square[0, 1] = 1
    expected = np.zeros((7, 7), np.uint8)
    expected[0, 1] = expected[1, 2] = 1
    expected[2:5, 3] = 1
    np.testing.assert_array_equal(thin_binary(square), expected)
    # a 2-pixel-wide band becomes a single line; thin lines are kept
    band = np.zeros((6, 12), bool)
    band[2:4, 1:11] = 1
    thinned = thin_binary(band)
    assert (thinned <= band).all() and thinned.sum(axis=0).max() == 1
    np.testing.assert_array_equal(thin_binary(thinned), thinned)


def test_pipeline_packs_all_targets(pascal_root):
    root = pascal_root['root']
    dataset = PascalContextMultiTaskDataset(
        data_root=root, split='train', pipeline=PIPELINE)
    item = dataset[0]
    sample = item['data_samples']
    assert isinstance(sample, MultiTaskDataSample)
    raw = pascal_root['samples']['2008_000002']
    jpeg = cv2.imread(osp.join(root, 'JPEGImages', '2008_000002.jpg'))
    np.testing.assert_array_equal(item['inputs'].numpy().transpose(1, 2, 0),
                                  jpeg)
    assert sample.img_id == '2008_000002'
    assert sample.gt_sem_seg.data.dtype == torch.int64
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(),
                                  raw['semseg'])
    np.testing.assert_array_equal(sample.gt_parts.data[0].numpy(),
                                  raw['parts'])
    np.testing.assert_array_equal(sample.gt_saliency.data[0].numpy(),
                                  raw['saliency'])
    assert sample.gt_normal.data.shape == (3, 40, 48)
    np.testing.assert_allclose(sample.gt_normal.data.numpy(),
                               raw['normals'].transpose(2, 0, 1), atol=1e-6)
    assert sample.gt_boundary.data.dtype == torch.float32
    assert sample.gt_boundary.data.sum() == 39


def test_ignore_empty_parts():
    transform = IgnoreEmptyParts()
    only_bg = dict(gt_parts=np.array([[0, 255], [0, 0]], np.uint8))
    np.testing.assert_array_equal(transform(only_bg)['gt_parts'],
                                  np.full((2, 2), 255))
    with_part = np.array([[0, 255], [3, 0]], np.uint8)
    out = transform(dict(gt_parts=with_part.copy()))['gt_parts']
    np.testing.assert_array_equal(out, with_part)
    assert transform(dict(img=1)) == dict(img=1)


def test_unknown_and_unsupported_tasks(pascal_root):
    root = pascal_root['root']
    with pytest.raises(KeyError,
                       match=r"'sal'.*PascalContextMultiTaskDataset.tasks"):
        PascalContextMultiTaskDataset(data_root=root, tasks=['sal'])
    with pytest.raises(KeyError, match=r"'depth'.*supported"):
        PascalContextMultiTaskDataset(data_root=root, tasks=['depth'])
    with pytest.raises(KeyError, match=r"'depth'.*supported"):
        LoadPascalContextAnnotations(tasks=['depth'])


@pytest.mark.parametrize('rel_path', [
    osp.join('normals_distill', '2008_000003.png'),
    osp.join('human_parts', '2008_000003.mat'),
    osp.join('sal_distill', '2008_000003.png'),
    osp.join('pascal-context', 'trainval', '2008_000003.mat'),
    osp.join('JPEGImages', '2008_000003.jpg'),
])
def test_missing_file_names_the_file(pascal_root, rel_path):
    os.remove(osp.join(pascal_root['root'], rel_path))
    with pytest.raises(FileNotFoundError, match=rel_path):
        PascalContextMultiTaskDataset(
            data_root=pascal_root['root'], split='train')


def test_missing_semseg_names_both_candidates(pascal_root):
    os.remove(
        osp.join(pascal_root['root'], 'semseg', 'pascal-context',
                 '2008_000003.png'))
    with pytest.raises(FileNotFoundError) as err:
        PascalContextMultiTaskDataset(
            data_root=pascal_root['root'], split='train')
    msg = str(err.value)
    assert "'2008_000003'" in msg
    assert osp.join('semseg', 'VOC12', '2008_000003.png') in msg
    assert osp.join('semseg', 'pascal-context', '2008_000003.png') in msg


def test_missing_split_file(pascal_root):
    with pytest.raises(FileNotFoundError,
                       match=osp.join('ImageSets', 'Context', 'test.txt')):
        PascalContextMultiTaskDataset(
            data_root=pascal_root['root'], split='test')


def test_file_removed_after_build_names_the_file(pascal_root):
    root = pascal_root['root']
    dataset = PascalContextMultiTaskDataset(
        data_root=root, split='val', pipeline=PIPELINE)
    path = osp.join(root, 'sal_distill', '2008_000007.png')
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=path):
        dataset[0]


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


def test_unknown_part_name_is_an_error(tmp_path):
    mask = np.ones((4, 5), np.uint8)
    parts = np.zeros((1, 1), dtype=[('part_name', 'O'), ('mask', 'O')])
    parts[0, 0] = ('lwing', mask)
    objects = np.zeros((1, 1),
                       dtype=[('class', 'O'), ('class_ind', 'O'),
                              ('mask', 'O'), ('parts', 'O')])
    objects[0, 0] = ('person', np.array([[15.]]), mask, parts)
    path = str(tmp_path / 'x.mat')
    scipy.io.savemat(path, {'anno': {'imname': 'x', 'objects': objects}})
    with pytest.raises(ValueError,
                       match=r"objects\(1\)\.parts\(1\).*'lwing'"):
        load_human_parts(path, (4, 5))
    parts[0, 0] = ('head', mask)
    objects[0, 0] = ('person', np.array([[15.]]), mask, parts)
    scipy.io.savemat(path, {'anno': {'imname': 'x', 'objects': objects}})
    assert (load_human_parts(path, (4, 5)) == 1).all()
    with pytest.raises(ValueError, match=r'Size mismatch.*x\.mat'):
        load_human_parts(path, (8, 5))


def test_semseg_label_out_of_range(pascal_root):
    root = pascal_root['root']
    path = osp.join(root, 'semseg', 'pascal-context', '2008_000003.png')
    label = np.zeros((40, 48), np.uint8)
    label[0, 0] = 21
    cv2.imwrite(path, label)
    with pytest.raises(ValueError, match=r'2008_000003\.png.*\[21\]'):
        _load(root, '2008_000003', ['semseg'])


def _config_dataset(cfg, loader, root):
    dataset_cfg = cfg[loader].dataset.copy()
    dataset_cfg.data_root = root
    return DATASETS.build(dataset_cfg)


def test_base_config_pipelines_run(pascal_root):
    cfg = Config.fromfile(BASE_CONFIG)
    root = pascal_root['root']
    assert cfg.crop_size == (512, 512)
    assert cfg.data_root == 'data/PASCALContext'
    assert cfg.train_dataloader.dataset.tasks == TASKS
    assert cfg.test_evaluator[0].tasks == TASKS
    assert cfg.test_evaluator[0].num_classes == 21
    assert cfg.test_evaluator[1].type == 'BoundarySEISMMetric'

    np.random.seed(0)
    train = _config_dataset(cfg, 'train_dataloader', root)
    assert len(train) == 2
    item = train[0]
    sample = item['data_samples']
    h, w = item['inputs'].shape[1:]
    for field, channels in (('gt_sem_seg', 1), ('gt_parts', 1),
                            ('gt_saliency', 1), ('gt_normal', 3),
                            ('gt_boundary', 1), ('gt_clean_img', 3)):
        assert sample.get(field).data.shape == (channels, h, w), field
    assert sample.degradation_type in ('clean', 'noise', 'rain', 'fog',
                                       'blur')

    test = _config_dataset(cfg, 'test_dataloader', root)
    loader = DataLoader(
        test, batch_size=2, num_workers=0, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert [s.img_id for s in batch['data_samples']] == [
        '2008_000007', '2008_000008'
    ]
    for inputs, sample in zip(batch['inputs'], batch['data_samples']):
        assert inputs.shape == (3, 40, 48)  # no resize at test time
        assert (sample.gt_parts.data == 255).all()
    # the degraded test set is fixed: same degradation on a second pass
    again = test[0]['data_samples']
    assert again.degradation_type == batch['data_samples'][0].\
        degradation_type
    assert again.degradation_params == batch['data_samples'][0].\
        degradation_params
