"""Baseline multi-task decode head with an optional restoration branch."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from ...structures.tasks import CLEAN_IMG_KEY, TASK_SPECS, check_tasks

# The imports register the default task losses in ``MODELS``.
from ..losses.balanced_bce_loss import BalancedBCELoss  # noqa: F401
from ..losses.depth_l1_loss import DepthL1Loss  # noqa: F401
from ..losses.normal_l1_loss import NormalL1Loss  # noqa: F401
from ..losses.restoration_loss import RestorationLoss  # noqa: F401
from ..losses.weighted_bce_loss import WeightedBCELoss  # noqa: F401

#: InvPT-family task loss weights (NYUD and PASCAL-Context share them).
DEFAULT_TASK_LOSS_WEIGHTS: Dict[str, float] = dict(
    semseg=1.0, depth=1.0, normals=10.0, boundary=50.0, parts=2.0,
    saliency=5.0)

#: Default loss of every task (``loss_weight`` 1; task weights apply on top).
DEFAULT_LOSS_DECODE: Dict[str, dict] = dict(
    semseg=dict(type='CrossEntropyLoss', avg_non_ignore=True,
                loss_name='loss_semseg'),
    depth=dict(type='DepthL1Loss'),
    normals=dict(type='NormalL1Loss'),
    boundary=dict(type='WeightedBCELoss', pos_weight=0.95),
    parts=dict(type='CrossEntropyLoss', avg_non_ignore=True,
               loss_name='loss_parts'),
    saliency=dict(type='BalancedBCELoss'))

#: Default restoration loss: L1 + 0.1 * FFT-L1, weight 1.
DEFAULT_RESTORATION_LOSS = dict(
    type='RestorationLoss', l1_weight=1.0, fft_weight=0.1, loss_weight=1.0)

#: Tasks whose target is a class-index map (CE with ``ignore_index``).
_LABEL_TASKS = ('semseg', 'parts')
#: Tasks predicted as one binary logit (loss gets ``ignore_index``).
_BINARY_TASKS = ('boundary', 'saliency')
#: Key of the restored image in the head's output dict.
RESTORATION_KEY = 'restoration'


@MODELS.register_module()
class MultiTaskHead(BaseModule):
    """Plain multi-task decoder: shared FPN fusion plus per-task heads.

    Shared decoder: a 1x1 lateral ConvModule per selected scale maps it to
    ``channels``; a top-down pass adds each upsampled coarser lateral to the
    next finer one; a 3x3 ConvModule refines every level; all levels are
    upsampled to the finest (1/4) scale, concatenated and fused by a 3x3
    ConvModule into the shared feature.

    Task heads (at 1/4): 3x3 ConvModule + 1x1 conv to the task's channels
    (semseg ``num_classes`` logits, parts ``num_parts_classes`` logits,
    saliency / boundary 1 logit, depth 1, normals 3), then bilinear
    upsampling to the input resolution. The forward pass returns raw maps:
    depth is a linear output in metres (the loss sees it unclamped,
    :meth:`predict_by_feat` clamps it at 0) and normals are un-normalised
    (the loss and :meth:`predict_by_feat` L2-normalise them).

    Restoration branch (``restoration=True``): the shared feature is reduced
    by a 1x1 ConvModule, upsampled to full resolution and added to a shallow
    full-resolution feature of the degraded [0, 1] RGB input (two 3x3
    ConvModules); a 3x3 ConvModule and a zero-initialised 3x3 conv predict a
    residual, and ``restored = degraded + residual`` (global residual, so at
    initialisation the output is the input). The restoration branch has no
    normalisation layers. The forward pass returns the *unclamped* restored
    image, which the loss uses (clamping would cut the gradient of
    out-of-range pixels); :meth:`predict_by_feat` clamps it to [0, 1].
    With ``restoration_unshuffle=r > 1`` the branch works at ``1/r``
    resolution without losing pixels: the input is space-to-depth
    rearranged (``PixelUnshuffle(r)``, ``3 r^2`` channels), the convs run
    at ``H/r x W/r`` and the residual is predicted as ``3 r^2`` channels
    and rearranged back (``PixelShuffle(r)``), so every full-resolution
    pixel keeps its own output; the convs cost about ``1/r^2``.

    Losses: ``loss_{task} = task_loss_weights[task] * sum(loss(pred, gt))``
    over the task's ``loss_decode`` entries (each with its own
    ``loss_weight``, 1 by default), plus ``loss_restoration`` and
    ``acc_semseg`` / ``acc_parts``.

    Args:
        in_channels (Sequence[int]): Channels of each selected input scale,
            ordered fine (1/4) to coarse.
        channels (int): Width of the shared decoder and the task heads.
        tasks (Sequence[str]): Task names, see
            :data:`mmallnet.structures.ALL_TASKS`.
        in_index (Sequence[int]): Indices of the used backbone/neck outputs.
            Defaults to (0, 1, 2, 3).
        num_classes (int): Semantic classes (40 NYUD, 21 PASCAL).
            Defaults to 40.
        num_parts_classes (int): Human-part classes incl. background.
            Defaults to 7.
        task_loss_weights (dict, optional): Per-task weights, merged into
            :data:`DEFAULT_TASK_LOSS_WEIGHTS`.
        loss_decode (dict, optional): Per-task loss config (a dict or a
            list of dicts), merged into :data:`DEFAULT_LOSS_DECODE`.
        restoration (bool): Whether to build the restoration branch.
            Defaults to True.
        restoration_channels (int): Width of the restoration branch.
            Defaults to 32.
        restoration_unshuffle (int): Space-to-depth factor ``r`` of the
            restoration branch (see above); the input size must be
            divisible by it. Defaults to 1 (full resolution).
        restoration_loss (dict, optional): Restoration loss config. Defaults
            to :data:`DEFAULT_RESTORATION_LOSS`.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict, optional): Norm config of the shared decoder and the
            task heads. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        align_corners (bool): ``align_corners`` of every resize. Defaults to
            False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int,
                 tasks: Sequence[str],
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 num_classes: int = 40,
                 num_parts_classes: int = 7,
                 task_loss_weights: Optional[Dict[str, float]] = None,
                 loss_decode: Optional[Dict[str, Union[dict,
                                                       List[dict]]]] = None,
                 restoration: bool = True,
                 restoration_channels: int = 32,
                 restoration_unshuffle: int = 1,
                 restoration_loss: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.tasks = check_tasks(tasks, 'tasks')
        if not self.tasks and not restoration:
            raise ValueError('MultiTaskHead: `tasks` is empty and '
                             '`restoration` is False; nothing to predict.')
        in_channels = list(in_channels)
        in_index = list(in_index)
        if not in_channels or len(in_channels) != len(in_index):
            raise ValueError(
                f'MultiTaskHead: `in_channels` {in_channels} and `in_index` '
                f'{in_index} must be non-empty and of equal length.')
        self.in_channels = in_channels
        self.in_index = in_index
        self.channels = channels
        self.num_classes = num_classes
        self.num_parts_classes = num_parts_classes
        self.align_corners = align_corners
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.restoration = restoration
        self.task_channels = dict(
            semseg=num_classes, depth=1, normals=3, boundary=1,
            parts=num_parts_classes, saliency=1)
        self.out_channels = num_classes

        weights = dict(DEFAULT_TASK_LOSS_WEIGHTS)
        if task_loss_weights is not None:
            check_tasks(task_loss_weights, 'task_loss_weights')
            weights.update(task_loss_weights)
        self.task_loss_weights = {t: float(weights[t]) for t in self.tasks}

        loss_cfgs = copy.deepcopy(DEFAULT_LOSS_DECODE)
        if loss_decode is not None:
            check_tasks(loss_decode, 'loss_decode')
            loss_cfgs.update(copy.deepcopy(dict(loss_decode)))
        self.loss_decode = nn.ModuleDict()
        for task in self.tasks:
            cfgs = loss_cfgs[task]
            cfgs = cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]
            self.loss_decode[task] = nn.ModuleList(
                MODELS.build(cfg) for cfg in cfgs)

        conv_kwargs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, channels, 1, **conv_kwargs) for c in in_channels)
        self.fpn_convs = nn.ModuleList(
            ConvModule(channels, channels, 3, padding=1, **conv_kwargs)
            for _ in in_channels)
        self.fuse_conv = ConvModule(
            len(in_channels) * channels, channels, 3, padding=1,
            **conv_kwargs)
        self.task_heads = nn.ModuleDict({
            task: nn.Sequential(
                ConvModule(channels, channels, 3, padding=1, **conv_kwargs),
                nn.Conv2d(channels, self.task_channels[task], 1))
            for task in self.tasks
        })
        for head in self.task_heads.values():
            nn.init.normal_(head[-1].weight, mean=0, std=0.01)
            nn.init.zeros_(head[-1].bias)

        if restoration:
            if int(restoration_unshuffle) < 1:
                raise ValueError(
                    'MultiTaskHead: `restoration_unshuffle` must be a '
                    f'positive integer, got {restoration_unshuffle!r}.')
            r = self.restoration_unshuffle = int(restoration_unshuffle)
            rc = restoration_channels
            rest_kwargs = dict(conv_cfg=conv_cfg, norm_cfg=None,
                               act_cfg=act_cfg)
            self.restoration_reduce = ConvModule(channels, rc, 1,
                                                 **rest_kwargs)
            self.restoration_shallow = nn.Sequential(
                ConvModule(3 * r * r, rc, 3, padding=1, **rest_kwargs),
                ConvModule(rc, rc, 3, padding=1, **rest_kwargs))
            self.restoration_fuse = ConvModule(rc, rc, 3, padding=1,
                                               **rest_kwargs)
            self.restoration_pred = nn.Conv2d(rc, 3 * r * r, 3, padding=1)
            nn.init.zeros_(self.restoration_pred.weight)
            nn.init.zeros_(self.restoration_pred.bias)
            self.loss_restoration = MODELS.build(
                copy.deepcopy(restoration_loss or DEFAULT_RESTORATION_LOSS))

    def _select_inputs(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Pick ``in_index`` from the inputs and check their layout."""
        if max(self.in_index) >= len(inputs):
            raise ValueError(
                f'MultiTaskHead: `in_index` {self.in_index} is out of range '
                f'for {len(inputs)} input feature maps.')
        feats = [inputs[i] for i in self.in_index]
        for i, (feat, c) in enumerate(zip(feats, self.in_channels)):
            if feat.shape[1] != c:
                raise ValueError(
                    f'MultiTaskHead: input {self.in_index[i]} has '
                    f'{feat.shape[1]} channels, `in_channels` says {c}.')
            if i and (feat.shape[2] > feats[i - 1].shape[2]
                      or feat.shape[3] > feats[i - 1].shape[3]):
                raise ValueError(
                    'MultiTaskHead: inputs selected by `in_index` must be '
                    'ordered fine to coarse, got spatial sizes '
                    f'{[tuple(f.shape[2:]) for f in feats]}.')
        return feats

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
            laterals[i - 1] = laterals[i - 1] + resize(
                laterals[i],
                size=laterals[i - 1].shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        outs = [conv(lat) for conv, lat in zip(self.fpn_convs, laterals)]
        size = outs[0].shape[2:]
        outs = [outs[0]] + [
            resize(o, size=size, mode='bilinear',
                   align_corners=self.align_corners) for o in outs[1:]
        ]
        return self.fuse_conv(torch.cat(outs, dim=1))

    def forward_tasks(self, shared: Tensor,
                      size: Sequence[int]) -> Dict[str, Tensor]:
        """Predict every task's raw map from the shared feature.

        Args:
            shared (Tensor): Shared feature at 1/4 scale.
            size (Sequence[int]): Output (H, W), the input resolution.

        Returns:
            dict[str, Tensor]: Task name -> raw map (N, C_task, H, W).
        """
        return {
            task: resize(self.task_heads[task](shared), size=tuple(size),
                         mode='bilinear', align_corners=self.align_corners)
            for task in self.tasks
        }

    def forward_restoration(self, shared: Tensor, degraded: Tensor) -> Tensor:
        """Restore the degraded image (global residual, unclamped).

        Args:
            shared (Tensor): Shared feature at 1/4 scale.
            degraded (Tensor): Degraded input, (N, 3, H, W) RGB in [0, 1].

        Returns:
            Tensor: ``degraded + residual``, (N, 3, H, W), not clamped.
        """
        if degraded.dim() != 4 or degraded.shape[1] != 3:
            raise ValueError(
                f'MultiTaskHead: `degraded` must be (N, 3, H, W), got '
                f'{tuple(degraded.shape)}.')
        degraded = degraded.to(shared.dtype)
        r = self.restoration_unshuffle
        if degraded.shape[2] % r or degraded.shape[3] % r:
            raise ValueError(
                f'MultiTaskHead: input size {tuple(degraded.shape[2:])} is '
                f'not divisible by `restoration_unshuffle`={r}; pad the '
                'input (data_preprocessor size_divisor) accordingly.')
        low_res = F.pixel_unshuffle(degraded, r) if r > 1 else degraded
        feat = resize(self.restoration_reduce(shared),
                      size=low_res.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        feat = self.restoration_fuse(feat + self.restoration_shallow(low_res))
        residual = self.restoration_pred(feat)
        if r > 1:
            residual = F.pixel_shuffle(residual, r)
        return degraded + residual

    def forward(self,
                inputs: Sequence[Tensor],
                degraded: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Forward function.

        Args:
            inputs (Sequence[Tensor]): Multi-scale features (backbone/neck
                outputs).
            degraded (Tensor, optional): Degraded input image, (N, 3, H, W)
                RGB in [0, 1] (padded like the network input). Required with
                ``restoration=True``; also fixes the output size. Without it
                the task maps are upsampled x4 from the finest scale.

        Returns:
            dict[str, Tensor]: Task name -> raw map at input resolution, and
            ``'restoration'`` -> unclamped restored image.
        """
        shared = self.forward_shared(inputs)
        if degraded is not None:
            size = degraded.shape[2:]
        elif self.restoration:
            raise ValueError('MultiTaskHead: `degraded` is required when '
                             '`restoration=True`.')
        else:
            size = (shared.shape[2] * 4, shared.shape[3] * 4)
        outputs = self.forward_tasks(shared, size)
        if self.restoration:
            outputs[RESTORATION_KEY] = self.forward_restoration(
                shared, degraded)
        return outputs

    @staticmethod
    def _stack_field(data_samples: SampleList, field: str,
                     task: str) -> Tensor:
        """Stack one PixelData field of all samples into (N, C, H, W)."""
        maps = []
        for i, sample in enumerate(data_samples):
            if not hasattr(sample, field):
                raise KeyError(
                    f'MultiTaskHead: data sample {i} has no `{field}` field '
                    f'needed by task {task!r}.')
            maps.append(getattr(sample, field).data)
        shapes = {tuple(m.shape) for m in maps}
        if len(shapes) != 1:
            raise ValueError(
                f'MultiTaskHead: `{field}` has different shapes in one batch '
                f'{sorted(shapes)}; the data preprocessor must pad it.')
        return torch.stack(maps)

    def loss_by_feat(self, outputs: Dict[str, Tensor],
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """Compute the weighted losses.

        Args:
            outputs (dict[str, Tensor]): Output of :meth:`forward`.
            data_samples (list[:obj:`MultiTaskDataSample`]): Samples with the
                padded ground truth of every task, ``gt_clean_img`` (with
                restoration) and metainfo ``img_shape``.

        Returns:
            dict[str, Tensor]: ``loss_{task}`` for each task (task weight
            applied), ``acc_semseg`` / ``acc_parts`` (pixel accuracy in %)
            and ``loss_restoration``.
        """
        losses = dict()
        for task in self.tasks:
            if task not in outputs:
                raise KeyError(f'MultiTaskHead: `outputs` lacks task '
                               f'{task!r}; got {list(outputs)}.')
            spec = TASK_SPECS[task]
            pred = outputs[task]
            gt = self._stack_field(data_samples, spec.gt_field,
                                   task).to(pred.device)
            if pred.shape[2:] != gt.shape[2:]:
                pred = resize(pred, size=gt.shape[2:], mode='bilinear',
                              align_corners=self.align_corners)
            kwargs = dict()
            if task in _LABEL_TASKS:
                target = gt.squeeze(1).long()
                kwargs['ignore_index'] = int(spec.ignore_value)
            else:
                target = gt.to(pred.dtype)
                if task in _BINARY_TASKS:
                    kwargs['ignore_index'] = int(spec.ignore_value)
            loss = sum(loss_fn(pred, target, **kwargs)
                       for loss_fn in self.loss_decode[task])
            losses[f'loss_{task}'] = self.task_loss_weights[task] * loss
            if task in _LABEL_TASKS:
                losses[f'acc_{task}'] = accuracy(
                    pred, target, ignore_index=int(spec.ignore_value))
        if self.restoration:
            if RESTORATION_KEY not in outputs:
                raise KeyError(f'MultiTaskHead: `outputs` lacks '
                               f'{RESTORATION_KEY!r}; got {list(outputs)}.')
            pred = outputs[RESTORATION_KEY]
            clean = self._stack_field(data_samples, CLEAN_IMG_KEY,
                                      RESTORATION_KEY).to(pred.device)
            img_shapes = []
            for i, sample in enumerate(data_samples):
                if 'img_shape' not in sample.metainfo:
                    raise KeyError(f'MultiTaskHead: data sample {i} has no '
                                   '`img_shape` metainfo (needed to mask '
                                   'the padding of the restoration loss).')
                img_shapes.append(sample.metainfo['img_shape'][:2])
            losses['loss_restoration'] = self.loss_restoration(
                pred, clean, img_shapes=img_shapes)
        return losses

    def predict_by_feat(self, outputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Post-process raw outputs into predictions.

        semseg / parts stay logits (the segmentor resizes, then argmaxes);
        boundary / saliency become probabilities (sigmoid); depth is clamped
        at 0; normals are L2-normalised; the restored image is clamped to
        [0, 1].

        Args:
            outputs (dict[str, Tensor]): Raw maps, e.g. from :meth:`forward`
                (any spatial size).

        Returns:
            dict[str, Tensor]: Post-processed maps with the same keys.
        """
        preds = dict()
        for key, value in outputs.items():
            if key in _LABEL_TASKS:
                preds[key] = value
            elif key in _BINARY_TASKS:
                preds[key] = value.sigmoid()
            elif key == 'depth':
                preds[key] = value.clamp(min=0)
            elif key == 'normals':
                preds[key] = F.normalize(value, p=2, dim=1)
            elif key == RESTORATION_KEY:
                preds[key] = value.clamp(0, 1)
            else:
                raise KeyError(f'MultiTaskHead: unknown output {key!r} in '
                               '`outputs`.')
        return preds
