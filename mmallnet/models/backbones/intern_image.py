"""InternImage backbone (Wang et al., CVPR 2023) with a pure-PyTorch DCNv3.

Module and parameter names follow the official implementation, so its
ImageNet and ADE20K checkpoints load without a key map.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmseg.registry import MODELS
from torch import Tensor

from ..layers.channels_last import build_layout_norm
from ..layers.dcnv3 import DCNv3
from .intern_image_checkpoint import load_internimage_checkpoint

_H_POST_NORM_IDS = (5, 11, 17, 23, 29)


class _Preset:
    """Default of the preset arguments: take the value from ``arch``."""

    def __repr__(self) -> str:
        return 'PRESET'


PRESET: Any = _Preset()


def _preset(channels: int, depths: Sequence[int], groups: Sequence[int],
            layer_scale: Optional[float], offset_scale: float,
            post_norm: bool, drop_path_rate: float, **extra) -> dict:
    return dict(
        channels=channels,
        depths=list(depths),
        groups=list(groups),
        layer_scale=layer_scale,
        offset_scale=offset_scale,
        post_norm=post_norm,
        drop_path_rate=drop_path_rate,
        mlp_ratio=4.0,
        dw_kernel_size=None,
        res_post_norm=False,
        level2_post_norm=False,
        level2_post_norm_block_ids=None,
        center_feature_scale=False,
        **extra)


class MLPLayer(nn.Module):
    """Channels-last MLP: ``fc1`` -> activation -> ``fc2``."""

    def __init__(self,
                 channels: int,
                 hidden_channels: int,
                 act_cfg: dict = dict(type='GELU'),
                 drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden_channels)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_channels, channels)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


class InternImageLayer(nn.Module):
    """One InternImage block: a DCNv3 branch and an MLP branch.

    Pre-norm (``x + dp(γ·f(norm(x)))``) or post-norm
    (``x + dp(γ·norm(f(x)))``, the branch sees the un-normalised stream);
    without layer scale, ``res_post_norm`` gives
    ``x + dp(res_post_norm(f(norm(x))))`` (InternImage-H).

    Args:
        channels (int): Width C.
        group (int): DCNv3 groups.
        mlp_ratio (float): MLP expansion.
        drop (float): Dropout in the MLP.
        drop_path (float): Stochastic depth rate.
        act_cfg (dict): Activation config.
        norm_layer (str): Norm type (``'LN'``).
        post_norm (bool): Post-norm instead of pre-norm.
        layer_scale (float, optional): Initial layer-scale value, ``None``
            for no layer scale.
        offset_scale (float): DCNv3 offset scale.
        with_cp (bool): Gradient checkpointing.
        dw_kernel_size (int, optional): DCNv3 offset-branch kernel.
        res_post_norm (bool): Extra norm on each branch output.
        center_feature_scale (bool): DCNv3 centre feature scale.
    """

    def __init__(self,
                 channels: int,
                 group: int,
                 mlp_ratio: float = 4.0,
                 drop: float = 0.0,
                 drop_path: float = 0.0,
                 act_cfg: dict = dict(type='GELU'),
                 norm_layer: str = 'LN',
                 post_norm: bool = False,
                 layer_scale: Optional[float] = None,
                 offset_scale: float = 1.0,
                 with_cp: bool = False,
                 dw_kernel_size: Optional[int] = None,
                 res_post_norm: bool = False,
                 center_feature_scale: bool = False) -> None:
        super().__init__()
        self.post_norm = post_norm
        self.with_cp = with_cp
        self.layer_scale = layer_scale is not None
        self.res_post_norm = res_post_norm
        self.norm1 = build_layout_norm(channels, norm_layer)
        self.dcn = DCNv3(
            channels,
            kernel_size=3,
            dw_kernel_size=dw_kernel_size,
            stride=1,
            pad=1,
            dilation=1,
            group=group,
            offset_scale=offset_scale,
            act_cfg=act_cfg,
            norm_layer=norm_layer,
            center_feature_scale=center_feature_scale)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else (
            nn.Identity())
        self.norm2 = build_layout_norm(channels, norm_layer)
        self.mlp = MLPLayer(channels, int(channels * mlp_ratio), act_cfg,
                            drop)
        if self.layer_scale:
            self.gamma1 = nn.Parameter(
                layer_scale * torch.ones(channels), requires_grad=True)
            self.gamma2 = nn.Parameter(
                layer_scale * torch.ones(channels), requires_grad=True)
        if res_post_norm:
            self.res_post_norm1 = build_layout_norm(channels, norm_layer)
            self.res_post_norm2 = build_layout_norm(channels, norm_layer)

    def _branch(self, x: Tensor, fn: nn.Module, norm: nn.Module,
                gamma: Optional[Tensor],
                res_norm: Optional[nn.Module]) -> Tensor:
        if self.post_norm:
            out = norm(fn(x))
        else:
            out = fn(norm(x))
            if res_norm is not None and gamma is None:
                out = res_norm(out)
        if gamma is not None:
            out = gamma * out
        return x + self.drop_path(out)

    def _forward(self, x: Tensor) -> Tensor:
        gamma1 = self.gamma1 if self.layer_scale else None
        gamma2 = self.gamma2 if self.layer_scale else None
        res1 = self.res_post_norm1 if self.res_post_norm else None
        res2 = self.res_post_norm2 if self.res_post_norm else None
        x = self._branch(x, self.dcn, self.norm1, gamma1, res1)
        return self._branch(x, self.mlp, self.norm2, gamma2, res2)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, H, W, C)`` -> ``(N, H, W, C)``."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


class DownsampleLayer(nn.Module):
    """Conv 3x3 stride 2 (no bias) doubling the width, then LN."""

    def __init__(self, channels: int, norm_layer: str = 'LN') -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            channels, 2 * channels, 3, stride=2, padding=1, bias=False)
        self.norm = build_layout_norm(2 * channels, norm_layer,
                                      'channels_first', 'channels_last')

    def forward(self, x: Tensor) -> Tensor:
        """``(N, H, W, C)`` -> ``(N, H/2, W/2, 2C)``."""
        return self.norm(self.conv(x.permute(0, 3, 1, 2)))


class StemLayer(nn.Module):
    """Two conv 3x3 stride 2 with LN (and GELU between): stride 4."""

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 96,
                 act_cfg: dict = dict(type='GELU'),
                 norm_layer: str = 'LN') -> None:
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(in_channels, mid, 3, stride=2, padding=1)
        self.norm1 = build_layout_norm(mid, norm_layer, 'channels_first',
                                       'channels_first')
        self.act = build_activation_layer(act_cfg)
        self.conv2 = nn.Conv2d(mid, out_channels, 3, stride=2, padding=1)
        self.norm2 = build_layout_norm(out_channels, norm_layer,
                                       'channels_first', 'channels_last')

    def forward(self, x: Tensor) -> Tensor:
        """``(N, 3, H, W)`` -> ``(N, H/4, W/4, C)``."""
        x = self.act(self.norm1(self.conv1(x)))
        return self.norm2(self.conv2(x))


class InternImageBlock(nn.Module):
    """One stage: blocks, optional extra post-norms, stage norm, downsample.

    The stage-final ``norm`` exists only without post-norm or with the
    centre feature scale (T and H), as in the official model.
    """

    def __init__(self,
                 channels: int,
                 depth: int,
                 group: int,
                 downsample: bool,
                 drop_path: Sequence[float],
                 post_norm_block_ids: Optional[Sequence[int]] = None,
                 **layer_kwargs) -> None:
        super().__init__()
        post_norm = layer_kwargs.get('post_norm', False)
        center_feature_scale = layer_kwargs.get('center_feature_scale',
                                                False)
        norm_layer = layer_kwargs.get('norm_layer', 'LN')
        self.blocks = nn.ModuleList([
            InternImageLayer(
                channels, group, drop_path=drop_path[i], **layer_kwargs)
            for i in range(depth)
        ])
        self.has_norm = not post_norm or center_feature_scale
        if self.has_norm:
            self.norm = build_layout_norm(channels, 'LN')
        self.post_norm_block_ids = list(post_norm_block_ids or [])
        if self.post_norm_block_ids:
            self.post_norms = nn.ModuleList([
                build_layout_norm(channels, 'LN')
                for _ in self.post_norm_block_ids
            ])
        self.downsample = DownsampleLayer(
            channels, norm_layer) if downsample else None

    def forward(self, x: Tensor) -> tuple:
        """Returns ``(output before downsampling, input of next stage)``."""
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.post_norm_block_ids:
                x = self.post_norms[self.post_norm_block_ids.index(i)](x)
        if self.has_norm:
            x = self.norm(x)
        if self.downsample is None:
            return x, x
        return x, self.downsample(x)


@MODELS.register_module()
class InternImage(BaseModule):
    """`InternImage <https://arxiv.org/abs/2211.05778>`_ backbone with a
    pure-PyTorch DCNv3.

    Presets (``arch``) follow the official segmentation configs; every
    preset value can be overridden by passing the argument explicitly.

    ==== ======== =========== ============= ===== ====== ====== =========
    arch channels depths      groups        scale offset post   extras
    ==== ======== =========== ============= ===== ====== ====== =========
    t    64       4,4,18,4    4,8,16,32     1.0   1.0    no
    s    80       4,4,21,4    5,10,20,40    1.0   1.0    yes
    b    112      4,4,21,4    7,14,28,56    1.0   1.0    yes
    l    160      5,5,22,5    10,20,40,80   1.0   2.0    yes
    xl   192      5,5,24,5    12,24,48,96   1.0   2.0    yes
    h    320      6,6,32,6    10,20,40,80   none  1.0    no     see below
    ==== ======== =========== ============= ===== ====== ====== =========

    ``h`` adds a 5x5 offset depthwise conv, res-post-norm, level-2
    post-norms after blocks 5, 11, 17, 23, 29 and the centre feature
    scale. Default drop-path rates: t 0.2, s 0.3, b/l/xl 0.4, h 0.5.
    The arguments below marked *preset* default to the ``arch`` value;
    passing one (``None`` included, e.g. ``layer_scale=None``) overrides it.

    Args:
        arch (str | dict): Preset name or a dict with the preset keys.
            Defaults to 't'.
        in_channels (int): Input channels. Defaults to 3.
        channels (int): *preset* Stem width C (stages C, 2C, 4C, 8C).
        depths (Sequence[int]): *preset* Blocks per stage.
        groups (Sequence[int]): *preset* DCNv3 groups per stage.
        mlp_ratio (float): *preset* MLP expansion.
        drop_rate (float): Dropout in the MLPs. Defaults to 0.
        drop_path_rate (float): *preset* Final stochastic depth rate.
        drop_path_type (str): ``'linear'`` (rising with depth) or
            ``'uniform'``. Defaults to 'linear'.
        act_cfg (dict): Activation. Defaults to ``dict(type='GELU')``.
        norm_layer (str): ``'LN'`` (the only type used by the official
            models). Defaults to 'LN'.
        layer_scale (float): *preset* Initial layer scale; ``None``
            disables layer scale.
        offset_scale (float): *preset* DCNv3 offset scale.
        post_norm (bool): *preset* Post-norm blocks.
        dw_kernel_size (int): *preset* DCNv3 offset-branch kernel.
        res_post_norm (bool): *preset* Res-post-norm (H).
        level2_post_norm (bool): *preset* Extra norms in stage 2 (H).
        level2_post_norm_block_ids (Sequence[int]): *preset* Their
            positions.
        center_feature_scale (bool): *preset* DCNv3 centre feature scale.
        out_indices (Sequence[int]): Stages to output. Defaults to
            (0, 1, 2, 3).
        frozen_stages (int): ``-1`` trains everything; ``0`` freezes the
            stem; ``k > 0`` freezes the stem and the first ``k`` stages
            (eval mode, no gradients). Defaults to -1.
        with_cp (bool): Gradient checkpointing per block. Defaults to
            False.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH_OR_URL)`` loads an official-format checkpoint
            (ImageNet ``{'model': ...}``, ADE20K ``{'state_dict': ...}``
            with ``backbone.`` prefixes, or a plain state dict) and fails
            on mismatched keys; other init types go to MMEngine.
    """

    arch_zoo: Dict[str, dict] = {
        't': _preset(64, (4, 4, 18, 4), (4, 8, 16, 32), 1.0, 1.0, False,
                     0.2),
        's': _preset(80, (4, 4, 21, 4), (5, 10, 20, 40), 1.0, 1.0, True,
                     0.3),
        'b': _preset(112, (4, 4, 21, 4), (7, 14, 28, 56), 1.0, 1.0, True,
                     0.4),
        'l': _preset(160, (5, 5, 22, 5), (10, 20, 40, 80), 1.0, 2.0, True,
                     0.4),
        'xl': _preset(192, (5, 5, 24, 5), (12, 24, 48, 96), 1.0, 2.0, True,
                      0.4),
        'h': dict(
            _preset(320, (6, 6, 32, 6), (10, 20, 40, 80), None, 1.0, False,
                    0.5),
            dw_kernel_size=5,
            res_post_norm=True,
            level2_post_norm=True,
            level2_post_norm_block_ids=list(_H_POST_NORM_IDS),
            center_feature_scale=True),
    }

    def __init__(self,
                 arch: Union[str, dict] = 't',
                 in_channels: int = 3,
                 channels: Any = PRESET,
                 depths: Any = PRESET,
                 groups: Any = PRESET,
                 mlp_ratio: Any = PRESET,
                 drop_rate: float = 0.0,
                 drop_path_rate: Any = PRESET,
                 drop_path_type: str = 'linear',
                 act_cfg: dict = dict(type='GELU'),
                 norm_layer: str = 'LN',
                 layer_scale: Any = PRESET,
                 offset_scale: Any = PRESET,
                 post_norm: Any = PRESET,
                 dw_kernel_size: Any = PRESET,
                 res_post_norm: Any = PRESET,
                 level2_post_norm: Any = PRESET,
                 level2_post_norm_block_ids: Any = PRESET,
                 center_feature_scale: Any = PRESET,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = self._resolve_arch(
            arch,
            dict(
                channels=channels,
                depths=depths,
                groups=groups,
                mlp_ratio=mlp_ratio,
                drop_path_rate=drop_path_rate,
                layer_scale=layer_scale,
                offset_scale=offset_scale,
                post_norm=post_norm,
                dw_kernel_size=dw_kernel_size,
                res_post_norm=res_post_norm,
                level2_post_norm=level2_post_norm,
                level2_post_norm_block_ids=level2_post_norm_block_ids,
                center_feature_scale=center_feature_scale))
        self.arch_settings = settings
        depths = settings['depths']
        groups = settings['groups']
        channels = settings['channels']
        layer_scale = settings['layer_scale']
        num_levels = len(depths)
        if len(groups) != num_levels:
            raise ValueError(
                f'InternImage: groups {groups} and depths {depths} must '
                'have the same length')
        for i in out_indices:
            if not 0 <= i < num_levels:
                raise ValueError(
                    f'InternImage: out_indices {tuple(out_indices)} must '
                    f'lie in [0, {num_levels - 1}]')
        if drop_path_type not in ('linear', 'uniform'):
            raise ValueError("InternImage: drop_path_type must be 'linear' "
                             f"or 'uniform', got {drop_path_type!r}")
        if not -1 <= frozen_stages <= num_levels:
            raise ValueError(
                f'InternImage: frozen_stages must be in [-1, {num_levels}],'
                f' got {frozen_stages}')
        self.num_levels = num_levels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.out_channels = [channels * 2**i for i in range(num_levels)]

        self.patch_embed = StemLayer(in_channels, channels, act_cfg,
                                     norm_layer)
        self.pos_drop = nn.Dropout(p=drop_rate)
        total = sum(depths)
        rate = settings['drop_path_rate']
        if drop_path_type == 'uniform':
            dpr = [rate] * total
        else:
            dpr = [rate * i / max(total - 1, 1) for i in range(total)]
        self.levels = nn.ModuleList()
        for i in range(num_levels):
            start = sum(depths[:i])
            self.levels.append(
                InternImageBlock(
                    self.out_channels[i],
                    depths[i],
                    groups[i],
                    downsample=i < num_levels - 1,
                    drop_path=dpr[start:start + depths[i]],
                    post_norm_block_ids=(
                        settings['level2_post_norm_block_ids']
                        if settings['level2_post_norm'] and i == 2 else
                        None),
                    mlp_ratio=settings['mlp_ratio'],
                    drop=drop_rate,
                    act_cfg=act_cfg,
                    norm_layer=norm_layer,
                    post_norm=settings['post_norm'],
                    layer_scale=layer_scale,
                    offset_scale=settings['offset_scale'],
                    with_cp=with_cp,
                    dw_kernel_size=settings['dw_kernel_size'],
                    res_post_norm=settings['res_post_norm'],
                    center_feature_scale=settings['center_feature_scale']))
        self._reset_weights()
        self._freeze_stages()

    @classmethod
    def _resolve_arch(cls, arch: Union[str, dict], overrides: dict) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise KeyError(
                    f'InternImage: unknown arch {arch!r}; choose one of '
                    f'{sorted(cls.arch_zoo)} or pass a dict')
            settings = copy.deepcopy(cls.arch_zoo[key])
        elif isinstance(arch, dict):
            settings = copy.deepcopy(cls.arch_zoo['t'])
            required = {'channels', 'depths', 'groups'}
            if not required <= set(arch):
                raise KeyError(
                    f'InternImage: a custom arch dict needs the keys '
                    f'{sorted(required)}, got {sorted(arch)}')
            unknown = set(arch) - set(settings)
            if unknown:
                raise KeyError(f'InternImage: unknown arch keys '
                               f'{sorted(unknown)}; valid: '
                               f'{sorted(settings)}')
            settings.update(copy.deepcopy(arch))
        else:
            raise TypeError('InternImage: arch must be a preset name or a '
                            f'dict, got {type(arch).__name__}')
        for key, value in overrides.items():
            if value is not PRESET:
                settings[key] = value
        settings['depths'] = list(settings['depths'])
        settings['groups'] = list(settings['groups'])
        return settings

    def _reset_weights(self) -> None:
        """Official default init: truncated-normal Linear layers, unit LNs,
        then each DCNv3 resets itself (zero offsets, uniform masks)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, DCNv3):
                m.reset_parameters()

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint (official formats, strict keys).

        Without a ``Pretrained`` init_cfg the weights keep the official
        default initialisation done at construction.
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            if not cfg.get('checkpoint'):
                raise KeyError(
                    "InternImage: init_cfg type 'Pretrained' needs "
                    "'checkpoint' (a local path or URL)")
            load_internimage_checkpoint(
                self,
                cfg['checkpoint'],
                prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
        elif cfg is not None:
            super().init_weights()

    def _freeze_stages(self) -> None:
        frozen = []
        if self.frozen_stages >= 0:
            frozen.append(self.patch_embed)
        frozen.extend(self.levels[:max(self.frozen_stages, 0)])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'InternImage':
        """Set the mode, keeping frozen stages in eval mode."""
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> tuple:
        """Forward.

        Args:
            x (Tensor): ``(N, C_in, H, W)`` image batch.

        Returns:
            tuple[Tensor]: NCHW features of the stages in ``out_indices``
            (strides 4, 8, 16, 32; widths C, 2C, 4C, 8C).
        """
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, level in enumerate(self.levels):
            feat, x = level(x)
            if i in self.out_indices:
                outs.append(feat.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
