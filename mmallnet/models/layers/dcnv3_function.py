"""Pure-PyTorch DCNv3 core: the sampling maths of InternImage's CUDA kernel.

For every output pixel ``(ho, wo)``, group ``g`` and kernel point
``p = i * K + j`` (``i`` indexes width, ``j`` height), the core samples the
value map bilinearly (zero padding) at::

    x = wo * stride - pad + c + (i * dilation - c + dx[p]) * offset_scale
    y = ho * stride - pad + c + (j * dilation - c + dy[p]) * offset_scale

with ``c = dilation * (K - 1) // 2`` and ``(dx, dy)`` the learned offsets of
that point, and sums the samples weighted by the (already normalised)
modulation mask. ``offset_scale`` scales the kernel displacement too.

The forward pass is one weighted gather: every output row
``(n, ho, wo, g)`` sums the ``K*K*4`` bilinear neighbours of its points,
weighted by bilinear weight x mask (0 outside the image, the kernel's zero
padding), which :func:`torch.nn.functional.embedding_bag` computes in one
fused kernel on the value seen as a ``(N*H*W*G, Cg)`` table, writing the
channels-last output directly. Its index and weight buffers are built for a
chunk of output rows at a time, so the forward never materialises the
``(N * G, Cg, H * W, K * K)`` tensor of the official fallback.

The backward pass is written out and loops over the ``K * K`` points with
:func:`torch.nn.functional.grid_sample` (unpadded normalised coordinates,
zero padding) and its aten backward: it recomputes each point's sample
instead of storing nine of them and writes the gradients point by point into
their final layouts, so training keeps only the inputs for backward and a
few value-sized buffers. The value is regrouped with its channels innermost
(a view for a batch of one), the layout grid_sample reads fastest on CPU.

Sampling coordinates and accumulation are float32 whatever the input dtype
(the CUDA kernel's ``opmath``), so float16 and bfloat16 inputs work and lose
no position accuracy; float64 inputs are computed in float64.
"""
from functools import cached_property
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

# aten enums of grid_sampler_2d: bilinear interpolation, zeros padding.
_BILINEAR = 0
_ZEROS = 0


def dcnv3_output_size(size: int, kernel_size: int, stride: int, pad: int,
                      dilation: int) -> int:
    """Spatial output size of a DCNv3 layer along one axis."""
    return (size + 2 * pad - (dilation * (kernel_size - 1) + 1)) // stride + 1


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else is computed in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _pixel_coords(out_size: int, kernel_size: int, stride: int, pad: int,
                  dilation: int, offset_scale: float, dtype: torch.dtype,
                  device: torch.device) -> Tensor:
    """Zero-offset sampling coordinates in pixels, ``(out_size, K)``."""
    centre = (dilation * (kernel_size - 1)) // 2
    ref = torch.arange(out_size, dtype=dtype, device=device) * stride + (
        centre - pad)
    disp = (torch.arange(kernel_size, dtype=dtype, device=device) * dilation
            - centre) * offset_scale
    return ref.view(-1, 1) + disp.view(1, -1)


def _base_coords(size: int, out_size: int, kernel_size: int, stride: int,
                 pad: int, dilation: int, offset_scale: float,
                 dtype: torch.dtype, device: torch.device) -> Tensor:
    """Zero-offset sampling coordinates along one axis, normalised.

    Returns:
        Tensor: ``(K, out_size)``; row ``k`` holds the coordinate of kernel
        index ``k`` (``i`` for width, ``j`` for height) at every output
        position, mapped by ``u = (2 * x + 1) / size - 1``
        (``align_corners=False``).
    """
    coords = _pixel_coords(out_size, kernel_size, stride, pad, dilation,
                           offset_scale, dtype, device)
    return (2 * coords.t() + 1) / size - 1


class _Geometry:
    """Shapes and grids shared by the forward and backward passes."""

    def __init__(self, value: Tensor, offset: Tensor, kernel_size: int,
                 stride: int, pad: int, dilation: int, group: int,
                 offset_scale: float) -> None:
        if value.dim() != 4 or offset.dim() != 4:
            raise ValueError(
                'DCNv3 expects channels-last (N, H, W, C) value and '
                f'(N, H_out, W_out, G*P*2) offset, got value '
                f'{tuple(value.shape)} and offset {tuple(offset.shape)}')
        n, h, w, c = value.shape
        if c % group:
            raise ValueError(
                f'DCNv3: channels ({c}) must be divisible by group ({group})')
        self.n, self.h, self.w, self.c = n, h, w, c
        self.group, self.group_channels = group, c // group
        self.points = kernel_size * kernel_size
        self.out_h = dcnv3_output_size(h, kernel_size, stride, pad, dilation)
        self.out_w = dcnv3_output_size(w, kernel_size, stride, pad, dilation)
        expected = (n, self.out_h, self.out_w, group * self.points * 2)
        if tuple(offset.shape) != expected:
            raise ValueError(
                f'DCNv3: offset must have shape {expected} '
                f'(N, H_out, W_out, group*K*K*2), got {tuple(offset.shape)}')
        self.dtype = _compute_dtype(value.dtype)
        self.device = value.device
        self.kernel_size, self.stride, self.pad = kernel_size, stride, pad
        self.dilation, self.offset_scale = dilation, offset_scale
        # d(normalised coordinate) / d(offset in pixels).
        self.scale_x = 2 * offset_scale / w
        self.scale_y = 2 * offset_scale / h

    # Zero-offset normalised coordinates of every point p = i * K + j (i
    # over width, outer; j over height, inner): (P, Wo) and (P, Ho). Only
    # the backward's grid_sample needs them, so they are built on demand.
    @cached_property
    def base_x(self) -> Tensor:
        return _base_coords(self.w, self.out_w, self.kernel_size,
                            self.stride, self.pad, self.dilation,
                            self.offset_scale, self.dtype,
                            self.device).repeat_interleave(
                                self.kernel_size, dim=0)

    @cached_property
    def base_y(self) -> Tensor:
        return _base_coords(self.h, self.out_h, self.kernel_size,
                            self.stride, self.pad, self.dilation,
                            self.offset_scale, self.dtype,
                            self.device).repeat(self.kernel_size, 1)

    def grouped_value(self, value: Tensor) -> Tensor:
        """``(N, H, W, C)`` -> ``(N*G, Cg, H, W)`` in the compute dtype."""
        return self._group(value, self.h, self.w)

    def _group(self, x: Tensor, height: int, width: int) -> Tensor:
        """Regroup a channels-last map, keeping channels innermost.

        The result is a ``(N*G, Cg, H, W)`` tensor whose channels are
        adjacent in memory (a view when ``N == 1``, otherwise one copy in
        ``(N, G, H, W, Cg)`` order). grid_sample gathers the ``Cg``
        channels of a corner from one cache line this way, which is
        faster than the plain NCHW layout.
        """
        x = x.to(self.dtype).reshape(self.n, height, width, self.group,
                                     self.group_channels)
        if self.n == 1:
            return x.permute(0, 3, 4, 1, 2).reshape(self.group,
                                                    self.group_channels,
                                                    height, width)
        return x.permute(0, 3, 1, 2, 4).contiguous().view(
            self.n * self.group, height, width,
            self.group_channels).permute(0, 3, 1, 2)

    def point_offsets(self, offset: Tensor) -> Tensor:
        """``(N, Ho, Wo, G*P*2)`` -> view ``(N, Ho, Wo, G, P, 2)``."""
        return offset.reshape(self.n, self.out_h, self.out_w, self.group,
                              self.points, 2)

    def grids(self,
              offsets: Tensor,
              points: slice,
              out: Optional[Tensor] = None) -> Tensor:
        """Sampling grids of the kernel points ``points``.

        Args:
            offsets (Tensor): ``(N, Ho, Wo, G, P, 2)`` view of the offsets.
            points (slice): The kernel points, ``p`` of them.
            out (Tensor, optional): Storage of ``p * N*G*Ho*Wo*2`` elements
                in the compute dtype to write into.

        Returns:
            Tensor: Contiguous ``(p, N*G, Ho, Wo, 2)``. x and y are written
            by two separate adds: their loops then run along the width
            instead of over pairs, which with the contiguous output makes
            this several times faster than one op laid out like the
            offsets (grid_sample reads a contiguous grid faster too).
        """
        off = offsets[:, :, :, :, points].permute(4, 0, 3, 1, 2, 5)
        count = off.shape[0]
        if out is None:
            out = torch.empty(off.shape, dtype=self.dtype, device=self.device)
        else:
            out = out.view(off.shape)
        torch.add(
            self.base_x[points].view(count, 1, 1, 1, self.out_w),
            off[..., 0],
            alpha=self.scale_x,
            out=out[..., 0])
        torch.add(
            self.base_y[points].view(count, 1, 1, self.out_h, 1),
            off[..., 1],
            alpha=self.scale_y,
            out=out[..., 1])
        return out.view(count, self.n * self.group, self.out_h, self.out_w,
                        2)

    def point_masks(self, mask: Tensor) -> Tensor:
        """``(N, Ho, Wo, G*P)`` -> view ``(N, Ho, Wo, G, P)``."""
        expected = (self.n, self.out_h, self.out_w,
                    self.group * self.points)
        if tuple(mask.shape) != expected:
            raise ValueError(
                f'DCNv3: mask must have shape {expected} '
                f'(N, H_out, W_out, group*K*K), got {tuple(mask.shape)}')
        return mask.reshape(self.n, self.out_h, self.out_w, self.group,
                            self.points)

    def point_mask(self, masks: Tensor, point: int) -> Tensor:
        """Mask of one kernel point, contiguous ``(N*G, 1, Ho, Wo)``."""
        return masks[..., point].permute(0, 3, 1, 2).to(
            self.dtype).reshape(self.n * self.group, 1, self.out_h,
                                self.out_w).contiguous()

    def grouped_output_grad(self, grad_output: Tensor) -> Tensor:
        """``(N, Ho, Wo, C)`` -> contiguous ``(N*G, Cg, Ho, Wo)``."""
        return grad_output.to(self.dtype).reshape(
            self.n, self.out_h, self.out_w, self.group,
            self.group_channels).permute(0, 3, 4, 1, 2).reshape(
                self.n * self.group, self.group_channels, self.out_h,
                self.out_w).contiguous()

    def to_channels_last(self, x: Tensor, dtype: torch.dtype) -> Tensor:
        """``(N*G, Cg, Ho, Wo)`` -> ``(N, Ho, Wo, C)`` in ``dtype``."""
        return x.view(self.n, self.group, self.group_channels, self.out_h,
                      self.out_w).permute(0, 3, 4, 1, 2).reshape(
                          self.n, self.out_h, self.out_w,
                          self.c).to(dtype)


def _sample(value: Tensor, grid: Tensor) -> Tensor:
    return F.grid_sample(
        value, grid, mode='bilinear', padding_mode='zeros',
        align_corners=False)


# (output pixel, group, point) triples handled per chunk of the forward:
# bounds its index and weight buffers to a few MB whatever the input size.
_FORWARD_CHUNK = 1 << 17


def _axis_weights(coord: Tensor, size: int, index_dtype: torch.dtype
                  ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bilinear weights and clamped indices of the two neighbours on an axis.

    A neighbour outside ``[0, size)`` gets weight 0 (zero padding) and an
    index clamped into range, so the gather stays in bounds.
    """
    low = coord.floor()
    frac = coord.sub_(low)  # coord is a temporary: reuse its storage
    w_low = (1 - frac).mul_((low >= 0) & (low < size))
    w_high = frac.mul_((low >= -1) & (low < size - 1))
    i_low = low.clamp(0, size - 1).to(index_dtype)
    i_high = low.add_(1).clamp_(0, size - 1).to(index_dtype)
    return w_low, w_high, i_low, i_high


def _gather_forward(value: Tensor, offset: Tensor, mask: Tensor,
                    geo: '_Geometry') -> Tensor:
    """Forward pass as one weighted gather per output pixel and group.

    Every output row ``(n, ho, wo, g)`` is the weighted sum of ``K*K*4``
    rows (the 4 bilinear neighbours of each point, weights = bilinear
    weight x mask, 0 outside the image) of the value seen as a
    ``(N*H*W*G, Cg)`` table: exactly :func:`torch.nn.functional.embedding_bag`
    in ``'sum'`` mode with per-sample weights, one fused kernel that reads
    each neighbour's ``Cg`` contiguous channels and writes the output
    directly in the channels-last layout. Output rows are processed in
    chunks, so the index and weight buffers stay small.
    """
    n, h, w, g = geo.n, geo.h, geo.w, geo.group
    out_h, out_w, points = geo.out_h, geo.out_w, geo.points
    dtype, device = geo.dtype, value.device
    k = geo.kernel_size
    index_dtype = torch.int32 if n * h * w * g < 2**31 else torch.int64
    table = value.reshape(n * h * w * g, geo.group_channels).to(dtype)
    # p = i * K + j: x follows i (outer), y follows j (inner).
    args = (k, geo.stride, geo.pad, geo.dilation, geo.offset_scale, dtype,
            device)
    base_x = _pixel_coords(out_w, *args).repeat_interleave(k, dim=1)
    base_y = _pixel_coords(out_h, *args).repeat(1, k)
    base_x = base_x.view(out_w, 1, points)
    base_y = base_y.view(out_h, 1, 1, points)
    offsets = geo.point_offsets(offset)
    masks = geo.point_masks(mask)
    row_offset = (torch.arange(n, dtype=index_dtype, device=device) *
                  h).view(n, 1, 1, 1, 1)
    group_index = torch.arange(
        g, dtype=index_dtype, device=device).view(1, 1, 1, g, 1, 1)
    rows = max(1, _FORWARD_CHUNK // (n * out_w * g * points))
    out = None if rows >= out_h else torch.empty(
        n, out_h, out_w, geo.c, dtype=dtype, device=device)
    for start in range(0, out_h, rows):
        stop = min(start + rows, out_h)
        off = offsets[:, start:stop]
        x = torch.add(base_x, off[..., 0].to(dtype), alpha=geo.offset_scale)
        y = torch.add(base_y[start:stop], off[..., 1].to(dtype),
                      alpha=geo.offset_scale)
        wx0, wx1, ix0, ix1 = _axis_weights(x, w, index_dtype)
        wy0, wy1, iy0, iy1 = _axis_weights(y, h, index_dtype)
        del x, y
        m = masks[:, start:stop].to(dtype)
        wy0.mul_(m)
        wy1.mul_(m)
        del m
        shape = wx0.shape + (4, )
        weights = torch.empty(shape, dtype=dtype, device=device)
        torch.mul(wx0, wy0, out=weights[..., 0])
        torch.mul(wx1, wy0, out=weights[..., 1])
        torch.mul(wx0, wy1, out=weights[..., 2])
        torch.mul(wx1, wy1, out=weights[..., 3])
        del wx0, wx1, wy0, wy1
        # Table row of (n, y, x, g) = ((n * H + y) * W + x) * G + g.
        iy0 = iy0.add_(row_offset).mul_(w)
        iy1 = iy1.add_(row_offset).mul_(w)
        index = torch.empty(shape, dtype=index_dtype, device=device)
        torch.add(iy0, ix0, out=index[..., 0])
        torch.add(iy0, ix1, out=index[..., 1])
        torch.add(iy1, ix0, out=index[..., 2])
        torch.add(iy1, ix1, out=index[..., 3])
        del ix0, ix1, iy0, iy1
        index.mul_(g).add_(group_index)
        chunk = F.embedding_bag(
            index.view(-1, points * 4),
            table,
            per_sample_weights=weights.view(-1, points * 4),
            mode='sum')
        del index, weights
        chunk = chunk.view(n, stop - start, out_w, geo.c)
        if out is None:
            out = chunk
        else:
            out[:, start:stop] = chunk
    return out.to(value.dtype)


class DCNv3Function(torch.autograd.Function):
    """Autograd function of the DCNv3 core (see the module docstring).

    Its name is what MMEngine's FLOP counter sees
    (``prim::PythonOp.DCNv3Function``); see
    :mod:`mmallnet.utils.complexity`.
    """

    @staticmethod
    def forward(ctx, value: Tensor, offset: Tensor, mask: Tensor,
                kernel_size: int, stride: int, pad: int, dilation: int,
                group: int, offset_scale: float) -> Tensor:
        geo = _Geometry(value, offset, kernel_size, stride, pad, dilation,
                        group, offset_scale)
        ctx.params = (kernel_size, stride, pad, dilation, group,
                      offset_scale)
        ctx.save_for_backward(value, offset, mask)
        with torch.autocast(value.device.type, enabled=False):
            return _gather_forward(value, offset, mask, geo)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor
                 ) -> Tuple[Optional[Tensor], ...]:
        value, offset, mask = ctx.saved_tensors
        need_value, need_offset, need_mask = ctx.needs_input_grad[:3]
        geo = _Geometry(value, offset, *ctx.params)
        n, g, cg = geo.n, geo.group, geo.group_channels
        with torch.autocast(value.device.type, enabled=False):
            grouped = geo.grouped_value(value)
            offsets = geo.point_offsets(offset)
            masks = geo.point_masks(mask)
            grad_out = geo.grouped_output_grad(grad_output)
            # Gradients are written point by point into their final
            # layouts; nothing of size P x value is ever held.
            grad_value = grad_offset = grad_mask = acc = None
            if need_offset:
                grad_offset = torch.empty(
                    n, geo.out_h, geo.out_w, g, geo.points, 2,
                    dtype=geo.dtype, device=value.device)
            if need_mask:
                grad_mask = torch.empty(
                    n, geo.out_h, geo.out_w, g, geo.points,
                    dtype=geo.dtype, device=value.device)
            # One (N*G, Cg, Ho, Wo) work buffer: the recomputed sample for
            # the mask gradient, then the masked incoming gradient, which
            # grid_sampler_2d_backward wants contiguous.
            buffer = None
            grid_buffer = torch.empty(
                n * g * geo.out_h * geo.out_w * 2, dtype=geo.dtype,
                device=value.device)
            for point in range(geo.points):
                grid = geo.grids(offsets, slice(point, point + 1),
                                 grid_buffer)[0]
                if need_mask:
                    buffer = None  # free the last one before sampling
                    buffer = _sample(grouped, grid).mul_(grad_out)
                    grad_mask[..., point] = buffer.sum(1).view(
                        n, g, geo.out_h, geo.out_w).permute(0, 2, 3, 1)
                if not (need_value or need_offset):
                    continue
                if buffer is None:
                    buffer = torch.empty(
                        n * g, cg, geo.out_h, geo.out_w, dtype=geo.dtype,
                        device=value.device)
                torch.mul(grad_out, geo.point_mask(masks, point), out=buffer)
                d_value, d_grid = torch.ops.aten.grid_sampler_2d_backward(
                    buffer, grouped, grid, _BILINEAR, _ZEROS, False,
                    [need_value, need_offset])
                if need_value:
                    if acc is None:
                        acc = d_value
                    else:
                        acc.add_(d_value)
                if need_offset:
                    # Chain rule of grid = base + offset * scale.
                    d_grid = d_grid.view(n, g, geo.out_h, geo.out_w,
                                         2).permute(0, 2, 3, 1, 4)
                    torch.mul(
                        d_grid[..., 0],
                        geo.scale_x,
                        out=grad_offset[:, :, :, :, point, 0])
                    torch.mul(
                        d_grid[..., 1],
                        geo.scale_y,
                        out=grad_offset[:, :, :, :, point, 1])
                del d_value, d_grid
            del buffer
            if need_value:
                grad_value = torch.empty(
                    value.shape, dtype=geo.dtype, device=value.device)
                grad_value.view(n, geo.h, geo.w, g, cg).copy_(
                    acc.view(n, g, cg, geo.h, geo.w).permute(0, 3, 4, 1, 2))
                del acc
        grads = [None, None, None]
        if need_value:
            grads[0] = grad_value.to(value.dtype)
        if need_offset:
            grads[1] = grad_offset.view(offset.shape).to(offset.dtype)
        if need_mask:
            grads[2] = grad_mask.view(mask.shape).to(mask.dtype)
        return tuple(grads) + (None, ) * 6


def dcnv3_core(value: Tensor,
               offset: Tensor,
               mask: Tensor,
               kernel_size: int = 3,
               stride: int = 1,
               pad: int = 1,
               dilation: int = 1,
               group: int = 1,
               offset_scale: float = 1.0) -> Tensor:
    """Deformable sampling of DCNv3 (InternImage), pure PyTorch.

    Args:
        value (Tensor): ``(N, H, W, C)`` channels-last value map.
        offset (Tensor): ``(N, H_out, W_out, G*K*K*2)`` offsets in pixels,
            laid out ``[group][point][x, y]``.
        mask (Tensor): ``(N, H_out, W_out, G*K*K)`` modulation weights
            (InternImage softmaxes them over the points of a group).
        kernel_size (int): Kernel size K. Defaults to 3.
        stride (int): Stride. Defaults to 1.
        pad (int): Zero padding. Defaults to 1.
        dilation (int): Kernel dilation. Defaults to 1.
        group (int): Number of groups G. Defaults to 1.
        offset_scale (float): Scale of the kernel grid and the offsets.
            Defaults to 1.0.

    Returns:
        Tensor: ``(N, H_out, W_out, C)`` in the dtype of ``value``.
    """
    return DCNv3Function.apply(value, offset, mask, kernel_size, stride, pad,
                               dilation, group, offset_scale)
