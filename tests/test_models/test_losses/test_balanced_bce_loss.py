"""BalancedBCELoss: the saliency loss weighted by the batch."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmallnet.models.losses.balanced_bce_loss import BalancedBCELoss

LN2 = math.log(2)


def _sp(x):
    """softplus(x) = -log(sigmoid(-x))."""
    return math.log1p(math.exp(x))


def test_balanced_bce_weights_and_value():
    target = torch.tensor([[[[1., 0., 0., 255.]]]])
    # 1 positive of 3 valid pixels -> positives weighted 2/3, negatives 1/3
    assert BalancedBCELoss.positive_weight(target).item() == \
        pytest.approx(2 / 3)
    # zero logits: (2/3 + 1/3 + 1/3) * ln2 / 3
    value = BalancedBCELoss()(torch.zeros(1, 1, 1, 4), target)
    assert value.item() == pytest.approx(4 / 9 * LN2)
    pred = torch.tensor([[[[1., -2., 0.5, 9.]]]])
    expected = (2 / 3 * _sp(-1.) + 1 / 3 * _sp(-2.) + 1 / 3 * _sp(.5)) / 3
    assert BalancedBCELoss()(pred, target).item() == \
        pytest.approx(expected, rel=1e-6)
    # the ignored logit (9.) does not matter
    pred[0, 0, 0, 3] = -9.
    assert BalancedBCELoss()(pred, target).item() == \
        pytest.approx(expected, rel=1e-6)
    assert BalancedBCELoss(loss_weight=5.)(pred, target).item() == \
        pytest.approx(5 * expected, rel=1e-6)


def test_balanced_bce_matches_invpt_formulation():
    torch.manual_seed(1)
    pred = torch.randn(2, 1, 8, 8)
    target = (torch.rand(2, 1, 8, 8) > 0.3).long()
    target[1, 0, 5:] = 255
    valid = target != 255
    y = target[valid].float()
    w = (1 - y).sum() / y.numel()
    ref = F.binary_cross_entropy_with_logits(
        pred[valid], y, pos_weight=w / (1 - w)) * (1 - w)
    assert BalancedBCELoss()(pred, target).item() == \
        pytest.approx(ref.item(), rel=1e-5)


def test_balanced_bce_weights_from_valid_pixels_only():
    torch.manual_seed(2)
    pred = torch.randn(1, 1, 4, 4)
    target = (torch.rand(1, 1, 4, 4) > 0.5).float()
    ref = BalancedBCELoss()(pred, target)
    padded_pred = F.pad(pred, (0, 3, 0, 2), value=3.)
    padded_target = F.pad(target, (0, 3, 0, 2), value=255.)
    assert BalancedBCELoss()(padded_pred, padded_target).item() == \
        pytest.approx(ref.item(), rel=1e-6)
