"""Model wrapper that trains and evaluates an all-in-one image restorer."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from ...structures.expert_routing import ExpertRouting
from ...structures.multi_task_data_sample import MultiTaskDataSample
from ...structures.tasks import (
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    RESTORED_IMG_KEY,
)
from ..data_preprocessor import degraded_input
from ..segmentors.multi_task_encoder_decoder import MultiTaskEncoderDecoder


@MODELS.register_module()
class ImageRestorer(BaseModel):
    """Restore degraded images with a restoration network (MMEngine model).

    The first stage of the two-stage baselines of `ALLNet
    <https://cvpr.thecvf.com/virtual/2026/poster/37361>`_, or MaE on its
    own (:class:`MaERestorer`, after `MoCE-IR
    <https://arxiv.org/abs/2411.18466>`_). The network sees the [0, 1] RGB
    ``degraded_img`` that :class:`MultiTaskDataPreProcessor` keeps on each
    sample (else ``inputs`` un-normalised), never the normalised input.

    Modes:

    - ``loss``: the restoration loss of the restored image against
      ``gt_clean_img`` on each sample's un-padded region (key
      ``loss.loss_name``, ``loss_restoration`` by default) and, when the
      network routes, ``route.loss_aux`` (``route_loss_weight`` x its aux
      loss) and ``route.expert<k>`` (share of decisions, for the log).
    - ``predict``: the samples with ``pred_restored`` (RGB, clamped to
      [0, 1], cropped to the un-padded image, the key the multi-task
      segmentors use) and ``degraded_img`` cropped likewise; with routing,
      each sample's metainfo gets ``routing`` / ``routing_gates`` /
      ``routing_probs`` (``[level][...]``, fine to coarse).
    - ``tensor``: the restored batch, unclamped.

    Args:
        restorer (dict): Config of the network (``DenseRestorer``,
            ``MaERestorer``); it must have ``restore_with_routing``.
        loss (dict): Restoration loss. Defaults to
            ``dict(type='RestorationLoss')`` (L1 + 0.1 FFT-L1).
        route_loss_weight (float): Weight of the routing aux loss.
            Defaults to 0.01 (MoCE-IR's).
        data_preprocessor (dict, optional): Normally
            ``MultiTaskDataPreProcessor``. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 restorer: ConfigType,
                 loss: ConfigType = dict(type='RestorationLoss'),
                 route_loss_weight: float = 0.01,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.restorer = MODELS.build(restorer)
        if not hasattr(self.restorer, 'restore_with_routing'):
            raise TypeError(
                f'ImageRestorer: `model.restorer` must build a network with '
                f'`restore_with_routing(img)` (DenseRestorer, MaERestorer), '
                f'got {type(self.restorer).__name__}.')
        self.loss_module = MODELS.build(loss)
        self.route_loss_weight = route_loss_weight

    def restore_with_routing(
            self, img: Tensor) -> tuple:
        """The network's restored image and routing (None if dense).

        Args:
            img (Tensor): ``(B, 3, H, W)`` RGB in [0, 1].

        Returns:
            tuple[Tensor, ExpertRouting or None]: Same-shape restored
            image (unclamped) and the routing.
        """
        return self.restorer.restore_with_routing(img)

    def restore(self, img: Tensor) -> Tensor:
        """Restore ``img`` (``(B, 3, H, W)`` RGB in [0, 1]); same shape,
        unclamped."""
        return self.restore_with_routing(img)[0]

    def get_degraded(self, inputs: Tensor,
                     data_samples: Optional[List] = None) -> Tensor:
        """The degraded input as ``(B, 3, H, W)`` RGB in [0, 1].

        The samples' ``degraded_img`` when they all have it, else
        ``inputs`` with the preprocessor's normalisation undone, divided by
        255 and clamped (then in the channel order of ``inputs``).
        """
        return degraded_input(inputs, data_samples, self.data_preprocessor,
                          'ImageRestorer')

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List,
                                               Tensor]:
        """Dispatch to :meth:`loss`, :meth:`predict` or the raw output."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.restore(self.get_degraded(inputs, data_samples))
        raise ValueError(f'ImageRestorer: invalid mode {mode!r}; expected '
                         "'loss', 'predict' or 'tensor'.")

    def loss(self, inputs: Tensor, data_samples: List) -> Dict[str, Tensor]:
        """Restoration loss (+ routing aux loss) of a training batch.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` from the data preprocessor.
            data_samples (list[MultiTaskDataSample]): With ``gt_clean_img``
                (padded like ``inputs``) and ``img_shape``.

        Returns:
            dict[str, Tensor]: The losses (see the class docstring).
        """
        if not data_samples or not all(CLEAN_IMG_KEY in s
                                       for s in data_samples):
            raise KeyError(
                f'ImageRestorer: training needs `{CLEAN_IMG_KEY}` on every '
                'data sample (a degradation transform such as '
                'RandomDegradation / LoadDegradedImage in '
                '`train_dataloader.dataset.pipeline` keeps the clean image).')
        restored, routing = self.restore_with_routing(
            self.get_degraded(inputs, data_samples))
        target = torch.stack(
            [s.get(CLEAN_IMG_KEY).data for s in data_samples]).to(restored)
        shapes = [
            s.metainfo.get('img_shape', restored.shape[-2:])
            for s in data_samples
        ]
        losses = {
            self.loss_module.loss_name:
            self.loss_module(restored, target, shapes)
        }
        if routing is not None:
            losses.update(routing.losses(self.route_loss_weight))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List] = None) -> List:
        """Restore a batch and write the results into its samples.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` from the data preprocessor.
            data_samples (list[MultiTaskDataSample], optional): If None,
                samples saying the input is not padded are made.

        Returns:
            list[MultiTaskDataSample]: The samples with ``pred_restored``.
        """
        if data_samples is None:
            size = tuple(inputs.shape[2:])
            data_samples = [
                MultiTaskDataSample(metainfo=dict(
                    ori_shape=size, img_shape=size, pad_shape=size,
                    img_padding_size=[0, 0, 0, 0]))
                for _ in range(inputs.shape[0])
            ]
        restored, routing = self.restore_with_routing(
            self.get_degraded(inputs, data_samples))
        if isinstance(routing, ExpertRouting):
            routing.write_to(data_samples)
        crop = MultiTaskEncoderDecoder.crop_to_image
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            if DEGRADED_IMG_KEY in sample:
                degraded = sample.get(DEGRADED_IMG_KEY).data
                sample.set_field(
                    PixelData(data=crop(degraded[None], meta)[0]),
                    DEGRADED_IMG_KEY)
            pred = crop(restored[i:i + 1], meta)[0].clamp(0, 1)
            sample.set_field(PixelData(data=pred), RESTORED_IMG_KEY)
        return data_samples
