"""DepthL1Loss: L1 over valid depth pixels."""

import pytest
import torch

from mmallnet.models.losses.depth_l1_loss import DepthL1Loss


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
