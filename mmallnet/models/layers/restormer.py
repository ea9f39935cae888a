"""Restormer building blocks (MDTA, GDFN) on channels-first maps.

All modules take and return ``(N, C, H, W)`` tensors. MDTA attends across
channels ("transposed" attention): its attention map is
``(C / heads) x (C / heads)`` per head, so the cost is linear in ``H * W``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class ChannelLayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an ``(N, C, H, W)`` map.

    Every pixel is normalised over its ``C`` values, with a learnable scale
    and bias (Restormer's "WithBias" variant). ``eps`` defaults to 1e-5,
    the value Restormer uses, so its weights transfer unchanged.

    Args:
        channels (int): Number of channels ``C``.
        eps (float): Added to the variance. Defaults to 1e-5.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` over dim 1.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: Same shape as ``x``.
        """
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, (self.channels, ), self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)


def transposed_attention(query: Tensor, key: Tensor, value: Tensor,
                         num_heads: int, temperature: Tensor) -> Tensor:
    """Channel ("transposed") attention of Restormer's MDTA.

    Per head, queries and keys are L2-normalised along the pixels and the
    ``(C/heads) x (C/heads)`` attention ``softmax(q k^T * temperature)``
    mixes the value channels, so the cost is linear in the pixel count.

    Args:
        query (Tensor): ``(N, C, H, W)``.
        key (Tensor): ``(N, C, H, W)``.
        value (Tensor): ``(N, C, H, W)``.
        num_heads (int): Heads; ``C`` must be divisible by it.
        temperature (Tensor): ``(num_heads, 1, 1)`` per-head scale.

    Returns:
        Tensor: ``(N, C, H, W)``, before any output projection.
    """
    n, c, h, w = query.shape
    shape = (n, num_heads, c // num_heads, h * w)
    query = F.normalize(query.reshape(shape), dim=-1)
    key = F.normalize(key.reshape(shape), dim=-1)
    attn = (query @ key.transpose(-2, -1)) * temperature
    return (attn.softmax(dim=-1) @ value.reshape(shape)).reshape(n, c, h, w)


class MDTA(nn.Module):
    """Multi-Dconv head transposed attention.

    ``q, k, v = split(DW3x3(Conv1x1(x)))``; per head, ``q`` and ``k`` are
    L2-normalised along the pixel axis, ``A = softmax(q k^T * tau_h)`` is a
    ``(C/h) x (C/h)`` channel attention, and the output is
    ``Conv1x1(A v)``. ``tau_h`` is a learnable per-head temperature
    initialised to 1.

    Args:
        channels (int): Channels ``C``; must be divisible by ``num_heads``.
        num_heads (int): Number of heads ``h``.
        bias (bool): Whether the convolutions have a bias.
            Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 num_heads: int,
                 bias: bool = False) -> None:
        super().__init__()
        if channels % num_heads != 0:
            raise ValueError(f'channels ({channels}) must be divisible by '
                             f'num_heads ({num_heads})')
        self.channels = channels
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(channels, channels * 3, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(
            channels * 3,
            channels * 3,
            3,
            padding=1,
            groups=channels * 3,
            bias=bias)
        self.project_out = nn.Conv2d(channels, channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply transposed attention.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        return self.project_out(
            transposed_attention(q, k, v, self.num_heads, self.temperature))


class GDFN(nn.Module):
    """Gated-Dconv feed-forward network.

    With hidden width ``m = int(C * expansion)``:
    ``x1, x2 = split(DW3x3(Conv1x1_{C->2m}(x)))`` and
    ``out = Conv1x1_{m->C}(GELU(x1) * x2)``.

    Args:
        channels (int): Channels ``C``.
        expansion (float): Hidden-width factor. Defaults to 2.66.
        bias (bool): Whether the convolutions have a bias.
            Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 expansion: float = 2.66,
                 bias: bool = False) -> None:
        super().__init__()
        hidden = int(channels * expansion)
        self.hidden_channels = hidden
        self.project_in = nn.Conv2d(channels, hidden * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(
            hidden * 2,
            hidden * 2,
            3,
            padding=1,
            groups=hidden * 2,
            bias=bias)
        self.project_out = nn.Conv2d(hidden, channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the gated feed-forward.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)


class RestormerBlock(nn.Module):
    """Pre-norm Restormer transformer block.

    ``x = x + MDTA(LN(x)); x = x + GDFN(LN(x))``.

    Args:
        channels (int): Channels ``C``.
        num_heads (int): MDTA heads.
        ffn_expansion (float): GDFN hidden-width factor. Defaults to 2.66.
        bias (bool): Whether the convolutions have a bias.
            Defaults to False.
    """

    def __init__(self,
                 channels: int,
                 num_heads: int,
                 ffn_expansion: float = 2.66,
                 bias: bool = False) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm2d(channels)
        self.attn = MDTA(channels, num_heads, bias=bias)
        self.norm2 = ChannelLayerNorm2d(channels)
        self.ffn = GDFN(channels, ffn_expansion, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))
