"""Make mmengine 0.10.7 load its own runner checkpoints under torch >= 2.6.

torch 2.6 switched ``torch.load`` to ``weights_only=True``. mmengine 0.10.7
calls ``torch.load(filename, map_location=...)`` without the argument, so a
checkpoint written by the Runner (its ``message_hub`` holds
``HistoryBuffer`` objects and NumPy scalars) can no longer be resumed. This
module re-registers mmengine's local-file checkpoint loader with
``weights_only=False``, which is the behaviour mmengine was written for
(fixed the same way on mmengine's main branch, not released). Only load
checkpoints you trust: unpickling can run code.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

_PATCHED = False


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """Load a local checkpoint file with ``weights_only=False``.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | callable, optional): As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint file {filename} can not be found.')
    return torch.load(
        filename, map_location=map_location, weights_only=False)


def patch_mmengine_checkpoint_loading() -> None:
    """Register :func:`load_local_checkpoint` for local paths (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    _PATCHED = True
