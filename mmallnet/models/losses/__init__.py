from .balanced_bce_loss import BalancedBCELoss
from .depth_l1_loss import DepthL1Loss
from .normal_l1_loss import NormalL1Loss
from .restoration_loss import RestorationLoss
from .weighted_bce_loss import WeightedBCELoss

__all__ = [
    'BalancedBCELoss', 'DepthL1Loss', 'NormalL1Loss', 'RestorationLoss',
    'WeightedBCELoss'
]
