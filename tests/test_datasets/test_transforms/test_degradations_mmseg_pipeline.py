"""The degradations in stock MMSeg pipelines (ADE20K layout, no depth)."""
import copy
import json
import shutil

import numpy as np
import pytest
from mmseg.registry import DATASETS, TRANSFORMS

import mmallnet.datasets.transforms.degradations as D
from mmallnet.datasets.transforms import AddImageId, image_id_from_path
from mmallnet.testing.ade20k import write_ade20k

META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'degradation_type', 'degradation_params')
DEGRADATIONS = [
    dict(type='GaussianNoise'),
    dict(type='RainStreaks'),
    dict(type='Fog'),
    dict(type='MotionBlur'),
    dict(type='RandomDegradation', degradations=['noise', 'fog']),
]
IDS = ['noise', 'rain', 'fog', 'blur', 'random']


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    return write_ade20k(str(tmp_path_factory.mktemp('ade') / 'ADE'))


def ade_dataset(root, degradation=None, meta_keys=META_KEYS, img_dir=None):
    """ADE20KDataset with a stock test pipeline, the degradation inserted
    after the loading (and AddImageId before it when ``img_dir``)."""
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    if img_dir is not None:
        pipeline.append(dict(type='AddImageId', img_dir=img_dir))
    if degradation is not None:
        pipeline.append(degradation)
    pipeline += [
        dict(type='Resize', scale=(96, 64), keep_ratio=True),
        dict(type='PackSegInputs', meta_keys=meta_keys)
    ]
    return DATASETS.build(
        dict(type='ADE20KDataset', data_root=root,
             data_prefix=dict(img_path='images/validation',
                              seg_map_path='annotations/validation'),
             pipeline=pipeline))


@pytest.mark.parametrize('degradation', DEGRADATIONS, ids=IDS)
def test_degradation_in_stock_pipeline(ade, degradation):
    clean = ade_dataset(ade['root'])
    degraded = ade_dataset(ade['root'], degradation)
    again = ade_dataset(ade['root'], copy.deepcopy(degradation))
    for index in range(len(clean)):
        ref, out = clean[index], degraded[index]
        meta = out['data_samples'].metainfo
        assert meta['degradation_type'] in ('noise', 'rain', 'fog', 'blur')
        json.dumps(meta['degradation_params'])
        assert meta['degradation_params']['seed'] >= 0
        # the image is degraded before Resize, the labels are untouched
        assert out['inputs'].shape == ref['inputs'].shape == (3, 64, 96)
        assert not np.array_equal(out['inputs'], ref['inputs'])
        np.testing.assert_array_equal(out['data_samples'].gt_sem_seg.data,
                                      ref['data_samples'].gt_sem_seg.data)
        assert meta['reduce_zero_label'] is True
        # seeded per image: the same on every build
        np.testing.assert_array_equal(out['inputs'], again[index]['inputs'])


def test_default_meta_keys_drop_the_degradation(ade):
    """PackSegInputs keeps only its meta_keys: list the degradation keys."""
    meta = ade_dataset(ade['root'], dict(type='GaussianNoise'),
                       meta_keys=('img_path', ))[0]['data_samples'].metainfo
    assert 'degradation_type' not in meta
    meta = ade_dataset(ade['root'],
                       dict(type='CleanImage'))[0]['data_samples'].metainfo
    assert meta['degradation_type'] == 'clean'
    assert meta['degradation_params'] == {}


def test_fog_without_depth_uses_the_prior(ade):
    """No depth in a stock pipeline: fog uses depth_prior (far at the top)."""
    load = [TRANSFORMS.build(dict(type='LoadImageFromFile')),
            TRANSFORMS.build(dict(type='LoadAnnotations'))]
    dataset = ade_dataset(ade['root'])
    fog = D.Fog(seed=0)
    for index in range(len(dataset)):
        results = dataset.get_data_info(index)
        for t in load:
            results = t(results)
        assert 'gt_depth' not in results
        img = results['img'].copy()
        results = fog(results)
        params = results['degradation_params']
        assert params['depth_source'] == 'prior'
        h, w = img.shape[:2]
        expected = D.add_fog(img, D.depth_prior(h, w), params['beta'],
                             params['airlight'])
        np.testing.assert_array_equal(results['img'], expected)
        np.testing.assert_array_equal(results['gt_clean_img'], img)
        # more fog at the top (far) than at the bottom (near)
        haze = np.abs(results['img'].astype(float) - img).mean(axis=(1, 2))
        assert haze[0] > haze[-1]


def test_image_id_seeds_independently_of_the_location(ade, tmp_path):
    moved = str(tmp_path / 'elsewhere' / 'ADE')
    shutil.copytree(ade['root'], moved)
    noise = dict(type='GaussianNoise', sigmas=25)

    def inputs(root, img_dir):
        return ade_dataset(root, noise, img_dir=img_dir)[0]['inputs']

    # keyed by the path string: other images once the dataset moves
    assert not np.array_equal(inputs(ade['root'], None),
                              inputs(moved, None))
    # keyed by the dataset-relative id: the same images
    np.testing.assert_array_equal(
        inputs(ade['root'], ade['root'] + '/images/validation'),
        inputs(moved, moved + '/images/validation'))


def test_image_id_from_path():
    assert image_id_from_path('/d/img/val/a_1.jpg', '/d/img/val') == 'a_1'
    assert image_id_from_path('/d/img/val/city/b.x.png', '/d/img/val/') == \
        'city/b.x'
    assert image_id_from_path('rel/a.jpg') == 'rel/a'
    with pytest.raises(ValueError, match='not inside the image folder'):
        image_id_from_path('/d/other/a.jpg', '/d/img')
    t = AddImageId(img_dir='/d')
    assert t(dict(img_path='/d/x.jpg'))['img_id'] == 'x'
    assert t(dict(img_path='/d/x.jpg', img_id='keep'))['img_id'] == 'keep'
    with pytest.raises(KeyError, match='img_path'):
        t(dict())


def test_float_image_names_the_fix():
    with pytest.raises(TypeError, match='without to_float32=True'):
        D.GaussianNoise()(dict(img=np.zeros((4, 4, 3), np.float32),
                               img_id='a'))
