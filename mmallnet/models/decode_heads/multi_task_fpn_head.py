"""The multi-task baseline's decoder: one FPN fusion that all tasks share."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.registry import MODELS
from torch import Tensor

from .base_multi_task_head import BaseMultiTaskHead, DecoderOutput


@MODELS.register_module()
class MultiTaskFPNHead(BaseMultiTaskHead):
    """Plain multi-task decoder: shared FPN fusion plus per-task heads.

    Shared decoder: a 1x1 lateral ConvModule per selected scale maps it to
    ``channels``; a top-down pass adds each upsampled coarser lateral to the
    next finer one; a 3x3 ConvModule refines every level; all levels are
    upsampled to the finest (1/4) scale, concatenated and fused by a 3x3
    ConvModule into the shared feature, which every task head and the
    restoration branch read (:class:`BaseMultiTaskHead`).

    Args:
        in_channels (Sequence[int]): Channels of each selected input scale,
            ordered fine (1/4) to coarse.
        channels (int): Width of the shared decoder and the task heads.
        tasks (Sequence[str]): Task names, see
            :data:`mmallnet.structures.ALL_TASKS`.
        **kwargs: Further arguments of :class:`BaseMultiTaskHead`
            (``in_index``, ``num_classes``, ``num_parts_classes``,
            ``task_loss_weights``, ``loss_decode``, ``restoration``,
            ``restoration_channels``, ``restoration_unshuffle``,
            ``restoration_loss``, ``conv_cfg``, ``norm_cfg``, ``act_cfg``,
            ``align_corners``, ``init_cfg``). ``norm_cfg`` applies to the
            shared decoder too.
    """

    def __init__(self, in_channels: Sequence[int], channels: int,
                 tasks: Sequence[str], **kwargs) -> None:
        super().__init__(in_channels=in_channels, channels=channels,
                         tasks=tasks, **kwargs)
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                           act_cfg=self.act_cfg)
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, channels, 1, **conv_kwargs)
            for c in self.in_channels)
        self.fpn_convs = nn.ModuleList(
            ConvModule(channels, channels, 3, padding=1, **conv_kwargs)
            for _ in self.in_channels)
        self.fuse_conv = ConvModule(
            len(self.in_channels) * channels, channels, 3, padding=1,
            **conv_kwargs)

    def forward_shared(self, inputs: Sequence[Tensor]) -> Tensor:
        """Fuse the multi-scale inputs into the shared 1/4-scale feature.

        Args:
            inputs (Sequence[Tensor]): Backbone/neck outputs.

        Returns:
            Tensor: Shared feature (N, channels, H/4, W/4).
        """
        feats = self._select_inputs(inputs)
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + self._resize(
                laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(lat) for conv, lat in zip(self.fpn_convs, laterals)]
        size = outs[0].shape[2:]
        outs = [outs[0]] + [self._resize(o, size) for o in outs[1:]]
        return self.fuse_conv(torch.cat(outs, dim=1))

    def forward_decoder(self, inputs: Sequence[Tensor]) -> DecoderOutput:
        """The shared feature, for the restoration branch and every task.

        Args:
            inputs (Sequence[Tensor]): Backbone/neck outputs.

        Returns:
            tuple[Tensor, Tensor]: The shared feature, twice.
        """
        shared = self.forward_shared(inputs)
        return shared, shared
