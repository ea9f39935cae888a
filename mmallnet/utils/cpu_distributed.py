"""Distributed training and testing on CPU-only machines (gloo).

mmengine's pytorch launcher calls ``torch.cuda.set_device`` and wraps the
model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without a GPU. When
no GPU is visible, :func:`setup_cpu_distributed` starts the process group
with gloo itself (the Runner then skips ``init_dist``) and makes DDP run on
CPU.
"""
import logging
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare ``cfg`` and the process group for CPU distributed runs.

    Args:
        cfg (Config): The run's config, modified in place.
        launcher (str): Launcher name (``none`` does nothing).

    Returns:
        bool: Whether the CPU (gloo) path was taken.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without a GPU is not '
                           'supported; use --launcher pytorch (gloo).')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    # Not cfg.setdefault('env_cfg', {}): ConfigDict stores a copy of a new
    # default, so the backend would be lost when env_cfg or its dist_cfg is
    # missing. merge_from_dict creates them and keeps their other keys.
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    print_log(
        f"CPU distributed run: rank {os.environ.get('RANK')} of "
        f"{os.environ.get('WORLD_SIZE')} with the gloo backend.",
        logger='current',
        level=logging.INFO)
    return True
