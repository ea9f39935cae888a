"""RestorationLoss: L1 + FFT-L1 on the un-padded image."""
import math

import pytest
import torch

from mmallnet.models.losses.restoration_loss import RestorationLoss


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
