import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmallnet.models.losses.balanced_bce_loss import BalancedBCELoss
from mmallnet.models.losses.depth_l1_loss import DepthL1Loss
from mmallnet.models.losses.normal_l1_loss import NormalL1Loss
from mmallnet.models.losses.restoration_loss import RestorationLoss
from mmallnet.models.losses.weighted_bce_loss import (
    WeightedBCELoss,
    weighted_binary_cross_entropy,
)

LN2 = math.log(2)


def _sp(x):
    """softplus(x) = -log(sigmoid(-x))."""
    return math.log1p(math.exp(x))


@pytest.mark.parametrize('cfg, name', [
    (dict(type='DepthL1Loss'), 'loss_depth'),
    (dict(type='NormalL1Loss'), 'loss_normals'),
    (dict(type='WeightedBCELoss'), 'loss_boundary'),
    (dict(type='BalancedBCELoss'), 'loss_saliency'),
    (dict(type='RestorationLoss'), 'loss_restoration'),
])
def test_registered_and_named(cfg, name):
    loss = MODELS.build(cfg)
    assert loss.loss_name == name
    assert loss.loss_weight == 1.0
    with pytest.raises(ValueError, match=f'{cfg["type"]}: `loss_name`'):
        MODELS.build(dict(cfg, loss_name='depth'))


def test_depth_l1_valid_pixels_only():
    loss = DepthL1Loss()
    pred = torch.tensor([[[[1., 2.], [3., 4.]]]], requires_grad=True)
    gt = torch.tensor([[[[0., 3.], [3., 1.]]]])
    value = loss(pred, gt)
    # valid: |2-3|, |3-3|, |4-1| -> (1 + 0 + 3) / 3
    assert value.item() == pytest.approx(4 / 3)
    value.backward()
    assert pred.grad[0, 0, 0, 0] == 0  # invalid pixel gets no gradient
    assert pred.grad[0, 0, 1, 1].item() == pytest.approx(1 / 3)

    # changing the prediction on invalid pixels never changes the loss
    other = pred.detach().clone()
    other[0, 0, 0, 0] = 1e6
    assert loss(other, gt).item() == pytest.approx(4 / 3)
    # loss_weight scales
    assert DepthL1Loss(loss_weight=2.)(pred, gt).item() == pytest.approx(8 / 3)


def test_depth_l1_no_valid_pixel_is_zero_and_differentiable():
    pred = torch.randn(2, 1, 3, 3, requires_grad=True)
    value = DepthL1Loss()(pred, torch.zeros(2, 1, 3, 3))
    assert value.item() == 0
    value.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_depth_l1_shape_mismatch():
    with pytest.raises(ValueError, match='same shape'):
        DepthL1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


def test_normal_l1_scale_invariant_and_ignores_zero_vectors():
    torch.manual_seed(0)
    gt = F.normalize(torch.randn(2, 3, 4, 5), dim=1)
    gt[:, :, 0, :] = 0  # invalid row
    pred = 3 * gt
    pred[:, :, 0, :] = torch.randn(2, 3, 5)  # anything on invalid pixels
    assert NormalL1Loss()(pred, gt).item() == pytest.approx(0, abs=1e-6)


def test_normal_l1_hand_value():
    gt = torch.zeros(1, 3, 1, 3)
    gt[0, :, 0, 0] = torch.tensor([0., 1., 0.])
    gt[0, :, 0, 1] = torch.tensor([0., 0., 1.])  # pixel 2 invalid (zero)
    pred = torch.zeros(1, 3, 1, 3)
    pred[0, :, 0, 0] = torch.tensor([2., 0., 0.])  # -> (1,0,0): error 2
    pred[0, :, 0, 1] = torch.tensor([0., 0., 5.])  # -> (0,0,1): error 0
    pred[0, :, 0, 2] = torch.tensor([7., 7., 7.])
    # sum over components, mean over the 2 valid pixels
    assert NormalL1Loss()(pred, gt).item() == pytest.approx(1.0)
    assert NormalL1Loss(loss_weight=10.)(pred, gt).item() == \
        pytest.approx(10.0)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        NormalL1Loss()(torch.zeros(1, 2, 1, 1), torch.zeros(1, 2, 1, 1))


def test_normal_l1_no_valid_pixel():
    pred = torch.randn(1, 3, 2, 2, requires_grad=True)
    value = NormalL1Loss()(pred, torch.zeros(1, 3, 2, 2))
    assert value.item() == 0
    value.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


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


def test_restoration_identical_is_zero():
    img = torch.rand(2, 3, 8, 10)
    assert RestorationLoss()(img, img.clone()).item() == 0


@pytest.mark.parametrize('norm', ['backward', 'ortho'])
def test_restoration_constant_offset(norm):
    d, h, w = 0.25, 6, 8
    target = torch.rand(2, 3, h, w)
    pred = target + d
    # L1 = d; the offset lives only in the DC coefficient (real part):
    # backward: d*h*w, ortho: d*sqrt(h*w); mean over 2*h*(w//2+1) values.
    dc = d * h * w if norm == 'backward' else d * math.sqrt(h * w)
    fft_l1 = dc / (2 * h * (w // 2 + 1))
    only_l1 = RestorationLoss(fft_weight=0., fft_norm=norm)(pred, target)
    assert only_l1.item() == pytest.approx(d, rel=1e-5)
    only_fft = RestorationLoss(l1_weight=0., fft_weight=1., fft_norm=norm)
    assert only_fft(pred, target).item() == pytest.approx(fft_l1, rel=1e-4)
    both = RestorationLoss(fft_norm=norm, loss_weight=2.)(pred, target)
    assert both.item() == pytest.approx(2 * (d + 0.1 * fft_l1), rel=1e-4)


def test_restoration_padding_never_changes_loss():
    torch.manual_seed(3)
    pred = torch.rand(2, 3, 8, 10, requires_grad=True)
    target = torch.rand(2, 3, 8, 10)
    shapes = [(8, 10), (5, 7)]
    loss = RestorationLoss()
    value = loss(pred, target, img_shapes=shapes)
    # pooled reference: sample 0 whole, sample 1 cropped to 5x7
    crops = [(pred[0], target[0]), (pred[1, :, :5, :7], target[1, :, :5, :7])]
    l1 = sum((p - t).abs().sum() for p, t in crops) / (3 * 80 + 3 * 35)
    fft = sum((torch.view_as_real(torch.fft.rfft2(p)) -
               torch.view_as_real(torch.fft.rfft2(t))).abs().sum()
              for p, t in crops) / (2 * 3 * (8 * 6 + 5 * 4))
    assert value.item() == pytest.approx((l1 + 0.1 * fft).item(), rel=1e-5)
    value.backward()
    assert pred.grad[1, :, 5:].abs().sum() == 0
    assert pred.grad[1, :, :, 7:].abs().sum() == 0
    other_pred = pred.detach().clone()
    other_target = target.clone()
    other_pred[1, :, 5:] = 9.
    other_target[1, :, :, 7:] = -4.
    assert loss(other_pred, other_target, img_shapes=shapes).item() == \
        pytest.approx(value.item(), rel=1e-6)


def test_restoration_errors():
    img = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match='fft_norm'):
        RestorationLoss(fft_norm='none')
    with pytest.raises(ValueError, match='img_shapes'):
        RestorationLoss()(img, img, img_shapes=[(5, 4)])
    with pytest.raises(ValueError, match='img_shapes'):
        RestorationLoss()(img, img, img_shapes=[(4, 4), (4, 4)])
    with pytest.raises(ValueError, match='same shape|shape'):
        RestorationLoss()(img, torch.rand(1, 3, 4, 5))
