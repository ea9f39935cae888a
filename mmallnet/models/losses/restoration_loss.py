"""Restoration loss: pixel L1 plus a Fourier-domain L1."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class RestorationLoss(nn.Module):
    """``l1_weight * L1 + fft_weight * FFT-L1`` on the valid image region.

    * L1: mean absolute error over all valid pixels and channels.
    * FFT-L1: ``torch.fft.rfft2`` of prediction and target (per channel,
      over H and W, computed in float32), real and imaginary parts stacked,
      mean absolute difference over all those values (the FFT loss of
      MIMO-UNet / AdaIR / MoCE-IR, complex-L1 rather than magnitude-L1). With
      the default ``fft_norm='backward'`` the spectrum is unnormalised, so
      the term grows with the image size; ``'ortho'`` makes it
      size-independent.

    Images are padded at the bottom/right (MMSeg convention). If
    ``img_shapes`` is given, every sample is cropped to its top-left
    ``(h, w)`` before both terms are computed, so padded pixels never change
    the loss and the FFT sees exactly the un-padded image. Means are pooled
    over all samples (sum of absolute errors / number of elements).

    Args:
        l1_weight (float): Weight of the pixel L1 term. Defaults to 1.0.
        fft_weight (float): Weight of the FFT-L1 term. Defaults to 0.1.
        fft_norm (str): ``norm`` of :func:`torch.fft.rfft2`: 'backward',
            'ortho' or 'forward'. Defaults to 'backward'.
        loss_weight (float): Weight of the whole loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Defaults to ``'loss_restoration'``.
    """

    def __init__(self,
                 l1_weight: float = 1.0,
                 fft_weight: float = 0.1,
                 fft_norm: str = 'backward',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_restoration') -> None:
        super().__init__()
        if fft_norm not in ('backward', 'ortho', 'forward'):
            raise ValueError(f'RestorationLoss: `fft_norm` must be one of '
                             f"'backward', 'ortho', 'forward', got "
                             f'{fft_norm!r}.')
        if not loss_name.startswith('loss_'):
            raise ValueError(f'RestorationLoss: `loss_name` must start with '
                             f'"loss_", got {loss_name!r}.')
        self.l1_weight = l1_weight
        self.fft_weight = fft_weight
        self.fft_norm = fft_norm
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def _group_by_shape(
            self, pred: Tensor,
            img_shapes: Optional[Sequence[Sequence[int]]]
    ) -> Dict[Tuple[int, int], List[int]]:
        """Group sample indices by their valid (h, w)."""
        num, _, height, width = pred.shape
        if img_shapes is None:
            return {(height, width): list(range(num))}
        if len(img_shapes) != num:
            raise ValueError(f'RestorationLoss: got {len(img_shapes)} '
                             f'`img_shapes` for a batch of {num}.')
        groups = defaultdict(list)
        for i, shape in enumerate(img_shapes):
            h, w = (int(s) for s in shape[:2])
            if not (0 < h <= height and 0 < w <= width):
                raise ValueError(
                    f'RestorationLoss: img_shapes[{i}]={tuple(shape)} must '
                    f'be positive and fit in the padded size '
                    f'{(height, width)}.')
            groups[(h, w)].append(i)
        return groups

    def forward(self,
                pred: Tensor,
                target: Tensor,
                img_shapes: Optional[Sequence[Sequence[int]]] = None
                ) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Restored images, shape (N, C, H, W), [0, 1].
            target (Tensor): Clean images of the same shape.
            img_shapes (Sequence[Sequence[int]], optional): Un-padded
                ``(h, w)`` of each sample (top-left region). ``None`` uses
                the whole image.

        Returns:
            Tensor: Scalar loss (``loss_weight`` applied).
        """
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(
                f'RestorationLoss: `pred` {tuple(pred.shape)} and `target` '
                f'{tuple(target.shape)} must both have shape (N, C, H, W).')
        target = target.to(pred.dtype)
        l1_sum = fft_sum = pred.new_zeros(())
        l1_count = fft_count = 0
        for (h, w), idx in self._group_by_shape(pred, img_shapes).items():
            index = torch.as_tensor(idx, device=pred.device)
            p = pred.index_select(0, index)[..., :h, :w]
            t = target.index_select(0, index)[..., :h, :w]
            l1_sum = l1_sum + (p - t).abs().sum()
            l1_count += p.numel()
            if self.fft_weight != 0:
                p_fft = torch.fft.rfft2(p.float(), norm=self.fft_norm)
                t_fft = torch.fft.rfft2(t.float(), norm=self.fft_norm)
                diff = torch.view_as_real(p_fft) - torch.view_as_real(t_fft)
                fft_sum = fft_sum + diff.abs().sum()
                fft_count += diff.numel()
        loss = self.l1_weight * l1_sum / max(l1_count, 1)
        if self.fft_weight != 0:
            loss = loss + self.fft_weight * fft_sum / max(fft_count, 1)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item."""
        return self._loss_name
