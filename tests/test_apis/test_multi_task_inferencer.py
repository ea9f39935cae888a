"""MultiTaskInferencer (mmallnet/apis/multi_task_inferencer.py): inputs,
batches, returned arrays and every output file, equal to tools/test.py's."""
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch

from mmallnet.apis import (
    IMAGE_EXTENSIONS,
    MultiTaskInferencer,
    inference_model,
    prediction_arrays,
)
from mmallnet.datasets import SynthScenesDataset
from mmallnet.visualization import depth_to_rgb, generate_palette, label_to_rgb

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from inference_workspace import (  # noqa: E402
    EXTRA_FOLDERS,
    HEIGHT,
    PREDICTION_FOLDERS,
    REPO,
    WIDTH,
    read_output,
    reference_outputs,
)
from inference_workspace import prepare_workspace as _prepare  # noqa: E402

BASELINE_CONFIG = osp.join(
    REPO, 'configs', 'mtl_baseline',
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    return _prepare(str(tmp_path_factory.getbasetemp() /
                        'inference_workspace'))


@pytest.fixture(scope='module')
def inferencer(workspace):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as tools/test.py under OMP_NUM_THREADS=1
    yield MultiTaskInferencer(workspace['config'], workspace['checkpoint'],
                              show_progress=False)
    torch.set_num_threads(threads)


@pytest.fixture
def folder(workspace, tmp_path):
    """Three images of two sizes and a file that is not an image."""
    img = cv2.imread(workspace['photo'])
    cv2.imwrite(str(tmp_path / 'b.png'), img)
    cv2.imwrite(str(tmp_path / 'a.jpg'), np.ascontiguousarray(img[:40, :50]))
    cv2.imwrite(str(tmp_path / 'c.PNG'), img[::-1])
    (tmp_path / 'notes.txt').write_text('not an image')
    return tmp_path


def test_out_dir_gets_every_output_equal_to_tools_test(
        inferencer, workspace, tmp_path):
    result = inferencer(workspace['photo'], out_dir=str(tmp_path))
    files = result['files']
    assert set(files) == set(PREDICTION_FOLDERS) | set(EXTRA_FOLDERS)
    for kind, path in files.items():
        suffix = '.npy' if kind == 'depth' else '.png'
        assert path == str(tmp_path / kind / ('0001' + suffix))
    reference = reference_outputs(workspace)
    for folder in PREDICTION_FOLDERS:
        got = read_output(files[folder])
        assert got.shape[:2] == (HEIGHT, WIDTH), folder
        np.testing.assert_array_equal(got, reference[folder], err_msg=folder)
    palette = SynthScenesDataset.METAINFO['palette']
    np.testing.assert_array_equal(
        read_output(files['semseg_color'])[..., ::-1],
        label_to_rgb(reference['semseg'], palette))
    np.testing.assert_array_equal(
        read_output(files['depth_color'])[..., ::-1],
        depth_to_rgb(reference['depth']))
    vis = read_output(files['vis'])
    assert vis.ndim == 3 and vis.shape[1] >= WIDTH
    # the returned arrays are those of the files
    arrays = result['predictions']
    np.testing.assert_array_equal(arrays['depth'], reference['depth'])
    np.testing.assert_array_equal(arrays['semseg'], reference['semseg'])
    assert arrays['normals'].shape == (HEIGHT, WIDTH, 3)
    assert arrays['restored'].shape == (HEIGHT, WIDTH, 3)
    assert set(arrays) == set(PREDICTION_FOLDERS)


def test_folder_is_read_sorted_and_batched(inferencer, folder):
    samples = inferencer(str(folder), return_datasamples=True, batch_size=2)
    assert [s.img_id for s in samples] == ['a', 'b', 'c']
    assert [tuple(s.pred_depth.shape) for s in samples] == [
        (40, 50), (HEIGHT, WIDTH), (HEIGHT, WIDTH)]
    # batch size 1 gives exactly what inference_model gives per image
    result = inferencer(str(folder))
    assert len(result['predictions']) == 3 and result['files'] == []
    for name, arrays in zip('abc', result['predictions']):
        path = next(str(p) for p in folder.iterdir() if p.stem == name)
        single = prediction_arrays(inference_model(inferencer.model, path))
        assert arrays.keys() == single.keys()
        for key in arrays:
            np.testing.assert_array_equal(arrays[key], single[key])


def test_arrays_and_lists(inferencer, workspace, tmp_path):
    img = cv2.imread(workspace['photo'])
    single = inferencer(img, return_vis=True)
    assert isinstance(single['predictions'], dict)
    assert single['visualization'].dtype == np.uint8
    assert single['visualization'].shape[2] == 3
    from_file = inferencer(workspace['photo'])['predictions']
    for key, value in single['predictions'].items():
        np.testing.assert_array_equal(value, from_file[key])
    both = inferencer([img, workspace['photo']], out_dir=str(tmp_path))
    assert len(both['predictions']) == 2
    # arrays are numbered, files named by their stem
    first = inferencer.num_array_imgs - 1
    assert both['files'][0]['depth'] == str(
        tmp_path / 'depth' / f'{first:08d}.npy')
    assert osp.basename(both['files'][1]['vis']) == '0001.png'


def test_bad_inputs_are_named(inferencer, tmp_path, folder):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('no images here')
    with pytest.raises(ValueError) as info:
        inferencer(str(empty))
    assert str(empty) in str(info.value)
    assert all(ext in str(info.value) for ext in IMAGE_EXTENSIONS)
    missing = str(tmp_path / 'missing.png')
    with pytest.raises(FileNotFoundError, match=missing):
        inferencer([str(folder / 'b.png'), missing])
    broken = tmp_path / 'broken' / 'x.png'
    broken.parent.mkdir()
    broken.write_text('not an image')
    with pytest.raises(ValueError, match=f'Could not read {broken}'):
        inferencer(str(broken.parent))
    shutil.copy(folder / 'b.png', tmp_path / 'a.png')
    with pytest.raises(ValueError, match="same name 'a'"):
        inferencer([str(folder / 'a.jpg'), str(tmp_path / 'a.png')])
    with pytest.raises(ValueError, match='batch_size'):
        inferencer(str(folder), batch_size=0)


def test_parts_get_label_and_colour_files(workspace, tmp_path):
    """A model with human parts (no parts palette in SynthScenes' meta:
    a generated one)."""
    options = {'model.decode_head.tasks': ['semseg', 'parts', 'saliency']}
    with pytest.warns(UserWarning, match='randomly initialised'):
        inferencer = MultiTaskInferencer(BASELINE_CONFIG, None,
                                         cfg_options=options,
                                         show_progress=False)
    result = inferencer(workspace['photo'], out_dir=str(tmp_path))
    assert set(result['files']) == {
        'semseg', 'semseg_color', 'parts', 'parts_color', 'saliency',
        'restored', 'vis'
    }
    parts = result['predictions']['parts']
    assert parts.shape == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(read_output(result['files']['parts']),
                                  parts)
    np.testing.assert_array_equal(
        read_output(result['files']['parts_color'])[..., ::-1],
        label_to_rgb(parts, generate_palette(int(parts.max()) + 1)))
