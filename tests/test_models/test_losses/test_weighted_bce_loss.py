"""WeightedBCELoss: the boundary loss with a fixed positive weight."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmallnet.models.losses.weighted_bce_loss import (
    WeightedBCELoss,
    weighted_binary_cross_entropy,
)

LN2 = math.log(2)


def _sp(x):
    """softplus(x) = -log(sigmoid(-x))."""
    return math.log1p(math.exp(x))


def test_weighted_bce_hand_values_and_ignore():
    loss = WeightedBCELoss()  # positives 0.95, negatives 0.05
    pred = torch.tensor([[[[2., -1., 5.]]]], requires_grad=True)
    target = torch.tensor([[[[1., 0., 255.]]]])
    expected = (0.95 * _sp(-2.) + 0.05 * _sp(-1.)) / 2
    value = loss(pred, target)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    assert pred.grad[0, 0, 0, 2] == 0
    # ignored logits never matter
    other = pred.detach().clone()
    other[0, 0, 0, 2] = -1e4
    assert loss(other, target).item() == pytest.approx(expected, rel=1e-6)
    # zero logits: (0.95 * ln2 + 0.05 * ln2) / 2 valid pixels
    zeros = torch.zeros(1, 1, 1, 3)
    assert loss(zeros, target).item() == pytest.approx(LN2 / 2)
    # other ignore index
    target2 = torch.tensor([[[[1., 0., -1.]]]])
    assert loss(other, target2, ignore_index=-1).item() == \
        pytest.approx(expected, rel=1e-6)


def test_weighted_bce_matches_invpt_formulation():
    torch.manual_seed(0)
    pred = torch.randn(2, 1, 6, 7)
    target = (torch.rand(2, 1, 6, 7) > 0.8).float()
    target[0, 0, :2] = 255
    w = 0.95
    valid = target != 255
    ref = F.binary_cross_entropy_with_logits(
        pred[valid], target[valid], pos_weight=torch.tensor(w / (1 - w)))
    ref = ref / (1 / (1 - w))
    assert WeightedBCELoss(pos_weight=w)(pred, target).item() == \
        pytest.approx(ref.item(), rel=1e-5)


def test_weighted_bce_errors():
    with pytest.raises(ValueError, match='pos_weight'):
        WeightedBCELoss(pos_weight=1.5)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        WeightedBCELoss()(torch.zeros(1, 1, 1, 2),
                          torch.tensor([[[[0., 2.]]]]))
    value = weighted_binary_cross_entropy(
        torch.zeros(1, 1, 1, 2, requires_grad=True),
        torch.full((1, 1, 1, 2), 255.), 0.95)
    assert value.item() == 0
