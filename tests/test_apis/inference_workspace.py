"""A tiny model, a one-image SynthScenes split and tools/test.py's outputs.

Shared by tests/test_apis and tests/test_demo (imported by path; the
workspace is built once per pytest session under its base temp folder and
reused by the next module that asks for it):

- ``synthscenes/``: one train and one val image (45x61, so the 32-divisor
  padding of the data preprocessor is cropped away again);
- ``tiny.py``: the demo config (configs/allnet/allnet_r18-w32_...) on that
  data; its test pipeline loads annotations and applies the fixed val
  degradation, which inference drops;
- ``tiny_undegraded.py``: the same test split without the degradation, the
  user's view (the photo is the degraded image);
- ``tiny.pth``: a checkpoint as tools/train.py writes it (``state_dict``,
  ``meta['dataset_meta']``, ``message_hub``) of seeded random weights;
- ``photos/0001.png``: a copy of the val image;
- ``reference/``: ``tools/test.py tiny_undegraded.py tiny.pth --out``, the
  predictions the inference API must reproduce exactly.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict, List, Optional

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'allnet',
                       'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
IMAGE_ID = '0001'
HEIGHT, WIDTH = 45, 61
#: Folders of tools/test.py --out, and what the API adds.
PREDICTION_FOLDERS = ('semseg', 'depth', 'normals', 'boundary', 'saliency',
                      'restored')
EXTRA_FOLDERS = ('semseg_color', 'depth_color', 'vis')

TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
generate = dict(num_train=1, num_val=1, height={height}, width={width},
                seed=0)
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader
"""

UNDEGRADED_CONFIG = """
_base_ = ['./tiny.py']
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]))
"""


def run_tool(args: List[str], fails: bool = False) -> str:
    """Run a repository script; return stdout + stderr.

    Args:
        args (list[str]): Script and arguments (relative to the repo).
        fails (bool): Expect a non-zero exit status.
    """
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    env.pop('MMALLNET_TRUST_CHECKPOINTS', None)
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert (proc.returncode != 0) == fails, output[-4000:]
    return output


def save_runner_checkpoint(path: str, state_dict: dict,
                           dataset_meta: Optional[dict]) -> None:
    """Save a checkpoint shaped like MMEngine's runner writes it."""
    import torch
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('inference_workspace')
    hub.update_scalar('train/loss', 1.25)
    meta = dict(epoch=0, iter=1, seed=0, experiment_name='tiny')
    if dataset_meta is not None:
        meta['dataset_meta'] = dataset_meta
    torch.save(dict(meta=meta, state_dict=state_dict,
                    message_hub=hub.state_dict()), path)


def _build_checkpoint(config: str, path: str) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmallnet  # noqa: F401
    from mmallnet.datasets import SynthScenesDataset
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    # non-trivial normalisation statistics, as a trained model has
    for name, buffer in model.named_buffers():
        if name.endswith('running_mean'):
            buffer.uniform_(-0.2, 0.2)
        elif name.endswith('running_var'):
            buffer.uniform_(0.5, 1.5)
    save_runner_checkpoint(path, model.state_dict(),
                           SynthScenesDataset._load_metainfo())


def prepare_workspace(root: str) -> Dict[str, str]:
    """Build the workspace in ``root`` unless it is complete already.

    Returns:
        dict[str, str]: ``root``, ``config``, ``undegraded_config``,
        ``checkpoint``, ``photo``, ``reference`` (tools/test.py's --out).
    """
    paths = dict(
        root=root,
        config=osp.join(root, 'tiny.py'),
        undegraded_config=osp.join(root, 'tiny_undegraded.py'),
        checkpoint=osp.join(root, 'tiny.pth'),
        photo=osp.join(root, 'photos', IMAGE_ID + '.png'),
        reference=osp.join(root, 'reference'))
    done = osp.join(root, 'complete')
    if osp.isfile(done):
        return paths
    if osp.isdir(root):
        shutil.rmtree(root)
    os.makedirs(osp.join(root, 'photos'))
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    data_root = osp.join(root, 'synthscenes')
    generate_synthscenes(data_root, num_train=1, num_val=1, height=HEIGHT,
                         width=WIDTH, seed=0, progress=False)
    with open(paths['config'], 'w') as f:
        f.write(TINY_CONFIG.format(base=DEMO_CONFIG, root=data_root,
                                   height=HEIGHT, width=WIDTH))
    with open(paths['undegraded_config'], 'w') as f:
        f.write(UNDEGRADED_CONFIG)
    shutil.copy(osp.join(data_root, 'images', IMAGE_ID + '.png'),
                paths['photo'])
    _build_checkpoint(paths['config'], paths['checkpoint'])
    run_tool(['tools/test.py', paths['undegraded_config'],
              paths['checkpoint'], '--work-dir', osp.join(root, 'test_work'),
              '--out', paths['reference']])
    with open(done, 'w') as f:
        f.write('ok\n')
    return paths


def read_output(path: str) -> np.ndarray:
    """A written output file as an array (PNG as stored: BGR / gray)."""
    if path.endswith('.npy'):
        return np.load(path)
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert image is not None, f'cannot read {path}'
    return image


def reference_outputs(paths: Dict[str, str],
                      name: str = IMAGE_ID) -> Dict[str, np.ndarray]:
    """tools/test.py's prediction files of image ``name``, by folder."""
    outputs = {}
    for folder in PREDICTION_FOLDERS:
        suffix = '.npy' if folder == 'depth' else '.png'
        outputs[folder] = read_output(
            osp.join(paths['reference'], folder, name + suffix))
    return outputs
