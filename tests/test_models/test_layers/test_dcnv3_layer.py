"""The DCNv3 layer: official names, initial behaviour, centre scale."""
import pytest
import torch
import torch.nn.functional as F

from mmallnet.models.layers import DCNv3


def box_filter(x: torch.Tensor) -> torch.Tensor:
    """3x3 mean with zero padding on a channels-last map."""
    nchw = x.permute(0, 3, 1, 2)
    out = F.avg_pool2d(nchw, 3, stride=1, padding=1, count_include_pad=True)
    return out.permute(0, 2, 3, 1)


def test_parameter_names_are_official():
    layer = DCNv3(16, group=4)
    assert set(layer.state_dict()) == {
        'dw_conv.0.weight', 'dw_conv.0.bias', 'dw_conv.1.1.weight',
        'dw_conv.1.1.bias', 'offset.weight', 'offset.bias', 'mask.weight',
        'mask.bias', 'input_proj.weight', 'input_proj.bias',
        'output_proj.weight', 'output_proj.bias'
    }
    assert layer.offset.weight.shape == (4 * 9 * 2, 16)
    assert layer.mask.weight.shape == (4 * 9, 16)
    assert layer.dw_conv[1][1].eps == 1e-6
    h = DCNv3(16, group=4, dw_kernel_size=5, center_feature_scale=True)
    assert h.dw_conv[0].weight.shape == (16, 1, 5, 5)
    assert h.center_feature_scale_proj_weight.shape == (4, 16)
    assert h.center_feature_scale_proj_bias.shape == (4, )


def test_fresh_layer_is_a_box_filter_of_the_projected_value():
    """Zero offsets and uniform (1/9) masks: a 3x3 box filter."""
    torch.manual_seed(0)
    layer = DCNv3(8, group=2)
    x = torch.randn(2, 5, 7, 8)
    expected = layer.output_proj(box_filter(layer.input_proj(x)))
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)


def test_offset_scale_two_is_a_dilated_box_filter():
    torch.manual_seed(0)
    layer = DCNv3(4, group=1, offset_scale=2.0)
    x = torch.randn(1, 6, 6, 4)
    value = layer.input_proj(x).permute(0, 3, 1, 2)
    kernel = torch.full((4, 1, 3, 3), 1 / 9)
    box = F.conv2d(value, kernel, padding=2, dilation=2, groups=4)
    expected = layer.output_proj(box.permute(0, 2, 3, 1))
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)


def test_center_feature_scale_blends_with_the_projection():
    """Gate sigmoid(0) = 0.5 at init: half box filter, half projection."""
    torch.manual_seed(0)
    layer = DCNv3(8, group=2, center_feature_scale=True)
    x = torch.randn(1, 4, 4, 8)
    value = layer.input_proj(x)
    expected = layer.output_proj(0.5 * box_filter(value) + 0.5 * value)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)
    # A per-group gate: make group 0 pass the projection only.
    with torch.no_grad():
        layer.center_feature_scale_proj_bias[0] = 50.0
        layer.center_feature_scale_proj_bias[1] = -50.0
    blended = torch.cat([value[..., :4], box_filter(value)[..., 4:]], -1)
    torch.testing.assert_close(
        layer(x), layer.output_proj(blended), rtol=1e-5, atol=1e-6)


def test_gradients_reach_offsets_and_masks():
    torch.manual_seed(0)
    layer = DCNv3(8, group=2)
    with torch.no_grad():
        layer.offset.bias.normal_()
    layer(torch.randn(1, 5, 5, 8)).square().sum().backward()
    for name in ('offset', 'mask', 'input_proj', 'output_proj'):
        assert getattr(layer, name).weight.grad.abs().sum() > 0, name


def test_channels_must_divide_into_groups():
    with pytest.raises(ValueError, match='divisible by group'):
        DCNv3(10, group=4)
