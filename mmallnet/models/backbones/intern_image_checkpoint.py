"""Load official InternImage checkpoints into :class:`InternImage`.

MMEngine's ``Pretrained`` initialisation only unwraps ``state_dict`` and
loads with ``strict=False``, so the official ImageNet files (weights under
``model``) would load nothing, silently. This loader unwraps every known
container, strips wrapper prefixes, and refuses files whose keys do not
match apart from the known optional ones.
"""
import re
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

# Keys a backbone may lack: the ImageNet InternImage-T file was trained
# without layer scale, so the gammas keep their initial value.
OPTIONAL_MISSING = (re.compile(r'(^|\.)gamma[12]$'), )
# Keys of the classification models that a backbone does not have.
IGNORED_UNEXPECTED = (re.compile(
    r'^(conv_head|head|dcnv3_head_x3|dcnv3_head_x4|clip_projector|fc_norm|'
    r'avgpool)(\.|$)'), )
# Prefixes of the official segmentation (``backbone.``) and Hugging Face
# (``model.``) packagings; only the prefixed part is the backbone.
WRAPPER_PREFIXES = ('backbone.', 'model.')
_ANCHOR = 'patch_embed.conv1.weight'


def unwrap_state_dict(checkpoint: dict, filename: str = '<checkpoint>',
                      prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """Extract the backbone's state dict from an InternImage checkpoint.

    Accepts ``{'model': sd}`` (ImageNet), ``{'state_dict': sd}`` (ADE20K
    and MMEngine runners) and a plain state dict; strips ``module.``
    (DataParallel); keeps only the keys under ``prefix`` (detected among
    ``backbone.`` / ``model.`` when not given) with the prefix removed.

    Args:
        checkpoint (dict): Loaded checkpoint.
        filename (str): Shown in errors.
        prefix (str, optional): Keep only keys under this prefix.

    Returns:
        dict: Backbone parameter names to tensors.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{filename}: expected a dict checkpoint, got '
                        f'{type(checkpoint).__name__}')
    state = checkpoint
    for container in ('state_dict', 'model'):
        if container in state and isinstance(state[container], dict):
            state = state[container]
            break
    tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)}
    if not tensors:
        raise ValueError(
            f'{filename}: no tensors found; expected an InternImage '
            "checkpoint with weights under 'model' or 'state_dict' or a "
            f'plain state dict, got top-level keys {sorted(state)[:10]}')
    tensors = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in tensors.items()
    }
    if prefix is None and _ANCHOR not in tensors:
        prefix = next(
            (p for p in WRAPPER_PREFIXES if p + _ANCHOR in tensors), None)
    if prefix:
        tensors = {
            k[len(prefix):]: v
            for k, v in tensors.items() if k.startswith(prefix)
        }
        if not tensors:
            raise ValueError(
                f'{filename}: no keys start with the prefix {prefix!r}')
    return tensors


def match_state_dict(model: nn.Module, state: Dict[str, Tensor]
                     ) -> Tuple[List[str], List[str], List[str]]:
    """Compare ``state`` with the model's parameters and buffers.

    Returns:
        tuple: ``(missing, unexpected, shape_mismatch)`` after removing the
        tolerated optional and classification-head keys.
    """
    own = model.state_dict()
    missing = [
        k for k in own if k not in state
        and not any(p.search(k) for p in OPTIONAL_MISSING)
    ]
    unexpected = [
        k for k in state if k not in own
        and not any(p.search(k) for p in IGNORED_UNEXPECTED)
    ]
    mismatch = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in state
        if k in own and state[k].shape != own[k].shape
    ]
    return missing, unexpected, mismatch


def _listing(title: str, keys: List[str], limit: int = 20) -> str:
    more = f' ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'\n  {title} ({len(keys)}): ' + ', '.join(keys[:limit]) + more


def load_internimage_checkpoint(model: nn.Module,
                                filename: str,
                                prefix: Optional[str] = None,
                                map_location: str = 'cpu',
                                logger: str = 'current') -> None:
    """Load an official-format checkpoint into an InternImage backbone.

    Args:
        model (nn.Module): The backbone.
        filename (str): Local path or URL (anything MMEngine's
            ``CheckpointLoader`` reads).
        prefix (str, optional): Only load keys under this prefix.
        map_location (str): Device to load onto. Defaults to 'cpu'.
        logger (str): MMEngine logger name. Defaults to 'current'.

    Raises:
        KeyError: When keys other than the layer-scale gammas are missing,
            keys other than the classification head's are unexpected, or
            shapes differ; the message lists them.
    """
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location=map_location, logger=logger)
    state = unwrap_state_dict(checkpoint, filename, prefix)
    missing, unexpected, mismatch = match_state_dict(model, state)
    if missing or unexpected or mismatch:
        message = f'{filename} does not match {type(model).__name__}:'
        for title, keys in (('missing keys', missing),
                            ('unexpected keys', unexpected),
                            ('shape mismatches', mismatch)):
            if keys:
                message += _listing(title, keys)
        raise KeyError(message + '\n  (check the arch / preset arguments)')
    incompatible = model.load_state_dict(state, strict=False)
    tolerated = list(incompatible.missing_keys) + list(
        incompatible.unexpected_keys)
    note = ''
    if tolerated:
        note = (f'; kept initial values for {len(incompatible.missing_keys)}'
                f' optional keys and ignored '
                f'{len(incompatible.unexpected_keys)} classification-head '
                'keys')
    print_log(
        f'Loaded {len(state) - len(incompatible.unexpected_keys)} tensors '
        f'from {filename}{note}', logger=logger)
