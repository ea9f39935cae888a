"""Selective kernel feature fusion (SKFF) of MIRNet.

The inputs are summed, globally pooled and squeezed to a small descriptor;
one 1x1 projection per input turns it into per-channel logits, and a
softmax over the inputs gives channel-wise selection weights ``s_i`` with
``sum_i s_i = 1``. The output is ``sum_i s_i * x_i``. In ALLNet's TCR head
it fuses the restoration and the task streams, ``J = s1 * P + s2 * J~``.
"""
from typing import Sequence

import torch
import torch.nn as nn
from torch import Tensor


class SKFF(nn.Module):
    """Selective kernel feature fusion of ``height`` same-shaped inputs.

    Args:
        channels (int): Channels ``C`` of every input.
        height (int): Number of inputs ``L``. Defaults to 2.
        reduction (int): Squeeze ratio; the descriptor has
            ``max(C // reduction, 4)`` channels. Defaults to 8.
    """

    def __init__(self,
                 channels: int,
                 height: int = 2,
                 reduction: int = 8) -> None:
        super().__init__()
        if height < 1:
            raise ValueError(f'height must be >= 1, got {height}')
        self.channels = channels
        self.height = height
        hidden = max(channels // reduction, 4)
        self.squeeze = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.PReLU())
        self.selects = nn.ModuleList(
            nn.Conv2d(hidden, channels, 1, bias=False)
            for _ in range(height))

    def selection_weights(self, inputs: Sequence[Tensor]) -> Tensor:
        """Channel-wise softmax weights over the inputs.

        Args:
            inputs (Sequence[Tensor]): ``height`` maps of shape
                ``(B, C, H, W)``.

        Returns:
            Tensor: Weights of shape ``(B, L, C, 1, 1)`` that sum to 1 over
            ``L`` for every sample and channel.
        """
        if len(inputs) != self.height:
            raise ValueError(
                f'SKFF expects {self.height} inputs, got {len(inputs)}')
        pooled = sum(inputs).mean(dim=(2, 3), keepdim=True)
        descriptor = self.squeeze(pooled)
        logits = torch.stack([select(descriptor) for select in self.selects],
                             dim=1)
        return logits.softmax(dim=1)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Fuse the inputs.

        Args:
            inputs (Sequence[Tensor]): ``height`` maps of shape
                ``(B, C, H, W)``.

        Returns:
            Tensor: ``sum_i s_i * x_i`` of shape ``(B, C, H, W)``.
        """
        weights = self.selection_weights(inputs)
        return sum(w * x for w, x in zip(weights.unbind(dim=1), inputs))
