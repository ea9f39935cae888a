"""AFU: channel cross-attention from task features to refined maps."""
import pytest
import torch

from mmallnet.models.layers import AdaptiveFusionUnit
from mmallnet.utils import get_model_complexity


def make_afu(**kwargs) -> AdaptiveFusionUnit:
    torch.manual_seed(0)
    kwargs.setdefault('num_heads', 2)
    return AdaptiveFusionUnit(16, **kwargs)


def make_inputs(batch, map_channels=16, size=(6, 5)):
    gen = torch.Generator().manual_seed(1)
    feat = torch.randn(batch, 16, *size, generator=gen)
    maps = torch.randn(batch, map_channels, *size, generator=gen)
    return feat, maps


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('map_channels', [None, 8])
def test_shapes_and_residual_structure(batch, map_channels):
    afu = make_afu(map_channels=map_channels)
    feat, maps = make_inputs(batch, map_channels or 16)
    out = afu(feat, maps)
    assert out.shape == feat.shape
    branch = afu.attention(feat, maps)
    assert branch.shape == feat.shape
    fused = feat + branch
    torch.testing.assert_close(out, fused + afu.ffn(afu.ffn_norm(fused)))


def test_parameters_and_defaults():
    afu = AdaptiveFusionUnit(32, map_channels=8, num_heads=4)
    assert afu.temperature.shape == (4, 1, 1)
    assert torch.equal(afu.temperature, torch.ones(4, 1, 1))
    assert afu.key_value[0].weight.shape == (64, 8, 1, 1)
    assert afu.query[0].weight.shape == (32, 32, 1, 1)
    assert afu.ffn.hidden_channels == int(32 * 2.66)
    assert AdaptiveFusionUnit(8).map_channels == 8
    with pytest.raises(ValueError, match='divisible'):
        AdaptiveFusionUnit(10, num_heads=4)


def test_zero_output_projection_ignores_the_maps():
    """The maps enter only through ``Conv1x1(A V)``."""
    afu = make_afu()
    with torch.no_grad():
        afu.project_out.weight.zero_()
    feat, maps = make_inputs(2)
    torch.testing.assert_close(
        afu(feat, maps), feat + afu.ffn(afu.ffn_norm(feat)))
    torch.testing.assert_close(afu(feat, maps), afu(feat, maps * 3 + 1))


def test_mismatched_inputs_raise():
    afu = make_afu()
    feat, maps = make_inputs(2)
    with pytest.raises(ValueError, match='spatial'):
        afu(feat, maps[..., :4])
    with pytest.raises(ValueError, match='spatial'):
        afu(feat, maps[:1])


@pytest.mark.parametrize('batch', [1, 3])
def test_train_eval_deterministic_and_gradients(batch):
    afu = make_afu(map_channels=8)
    feat, maps = make_inputs(batch, 8)
    afu.eval()
    with torch.no_grad():
        first = afu(feat, maps)
        assert torch.equal(first, afu(feat, maps))
    afu.train()
    feat.requires_grad_(True)
    maps.requires_grad_(True)
    out = afu(feat, maps)
    torch.testing.assert_close(out, first)
    out.square().sum().backward()
    assert feat.grad.abs().sum() > 0
    assert maps.grad.abs().sum() > 0
    for name, param in afu.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_cost_is_affine_in_the_number_of_pixels():
    """FLOPs(HW) = a + b * HW exactly: doubling HW adds b * HW."""
    afu = make_afu(map_channels=8).eval()
    flops = []
    for size in ((4, 4), (4, 8), (8, 8)):
        result = get_model_complexity(
            afu,
            make_inputs(1, 8, size),
            with_activations=False,
            count_softmax=True)
        assert result['flops_by_operator']['matmul'] > 0
        flops.append(result['flops'])
    assert flops[1] - flops[0] > 0
    assert flops[2] - flops[1] == 2 * (flops[1] - flops[0])
