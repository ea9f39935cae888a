"""Padded multi-task batches as the data preprocessor returns them."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

from mmallnet.structures import MultiTaskDataSample

#: ImageNet mean / std (RGB, 0-255), the data preprocessor's defaults here.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def multi_task_batch(
    shapes: Sequence[Tuple[int, int]] = ((64, 64), (50, 60)),
    size: Optional[int] = None,
    num_classes: int = 40,
    num_parts_classes: int = 7,
    seed: int = 0,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Tuple[Tensor, List[MultiTaskDataSample]]:
    """Random inputs and samples with every task's target, padded.

    Each image of shape ``(h, w)`` is padded bottom/right to
    ``(size, size)`` with the padding values the pipeline uses (255 for
    labels, boundaries and saliency; 0 for depth, normals and images), and
    its metainfo says so (``img_shape``, ``pad_shape``,
    ``img_padding_size``).

    Args:
        shapes (Sequence[tuple[int, int]]): ``(h, w)`` per sample.
        size (int, optional): Padded side. Defaults to the largest side.
        num_classes (int): Semseg classes. Defaults to 40.
        num_parts_classes (int): Human-part classes. Defaults to 7.
        seed (int): Seed of the generator. Defaults to 0.
        mean (Sequence[float]): Normalisation mean of the inputs.
        std (Sequence[float]): Normalisation std of the inputs.

    Returns:
        tuple[Tensor, list[MultiTaskDataSample]]: ``(N, 3, size, size)``
        normalised degraded images (zero-padded) and the samples, with
        ``gt_sem_seg``, ``gt_parts``, ``gt_depth`` (metres, > 0 inside the
        image), ``gt_normal`` (unit), ``gt_boundary``, ``gt_saliency``,
        ``gt_clean_img`` and ``degraded_img`` (RGB in [0, 1]).
    """
    size = size or max(max(shape) for shape in shapes)
    g = torch.Generator().manual_seed(seed)
    inputs = torch.zeros(len(shapes), 3, size, size)
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)
    samples = []
    for i, (h, w) in enumerate(shapes):
        if h > size or w > size:
            raise ValueError(f'multi_task_batch: shape {(h, w)} does not fit '
                             f'the padded size {size}.')

        def pad(x: Tensor, value: float) -> Tensor:
            return F.pad(x, (0, size - w, 0, size - h), value=value)

        clean = torch.rand(3, h, w, generator=g)
        degraded = (clean + 0.1 * torch.randn(3, h, w, generator=g)).clamp(
            0, 1)
        inputs[i, :, :h, :w] = (degraded * 255 - mean_t) / std_t
        sample = MultiTaskDataSample(metainfo=dict(
            img_shape=(h, w), pad_shape=(size, size), ori_shape=(h, w),
            img_padding_size=[0, size - w, 0, size - h]))
        sample.gt_sem_seg = PixelData(data=pad(
            torch.randint(0, num_classes, (1, h, w), generator=g), 255))
        sample.gt_parts = PixelData(data=pad(
            torch.randint(0, num_parts_classes, (1, h, w), generator=g),
            255))
        sample.gt_depth = PixelData(
            data=pad(torch.rand(1, h, w, generator=g) * 5 + 0.1, 0.))
        sample.gt_normal = PixelData(data=pad(
            F.normalize(torch.randn(3, h, w, generator=g), dim=0), 0.))
        sample.gt_boundary = PixelData(
            data=pad((torch.rand(1, h, w, generator=g) > 0.9).float(), 255.))
        sample.gt_saliency = PixelData(
            data=pad((torch.rand(1, h, w, generator=g) > 0.5).long(), 255))
        sample.gt_clean_img = PixelData(data=pad(clean, 0.))
        sample.degraded_img = PixelData(data=pad(degraded, 0.))
        samples.append(sample)
    return inputs, samples
