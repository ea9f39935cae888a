"""Layout permutes and InternImage's layout norms."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmallnet.models.layers.channels_last import (
    ToChannelsFirst,
    ToChannelsLast,
    build_layout_norm,
)


def test_permutes_are_inverse():
    x = torch.arange(2 * 3 * 4 * 5.).view(2, 3, 4, 5)
    last = ToChannelsLast()(x)
    assert last.shape == (2, 4, 5, 3)
    assert torch.equal(last[1, 2, 3], x[1, :, 2, 3])
    assert torch.equal(ToChannelsFirst()(last), x)


@pytest.mark.parametrize('norm, in_format, out_format, names', [
    ('LN', 'channels_last', 'channels_last', ['LayerNorm']),
    ('LN', 'channels_first', 'channels_last', ['ToChannelsLast', 'LayerNorm']),
    ('LN', 'channels_first', 'channels_first',
     ['ToChannelsLast', 'LayerNorm', 'ToChannelsFirst']),
    ('LN', 'channels_last', 'channels_first', ['LayerNorm', 'ToChannelsFirst'
                                               ]),
    ('BN', 'channels_last', 'channels_last',
     ['ToChannelsFirst', 'BatchNorm2d', 'ToChannelsLast']),
    ('BN', 'channels_first', 'channels_first', ['BatchNorm2d']),
])
def test_nesting_keeps_the_official_parameter_names(norm, in_format,
                                                    out_format, names):
    block = build_layout_norm(8, norm, in_format, out_format)
    assert [type(m).__name__ for m in block] == names
    index = names.index('LayerNorm' if norm == 'LN' else 'BatchNorm2d')
    assert f'{index}.weight' in dict(block.named_parameters())


def test_layer_norm_normalises_channels_with_eps_1e6():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 4)  # channels first
    block = build_layout_norm(8, 'LN', 'channels_first', 'channels_first')
    assert block[1].eps == 1e-6
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (8, ),
                            eps=1e-6).permute(0, 3, 1, 2)
    assert torch.equal(block(x), expected)


def test_batch_norm_runs_channels_first():
    x = torch.randn(4, 3, 5, 6)  # channels last, C = 6
    block = build_layout_norm(6, 'BN', 'channels_last', 'channels_first')
    out = block.train()(x)
    assert out.shape == (4, 6, 3, 5)
    ref = nn.BatchNorm2d(6).train()(x.permute(0, 3, 1, 2))
    assert torch.equal(out, ref)


def test_bad_arguments():
    with pytest.raises(ValueError, match='in_format'):
        build_layout_norm(8, 'LN', 'nhwc')
    with pytest.raises(ValueError, match='out_format'):
        build_layout_norm(8, 'LN', out_format='nchw')
    with pytest.raises(ValueError, match="'GN'"):
        build_layout_norm(8, 'GN')
