"""The inference pipeline (mmallnet/apis/inference_pipeline.py): the test
pipeline without ground truth or degradation, reading files and arrays."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmallnet.apis import build_inference_pipeline
from mmallnet.apis.inference_pipeline import (
    ImageLoader,
    inference_transforms,
    pipeline_input,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASET_CONFIGS = [
    'synthscenes', 'synthscenes_degraded_benchmark', 'nyud_multi_task',
    'nyud_multi_task_degraded_benchmark', 'pascal_context_multi_task',
    'pascal_context_multi_task_degraded_benchmark'
]


def dataset_config(name: str) -> Config:
    return Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', name + '.py'))


@pytest.mark.parametrize('name', DATASET_CONFIGS)
def test_every_test_pipeline_keeps_loading_and_packing(name):
    pipeline = dataset_config(name).test_dataloader.dataset.pipeline
    transforms = inference_transforms(pipeline)
    assert isinstance(transforms[0], ImageLoader)
    assert [t['type'] for t in transforms[1:]] == ['PackMultiTaskInputs']


def test_other_transforms_stay_in_order():
    pipeline = [
        dict(type='LoadImageFromFile', imdecode_backend='cv2'),
        dict(type='LoadAnnotations'),
        dict(type='LoadDepthAnnotation'),
        dict(type='MultiTaskPad', size=(64, 64)),
        dict(type='GaussianNoise', sigmas=(15, )),
        dict(type='IgnoreEmptyParts'),
        dict(type='PackMultiTaskInputs'),
    ]
    transforms = inference_transforms(pipeline)
    assert [t['type'] for t in transforms[1:]] == [
        'MultiTaskPad', 'IgnoreEmptyParts', 'PackMultiTaskInputs'
    ]
    # the config is not changed
    assert pipeline[1] == dict(type='LoadAnnotations')


def test_a_pipeline_without_image_loader_is_refused():
    with pytest.raises(ValueError, match='no LoadImageFromFile'):
        inference_transforms([dict(type='PackMultiTaskInputs')])
    with pytest.raises(KeyError, match='NoSuchTransform'):
        inference_transforms([dict(type='NoSuchTransform')])
    with pytest.raises(KeyError, match='test_dataloader.dataset.pipeline'):
        build_inference_pipeline(Config(dict(model=dict())))


def test_loader_options_apply_to_files_and_arrays(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (6, 7, 3), np.uint8)
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, img)
    loader = ImageLoader(dict(type='LoadImageFromFile', to_float32=True))
    from_file = loader(pipeline_input(path, 'a'))
    from_array = loader(pipeline_input(img))
    for results in (from_file, from_array):
        assert results['img'].dtype == np.float32
        np.testing.assert_array_equal(results['img'], img)
        assert results['ori_shape'] == (6, 7)
    assert from_file['img_id'] == 'a' and from_file['img_path'] == path


def test_packed_sample_holds_the_image_and_no_targets(tmp_path):
    img = np.random.default_rng(1).integers(0, 256, (6, 7, 3), np.uint8)
    pipeline = build_inference_pipeline(dataset_config('synthscenes'))
    packed = pipeline(pipeline_input(img, 'x'))
    np.testing.assert_array_equal(packed['inputs'].numpy(),
                                  img.transpose(2, 0, 1))
    sample = packed['data_samples']
    assert sample.keys() == []
    assert 'degradation_type' not in sample.metainfo_keys()
    assert sample.img_id == 'x' and tuple(sample.img_shape) == (6, 7)


def test_bad_inputs_are_named(tmp_path):
    loader = ImageLoader(dict(type='LoadImageFromFile'))
    missing = str(tmp_path / 'missing.jpg')
    with pytest.raises(FileNotFoundError, match=missing):
        loader(pipeline_input(missing))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\x00' * 10)
    with pytest.raises(ValueError, match=f'Could not read {broken}'):
        loader(pipeline_input(str(broken)))
    for array in (np.zeros((4, 5, 3), np.float32), np.zeros((4, 5), np.uint8),
                  np.zeros((4, 5, 4), np.uint8)):
        with pytest.raises(ValueError, match='expected an \\(H, W, 3\\)'):
            loader(pipeline_input(array))
    with pytest.raises(ValueError, match=f'{tmp_path} is a folder'):
        loader(pipeline_input(str(tmp_path)))
    with pytest.raises(TypeError, match='list'):
        pipeline_input([1, 2])
