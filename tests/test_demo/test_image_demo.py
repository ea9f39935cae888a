"""demo/image_demo.py, run as a user runs it: every output of an image,
value for value equal to tools/test.py's, and clear errors."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tests', 'test_apis'))
from inference_workspace import (  # noqa: E402
    EXTRA_FOLDERS,
    HEIGHT,
    PREDICTION_FOLDERS,
    WIDTH,
    read_output,
    reference_outputs,
    run_tool,
    save_runner_checkpoint,
)
from inference_workspace import prepare_workspace as _prepare  # noqa: E402

DEMO = 'demo/image_demo.py'


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    return _prepare(str(tmp_path_factory.getbasetemp() /
                        'inference_workspace'))


def test_demo_writes_every_output_equal_to_tools_test(workspace, tmp_path):
    out_dir = str(tmp_path / 'out')
    output = run_tool([DEMO, workspace['photo'], workspace['config'],
                       workspace['checkpoint'], '--out-dir', out_dir])
    reference = reference_outputs(workspace)
    for folder in PREDICTION_FOLDERS + EXTRA_FOLDERS:
        suffix = '.npy' if folder == 'depth' else '.png'
        path = osp.join(out_dir, folder, '0001' + suffix)
        assert f'{folder}: {path}' in output, output
        got = read_output(path)
        assert got.shape[:2] == (HEIGHT, WIDTH) or folder == 'vis', folder
        if folder in reference:
            np.testing.assert_array_equal(got, reference[folder],
                                          err_msg=folder)
    assert f'Wrote the outputs of 1 image(s) to {out_dir}.' in output
    assert 'randomly initialised' not in output


def test_demo_names_what_is_wrong(workspace, tmp_path):
    missing = str(tmp_path / 'missing.png')
    output = run_tool([DEMO, missing, workspace['config'],
                       workspace['checkpoint']], fails=True)
    assert f'image_demo.py: error: Input {missing} does not exist' in output
    assert 'Traceback' not in output
    # a checkpoint of another model (a key missing)
    state_dict = torch.load(workspace['checkpoint'],
                            weights_only=False)['state_dict']
    dropped = next(iter(state_dict))
    del state_dict[dropped]
    other = str(tmp_path / 'other.pth')
    save_runner_checkpoint(other, state_dict, None)
    output = run_tool([DEMO, workspace['photo'], workspace['config'], other,
                       '--out-dir', str(tmp_path / 'out')], fails=True)
    assert f'Checkpoint {other} does not fit the model' in output
    assert dropped in output and 'Traceback' not in output
    assert not osp.exists(tmp_path / 'out')
