"""Unified Expert U of ALLNet: the dense path every input takes.

``Z = RestormerBlock(X)``; the restoration stream is ``P~ = Conv1x1_R(Z)``
and the prediction stream is ``J~ = Conv1x1_J(Z) + X`` (the residual keeps
the encoder feature on the prediction path).
"""
from typing import Optional, Tuple

import torch.nn as nn
from torch import Tensor

from .restormer import RestormerBlock


def default_num_heads(channels: int) -> int:
    """``channels / 64`` rounded down to a power of two (at least 1) that
    divides ``channels``."""
    heads = 1
    while heads * 2 <= channels // 64 and channels % (heads * 2) == 0:
        heads *= 2
    return heads


class UnifiedExpert(nn.Module):
    """Restormer block plus restoration/prediction 1x1 projections.

    Args:
        channels (int): Channels ``C_s`` in and out.
        num_heads (int, optional): MDTA heads; ``None`` uses
            :func:`default_num_heads`. Defaults to None.
        ffn_expansion (float): GDFN expansion. Defaults to 2.66.
    """

    def __init__(self,
                 channels: int,
                 num_heads: Optional[int] = None,
                 ffn_expansion: float = 2.66) -> None:
        super().__init__()
        if num_heads is None:
            num_heads = default_num_heads(channels)
        self.block = RestormerBlock(channels, num_heads, ffn_expansion)
        self.restoration = nn.Conv2d(channels, channels, 1)
        self.prediction = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Produce both streams.

        Args:
            x (Tensor): ``(B, C, H, W)`` encoder feature.

        Returns:
            tuple[Tensor, Tensor]: ``P~`` and ``J~``, both
            ``(B, C, H, W)``.
        """
        z = self.block(x)
        return self.restoration(z), self.prediction(z) + x
