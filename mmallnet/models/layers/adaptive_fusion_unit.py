"""Adaptive fusion unit (AFU) of ALLNet's TCR head.

One task's fused features ``J`` read the task's refined maps ``P''_t``
from the CTI unit by transposed (channel) cross-attention: queries come
from ``J``, keys and values from ``P''_t`` (mapped from ``N`` to ``C``
channels), all L2-normalised along the pixel axis, with a learnable
per-head temperature. The attention map is ``(C/h) x (C/h)`` per head, so
the cost is linear in ``H * W`` and the unit runs at 1/4 scale. Then
``J' = J + Conv1x1(A V)`` and ``J_out = J' + GDFN(LN(J'))``.

The unit serves one task; the head builds one per task (the notes call the
mapping task-specific), or shares one instance if parameters are tight.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from .restormer import GDFN, ChannelLayerNorm2d, transposed_attention


def _pointwise_depthwise(in_channels: int, out_channels: int,
                         bias: bool) -> nn.Sequential:
    """``DW3x3(Conv1x1(x))``, the projection of Restormer's attention."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=bias),
        nn.Conv2d(
            out_channels,
            out_channels,
            3,
            padding=1,
            groups=out_channels,
            bias=bias))


class AdaptiveFusionUnit(nn.Module):
    """Channel cross-attention from task features to refined task maps.

    Args:
        channels (int): Channels ``C`` of the task features ``J``; must be
            divisible by ``num_heads``.
        map_channels (int, optional): Channels ``N`` of the refined maps
            ``P''_t``. Defaults to ``channels``.
        num_heads (int): Attention heads ``h``. Defaults to 1.
        ffn_expansion (float): GDFN hidden-width factor. Defaults to 2.66.
        bias (bool): Whether the convolutions have a bias.
            Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 map_channels: Optional[int] = None,
                 num_heads: int = 1,
                 ffn_expansion: float = 2.66,
                 bias: bool = False) -> None:
        super().__init__()
        if channels % num_heads != 0:
            raise ValueError(f'channels ({channels}) must be divisible by '
                             f'num_heads ({num_heads})')
        map_channels = channels if map_channels is None else map_channels
        self.channels = channels
        self.map_channels = map_channels
        self.num_heads = num_heads

        self.query_norm = ChannelLayerNorm2d(channels)
        self.key_value_norm = ChannelLayerNorm2d(map_channels)
        self.query = _pointwise_depthwise(channels, channels, bias)
        self.key_value = _pointwise_depthwise(map_channels, channels * 2,
                                              bias)
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.project_out = nn.Conv2d(channels, channels, 1, bias=bias)

        self.ffn_norm = ChannelLayerNorm2d(channels)
        self.ffn = GDFN(channels, ffn_expansion, bias=bias)

    def attention(self, feat: Tensor, maps: Tensor) -> Tensor:
        """The cross-attention branch ``Conv1x1(A V)``.

        Args:
            feat (Tensor): Task features ``J`` of shape ``(B, C, H, W)``.
            maps (Tensor): Refined maps ``P''_t`` of shape ``(B, N, H, W)``.

        Returns:
            Tensor: ``(B, C, H, W)``, added to ``J`` by :meth:`forward`.
        """
        if feat.shape[0] != maps.shape[0] or \
                feat.shape[2:] != maps.shape[2:]:
            raise ValueError(
                f'feat {tuple(feat.shape)} and maps {tuple(maps.shape)} '
                'must share the batch and spatial sizes')
        query = self.query(self.query_norm(feat))
        key, value = self.key_value(self.key_value_norm(maps)).chunk(
            2, dim=1)
        return self.project_out(
            transposed_attention(query, key, value, self.num_heads,
                                 self.temperature))

    def forward(self, feat: Tensor, maps: Tensor) -> Tensor:
        """Fuse the refined maps into the task features.

        Args:
            feat (Tensor): Task features ``J`` of shape ``(B, C, H, W)``.
            maps (Tensor): Refined maps ``P''_t`` of shape ``(B, N, H, W)``.

        Returns:
            Tensor: ``J_out = J' + GDFN(LN(J'))`` with
            ``J' = J + attention(J, P''_t)``, of shape ``(B, C, H, W)``.
        """
        feat = feat + self.attention(feat, maps)
        return feat + self.ffn(self.ffn_norm(feat))
