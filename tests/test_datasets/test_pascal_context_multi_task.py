import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from torch.utils.data import DataLoader

from mmallnet.datasets import PascalContextMultiTaskDataset
from mmallnet.datasets.transforms import LoadPascalContextAnnotations
from mmallnet.structures import MultiTaskDataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets',
                       'pascal_context_multi_task.py')
TASKS = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPascalContextAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def _ids(dataset):
    return [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]


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
