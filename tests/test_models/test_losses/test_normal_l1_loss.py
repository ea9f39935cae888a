"""NormalL1Loss: L1 of the normalised prediction over valid normals."""

import pytest
import torch
import torch.nn.functional as F

from mmallnet.models.losses.normal_l1_loss import NormalL1Loss


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
