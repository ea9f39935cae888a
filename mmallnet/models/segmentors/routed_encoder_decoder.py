"""MMSeg's ``EncoderDecoder`` for a routed neck in front of a stock head."""
from typing import List, Mapping

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...structures.expert_routing import routing_losses, write_routing
from ..necks.mae_neck import check_neck_fits_backbone


@MODELS.register_module()
class RoutedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that trains and records a routed neck's routing.

    For a routed neck whose output a stock MMSeg decode head reads, such as
    :class:`~mmallnet.models.necks.MaENeck` with ``output_mode='fused'``
    before ``UPerHead``: the neck's output carries an
    :class:`~mmallnet.structures.ExpertRouting`, which a plain
    ``EncoderDecoder`` ignores (its router then learns from the
    segmentation loss alone). This segmentor also

    - adds ``route.loss_aux`` (``route_loss_weight`` x the neck's aux loss)
      and, for the log, ``route.expert<k>`` (the share of decisions that
      picked expert ``k``) to the losses;
    - writes each image's ``routing``, ``routing_gates`` and
      ``routing_probs`` into its prediction's metainfo (read by
      ``RoutingMetric`` and the visualizer).

    Everything else is ``EncoderDecoder``'s. Only whole-image inference is
    supported: routing is decided per image. A :class:`MaENeck`'s
    ``in_channels`` is checked against the backbone's widths when it is
    built if the backbone declares them, else on the first forward.

    Args:
        route_loss_weight (float): Weight of the neck's routing aux loss.
            Defaults to 0.01.
        route_type_loss_weight (float): Weight of ``route.loss_type``,
            ``H(degradation type | expert)`` of the batch's routing
            (:func:`~mmallnet.structures.expert_routing
            .type_given_expert_entropy`); needs the training samples'
            ``degradation_type``. Defaults to 0 (off).
        **kwargs: Arguments of ``mmseg.models.EncoderDecoder``; ``neck``
            is required.
    """

    def __init__(self,
                 route_loss_weight: float = 0.01,
                 route_type_loss_weight: float = 0.,
                 **kwargs) -> None:
        if kwargs.get('neck') is None:
            raise ValueError(
                'RoutedEncoderDecoder: `neck` is required (a routed neck '
                "such as MaENeck with output_mode='fused').")
        mode = (kwargs.get('test_cfg') or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(
                "RoutedEncoderDecoder: `test_cfg.mode` must be 'whole' "
                f'(routing is decided per image), got {mode!r}.')
        super().__init__(**kwargs)
        check_neck_fits_backbone(self.neck, self.backbone)
        self.route_loss_weight = route_loss_weight
        self.route_type_loss_weight = route_type_loss_weight

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone and neck features (they carry the routing)."""
        x = super().extract_feat(inputs)
        if isinstance(x, Mapping):
            raise ValueError(
                'RoutedEncoderDecoder: the neck returned a dict (keys '
                f"{sorted(x)}); a stock decode head needs a tuple of maps: "
                "set the MaE neck's output_mode='fused'.")
        return x

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Decode (and auxiliary) head losses plus the routing losses.

        Args:
            inputs (Tensor): Input images (N, C, H, W).
            data_samples (list[:obj:`SegDataSample`]): The samples.

        Returns:
            dict[str, Tensor]: ``EncoderDecoder``'s losses and, with routed
            experts, ``route.loss_aux`` and ``route.expert<k>``.
        """
        x = self.extract_feat(inputs)
        losses = self._decode_head_forward_train(x, data_samples)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        losses.update(
            routing_losses(x, self.route_loss_weight,
                           self.route_type_loss_weight, data_samples))
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Whole-image prediction, with each image's routing in its metainfo.

        Args:
            inputs (Tensor): Input images (N, C, H, W).
            data_samples (list[:obj:`SegDataSample`], optional): The samples.

        Returns:
            list[:obj:`SegDataSample`]: As ``EncoderDecoder.predict``, plus
            the metainfo ``routing`` / ``routing_gates`` /
            ``routing_probs`` when experts were routed.
        """
        if data_samples is not None:
            batch_img_metas = [sample.metainfo for sample in data_samples]
        else:
            size = inputs.shape[2:]
            batch_img_metas = [
                dict(ori_shape=size, img_shape=size, pad_shape=size,
                     padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        x = self.extract_feat(inputs)
        seg_logits = self.decode_head.predict(x, batch_img_metas,
                                              self.test_cfg)
        results = self.postprocess_result(seg_logits, data_samples)
        write_routing(x, results)
        return results
