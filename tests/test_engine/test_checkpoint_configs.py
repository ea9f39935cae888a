"""Every config saves its checkpoints with AtomicCheckpointHook."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_are_found():
    assert len(CONFIGS) >= 14


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_checkpoint_hook_is_atomic(path):
    cfg = Config.fromfile(path)
    hook = cfg.default_hooks.checkpoint
    assert hook.type == 'AtomicCheckpointHook', (
        f'{path}: default_hooks.checkpoint.type is {hook.type!r}, expected '
        "'AtomicCheckpointHook'")
