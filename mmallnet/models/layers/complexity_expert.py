"""One complexity expert of ALLNet's MaE: three branches joined by MBI.

The input is projected to three equal parts of ``c`` channels, processed by

* M1, window multi-head self-attention with a relative-position bias
  (global correlation inside a window),
* M2, a dynamic depthwise convolution whose kernel is predicted per image,
  times a sigmoid-gated pointwise path (local structure),
* M3, a window MLP: token mixing inside windows, then a channel MLP,

joined by a one-pass mutual branch interaction (MBI)
``o_i = M_i + lambda_i * sigmoid(sum_{j != i} M_j)`` with ``lambda_i``
initialised to 0, concatenated, projected back and added to the input.

No layer normalises over the batch: a routed sub-batch may hold a single
sample, and every sample must give the same output alone or batched.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from .restormer import ChannelLayerNorm2d


def _num_heads(channels: int, head_dim: int) -> int:
    """Largest head count ``<= channels // head_dim`` that divides it."""
    heads = max(channels // head_dim, 1)
    while channels % heads:
        heads -= 1
    return heads


def _pad_to_multiple(x: Tensor, wh: int, ww: int) -> Tensor:
    """Zero-pad the bottom/right of ``(N, C, H, W)`` to multiples."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % wh, (-w) % ww
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


def window_partition(x: Tensor, wh: int, ww: int) -> Tensor:
    """``(N, C, H, W)`` -> ``(N * nW, wh * ww, C)``; H, W divisible."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // wh, wh, w // ww, ww)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(-1, wh * ww, c)


def window_reverse(x: Tensor, n: int, h: int, w: int, wh: int,
                   ww: int) -> Tensor:
    """Inverse of :func:`window_partition`: -> ``(N, C, H, W)``."""
    c = x.shape[-1]
    x = x.reshape(n, h // wh, w // ww, wh, ww, c)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, c, h, w)


class WindowAttention(nn.Module):
    """Window multi-head self-attention with a relative-position bias.

    The window is clamped to the feature size per axis, so on a small map
    it becomes global attention; the bias table is sized for the nominal
    window and the clamped window indexes a sub-range of it. Padded
    positions (when the size is not a multiple of the window) are masked
    out as keys.

    Args:
        channels (int): Channels.
        window_size (int): Nominal (square) window.
        head_dim (int): Target channels per head. Defaults to 32.
    """

    def __init__(self,
                 channels: int,
                 window_size: int,
                 head_dim: int = 32) -> None:
        super().__init__()
        self.window_size = window_size
        self.num_heads = _num_heads(channels, head_dim)
        self.scale = (channels // self.num_heads)**-0.5
        self.qkv = nn.Linear(channels, channels * 3)
        self.proj = nn.Linear(channels, channels)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1)**2, self.num_heads))
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def window_shape(self, h: int, w: int) -> Tuple[int, int]:
        """Window clamped to an ``h x w`` map."""
        return min(self.window_size, h), min(self.window_size, w)

    def relative_position_index(self, wh: int, ww: int,
                                device: torch.device) -> Tensor:
        """``(wh*ww, wh*ww)`` indices into the nominal bias table."""
        ys, xs = torch.meshgrid(
            torch.arange(wh, device=device),
            torch.arange(ww, device=device),
            indexing='ij')
        ys, xs = ys.flatten(), xs.flatten()
        dy = ys[:, None] - ys[None, :] + self.window_size - 1
        dx = xs[:, None] - xs[None, :] + self.window_size - 1
        return dy * (2 * self.window_size - 1) + dx

    def forward(self, x: Tensor) -> Tensor:
        """Attend inside windows.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        n, c, h, w = x.shape
        wh, ww = self.window_shape(h, w)
        xp = _pad_to_multiple(x, wh, ww)
        hp, wp = xp.shape[-2:]
        tokens = window_partition(xp, wh, ww)  # (B', T, C)
        b, t, _ = tokens.shape
        qkv = self.qkv(tokens).reshape(b, t, 3, self.num_heads,
                                       c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # (B', heads, T, d) each
        attn = (q * self.scale) @ k.transpose(-2, -1)
        index = self.relative_position_index(wh, ww, x.device)
        bias = self.relative_position_bias_table[index.flatten()]
        attn = attn + bias.reshape(t, t, -1).permute(2, 0, 1).unsqueeze(0)
        if hp != h or wp != w:
            valid = torch.zeros(1, 1, hp, wp, dtype=x.dtype, device=x.device)
            valid[..., :h, :w] = 1
            valid = window_partition(valid.expand(n, 1, hp, wp), wh, ww)
            pad_key = valid[..., 0] == 0  # (B', T)
            attn = attn.masked_fill(pad_key[:, None, None, :], float('-inf'))
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, c)
        out = window_reverse(self.proj(out), n, hp, wp, wh, ww)
        return out[..., :h, :w]


class DynamicDepthwiseGate(nn.Module):
    """Per-image dynamic depthwise conv times a sigmoid pointwise gate.

    ``out = DWConv_k(x; theta(x)) * sigmoid(Conv1x1(x))`` with the kernel
    ``theta(x)`` predicted by ``GAP -> 1x1 -> GELU -> 1x1`` (no BatchNorm).

    Args:
        channels (int): Channels.
        kernel_size (int): Odd depthwise kernel size. Defaults to 3.
        reduction (int): Squeeze ratio of the kernel generator.
            Defaults to 4.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 3,
                 reduction: int = 4) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.channels = channels
        self.kernel_size = kernel_size
        hidden = max(channels // reduction, 1)
        self.kernel_gen = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, hidden, 1),
            nn.GELU(), nn.Conv2d(hidden, channels * kernel_size**2, 1))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.pointwise = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the gated dynamic depthwise conv.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        n, c, h, w = x.shape
        k = self.kernel_size
        weight = self.kernel_gen(x).reshape(n * c, 1, k, k)
        # Fold the batch into the channels: one kernel set per image.
        out = F.conv2d(
            x.reshape(1, n * c, h, w),
            weight,
            self.bias.repeat(n),
            padding=k // 2,
            groups=n * c).reshape(n, c, h, w)
        return out * torch.sigmoid(self.pointwise(x))


class WindowMLP(nn.Module):
    """Window token-mixing MLP followed by a channel MLP.

    Token mixing is a learnable ``(w*w) x (w*w)`` matrix per head group,
    applied inside non-overlapping ``w x w`` windows
    (``y = x + Mix(x)``); the channel MLP is ``1x1 -> GELU -> 1x1``
    (``out = y + MLP(y)``). The map is zero-padded to multiples of ``w``;
    padded tokens are zero and so contribute nothing to real tokens, which
    makes a map smaller than ``w`` equivalent to a clamped window.

    Args:
        channels (int): Channels.
        window_size (int): Window ``w``.
        head_dim (int): Target channels per head group. Defaults to 32.
        mlp_ratio (float): Hidden ratio of the channel MLP. Defaults to 2.
    """

    def __init__(self,
                 channels: int,
                 window_size: int,
                 head_dim: int = 32,
                 mlp_ratio: float = 2.) -> None:
        super().__init__()
        self.window_size = window_size
        self.num_heads = _num_heads(channels, head_dim)
        tokens = window_size**2
        self.token_weight = nn.Parameter(
            torch.zeros(self.num_heads, tokens, tokens))
        self.token_bias = nn.Parameter(torch.zeros(self.num_heads, tokens))
        trunc_normal_(self.token_weight, std=0.02)
        hidden = max(int(channels * mlp_ratio), 1)
        self.channel_mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.GELU(),
            nn.Conv2d(hidden, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        """Mix tokens inside windows, then channels.

        Args:
            x (Tensor): ``(N, C, H, W)``.

        Returns:
            Tensor: ``(N, C, H, W)``.
        """
        n, c, h, w = x.shape
        ws = self.window_size
        xp = _pad_to_multiple(x, ws, ws)
        hp, wp = xp.shape[-2:]
        tokens = window_partition(xp, ws, ws)  # (B', T, C)
        b, t, _ = tokens.shape
        tokens = tokens.reshape(b, t, self.num_heads, c // self.num_heads)
        mixed = torch.einsum('hts,bshd->bthd', self.token_weight, tokens)
        mixed = mixed + self.token_bias.t()[None, :, :, None]
        mixed = window_reverse(mixed.reshape(b, t, c), n, hp, wp, ws, ws)
        y = x + mixed[..., :h, :w]
        return y + self.channel_mlp(y)


class ComplexityExpert(nn.Module):
    """A three-branch expert with mutual branch interaction (MBI).

    ``x -> LN -> 1x1 (C -> 3c) -> [M1, M2, M3] -> MBI -> 1x1 (3c -> C)``
    plus the residual ``x``, with ``c = max(width // 2, 1)``.

    Args:
        in_channels (int): Input/output channels ``C_s``.
        width (int): Expert width ``C_i``; each branch has ``C_i // 2``.
        window_size (int): Attention window (clamped to the map).
        kernel_size (int): Dynamic depthwise kernel. Defaults to 3.
        mlp_window (int): Window of the token-mixing MLP. Defaults to 8.
        head_dim (int): Target channels per head. Defaults to 32.
    """

    def __init__(self,
                 in_channels: int,
                 width: int,
                 window_size: int,
                 kernel_size: int = 3,
                 mlp_window: int = 8,
                 head_dim: int = 32) -> None:
        super().__init__()
        c = max(width // 2, 1)
        self.branch_channels = c
        self.norm = ChannelLayerNorm2d(in_channels)
        self.in_proj = nn.Conv2d(in_channels, 3 * c, 1)
        self.attention = WindowAttention(c, window_size, head_dim)
        self.local = DynamicDepthwiseGate(c, kernel_size)
        self.mlp = WindowMLP(c, mlp_window, head_dim)
        self.mbi_scale = nn.Parameter(torch.zeros(3))
        self.out_proj = nn.Conv2d(3 * c, in_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Run the expert.

        Args:
            x (Tensor): ``(N, C_s, H, W)``.

        Returns:
            Tensor: ``(N, C_s, H, W)``.
        """
        p1, p2, p3 = self.in_proj(self.norm(x)).chunk(3, dim=1)
        outs = [self.attention(p1), self.local(p2), self.mlp(p3)]
        total = outs[0] + outs[1] + outs[2]
        # One-pass MBI: each branch adds a scaled sigmoid of the others.
        mixed = [
            o + self.mbi_scale[i] * torch.sigmoid(total - o)
            for i, o in enumerate(outs)
        ]
        return x + self.out_proj(torch.cat(mixed, dim=1))
