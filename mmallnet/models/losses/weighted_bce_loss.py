"""Weighted binary cross-entropy on logits (boundary loss)."""
from typing import Optional, Union

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def weighted_binary_cross_entropy(pred: Tensor,
                                  target: Tensor,
                                  pos_weight: Union[float, Tensor],
                                  ignore_index: int = 255,
                                  where: str = 'WeightedBCELoss') -> Tensor:
    """Weighted BCE on logits, averaged over the valid pixels.

    ``L = mean_valid -[w * y * log(sigmoid(x))
    + (1 - w) * (1 - y) * log(1 - sigmoid(x))]``, i.e. positives are weighted
    ``w`` and negatives ``1 - w`` and the sum is divided by the number of
    valid pixels (not by the weight sum). This equals the InvPT-family
    implementation (BCE with ``pos_weight = w / (1 - w)`` divided by
    ``1 / (1 - w)``) but stays finite for ``w = 1``. Pixels whose target
    equals ``ignore_index`` do not contribute (and get no gradient); with no
    valid pixel the loss is ``0`` and still part of the graph.

    Args:
        pred (Tensor): Logits, any shape.
        target (Tensor): Targets of the same shape, in [0, 1] or
            ``ignore_index``.
        pos_weight (float | Tensor): Weight ``w`` of the positive term, in
            [0, 1].
        ignore_index (int): Target value to ignore. Defaults to 255.
        where (str): Name used in error messages.

    Returns:
        Tensor: Scalar loss.
    """
    if pred.shape != target.shape:
        raise ValueError(f'{where}: `pred` {tuple(pred.shape)} and `target` '
                         f'{tuple(target.shape)} must have the same shape.')
    valid = target != ignore_index
    target = target.to(pred.dtype)[valid]
    if ((target < 0) | (target > 1)).any():
        raise ValueError(f'{where}: targets must be in [0, 1] or equal to '
                         f'ignore_index={ignore_index}.')
    logits = pred[valid]
    pos_term = -F.logsigmoid(logits) * target
    neg_term = -F.logsigmoid(-logits) * (1 - target)
    loss = pos_weight * pos_term + (1 - pos_weight) * neg_term
    return loss.sum() / valid.sum().clamp(min=1)


@MODELS.register_module()
class WeightedBCELoss(nn.Module):
    """Binary cross-entropy on logits with a fixed positive weight.

    The boundary loss of the InvPT family: positives weighted ``pos_weight``
    (0.95), negatives ``1 - pos_weight`` (0.05), averaged over the valid
    pixels of the batch. See :func:`weighted_binary_cross_entropy`.

    Args:
        pos_weight (float): Weight of positive pixels, in [0, 1]; negatives
            get ``1 - pos_weight``. Defaults to 0.95.
        ignore_index (int): Target value to ignore. Defaults to 255.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Defaults to ``'loss_boundary'``.
    """

    def __init__(self,
                 pos_weight: float = 0.95,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_boundary') -> None:
        super().__init__()
        if not 0 <= pos_weight <= 1:
            raise ValueError(f'{type(self).__name__}: `pos_weight` must be '
                             f'in [0, 1], got {pos_weight}.')
        if not loss_name.startswith('loss_'):
            raise ValueError(f'{type(self).__name__}: `loss_name` must start '
                             f'with "loss_", got {loss_name!r}.')
        self.pos_weight = pos_weight
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                ignore_index: Optional[int] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Logits, e.g. (N, 1, H, W).
            target (Tensor): Targets of the same shape in {0, 1} (or [0, 1])
                with ``ignore_index`` for ignored pixels.
            ignore_index (int, optional): Overrides the value given at
                construction.

        Returns:
            Tensor: Scalar loss (``loss_weight`` applied).
        """
        if ignore_index is None:
            ignore_index = self.ignore_index
        pos_weight = self.positive_weight(target, ignore_index)
        if isinstance(pos_weight, Tensor):
            pos_weight = pos_weight.to(pred.dtype)
        return self.loss_weight * weighted_binary_cross_entropy(
            pred, target, pos_weight, ignore_index, type(self).__name__)

    def positive_weight(self, target: Tensor,
                        ignore_index: int = 255) -> Union[float, Tensor]:
        """Weight of the positive term: the fixed ``pos_weight``.

        Args:
            target (Tensor): Targets (unused here; subclasses derive the
                weight from them).
            ignore_index (int): Target value to ignore.

        Returns:
            float | Tensor: The weight ``w`` in [0, 1].
        """
        return self.pos_weight

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item."""
        return self._loss_name

