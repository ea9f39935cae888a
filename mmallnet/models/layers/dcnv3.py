"""DCNv3 layer of InternImage (official parameter names)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from torch import Tensor

from .channels_last import build_layout_norm
from .dcnv3_function import dcnv3_core


class DCNv3(nn.Module):
    """Deformable convolution v3 on a channels-last map.

    ``value = input_proj(x)`` is sampled at ``K * K`` learned positions per
    group; offsets and softmax-normalised masks come from a depthwise
    conv + LN + activation on ``x``. The result goes through
    ``output_proj``. Parameter names equal the official module's, so
    InternImage checkpoints load without a key map.

    Args:
        channels (int): Number of channels C.
        kernel_size (int): Sampling kernel size K. Defaults to 3.
        dw_kernel_size (int, optional): Kernel of the depthwise conv of the
            offset/mask branch; ``None`` uses ``kernel_size``.
        stride (int): Stride. Defaults to 1.
        pad (int): Padding. Defaults to 1.
        dilation (int): Dilation. Defaults to 1.
        group (int): Number of groups G; C must be divisible by it.
            Defaults to 4.
        offset_scale (float): Scale of the kernel grid and the offsets.
            Defaults to 1.0.
        act_cfg (dict): Activation of the offset/mask branch. Defaults to
            ``dict(type='GELU')``.
        norm_layer (str): Norm of the offset/mask branch. Defaults to
            ``'LN'``.
        center_feature_scale (bool): Blend the sampled features with the
            projected input through a per-group sigmoid gate
            (InternImage-H). Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 3,
                 dw_kernel_size: Optional[int] = None,
                 stride: int = 1,
                 pad: int = 1,
                 dilation: int = 1,
                 group: int = 4,
                 offset_scale: float = 1.0,
                 act_cfg: dict = dict(type='GELU'),
                 norm_layer: str = 'LN',
                 center_feature_scale: bool = False) -> None:
        super().__init__()
        if channels % group:
            raise ValueError(
                f'DCNv3: channels ({channels}) must be divisible by group '
                f'({group})')
        dw_kernel_size = dw_kernel_size or kernel_size
        self.channels = channels
        self.kernel_size = kernel_size
        self.dw_kernel_size = dw_kernel_size
        self.stride = stride
        self.pad = pad
        self.dilation = dilation
        self.group = group
        self.group_channels = channels // group
        self.offset_scale = offset_scale
        self.center_feature_scale = center_feature_scale
        points = kernel_size * kernel_size

        self.dw_conv = nn.Sequential(
            nn.Conv2d(
                channels,
                channels,
                kernel_size=dw_kernel_size,
                stride=1,
                padding=(dw_kernel_size - 1) // 2,
                groups=channels),
            build_layout_norm(channels, norm_layer, 'channels_first',
                              'channels_last'),
            build_activation_layer(act_cfg))
        self.offset = nn.Linear(channels, group * points * 2)
        self.mask = nn.Linear(channels, group * points)
        self.input_proj = nn.Linear(channels, channels)
        self.output_proj = nn.Linear(channels, channels)
        if center_feature_scale:
            self.center_feature_scale_proj_weight = nn.Parameter(
                torch.zeros(group, channels))
            self.center_feature_scale_proj_bias = nn.Parameter(
                torch.zeros(group))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Zero offsets, uniform masks, Xavier projections (official)."""
        for layer in (self.offset, self.mask):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        for layer in (self.input_proj, self.output_proj):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Forward.

        Args:
            x (Tensor): ``(N, H, W, C)``.

        Returns:
            Tensor: ``(N, H_out, W_out, C)``.
        """
        n, h, w, _ = x.shape
        value = self.input_proj(x)
        feat = self.dw_conv(x.permute(0, 3, 1, 2))
        offset = self.offset(feat)
        mask = self.mask(feat)
        mask = F.softmax(
            mask.reshape(*mask.shape[:3], self.group, -1),
            dim=-1).flatten(3)
        out = dcnv3_core(value, offset, mask, self.kernel_size, self.stride,
                         self.pad, self.dilation, self.group,
                         self.offset_scale)
        if self.center_feature_scale:
            gate = torch.sigmoid(
                F.linear(feat, self.center_feature_scale_proj_weight,
                         self.center_feature_scale_proj_bias))
            gate = gate.repeat_interleave(self.group_channels, dim=-1)
            out = out * (1 - gate) + value * gate
        return self.output_proj(out)
