"""Dense all-in-one restorer: a Restormer-style asymmetric encoder-decoder.

The stand-in for the dense all-in-one restorers of the two-stage baselines
(AdaIR, PromptIR): the encoder-decoder of `MoCE-IR
<https://arxiv.org/abs/2411.18466>`_ without its mixture of experts, built
from `Restormer <https://arxiv.org/abs/2111.09881>`_ blocks.
:class:`~mmallnet.models.restorers.MaERestorer` adds the experts.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor

from ...structures.expert_routing import ExpertRouting
from ..layers.restormer import RestormerBlock

#: Presets. ``'base'`` is MoCE-IR's (arXiv 2411.18466, ``src/options.py``)
#: and ``'S'`` MoCE-IR-S; ``'tiny'`` is a CPU demo size. Encoder blocks are
#: per level (L1, L2, L3, latent), decoder blocks per level (L1, L2, L3).
RESTORER_ARCHS: Dict[str, Dict[str, object]] = {
    'base': dict(embed_dims=48, encoder_blocks=(4, 6, 6, 8),
                 decoder_blocks=(2, 4, 4), refinement_blocks=4,
                 num_heads=(1, 2, 4, 8)),
    'S': dict(embed_dims=32, encoder_blocks=(4, 6, 6, 8),
              decoder_blocks=(2, 4, 4), refinement_blocks=4,
              num_heads=(1, 2, 4, 8)),
    'tiny': dict(embed_dims=16, encoder_blocks=(1, 1, 1, 1),
                 decoder_blocks=(1, 1, 1), refinement_blocks=1,
                 num_heads=(1, 2, 4, 8)),
}
#: Keys an ``arch`` dict must have, with their lengths (0: an int).
ARCH_KEYS = dict(embed_dims=0, encoder_blocks=4, decoder_blocks=3,
                 refinement_blocks=0, num_heads=4)
#: The input is padded to a multiple of this (three 2x downsamplings).
SIZE_DIVISOR = 8


def resolve_arch(arch: Union[str, dict], where: str) -> Dict[str, object]:
    """A preset name or an explicit arch dict, checked.

    Args:
        arch (str or dict): A key of :data:`RESTORER_ARCHS`, or a dict with
            every key of :data:`ARCH_KEYS`.
        where (str): Config key named in errors.

    Returns:
        dict: The settings.
    """
    if isinstance(arch, str):
        if arch not in RESTORER_ARCHS:
            raise KeyError(f'`{where}` must be one of '
                           f'{list(RESTORER_ARCHS)} or a dict, got {arch!r}.')
        return dict(RESTORER_ARCHS[arch])
    if not isinstance(arch, dict):
        raise TypeError(f'`{where}` must be a preset name or a dict, got '
                        f'{type(arch).__name__}.')
    missing = sorted(set(ARCH_KEYS) - set(arch))
    if missing:
        raise KeyError(f'`{where}` is missing {missing}; expected the keys '
                       f'{list(ARCH_KEYS)}.')
    for key, length in ARCH_KEYS.items():
        if length and len(arch[key]) != length:
            raise ValueError(f'`{where}.{key}` needs {length} entries, got '
                             f'{list(arch[key])}.')
    widths = [arch['embed_dims'] * 2**i for i in range(4)]
    for width, heads in zip(widths, arch['num_heads']):
        if width % heads:
            raise ValueError(f'`{where}.num_heads` {list(arch["num_heads"])} '
                             f'must divide the level widths {widths}.')
    return dict(arch)


def pad_to_multiple(img: Tensor, divisor: int = SIZE_DIVISOR) -> Tensor:
    """Pad ``(B, C, H, W)`` bottom/right to multiples of ``divisor``.

    Reflection padding (Restormer's test-time padding) where the image is
    large enough, else replication.
    """
    h, w = img.shape[-2:]
    pad = (0, (-w) % divisor, 0, (-h) % divisor)
    if not any(pad):
        return img
    mode = 'reflect' if pad[1] < w and pad[3] < h else 'replicate'
    return F.pad(img, pad, mode=mode)


class Downsample(nn.Module):
    """3x3 conv ``C -> C/2`` then pixel-unshuffle: ``(C, H, W) -> (2C,
    H/2, W/2)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels // 2, 3, padding=1, bias=False),
            nn.PixelUnshuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        """Halve the resolution, double the channels."""
        return self.body(x)


class Upsample(nn.Module):
    """3x3 conv ``C -> 2C`` then pixel-shuffle: ``(C, H, W) -> (C/2, 2H,
    2W)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 2, 3, padding=1, bias=False),
            nn.PixelShuffle(2))

    def forward(self, x: Tensor) -> Tensor:
        """Double the resolution, halve the channels."""
        return self.body(x)


def _blocks(num: int, channels: int, heads: int, ffn_expansion: float,
            bias: bool) -> nn.Sequential:
    return nn.Sequential(*[
        RestormerBlock(channels, heads, ffn_expansion, bias)
        for _ in range(num)
    ])


@MODELS.register_module()
class DenseRestorer(BaseModule):
    """Dense all-in-one restorer (Restormer-style, no experts).

    The asymmetric encoder-decoder of `MoCE-IR
    <https://arxiv.org/abs/2411.18466>`_ with plain `Restormer
    <https://arxiv.org/abs/2111.09881>`_ blocks (MDTA + GDFN): a 3x3 stem
    to width ``C``; encoder levels of width ``C, 2C, 4C`` and a latent of
    ``8C``, joined by pixel-unshuffle downsampling; decoder levels
    L3, L2, L1 each upsample by pixel-shuffle, concatenate the encoder
    skip and fuse it with a 1x1 conv back to the level width (L1 stays at
    ``C``, as in MoCE-IR); refinement blocks at ``C``; a 3x3 conv to a
    residual added to the input (global residual). The input is padded
    to a multiple of 8 and the output cropped back.

    :meth:`restore` maps a ``(B, 3, H, W)`` RGB image in [0, 1] to the
    restored image of the same shape, unclamped.

    Args:
        arch (str or dict): ``'base'`` (MoCE-IR: width 48, encoder blocks
            4/6/6/8, decoder 2/4/4, 4 refinement blocks, heads 1/2/4/8),
            ``'S'`` (width 32, otherwise as ``'base'``), ``'tiny'``
            (width 16, blocks 1/1/1/1, decoder 1/1/1, 1 refinement block)
            or a dict with the keys of :data:`ARCH_KEYS`. Defaults to
            'base'.
        in_channels (int): Image channels. Defaults to 3.
        ffn_expansion (float): GDFN expansion. Defaults to 2.66
            (Restormer, PromptIR, AdaIR).
        bias (bool): Conv bias inside the blocks. Defaults to False.
        zero_init_last (bool): Zero the output conv, so the network starts
            as the identity. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 in_channels: int = 3,
                 ffn_expansion: float = 2.66,
                 bias: bool = False,
                 zero_init_last: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(arch, 'model.restorer.arch')
        self.arch_settings = settings
        dims = settings['embed_dims']
        heads = settings['num_heads']
        self.widths: List[int] = [dims * 2**i for i in range(4)]
        self.stem = nn.Conv2d(in_channels, dims, 3, padding=1, bias=False)
        self.encoders = nn.ModuleList([
            _blocks(settings['encoder_blocks'][i], self.widths[i], heads[i],
                    ffn_expansion, bias) for i in range(3)
        ])
        self.downs = nn.ModuleList(
            [Downsample(self.widths[i]) for i in range(3)])
        self.latent = _blocks(settings['encoder_blocks'][3], self.widths[3],
                              heads[3], ffn_expansion, bias)
        # Indexed by level (0 = full resolution): up from level + 1.
        self.ups = nn.ModuleList(
            [Upsample(self.widths[i + 1]) for i in range(3)])
        self.fuses = nn.ModuleList([
            nn.Conv2d(2 * self.widths[i], self.widths[i], 1, bias=bias)
            for i in range(3)
        ])
        self.decoders = nn.ModuleList([
            _blocks(settings['decoder_blocks'][i], self.widths[i], heads[i],
                    ffn_expansion, bias) for i in range(3)
        ])
        self.refinement = _blocks(settings['refinement_blocks'], dims,
                                  heads[0], ffn_expansion, bias)
        self.output = nn.Conv2d(dims, in_channels, 3, padding=1, bias=False)
        if zero_init_last:
            nn.init.zeros_(self.output.weight)

    def decode_level(self, level: int, x: Tensor) -> Tuple[Tensor, object]:
        """Run decoder level ``level`` after its skip fusion.

        Args:
            level (int): 0 (full resolution) to 2.
            x (Tensor): ``(B, C_level, H_level, W_level)``.

        Returns:
            tuple: The features and the level's routing (None here).
        """
        return self.decoders[level](x), None

    def make_routing(self, per_level: Sequence[object]
                     ) -> Optional[ExpertRouting]:
        """Routing of the whole network from the per-level ones (none)."""
        return None

    def restore_with_routing(
            self, img: Tensor) -> Tuple[Tensor, Optional[ExpertRouting]]:
        """Restore and return the routing behind it.

        Args:
            img (Tensor): ``(B, 3, H, W)`` RGB in [0, 1], any ``H, W``.

        Returns:
            tuple[Tensor, ExpertRouting or None]: The restored image
            ``img + residual`` (same shape, unclamped) and the routing
            (None for the dense network).
        """
        if img.dim() != 4:
            raise ValueError(f'{type(self).__name__}: expected a (B, C, H, W)'
                             f' image, got shape {tuple(img.shape)}.')
        h, w = img.shape[-2:]
        x = pad_to_multiple(img)
        feat = self.stem(x)
        skips = []
        for level in range(3):
            feat = self.encoders[level](feat)
            skips.append(feat)
            feat = self.downs[level](feat)
        feat = self.latent(feat)
        per_level = [None] * 3
        for level in (2, 1, 0):
            feat = self.ups[level](feat)
            feat = self.fuses[level](torch.cat([feat, skips[level]], dim=1))
            feat, per_level[level] = self.decode_level(level, feat)
        out = x + self.output(self.refinement(feat))
        return out[..., :h, :w], self.make_routing(per_level)

    def restore(self, img: Tensor) -> Tensor:
        """Restore ``img`` (``(B, 3, H, W)`` RGB in [0, 1]); same shape,
        unclamped."""
        return self.restore_with_routing(img)[0]

    def forward(self, img: Tensor) -> Tensor:
        """Same as :meth:`restore`."""
        return self.restore(img)
