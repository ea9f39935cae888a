"""Unified Expert: the Restormer block and the two 1x1 stream projections."""
import pytest
import torch
import torch.nn as nn

from mmallnet.models.layers.unified_expert import (
    UnifiedExpert,
    default_num_heads,
)


@pytest.mark.parametrize('channels, heads', [(16, 1), (64, 1), (128, 2),
                                             (256, 4), (512, 8), (320, 4),
                                             (80, 1), (96, 1), (192, 2)])
def test_default_num_heads(channels, heads):
    assert default_num_heads(channels) == heads
    assert channels % heads == 0


def test_streams_are_the_block_output_projected():
    torch.manual_seed(0)
    expert = UnifiedExpert(16).eval()
    x = torch.randn(2, 16, 8, 12)
    with torch.no_grad():
        p, j = expert(x)
        z = expert.block(x)
        assert torch.equal(p, expert.restoration(z))
        assert torch.equal(j, expert.prediction(z) + x)
    assert p.shape == j.shape == x.shape


def test_zero_projections_give_zero_restoration_and_identity_prediction():
    expert = UnifiedExpert(8).eval()
    for conv in (expert.restoration, expert.prediction):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x = torch.randn(1, 8, 5, 7)
    with torch.no_grad():
        p, j = expert(x)
    assert torch.equal(p, torch.zeros_like(x))
    assert torch.equal(j, x)  # the residual keeps the encoder feature


def test_num_heads_and_expansion_reach_the_block():
    expert = UnifiedExpert(32, num_heads=4, ffn_expansion=2.0)
    assert expert.block.attn.num_heads == 4
    # GDFN: 1x1 in to 2 x hidden (gate and value), hidden = 2.0 * 32
    assert expert.block.ffn.project_in.out_channels == 2 * 64


def test_gradients_reach_every_parameter():
    expert = UnifiedExpert(16).train()
    p, j = expert(torch.randn(2, 16, 6, 6))
    (p.square().mean() + j.square().mean()).backward()
    missing = [n for n, q in expert.named_parameters()
               if q.grad is None or not q.grad.any()]
    assert not missing
