"""Layout permutes and the norm builder of InternImage (channels-last).

InternImage keeps feature maps as ``(N, H, W, C)``. Its norms are wrapped
in an ``nn.Sequential`` together with parameter-free permutes, and the
position of the norm inside that ``Sequential`` is part of the official
parameter names (``norm.1.weight`` vs ``norm.0.weight``), so the exact
nesting is kept here.
"""
import torch.nn as nn
from torch import Tensor

LAYOUTS = ('channels_first', 'channels_last')


class ToChannelsLast(nn.Module):
    """``(N, C, H, W)`` -> ``(N, H, W, C)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 2, 3, 1)


class ToChannelsFirst(nn.Module):
    """``(N, H, W, C)`` -> ``(N, C, H, W)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 3, 1, 2)


def build_layout_norm(channels: int,
                      norm_type: str = 'LN',
                      in_format: str = 'channels_last',
                      out_format: str = 'channels_last',
                      eps: float = 1e-6) -> nn.Sequential:
    """Build a norm that converts between layouts, named as InternImage.

    LayerNorm normalises the last axis, so it runs channels-last: a
    channels-first input is permuted first (the norm is then at index 1).
    BatchNorm runs channels-first.

    Args:
        channels (int): Number of channels.
        norm_type (str): ``'LN'`` or ``'BN'``. Defaults to ``'LN'``.
        in_format (str): Layout of the input. Defaults to
            ``'channels_last'``.
        out_format (str): Layout of the output. Defaults to
            ``'channels_last'``.
        eps (float): LayerNorm epsilon. Defaults to 1e-6 (InternImage's).

    Returns:
        nn.Sequential: The permutes and the norm.
    """
    for name, fmt in (('in_format', in_format), ('out_format', out_format)):
        if fmt not in LAYOUTS:
            raise ValueError(f'{name} must be one of {LAYOUTS}, got {fmt!r}')
    layers = []
    if norm_type == 'LN':
        if in_format == 'channels_first':
            layers.append(ToChannelsLast())
        layers.append(nn.LayerNorm(channels, eps=eps))
        if out_format == 'channels_first':
            layers.append(ToChannelsFirst())
    elif norm_type == 'BN':
        if in_format == 'channels_last':
            layers.append(ToChannelsFirst())
        layers.append(nn.BatchNorm2d(channels))
        if out_format == 'channels_last':
            layers.append(ToChannelsLast())
    else:
        raise ValueError(
            f"norm_layer must be 'LN' or 'BN', got {norm_type!r}")
    return nn.Sequential(*layers)
