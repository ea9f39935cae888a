"""Layer-wise learning-rate decay for InternImage segmentors.

Reproduces the parameter grouping of InternImage's segmentation recipe
(``CustomLayerDecayOptimizerConstructor`` in OpenGVLab/InternImage,
``segmentation/mmcv_custom``) for MMEngine's optimizer wrappers.
"""
import json
from numbers import Integral, Real
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.dist import get_dist_info
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

#: ``paramwise_cfg`` keys that must be given.
REQUIRED_KEYS = ('num_layers', 'layer_decay_rate', 'depths')
#: Optional ``paramwise_cfg`` keys and their defaults.
OPTIONAL_KEYS = dict(
    offset_lr_scale=1.0, backbone_small_lr=False, dino_head=False)
#: Name substrings that exempt a parameter from weight decay (in addition
#: to every 1-D parameter and every bias).
NO_DECAY_KEYS = ('relative_position', 'norm', 'sampling_offsets')
#: Name substrings of deformable-attention offsets / reference points.
OFFSET_KEYS = ('sampling_offsets', 'reference_points')


def get_layer_id_for_internimage(name: str, num_layers: int,
                                 depths: Sequence[int]) -> int:
    """Layer id of a segmentor parameter for layer-wise lr decay.

    Ids run from 0 (stem) to ``num_layers + 1`` (everything outside the
    backbone's stem and stages):

    - ``backbone.patch_embed.*``: 0.
    - ``backbone.levels.{i}.blocks.{j}.*``: ``1 + sum(depths[:i]) + j``.
      Any other indexed child ``backbone.levels.{i}.{child}.{j}`` (the
      ``post_norms`` of InternImage-H) is numbered the same way.
    - ``backbone.levels.{i}.downsample.*`` and ``backbone.levels.{i}.norm.*``:
      the id of the first block of stage ``i + 1``, i.e.
      ``1 + sum(depths[:i + 1])``; for the last stage (which has no
      downsample) the id of its own first block, ``1 + sum(depths[:-1])``.
    - anything else (decode heads, other backbone parameters):
      ``num_layers + 1``.

    Args:
        name (str): Parameter name in the segmentor, e.g.
            ``'backbone.levels.2.blocks.5.mlp.fc1.weight'``.
        num_layers (int): Number of backbone blocks, ``sum(depths)``.
        depths (Sequence[int]): Number of blocks of each stage.

    Returns:
        int: The layer id.
    """
    if name.startswith('backbone.patch_embed.'):
        return 0
    if not name.startswith('backbone.levels.'):
        return num_layers + 1
    parts = name.split('.')
    stage = int(parts[2])
    if stage >= len(depths):
        raise ValueError(
            f'Parameter {name!r} belongs to stage {stage}, but '
            f'paramwise_cfg.depths={list(depths)} has {len(depths)} stages; '
            'set depths to the backbone\'s.')
    if parts[3] in ('downsample', 'norm'):
        return 1 + sum(depths[:min(stage + 1, len(depths) - 1)])
    try:
        index = int(parts[4])
    except (IndexError, ValueError):
        raise ValueError(
            f'Cannot assign a layer id to backbone parameter {name!r}: '
            'expected backbone.levels.<stage>.<child>.<index>.*') from None
    if index >= depths[stage]:
        raise ValueError(
            f'Parameter {name!r} is block {index} of stage {stage}, but '
            f'paramwise_cfg.depths={list(depths)} gives that stage '
            f'{depths[stage]} blocks; set depths to the backbone\'s.')
    return 1 + sum(depths[:stage]) + index


def is_no_decay_param(name: str, param: nn.Parameter) -> bool:
    """Whether a parameter is exempt from weight decay.

    Args:
        name (str): Parameter name in the segmentor.
        param (nn.Parameter): The parameter.

    Returns:
        bool: True for 1-D parameters (norm weights, layer-scale gammas),
        biases and names containing any of :data:`NO_DECAY_KEYS`.
    """
    return (param.ndim == 1 or name.endswith('.bias')
            or any(key in name for key in NO_DECAY_KEYS))


def _is_number(value) -> bool:
    """Whether ``value`` is a real number (bools excluded)."""
    return isinstance(value, Real) and not isinstance(value, bool)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CustomLayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay constructor of InternImage's segmentation recipe.

    Every trainable parameter gets a layer id (see
    :func:`get_layer_id_for_internimage`) and the learning rate
    ``lr * layer_decay_rate ** (num_layers + 1 - layer_id)``, so decode
    heads keep the base lr and the stem gets the smallest one. Weight decay
    is 0 for the parameters selected by :func:`is_no_decay_param` and the
    optimizer's ``weight_decay`` otherwise. Frozen parameters are left out.
    One param group is made per (layer id, decay / no decay) pair; groups
    carry ``group_name``, ``lr_scale`` and ``param_names``, and a summary is
    logged on rank 0.

    ``paramwise_cfg`` keys:

    - ``num_layers`` (int, required): number of backbone blocks; must
      equal ``sum(depths)`` (30 for InternImage-T).
    - ``layer_decay_rate`` (float, required): 1.0 disables the decay.
    - ``depths`` (list[int], required): blocks per stage of the backbone.
    - ``offset_lr_scale`` (float): extra lr factor of backbone parameters
      whose names contain ``sampling_offsets`` or ``reference_points``
      (deformable attention, e.g. ViT-Adapter). InternImage's DCNv3 offsets
      are named ``dcn.offset`` and are not affected, as in the original.
      Defaults to 1.0.
    - ``backbone_small_lr`` (bool): multiply every scale below 1 by 0.1.
      Defaults to False.
    - ``dino_head`` (bool): multiply the lr of top-layer offset /
      reference-point parameters by 0.1. Defaults to False.

    Example:
        >>> optim_wrapper = dict(
        ...     type='OptimWrapper',
        ...     optimizer=dict(type='AdamW', lr=6e-5, weight_decay=0.05),
        ...     constructor='CustomLayerDecayOptimizerConstructor',
        ...     paramwise_cfg=dict(
        ...         num_layers=30, layer_decay_rate=1.0,
        ...         depths=[4, 4, 18, 4]))

    Args:
        optim_wrapper_cfg (dict): Optimizer wrapper config with an
            ``optimizer`` dict that sets ``lr``.
        paramwise_cfg (dict, optional): The keys above. Defaults to None,
            which raises because ``num_layers`` etc. are required.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self._check_paramwise_cfg()

    def _check_paramwise_cfg(self) -> None:
        """Raise a ValueError naming the offending config key."""
        cls = type(self).__name__
        cfg = self.paramwise_cfg
        missing = [k for k in REQUIRED_KEYS if cfg.get(k) is None]
        if missing:
            raise ValueError(
                f'{cls} needs paramwise_cfg.{", paramwise_cfg.".join(missing)}'
                f' (required keys: {", ".join(REQUIRED_KEYS)}); got '
                f'paramwise_cfg={dict(cfg)}.')
        unknown = sorted(set(cfg) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise ValueError(
                f'{cls} does not support paramwise_cfg key(s) {unknown}; '
                f'supported: {list(REQUIRED_KEYS) + list(OPTIONAL_KEYS)}.')
        num_layers = cfg['num_layers']
        if (not isinstance(num_layers, Integral)
                or isinstance(num_layers, bool) or num_layers < 1):
            raise ValueError('paramwise_cfg.num_layers must be a positive '
                             f'int, got {num_layers!r}.')
        depths = cfg['depths']
        if (not isinstance(depths, Sequence) or isinstance(depths, str)
                or len(depths) == 0 or not all(
                    isinstance(d, Integral) and not isinstance(d, bool)
                    and d >= 1 for d in depths)):
            raise ValueError('paramwise_cfg.depths must be a non-empty list '
                             f'of positive ints, got {depths!r}.')
        if sum(depths) != num_layers:
            raise ValueError(
                f'paramwise_cfg.num_layers={num_layers} must equal '
                f'sum(paramwise_cfg.depths)={sum(depths)} '
                f'(depths={list(depths)}).')
        rate = cfg['layer_decay_rate']
        if not _is_number(rate) or rate <= 0:
            raise ValueError('paramwise_cfg.layer_decay_rate must be a '
                             f'positive number, got {rate!r}.')
        offset_lr_scale = cfg.get('offset_lr_scale',
                                  OPTIONAL_KEYS['offset_lr_scale'])
        if not _is_number(offset_lr_scale) or offset_lr_scale < 0:
            raise ValueError('paramwise_cfg.offset_lr_scale must be a '
                             f'non-negative number, got {offset_lr_scale!r}.')
        if self.base_lr is None:
            raise ValueError(f'{cls} needs optim_wrapper.optimizer.lr.')

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Add the parameters of ``module`` to ``params``, grouped by layer.

        Args:
            params (list[dict]): Param groups, extended in place.
            module (nn.Module): The segmentor (parameter names start with
                ``backbone.`` for the backbone).
            **kwargs: Unused; accepted for interface compatibility.
        """
        cfg = self.paramwise_cfg
        num_layers = cfg['num_layers']
        depths = list(cfg['depths'])
        decay_rate = cfg['layer_decay_rate']
        offset_lr_scale = cfg.get('offset_lr_scale',
                                  OPTIONAL_KEYS['offset_lr_scale'])
        backbone_small_lr = cfg.get('backbone_small_lr', False)
        dino_head = cfg.get('dino_head', False)
        top = num_layers + 1
        logger = MMLogger.get_current_instance()
        logger.info(f'Build {type(self).__name__}: layer_decay_rate '
                    f'{decay_rate}, layer ids 0..{top}, paramwise_cfg '
                    f'{dict(cfg)}')

        groups: Dict[str, dict] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            no_decay = is_no_decay_param(name, param)
            layer_id = get_layer_id_for_internimage(name, num_layers, depths)
            group_name = (f'layer_{layer_id}_'
                          f'{"no_decay" if no_decay else "decay"}')
            is_offset = any(key in name for key in OFFSET_KEYS)
            if is_offset and dino_head and layer_id == top:
                group_name += '_0.1x'
            elif is_offset and 'backbone' in name:
                group_name += '_offset_lr_scale'
            if group_name not in groups:
                scale = decay_rate**(top - layer_id)
                if backbone_small_lr and scale < 1:
                    scale *= 0.1
                if group_name.endswith('_0.1x'):
                    scale *= 0.1
                elif group_name.endswith('_offset_lr_scale'):
                    scale *= offset_lr_scale
                group = dict(
                    params=[],
                    param_names=[],
                    group_name=group_name,
                    lr_scale=scale,
                    lr=scale * self.base_lr)
                if no_decay:
                    group['weight_decay'] = 0.
                elif self.base_wd is not None:
                    group['weight_decay'] = self.base_wd
                groups[group_name] = group
            groups[group_name]['params'].append(param)
            groups[group_name]['param_names'].append(name)

        rank, _ = get_dist_info()
        if rank == 0:
            summary = {
                key: dict(
                    param_names=group['param_names'],
                    lr_scale=group['lr_scale'],
                    lr=group['lr'],
                    weight_decay=group.get('weight_decay'))
                for key, group in groups.items()
            }
            logger.info(f'Param groups = {json.dumps(summary, indent=2)}')
        params.extend(groups.values())
