"""Class-balanced binary cross-entropy on logits (saliency loss)."""
from mmseg.registry import MODELS
from torch import Tensor

from .weighted_bce_loss import WeightedBCELoss


@MODELS.register_module()
class BalancedBCELoss(WeightedBCELoss):
    """HED-style class-balanced binary cross-entropy on logits.

    The saliency loss of the InvPT family. Over the valid pixels of the
    whole batch (target != ``ignore_index``), let ``w`` be the fraction of
    negative pixels (``1 - mean(target)``). Positives are weighted ``w`` and
    negatives ``1 - w``; the weighted BCE is averaged over the valid pixels
    (not divided by the weight sum), i.e.
    ``L = mean_valid -[w*y*log(sigmoid(x)) + (1-w)*(1-y)*log(1-sigmoid(x))]``.
    With a single logit this equals the two-channel class-balanced CE of
    InvPT. The weights are computed from the targets and carry no gradient.
    A :class:`WeightedBCELoss` whose positive weight comes from the batch;
    see :func:`weighted_binary_cross_entropy`.

    Args:
        ignore_index (int): Target value to ignore. Defaults to 255.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_``.
            Defaults to ``'loss_saliency'``.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_saliency') -> None:
        super().__init__(
            pos_weight=0.5,
            ignore_index=ignore_index,
            loss_weight=loss_weight,
            loss_name=loss_name)
        self.pos_weight = None  # derived per batch by positive_weight()

    @staticmethod
    def positive_weight(target: Tensor, ignore_index: int = 255) -> Tensor:
        """Weight of the positive term: the negative fraction of valid pixels.

        Args:
            target (Tensor): Targets in [0, 1] or ``ignore_index``.
            ignore_index (int): Target value to ignore. Defaults to 255.

        Returns:
            Tensor: Scalar ``w = 1 - sum(y) / num_valid`` (``1`` if no pixel
            is valid).
        """
        valid = target != ignore_index
        num_pos = target[valid].float().sum()
        return 1 - num_pos / valid.sum().clamp(min=1)
