"""init_model and inference_model (mmallnet/apis/inference.py).

The API's predictions on an image equal, value for value, those
tools/test.py writes for the same image in a one-image SynthScenes split:
the API prepares images with the config's test pipeline, minus annotation
loading and the val split's fixed degradation.
"""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmallnet.apis import config_dataset_meta, inference_model, init_model
from mmallnet.datasets import SynthScenesDataset
from mmallnet.evaluation.prediction_writer import write_predictions
from mmallnet.structures import TASK_SPECS
from mmallnet.utils import CheckpointMismatchError, UntrustedCheckpointError

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from inference_workspace import (  # noqa: E402
    HEIGHT,
    PREDICTION_FOLDERS,
    REPO,
    WIDTH,
    read_output,
    reference_outputs,
    save_runner_checkpoint,
)
from inference_workspace import prepare_workspace as _prepare  # noqa: E402

TASKS = ['semseg', 'depth', 'normals', 'boundary', 'saliency']
CASCADE_CONFIG = osp.join(
    REPO, 'configs', 'cascade',
    'cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_synthscenes-'
    '96x128.py')
BASELINE_CONFIG = osp.join(
    REPO, 'configs', 'mtl_baseline',
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')
RESTORER_CONFIG = osp.join(
    REPO, 'configs', 'restorers',
    'restormer-dense_tiny_1xb8-500_synthscenes-96x128.py')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    return _prepare(str(tmp_path_factory.getbasetemp() /
                        'inference_workspace'))


@pytest.fixture(scope='module')
def model(workspace):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as tools/test.py under OMP_NUM_THREADS=1
    yield init_model(workspace['config'], workspace['checkpoint'])
    torch.set_num_threads(threads)


@pytest.fixture
def state_dict(workspace):
    return torch.load(workspace['checkpoint'],
                      weights_only=False)['state_dict']


def test_predictions_equal_those_of_tools_test(model, workspace, tmp_path):
    sample = inference_model(model, workspace['photo'])
    for task in TASKS:
        pred = sample.get(TASK_SPECS[task].pred_field).data
        assert tuple(pred.shape[1:]) == (HEIGHT, WIDTH), task
    assert tuple(sample.pred_restored.shape) == (HEIGHT, WIDTH)
    reference = reference_outputs(workspace)
    assert len(np.unique(reference['semseg'])) > 1  # not a constant map
    np.testing.assert_array_equal(sample.pred_depth.data[0].numpy(),
                                  reference['depth'])
    np.testing.assert_array_equal(sample.pred_sem_seg.data[0].numpy(),
                                  reference['semseg'])
    # every other output as tools/test.py --out writes it
    write_predictions(sample.to_dict(), str(tmp_path), TASKS)
    for folder in PREDICTION_FOLDERS:
        suffix = '.npy' if folder == 'depth' else '.png'
        got = read_output(str(tmp_path / folder / ('0001' + suffix)))
        np.testing.assert_array_equal(got, reference[folder], err_msg=folder)


def test_sample_carries_no_pseudo_ground_truth(model, workspace):
    sample = inference_model(model, workspace['photo'])
    assert 'gt_clean_img' not in sample
    assert 'degradation_type' not in sample.metainfo_keys()
    assert not any(key.startswith('gt_') for key in sample.keys())
    assert sample.img_path == workspace['photo']
    assert tuple(sample.ori_shape) == (HEIGHT, WIDTH)


def test_array_input_equals_file_input(model, workspace):
    from_file = inference_model(model, workspace['photo'])
    from_array = inference_model(model, cv2.imread(workspace['photo']))
    for key in ('pred_sem_seg', 'pred_depth', 'pred_normal', 'pred_boundary',
                'pred_saliency', 'pred_restored'):
        assert torch.equal(from_file.get(key).data, from_array.get(key).data)
    assert from_array.img_path is None


def test_list_input_gives_a_list(model, workspace):
    img = cv2.imread(workspace['photo'])
    small = np.ascontiguousarray(img[:40, :50])
    samples = inference_model(model, [workspace['photo'], small])
    assert isinstance(samples, list) and len(samples) == 2
    assert tuple(samples[0].pred_depth.shape) == (HEIGHT, WIDTH)
    assert tuple(samples[1].pred_depth.shape) == (40, 50)
    assert tuple(samples[1].pred_normal.data.shape) == (3, 40, 50)
    single = inference_model(model, workspace['photo'])
    # one batch of two, padded to 64x64 like the single image: equal up to
    # the summation order of batched kernels
    torch.testing.assert_close(samples[0].pred_depth.data,
                               single.pred_depth.data)


def test_checkpoint_weights_and_dataset_meta_are_loaded(model, state_dict):
    loaded = model.state_dict()
    assert loaded.keys() == state_dict.keys()
    assert all(torch.equal(loaded[k], state_dict[k]) for k in state_dict)
    assert not model.training
    assert model.dataset_meta == SynthScenesDataset._load_metainfo()
    assert model.cfg.model.type == 'MultiTaskEncoderDecoder'


def test_dataset_meta_comes_from_the_checkpoint(workspace, state_dict,
                                                tmp_path):
    meta = dict(classes=[f'c{i}' for i in range(10)],
                palette=[[i, i, i] for i in range(10)])
    path = str(tmp_path / 'meta.pth')
    save_runner_checkpoint(path, state_dict, meta)
    assert init_model(workspace['config'], path).dataset_meta == meta


def test_dataset_meta_falls_back_to_the_config(workspace, state_dict,
                                               tmp_path, recwarn):
    path = str(tmp_path / 'no_meta.pth')
    save_runner_checkpoint(path, state_dict, None)
    model = init_model(workspace['config'], path)
    assert model.dataset_meta['classes'] == SynthScenesDataset.METAINFO[
        'classes']
    assert model.dataset_meta['palette'] == SynthScenesDataset.METAINFO[
        'palette']
    assert not [w for w in recwarn if 'class names' in str(w.message)]
    # neither checkpoint meta nor a test dataset: a warning, empty meta
    cfg = Config.fromfile(workspace['config'])
    cfg.pop('test_dataloader')
    with pytest.warns(UserWarning, match='No class names or palette'):
        assert init_model(cfg, path).dataset_meta == {}


def test_no_checkpoint_warns_of_random_weights(workspace):
    with pytest.warns(UserWarning, match='randomly initialised weights'):
        model = init_model(workspace['config'])
    assert model.dataset_meta['classes'] == SynthScenesDataset.METAINFO[
        'classes']


def test_checkpoint_that_does_not_fit_is_refused(workspace, state_dict,
                                                 tmp_path):
    dropped = next(k for k in state_dict if k.startswith('decode_head.'))
    state_dict = dict(state_dict)
    del state_dict[dropped]
    state_dict['extra.weight'] = torch.zeros(2)
    path = str(tmp_path / 'other.pth')
    save_runner_checkpoint(path, state_dict, None)
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(workspace['config'], path)
    message = str(info.value)
    assert path in message and dropped in message
    assert 'extra.weight' in message


def test_checkpoint_without_a_dict_is_refused(workspace, tmp_path):
    path = str(tmp_path / 'tensor.pth')
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointMismatchError, match=path):
        init_model(workspace['config'], path)


def test_missing_checkpoint_is_named(workspace, tmp_path):
    path = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match=path):
        init_model(workspace['config'], path)


def test_unsafe_checkpoint_is_refused(workspace, crafted_checkpoint,
                                      monkeypatch):
    monkeypatch.delenv('MMALLNET_TRUST_CHECKPOINTS', raising=False)
    with pytest.raises(UntrustedCheckpointError, match='posix.system'):
        init_model(workspace['config'], crafted_checkpoint['path'])
    assert not crafted_checkpoint['marker'].exists()


def test_bad_images_are_named(model, tmp_path):
    missing = str(tmp_path / 'missing.png')
    with pytest.raises(FileNotFoundError, match=missing):
        inference_model(model, missing)
    broken = tmp_path / 'broken.png'
    broken.write_text('not an image')
    with pytest.raises(ValueError, match=str(broken)):
        inference_model(model, str(broken))
    with pytest.raises(ValueError, match=r'\(4, 5\).*float64.*uint8'):
        inference_model(model, np.zeros((4, 5)))
    with pytest.raises(TypeError, match='int'):
        inference_model(model, 3)
    with pytest.raises(ValueError, match='empty'):
        inference_model(model, [])


def _save_stage(config: str, path: str) -> dict:
    """Save seeded random weights of a stage model trained alone."""
    from mmseg.registry import MODELS
    torch.manual_seed(1)
    state_dict = MODELS.build(Config.fromfile(config).model).state_dict()
    save_runner_checkpoint(path, state_dict, None)
    return state_dict


def test_cascade_loads_its_stage_checkpoints(workspace, tmp_path, recwarn):
    restorer = str(tmp_path / 'restorer.pth')
    predictor = str(tmp_path / 'predictor.pth')
    stages = dict(restorer=_save_stage(RESTORER_CONFIG, restorer),
                  predictor=_save_stage(BASELINE_CONFIG, predictor))
    options = {'model.restorer_checkpoint': restorer,
               'model.predictor_checkpoint': predictor}
    model = init_model(CASCADE_CONFIG, None, cfg_options=options)
    assert not [w for w in recwarn if 'random' in str(w.message)]
    for stage, saved in stages.items():
        loaded = getattr(model, stage).state_dict()
        assert loaded.keys() == saved.keys()
        assert all(torch.equal(loaded[k], saved[k]) for k in saved), stage
    sample = inference_model(model, workspace['photo'])
    assert tuple(sample.pred_restored.data.shape) == (3, HEIGHT, WIDTH)
    for task in TASKS:
        pred = sample.get(TASK_SPECS[task].pred_field).data
        assert tuple(pred.shape[1:]) == (HEIGHT, WIDTH), task
    # a stage left unset: the warning names it
    with pytest.warns(UserWarning, match='model.predictor_checkpoint'):
        init_model(CASCADE_CONFIG, None,
                   cfg_options={'model.restorer_checkpoint': restorer})


@pytest.mark.parametrize('name,dataset', [
    ('nyud_multi_task_degraded_benchmark', 'NYUDMultiTaskDataset'),
    ('pascal_context_multi_task', 'PascalContextMultiTaskDataset'),
])
def test_config_dataset_meta_reads_the_test_dataset_class(name, dataset):
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', name + '.py'))
    assert config_dataset_meta(cfg) == DATASETS.get(dataset).METAINFO
    cfg.test_dataloader.dataset.metainfo = dict(classes=['a', 'b'])
    assert config_dataset_meta(cfg)['classes'] == ['a', 'b']
