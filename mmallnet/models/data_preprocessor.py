"""Data preprocessor that normalises the input and pads every target."""
from numbers import Number
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from mmallnet.structures import (
    CLEAN_IMG_KEY,
    DEGRADED_IMG_KEY,
    TASK_SPECS,
    MultiTaskDataSample,
)


def degraded_input(inputs: torch.Tensor,
                   data_samples: Optional[Sequence[Any]],
                   data_preprocessor: Any,
                   owner: str) -> torch.Tensor:
    """The degraded input of a batch as (N, 3, H, W) in [0, 1].

    Stacks the samples' ``degraded_img`` (the [0, 1] RGB copy that
    :class:`MultiTaskDataPreProcessor` keeps) when they all have it, else
    undoes the preprocessor's normalisation of ``inputs``, divides by 255
    and clamps (then in the channel order of ``inputs``).

    Args:
        inputs (Tensor): Normalised network input (N, 3, H, W).
        data_samples (Sequence, optional): The batch's data samples.
        data_preprocessor: The model's data preprocessor (its ``mean`` and
            ``std`` when it normalises).
        owner (str): The model's name, for error messages.

    Returns:
        Tensor: The degraded image in [0, 1].

    Raises:
        ValueError: Only some samples carry ``degraded_img``, or its batch
            does not match ``inputs``.
    """
    have = [hasattr(s, DEGRADED_IMG_KEY) for s in data_samples or []]
    if have and all(have):
        degraded = torch.stack(
            [getattr(s, DEGRADED_IMG_KEY).data for s in data_samples])
        if degraded.shape[0] != inputs.shape[0] or \
                degraded.shape[2:] != inputs.shape[2:]:
            raise ValueError(
                f'{owner}: `{DEGRADED_IMG_KEY}` batch '
                f'{tuple(degraded.shape)} does not match `inputs` '
                f'{tuple(inputs.shape)}.')
        return degraded.to(inputs)
    if any(have):
        raise ValueError(f'{owner}: only some data samples carry '
                         f'`{DEGRADED_IMG_KEY}`; expected all or none.')
    image = inputs
    if getattr(data_preprocessor, '_enable_normalize', False):
        image = image * data_preprocessor.std + data_preprocessor.mean
    return (image / 255.).clamp(0, 1)


@MODELS.register_module()
class MultiTaskDataPreProcessor(BaseDataPreprocessor):
    """Normalise, convert BGR to RGB and pad images and all task targets.

    In training, every sample's targets are padded bottom/right to the batch
    size with the task's own ignore value (labels 255, depth 0, normals the
    zero vector), so they stack. At test time only the input (and its
    ``degraded_img`` copy, which the model crops back) is padded: targets
    stay at the image size, where predictions are returned. [0, 1] RGB
    copies of the degraded input (``degraded_img``) and the clean image
    (``gt_clean_img``) are kept on the data sample for the restoration
    branch and its metrics. Padding metainfo follows MMSeg:
    ``img_padding_size`` = [left, right, top, bottom] and ``pad_shape``.

    Args:
        mean (Sequence[Number], optional): Per-channel mean (RGB, 0..255).
        std (Sequence[Number], optional): Per-channel std (RGB, 0..255).
        bgr_to_rgb (bool): Whether loaded images are BGR. Default True.
        pad_val (float): Pad value of the normalised input. Default 0.
        size (tuple[int, int], optional): Fixed (h, w) to pad training
            batches to.
        size_divisor (int, optional): Pad training batches to a multiple.
        test_cfg (dict, optional): ``size``/``size_divisor`` at test time.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 bgr_to_rgb: bool = True,
                 pad_val: float = 0,
                 size: Optional[Tuple[int, int]] = None,
                 size_divisor: Optional[int] = None,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if (mean is None) != (std is None):
            raise ValueError('MultiTaskDataPreProcessor: give both `mean` and '
                             '`std` or neither.')
        self._enable_normalize = mean is not None
        if self._enable_normalize:
            if len(mean) != 3 or len(std) != 3:
                raise ValueError('MultiTaskDataPreProcessor: `mean` and `std`'
                                 ' need 3 values (RGB).')
            self.register_buffer('mean',
                                 torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer('std', torch.tensor(std).view(-1, 1, 1),
                                 False)
        self.bgr_to_rgb = bgr_to_rgb
        self.pad_val = pad_val
        self.size = size
        self.size_divisor = size_divisor
        self.test_cfg = test_cfg or {}

    def _target_size(self, shapes: List[Tuple[int, int]],
                     training: bool) -> Tuple[int, int]:
        cfg = dict(size=self.size, size_divisor=self.size_divisor)
        if not training:
            cfg = dict(
                size=self.test_cfg.get('size'),
                size_divisor=self.test_cfg.get('size_divisor'))
        h = max(s[0] for s in shapes)
        w = max(s[1] for s in shapes)
        if cfg['size'] is not None:
            size_h, size_w = cfg['size']
            if h > size_h or w > size_w:
                raise ValueError(f'Image of size {(h, w)} is larger than the '
                                 f"preprocessor's pad size {cfg['size']}.")
            h, w = size_h, size_w
        if cfg['size_divisor']:
            d = cfg['size_divisor']
            h, w = -(-h // d) * d, -(-w // d) * d
        return h, w

    @staticmethod
    def _pad(tensor: torch.Tensor, size: Tuple[int, int],
             value: float) -> torch.Tensor:
        pad_h = size[0] - tensor.shape[-2]
        pad_w = size[1] - tensor.shape[-1]
        if pad_h == 0 and pad_w == 0:
            return tensor
        return F.pad(tensor, (0, pad_w, 0, pad_h), value=value)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalise and pad a collated batch.

        Args:
            data (dict): ``inputs`` (list of uint8 (3, H, W) tensors) and
                ``data_samples`` from the dataloader.
            training (bool): Whether the batch is for training.

        Returns:
            dict: ``inputs`` (N, 3, H, W) float and padded ``data_samples``.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        data_samples = data.get('data_samples')
        if data_samples is None:
            data_samples = [MultiTaskDataSample() for _ in inputs]
        size = self._target_size([x.shape[-2:] for x in inputs], training)
        batch = []
        for img, sample in zip(inputs, data_samples):
            h, w = img.shape[-2:]
            img = img.float()
            if self.bgr_to_rgb:
                img = img[[2, 1, 0]]
            sample.set_field(
                PixelData(data=self._pad(img / 255., size, 0)),
                DEGRADED_IMG_KEY)
            if CLEAN_IMG_KEY in sample:
                clean = sample.get(CLEAN_IMG_KEY).data.float() / 255.
                if self.bgr_to_rgb:
                    clean = clean[[2, 1, 0]]
                if training:
                    clean = self._pad(clean, size, 0)
                sample.set_field(PixelData(data=clean), CLEAN_IMG_KEY)
            for spec in TASK_SPECS.values():
                if training and spec.gt_field in sample:
                    target = sample.get(spec.gt_field).data
                    sample.set_field(
                        PixelData(data=self._pad(target, size,
                                                 spec.ignore_value)),
                        spec.gt_field)
            if self._enable_normalize:
                img = (img - self.mean) / self.std
            batch.append(self._pad(img, size, self.pad_val))
            sample.set_metainfo(
                dict(
                    img_shape=(h, w),
                    pad_shape=size,
                    img_padding_size=[0, size[1] - w, 0, size[0] - h]))
        return dict(inputs=torch.stack(batch), data_samples=data_samples)
