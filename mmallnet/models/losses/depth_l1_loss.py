"""L1 depth loss over valid (``gt > 0``) pixels."""
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class DepthL1Loss(nn.Module):
    """L1 loss between predicted and ground-truth depth on valid pixels.

    A pixel is valid where the ground truth is strictly positive (depth
    ``0`` marks invalid / padded pixels, see
    :data:`mmallnet.structures.TASK_SPECS`). The loss is the mean absolute
    error over all valid pixels of the batch (pooled, not per image). When
    no pixel is valid the loss is ``0`` and still part of the graph (zero
    gradient).

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``
            so that MMEngine back-propagates it. Defaults to
            ``'loss_depth'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_depth') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError(f'DepthL1Loss: `loss_name` must start with '
                             f'"loss_", got {loss_name!r}.')
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted depth, shape (N, 1, H, W), metres.
            target (Tensor): Ground-truth depth of the same shape; ``<= 0``
                means invalid.

        Returns:
            Tensor: Scalar loss (``loss_weight`` applied).
        """
        if pred.shape != target.shape:
            raise ValueError(
                f'DepthL1Loss: `pred` {tuple(pred.shape)} and `target` '
                f'{tuple(target.shape)} must have the same shape.')
        valid = target > 0
        abs_err = (pred - target.to(pred.dtype)).abs()[valid]
        num_valid = valid.sum().clamp(min=1)
        return self.loss_weight * abs_err.sum() / num_valid

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item."""
        return self._loss_name
