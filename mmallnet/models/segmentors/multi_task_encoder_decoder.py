"""Encoder-decoder segmentor for multi-task dense prediction + restoration."""
import copy
from typing import Dict, List, Optional, Tuple, Union

from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
    add_prefix,
)
from torch import Tensor

from ...structures.expert_routing import routing_losses, write_routing
from ...structures.multi_task_data_sample import MultiTaskDataSample
from ...structures.tasks import DEGRADED_IMG_KEY, RESTORED_IMG_KEY, TASK_SPECS
from ..data_preprocessor import degraded_input
from ..decode_heads.base_multi_task_head import RESTORATION_KEY
from ..necks.mae_neck import check_neck_fits_backbone


@MODELS.register_module()
class MultiTaskEncoderDecoder(BaseSegmentor):
    """Backbone (+ neck) + a multi-task head, one forward for all tasks.

    Any registered backbone works, including other OpenMMLab packages'
    (``type='mmpretrain.ResNet'``). The head needs the degraded image as a
    [0, 1] RGB tensor; it is read from the data samples' ``degraded_img``
    (written by the data preprocessor) or, when no sample carries it,
    recovered from ``inputs`` by undoing the data preprocessor's
    normalisation (``inputs * std + mean``, divided by 255, clamped to
    [0, 1]; it is then in the channel order of ``inputs``).

    Modes:

    - ``loss``: head losses, prefixed ``decode.`` (``decode.loss_semseg``,
      ..., ``decode.loss_restoration``, ``decode.acc_semseg``). With a
      routed neck (:class:`MaENeck`, whose output carries an
      :class:`~mmallnet.structures.ExpertRouting`) also ``route.loss_aux``
      (``route_loss_weight`` x the neck's auxiliary loss, averaged over
      scales) and, for the log only, ``route.expert<k>``: the share of
      (image, scale) decisions that picked expert ``k`` in the batch; with
      ``route_type_loss_weight > 0`` also ``route.loss_type``.
    - ``predict``: whole-image inference; every output (and the sample's
      ``degraded_img``) is cropped to the un-padded region
      (``img_padding_size``, :meth:`crop_to_image`), then post-processed
      and written to the data samples: ``seg_logits`` /
      ``pred_sem_seg``, ``pred_depth``, ``pred_normal`` (unit),
      ``pred_boundary`` / ``pred_saliency`` (probabilities), ``pred_parts``
      and ``pred_restored`` (RGB in [0, 1]) for the configured tasks. With
      a routed neck each sample's metainfo also gets ``routing`` (the
      selected experts, a ``[scale][k]`` list), ``routing_gates`` and
      ``routing_probs`` (every expert's probability, ``[scale][n]``).
    - ``tensor``: the head's raw output dict.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): Config of a
            :class:`~mmallnet.models.decode_heads.BaseMultiTaskHead`
            subclass (``MultiTaskFPNHead``, ``TCRHead``).
        neck (dict, optional): Neck config. Its output (a tuple of maps, or
            the dict of :class:`MaENeck`'s ``'dual'`` mode) goes to the
            head as is. A :class:`MaENeck`'s ``in_channels`` is checked
            against the backbone's widths here when the backbone declares
            them (:func:`~mmallnet.models.necks.mae_neck
            .backbone_out_channels`), else on the first forward.
            Defaults to None.
        route_loss_weight (float): Weight of the neck's routing auxiliary
            loss. Defaults to 0.01 (the paper's weight).
        route_type_loss_weight (float): Weight of ``route.loss_type``,
            ``H(degradation type | expert)`` of the batch's soft routing in
            bits, averaged over scales (:func:`~mmallnet.structures
            .expert_routing.type_given_expert_entropy`): it rewards routing
            that tells the degradation types apart, without fixing which
            expert takes which type. Needs each training sample's
            ``degradation_type``. Defaults to 0 (off; not in the paper).
        train_cfg (dict, optional): Training config. Defaults to None.
        test_cfg (dict, optional): Test config; only
            ``mode='whole'`` is supported. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config,
            normally ``MultiTaskDataPreProcessor``. Defaults to None.
        pretrained (str, optional): Backbone checkpoint, turned into the
            backbone's ``init_cfg=dict(type='Pretrained', ...)``.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 route_loss_weight: float = 0.01,
                 route_type_loss_weight: float = 0.,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained is not None:
            backbone = copy.deepcopy(backbone)
            if backbone.get('pretrained') or backbone.get('init_cfg'):
                raise ValueError(
                    'MultiTaskEncoderDecoder: `pretrained` is set but the '
                    'backbone config already has `pretrained`/`init_cfg`.')
            backbone['init_cfg'] = dict(type='Pretrained',
                                        checkpoint=pretrained)
        mode = (test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(f'MultiTaskEncoderDecoder: `test_cfg.mode` must '
                             f"be 'whole', got {mode!r}.")
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
            check_neck_fits_backbone(self.neck, self.backbone)
        self.decode_head = MODELS.build(decode_head)
        self.route_loss_weight = route_loss_weight
        self.route_type_loss_weight = route_type_loss_weight
        self.align_corners = self.decode_head.align_corners
        self.num_classes = self.decode_head.num_classes
        self.tasks = list(self.decode_head.tasks)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def extract_feat(self, inputs: Tensor) -> Union[List[Tensor], dict]:
        """Extract multi-scale features with the backbone (and neck)."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def get_degraded(self, inputs: Tensor,
                     data_samples: OptSampleList = None) -> Tensor:
        """The degraded input as (N, 3, H, W) in [0, 1].

        Stacks the samples' ``degraded_img`` if they all have it, else
        un-normalises ``inputs`` (see the class docstring).

        Args:
            inputs (Tensor): Normalised network input (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                data samples.

        Returns:
            Tensor: Degraded image in [0, 1].
        """
        return degraded_input(inputs, data_samples, self.data_preprocessor,
                          'MultiTaskEncoderDecoder')

    def encode_decode(self,
                      inputs: Tensor,
                      data_samples: OptSampleList = None
                      ) -> Dict[str, Tensor]:
        """Backbone, neck and head: raw outputs at input resolution.

        Args:
            inputs (Tensor): Input images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                data samples (source of ``degraded_img``).

        Returns:
            dict[str, Tensor]: The head's raw output dict.
        """
        return self._features_and_outputs(inputs, data_samples)[1]

    def _features_and_outputs(
            self,
            inputs: Tensor,
            data_samples: OptSampleList = None
    ) -> Tuple[Union[List[Tensor], dict], Dict[str, Tensor]]:
        """Backbone and neck features (for the routing) and head outputs.

        Args:
            inputs (Tensor): Input images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                data samples (source of ``degraded_img``).

        Returns:
            tuple: The neck's output and the head's raw output dict.
        """
        x = self.extract_feat(inputs)
        return x, self.decode_head(x, self.get_degraded(inputs, data_samples))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Calculate losses from a batch of inputs and data samples.

        Args:
            inputs (Tensor): Input images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`]): Samples with the
                padded ground truth of every task and ``gt_clean_img``.

        Returns:
            dict[str, Tensor]: Head losses prefixed with ``decode.``.
        """
        x, outputs = self._features_and_outputs(inputs, data_samples)
        losses = add_prefix(
            self.decode_head.loss_by_feat(outputs, data_samples), 'decode')
        losses.update(
            routing_losses(x, self.route_loss_weight,
                           self.route_type_loss_weight, data_samples))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Whole-image inference with post-processing.

        Args:
            inputs (Tensor): Input images (N, 3, H, W).
            data_samples (list[:obj:`MultiTaskDataSample`], optional): The
                data samples; if None, new samples are made whose metainfo
                says the input is neither padded nor resized.

        Returns:
            list[:obj:`MultiTaskDataSample`]: The same samples with the
            prediction fields added.
        """
        if data_samples is None:
            size = tuple(inputs.shape[2:])
            data_samples = [
                MultiTaskDataSample(metainfo=dict(
                    ori_shape=size, img_shape=size, pad_shape=size,
                    img_padding_size=[0, 0, 0, 0]))
                for _ in range(inputs.shape[0])
            ]
        x, outputs = self._features_and_outputs(inputs, data_samples)
        write_routing(x, data_samples)
        return self.postprocess_result(outputs, data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Dict[str, Tensor]:
        """Network forward: the head's raw output dict."""
        return self.encode_decode(inputs, data_samples)

    @staticmethod
    def crop_to_image(maps: Tensor, img_meta: dict) -> Tensor:
        """Remove the padding added by the data preprocessor.

        Predictions stay in the frame of the test pipeline, where the
        ground truth lives too (annotations are loaded before any geometric
        transform and follow it), so nothing is resized or un-flipped.

        Args:
            maps (Tensor): One sample's maps (1, C, H, W) at padded size.
            img_meta (dict): Its metainfo with ``img_padding_size``
                [left, right, top, bottom] (absent: no padding).

        Returns:
            Tensor: (1, C, h, w) maps of the un-padded image.
        """
        height, width = maps.shape[2:]
        left, right, top, bottom = img_meta.get('img_padding_size',
                                                [0, 0, 0, 0])
        return maps[:, :, top:height - bottom, left:width - right]

    def postprocess_result(self, outputs: Dict[str, Tensor],
                           data_samples: SampleList) -> SampleList:
        """Write each sample's post-processed predictions into it.

        Args:
            outputs (dict[str, Tensor]): The head's raw outputs (padded).
            data_samples (list[:obj:`MultiTaskDataSample`]): The samples.

        Returns:
            list[:obj:`MultiTaskDataSample`]: The same samples.
        """
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            raw = {
                key: self.crop_to_image(value[i:i + 1], meta)
                for key, value in outputs.items()
            }
            if DEGRADED_IMG_KEY in sample:
                degraded = sample.get(DEGRADED_IMG_KEY).data
                sample.set_field(
                    PixelData(
                        data=self.crop_to_image(degraded[None], meta)[0]),
                    DEGRADED_IMG_KEY)
            preds = self.decode_head.predict_by_feat(raw)
            fields = dict()
            for task in self.tasks:
                pred = preds[task][0]
                if task == 'semseg':
                    fields['seg_logits'] = PixelData(data=pred)
                    pred = pred.argmax(dim=0, keepdim=True)
                elif task == 'parts':
                    pred = pred.argmax(dim=0, keepdim=True)
                fields[TASK_SPECS[task].pred_field] = PixelData(data=pred)
            if RESTORATION_KEY in preds:
                fields[RESTORED_IMG_KEY] = PixelData(
                    data=preds[RESTORATION_KEY][0])
            sample.set_data(fields)
        return data_samples
