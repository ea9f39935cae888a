"""SKFF: channel-wise softmax selection over its inputs."""
import pytest
import torch

from mmallnet.models.layers import SKFF


@pytest.mark.parametrize('batch', [1, 3])
def test_shapes_and_weights_are_a_softmax_per_channel(batch):
    torch.manual_seed(0)
    layer = SKFF(16, height=3)
    inputs = [torch.randn(batch, 16, 5, 7) for _ in range(3)]
    weights = layer.selection_weights(inputs)
    assert weights.shape == (batch, 3, 16, 1, 1)
    assert (weights > 0).all()
    torch.testing.assert_close(
        weights.sum(dim=1), torch.ones(batch, 16, 1, 1))
    out = layer(inputs)
    assert out.shape == (batch, 16, 5, 7)
    expected = sum(weights[:, i] * inputs[i] for i in range(3))
    torch.testing.assert_close(out, expected)


def test_equal_inputs_give_the_input():
    torch.manual_seed(0)
    layer = SKFF(8)
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(layer([x, x.clone()]), x)


def test_parameter_count_and_reduction_floor():
    # C * d + 1 (PReLU) + L * d * C with d = max(C // 8, 4); 98,305 at
    # C = 512 as the reference's section 3.5 says.
    assert sum(p.numel() for p in SKFF(256).parameters()) == 3 * 256 * 32 + 1
    assert sum(p.numel() for p in SKFF(512).parameters()) == 98305
    assert SKFF(16).squeeze[0].out_channels == 4


def test_weights_depend_on_the_sum_of_the_inputs_only():
    torch.manual_seed(0)
    layer = SKFF(8)
    a, b = torch.randn(1, 8, 3, 3), torch.randn(1, 8, 3, 3)
    torch.testing.assert_close(
        layer.selection_weights([a, b]), layer.selection_weights([b, a]))


def test_wrong_number_of_inputs_raises():
    layer = SKFF(8)
    with pytest.raises(ValueError, match='expects 2 inputs'):
        layer([torch.randn(1, 8, 2, 2)])


def test_gradients_reach_every_input_and_parameter():
    torch.manual_seed(0)
    layer = SKFF(8).train()
    a = torch.randn(2, 8, 3, 3, requires_grad=True)
    b = torch.randn(2, 8, 3, 3, requires_grad=True)
    layer([a, b]).square().sum().backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    assert all(p.grad is not None for p in layer.parameters())
