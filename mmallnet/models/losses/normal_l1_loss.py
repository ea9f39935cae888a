"""L1 surface-normal loss on the L2-normalised prediction."""
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class NormalL1Loss(nn.Module):
    """L1 loss between the unit-normalised prediction and the normal map.

    The prediction is L2-normalised along the channel axis first (so its
    scale does not matter); the ground truth is used as is. A pixel is
    valid where the ground-truth vector is not the zero vector. As in the
    InvPT family, the loss is the sum of the absolute errors of the three
    components, averaged over the valid *pixels* of the batch. When no pixel
    is valid the loss is ``0`` and still part of the graph.

    Args:
        eps (float): Epsilon of the L2 normalisation. Defaults to 1e-12.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Defaults to ``'loss_normals'``.
    """

    def __init__(self,
                 eps: float = 1e-12,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_normals') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError(f'NormalL1Loss: `loss_name` must start with '
                             f'"loss_", got {loss_name!r}.')
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Raw normal prediction, shape (N, 3, H, W).
            target (Tensor): Unit normals of the same shape; zero vectors
                are invalid.

        Returns:
            Tensor: Scalar loss (``loss_weight`` applied).
        """
        if pred.shape != target.shape or pred.dim() != 4 \
                or pred.shape[1] != 3:
            raise ValueError(
                f'NormalL1Loss: `pred` {tuple(pred.shape)} and `target` '
                f'{tuple(target.shape)} must both have shape (N, 3, H, W).')
        valid = (target != 0).any(dim=1)
        pred = F.normalize(pred, p=2, dim=1, eps=self.eps)
        abs_err = (pred - target.to(pred.dtype)).abs().sum(dim=1)[valid]
        num_valid = valid.sum().clamp(min=1)
        return self.loss_weight * abs_err.sum() / num_valid

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item."""
        return self._loss_name
