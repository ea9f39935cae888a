"""Base class of multi-task decode heads, the counterpart of MMSeg's
``BaseDecodeHead``.

A multi-task head turns backbone / neck features into one raw map per task
and (optionally) the restored image. What every such head shares lives
here: the task specs, the per-task heads at 1/4 scale, the restoration
branch, the losses (:meth:`BaseMultiTaskHead.loss_by_feat`) and the
post-processing (:meth:`BaseMultiTaskHead.predict_by_feat`). A subclass
builds its decoder and implements :meth:`BaseMultiTaskHead.forward_decoder`,
which returns the restoration branch's input and each task's feature at 1/4
scale.
"""
import copy
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

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
LABEL_TASKS = ('semseg', 'parts')
#: Tasks predicted as one binary logit (loss gets ``ignore_index``).
BINARY_TASKS = ('boundary', 'saliency')
#: Key of the restored image in a head's output dict.
RESTORATION_KEY = 'restoration'

#: What :meth:`BaseMultiTaskHead.forward_decoder` returns: the restoration
#: branch's input and each task's feature (one shared tensor or a dict).
DecoderOutput = Tuple[Tensor, Union[Tensor, Dict[str, Tensor]]]


class BaseMultiTaskHead(BaseModule, metaclass=ABCMeta):
    """Base class of multi-task heads: task heads, restoration, losses.

    Task heads (at 1/4): 3x3 ConvModule + 1x1 conv to the task's channels
    (semseg ``num_classes`` logits, parts ``num_parts_classes`` logits,
    saliency / boundary 1 logit, depth 1, normals 3), then bilinear
    upsampling to the input resolution. The forward pass returns raw maps:
    depth is a linear output in metres (the loss sees it unclamped,
    :meth:`predict_by_feat` clamps it at 0) and normals are un-normalised
    (the loss and :meth:`predict_by_feat` L2-normalise them).

    Restoration branch (``restoration=True``): the decoder's restoration
    feature is reduced by a 1x1 ConvModule, upsampled to full resolution and
    added to a shallow full-resolution feature of the degraded [0, 1] RGB
    input (two 3x3 ConvModules); a 3x3 ConvModule and a zero-initialised
    3x3 conv predict a residual, and ``restored = degraded + residual``
    (global residual, so at initialisation the output is the input). The
    branch has no normalisation layers. The forward pass returns the
    *unclamped* restored image, which the loss uses (clamping would cut the
    gradient of out-of-range pixels); :meth:`predict_by_feat` clamps it to
    [0, 1]. With ``restoration_unshuffle=r > 1`` the branch works at ``1/r``
    resolution without losing pixels: the input is space-to-depth
    rearranged (``PixelUnshuffle(r)``, ``3 r^2`` channels), the convs run at
    ``H/r x W/r`` and the residual is predicted as ``3 r^2`` channels and
    rearranged back (``PixelShuffle(r)``), so every full-resolution pixel
    keeps its own output; the convs cost about ``1/r^2``.

    Losses: ``loss_{task} = task_loss_weights[task] * sum(loss(pred, gt))``
    over the task's ``loss_decode`` entries (each with its own
    ``loss_weight``, 1 by default), plus ``loss_restoration`` and
    ``acc_semseg`` / ``acc_parts``.

    Subclasses build their decoder after ``super().__init__`` and implement
    :meth:`forward_decoder`.

    Args:
        in_channels (Sequence[int]): Channels of each selected input scale,
            ordered fine (1/4) to coarse.
        channels (int): Width of the decoder and the task heads.
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
        norm_cfg (dict, optional): Norm config of the task heads (and of
            the subclass's decoder convs). Defaults to ``dict(type='BN')``.
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
        name = type(self).__name__
        self.tasks = check_tasks(tasks, 'tasks')
        if not self.tasks and not restoration:
            raise ValueError(f'{name}: `tasks` is empty and `restoration` '
                             'is False; nothing to predict.')
        in_channels = list(in_channels)
        in_index = list(in_index)
        if not in_channels or len(in_channels) != len(in_index):
            raise ValueError(
                f'{name}: `in_channels` {in_channels} and `in_index` '
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
            self._build_restoration(restoration_channels,
                                    restoration_unshuffle, restoration_loss)

    def _build_restoration(self, rc: int, unshuffle: int,
                           loss: OptConfigType) -> None:
        """Build the restoration branch (see the class docstring)."""
        if int(unshuffle) < 1:
            raise ValueError(
                f'{type(self).__name__}: `restoration_unshuffle` must be a '
                f'positive integer, got {unshuffle!r}.')
        r = self.restoration_unshuffle = int(unshuffle)
        kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=None,
                      act_cfg=self.act_cfg)
        self.restoration_reduce = ConvModule(self.channels, rc, 1, **kwargs)
        self.restoration_shallow = nn.Sequential(
            ConvModule(3 * r * r, rc, 3, padding=1, **kwargs),
            ConvModule(rc, rc, 3, padding=1, **kwargs))
        self.restoration_fuse = ConvModule(rc, rc, 3, padding=1, **kwargs)
        self.restoration_pred = nn.Conv2d(rc, 3 * r * r, 3, padding=1)
        nn.init.zeros_(self.restoration_pred.weight)
        nn.init.zeros_(self.restoration_pred.bias)
        self.loss_restoration = MODELS.build(
            copy.deepcopy(loss or DEFAULT_RESTORATION_LOSS))

    def _select_inputs(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Pick ``in_index`` from the inputs and check their layout."""
        name = type(self).__name__
        if max(self.in_index) >= len(inputs):
            raise ValueError(
                f'{name}: `in_index` {self.in_index} is out of range for '
                f'{len(inputs)} input feature maps.')
        feats = [inputs[i] for i in self.in_index]
        for i, (feat, c) in enumerate(zip(feats, self.in_channels)):
            if feat.shape[1] != c:
                raise ValueError(
                    f'{name}: input {self.in_index[i]} has '
                    f'{feat.shape[1]} channels, `in_channels` says {c}.')
            if i and (feat.shape[2] > feats[i - 1].shape[2]
                      or feat.shape[3] > feats[i - 1].shape[3]):
                raise ValueError(
                    f'{name}: inputs selected by `in_index` must be '
                    'ordered fine to coarse, got spatial sizes '
                    f'{[tuple(f.shape[2:]) for f in feats]}.')
        return feats

    def _resize(self, x: Tensor, size: Sequence[int]) -> Tensor:
        """Bilinearly resize ``x`` to ``size``."""
        return resize(x, size=tuple(size), mode='bilinear',
                      align_corners=self.align_corners)

    @abstractmethod
    def forward_decoder(self, inputs) -> DecoderOutput:
        """Decode the features into the restoration input and task features.

        Args:
            inputs: Backbone / neck outputs, as the subclass expects them.

        Returns:
            tuple: The restoration branch's input ``(B, channels, H/4,
            W/4)`` and the task features at the same size: one tensor all
            tasks share, or a dict task name -> tensor.
        """

    def forward_tasks(self, feats: Union[Tensor, Mapping[str, Tensor]],
                      size: Sequence[int]) -> Dict[str, Tensor]:
        """Predict every task's raw map.

        Args:
            feats (Tensor | Mapping[str, Tensor]): The task features at 1/4
                scale: one shared tensor or one per task.
            size (Sequence[int]): Output (H, W), the input resolution.

        Returns:
            dict[str, Tensor]: Task name -> raw map (N, C_task, H, W).
        """
        return {
            task: self._resize(
                self.task_heads[task](feats if isinstance(feats, Tensor) else
                                      feats[task]), size)
            for task in self.tasks
        }

    def forward_restoration(self, feature: Tensor,
                            degraded: Tensor) -> Tensor:
        """Restore the degraded image (global residual, unclamped).

        Args:
            feature (Tensor): The decoder's restoration feature at 1/4.
            degraded (Tensor): Degraded input, (N, 3, H, W) RGB in [0, 1].

        Returns:
            Tensor: ``degraded + residual``, (N, 3, H, W), not clamped.
        """
        name = type(self).__name__
        if degraded.dim() != 4 or degraded.shape[1] != 3:
            raise ValueError(
                f'{name}: `degraded` must be (N, 3, H, W), got '
                f'{tuple(degraded.shape)}.')
        degraded = degraded.to(feature.dtype)
        r = self.restoration_unshuffle
        if degraded.shape[2] % r or degraded.shape[3] % r:
            raise ValueError(
                f'{name}: input size {tuple(degraded.shape[2:])} is not '
                f'divisible by `restoration_unshuffle`={r}; pad the input '
                '(data_preprocessor size_divisor) accordingly.')
        low_res = F.pixel_unshuffle(degraded, r) if r > 1 else degraded
        feat = self._resize(self.restoration_reduce(feature),
                            low_res.shape[2:])
        feat = self.restoration_fuse(feat + self.restoration_shallow(low_res))
        residual = self.restoration_pred(feat)
        if r > 1:
            residual = F.pixel_shuffle(residual, r)
        return degraded + residual

    def forward(self, inputs,
                degraded: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Forward function.

        Args:
            inputs: Backbone / neck outputs (see :meth:`forward_decoder`).
            degraded (Tensor, optional): Degraded input image, (N, 3, H, W)
                RGB in [0, 1] (padded like the network input). Required with
                ``restoration=True``; also fixes the output size. Without it
                the task maps are upsampled x4 from the finest scale.

        Returns:
            dict[str, Tensor]: Task name -> raw map at input resolution, and
            ``'restoration'`` -> unclamped restored image.
        """
        if degraded is None and self.restoration:
            raise ValueError(f'{type(self).__name__}: `degraded` is required '
                             'when `restoration=True`.')
        restoration_feat, task_feats = self.forward_decoder(inputs)
        if degraded is not None:
            size = tuple(degraded.shape[2:])
        else:
            size = (restoration_feat.shape[2] * 4,
                    restoration_feat.shape[3] * 4)
        outputs = self.forward_tasks(task_feats, size)
        if self.restoration:
            outputs[RESTORATION_KEY] = self.forward_restoration(
                restoration_feat, degraded)
        return outputs

    def _stack_field(self, data_samples: SampleList, field: str,
                     task: str) -> Tensor:
        """Stack one PixelData field of all samples into (N, C, H, W)."""
        name = type(self).__name__
        maps = []
        for i, sample in enumerate(data_samples):
            if not hasattr(sample, field):
                raise KeyError(
                    f'{name}: data sample {i} has no `{field}` field needed '
                    f'by task {task!r}.')
            maps.append(getattr(sample, field).data)
        shapes = {tuple(m.shape) for m in maps}
        if len(shapes) != 1:
            raise ValueError(
                f'{name}: `{field}` has different shapes in one batch '
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
        name = type(self).__name__
        losses = dict()
        for task in self.tasks:
            if task not in outputs:
                raise KeyError(f'{name}: `outputs` lacks task {task!r}; got '
                               f'{list(outputs)}.')
            spec = TASK_SPECS[task]
            pred = outputs[task]
            gt = self._stack_field(data_samples, spec.gt_field,
                                   task).to(pred.device)
            if pred.shape[2:] != gt.shape[2:]:
                pred = self._resize(pred, gt.shape[2:])
            kwargs = dict()
            if task in LABEL_TASKS:
                target = gt.squeeze(1).long()
                kwargs['ignore_index'] = int(spec.ignore_value)
            else:
                target = gt.to(pred.dtype)
                if task in BINARY_TASKS:
                    kwargs['ignore_index'] = int(spec.ignore_value)
            loss = sum(loss_fn(pred, target, **kwargs)
                       for loss_fn in self.loss_decode[task])
            losses[f'loss_{task}'] = self.task_loss_weights[task] * loss
            if task in LABEL_TASKS:
                losses[f'acc_{task}'] = accuracy(
                    pred, target, ignore_index=int(spec.ignore_value))
        if self.restoration:
            if RESTORATION_KEY not in outputs:
                raise KeyError(f'{name}: `outputs` lacks '
                               f'{RESTORATION_KEY!r}; got {list(outputs)}.')
            pred = outputs[RESTORATION_KEY]
            clean = self._stack_field(data_samples, CLEAN_IMG_KEY,
                                      RESTORATION_KEY).to(pred.device)
            img_shapes = []
            for i, sample in enumerate(data_samples):
                if 'img_shape' not in sample.metainfo:
                    raise KeyError(f'{name}: data sample {i} has no '
                                   '`img_shape` metainfo (needed to mask '
                                   'the padding of the restoration loss).')
                img_shapes.append(sample.metainfo['img_shape'][:2])
            losses['loss_restoration'] = self.loss_restoration(
                pred, clean, img_shapes=img_shapes)
        return losses

    def predict_by_feat(self, outputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Post-process raw outputs into predictions.

        semseg / parts stay logits (the segmentor crops, then argmaxes);
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
            if key in LABEL_TASKS:
                preds[key] = value
            elif key in BINARY_TASKS:
                preds[key] = value.sigmoid()
            elif key == 'depth':
                preds[key] = value.clamp(min=0)
            elif key == 'normals':
                preds[key] = F.normalize(value, p=2, dim=1)
            elif key == RESTORATION_KEY:
                preds[key] = value.clamp(0, 1)
            else:
                raise KeyError(f'{type(self).__name__}: unknown output '
                               f'{key!r} in `outputs`.')
        return preds
