"""Pure-PyTorch DCNv3 core: the sampling maths of InternImage's CUDA kernel.

For every output pixel ``(ho, wo)``, group ``g`` and kernel point
``p = i * K + j`` (``i`` indexes width, ``j`` height), the core samples the
value map bilinearly (zero padding) at::

    x = wo * stride - pad + c + (i * dilation - c + dx[p]) * offset_scale
    y = ho * stride - pad + c + (j * dilation - c + dy[p]) * offset_scale

with ``c = dilation * (K - 1) // 2`` and ``(dx, dy)`` the learned offsets of
that point, and sums the samples weighted by the (already normalised)
modulation mask. ``offset_scale`` scales the kernel displacement too.

The implementation loops over the ``K * K`` points, samples each with one
:func:`torch.nn.functional.grid_sample` on unpadded normalised coordinates
(grid_sample's zero padding is exactly the kernel's border rule) and
accumulates in place, so it never materialises the
``(N * G, Cg, H * W, K * K)`` tensor of the official fallback. The backward
pass is written out (it recomputes each point's sample instead of storing
nine of them), so training keeps only the inputs for backward. Sampling
coordinates and accumulation are float32 whatever the input dtype (the
CUDA kernel's ``opmath``), so float16 and bfloat16 inputs work and lose no
position accuracy; float64 inputs are computed in float64.
"""
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


def _base_grid(height: int, width: int, out_h: int, out_w: int,
               kernel_size: int, stride: int, pad: int, dilation: int,
               offset_scale: float, dtype: torch.dtype,
               device: torch.device) -> Tensor:
    """Zero-offset sampling grid in grid_sample's normalised coordinates.

    Returns:
        Tensor: ``(P, out_h, out_w, 2)`` with ``[..., 0]`` the x (width) and
        ``[..., 1]`` the y (height) coordinate of each kernel point, mapped by
        ``u = (2 * x + 1) / W - 1`` (``align_corners=False``).
    """
    centre = (dilation * (kernel_size - 1)) // 2
    ref_x = torch.arange(out_w, dtype=dtype, device=device) * stride + (
        centre - pad)
    ref_y = torch.arange(out_h, dtype=dtype, device=device) * stride + (
        centre - pad)
    disp = (torch.arange(kernel_size, dtype=dtype, device=device) * dilation
            - centre) * offset_scale
    # p = i * K + j with i over width (outer) and j over height (inner).
    disp_x = disp.repeat_interleave(kernel_size)
    disp_y = disp.repeat(kernel_size)
    loc_x = ref_x.view(1, 1, out_w) + disp_x.view(-1, 1, 1)
    loc_y = ref_y.view(1, out_h, 1) + disp_y.view(-1, 1, 1)
    grid_x = (2 * loc_x + 1) / width - 1
    grid_y = (2 * loc_y + 1) / height - 1
    return torch.stack(torch.broadcast_tensors(grid_x, grid_y), dim=-1)


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
        self.base = _base_grid(h, w, self.out_h, self.out_w, kernel_size,
                               stride, pad, dilation, offset_scale,
                               self.dtype, value.device)
        self.scale = torch.tensor(
            [2 * offset_scale / w, 2 * offset_scale / h], dtype=self.dtype,
            device=value.device)

    def grouped_value(self, value: Tensor) -> Tensor:
        """``(N, H, W, C)`` -> ``(N*G, Cg, H, W)`` in the compute dtype."""
        return value.reshape(self.n, self.h, self.w, self.group,
                             self.group_channels).permute(
                                 0, 3, 4, 1, 2).reshape(
                                     self.n * self.group,
                                     self.group_channels, self.h,
                                     self.w).to(self.dtype)

    def point_offsets(self, offset: Tensor) -> Tensor:
        """``(N, Ho, Wo, G*P*2)`` -> view ``(N, Ho, Wo, G, P, 2)``."""
        return offset.reshape(self.n, self.out_h, self.out_w, self.group,
                              self.points, 2)

    def grid(self, offsets: Tensor, point: int) -> Tensor:
        """Sampling grid of one kernel point, ``(N*G, Ho, Wo, 2)``."""
        off = offsets[:, :, :, :, point].permute(0, 3, 1, 2, 4).to(self.dtype)
        grid = torch.addcmul(self.base[point], off, self.scale)
        return grid.reshape(self.n * self.group, self.out_h, self.out_w, 2)

    def point_masks(self, mask: Tensor) -> Tensor:
        """``(N, Ho, Wo, G*P)`` -> ``(P, N*G, 1, Ho, Wo)`` contiguous."""
        expected = (self.n, self.out_h, self.out_w,
                    self.group * self.points)
        if tuple(mask.shape) != expected:
            raise ValueError(
                f'DCNv3: mask must have shape {expected} '
                f'(N, H_out, W_out, group*K*K), got {tuple(mask.shape)}')
        return mask.reshape(self.n, self.out_h, self.out_w, self.group,
                            self.points).permute(4, 0, 3, 1, 2).to(
                                self.dtype).reshape(
                                    self.points, self.n * self.group, 1,
                                    self.out_h, self.out_w).contiguous()

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
            grouped = geo.grouped_value(value)
            offsets = geo.point_offsets(offset)
            masks = geo.point_masks(mask)
            out = None
            for point in range(geo.points):
                sample = _sample(grouped, geo.grid(offsets, point))
                if out is None:
                    out = sample.mul_(masks[point])
                else:
                    out.addcmul_(sample, masks[point])
                del sample
            return geo.to_channels_last(out, value.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor
                 ) -> Tuple[Optional[Tensor], ...]:
        value, offset, mask = ctx.saved_tensors
        need_value, need_offset, need_mask = ctx.needs_input_grad[:3]
        geo = _Geometry(value, offset, *ctx.params)
        with torch.autocast(value.device.type, enabled=False):
            grouped = geo.grouped_value(value)
            offsets = geo.point_offsets(offset)
            masks = geo.point_masks(mask)
            grad_out = grad_output.reshape(
                geo.n, geo.out_h, geo.out_w, geo.group,
                geo.group_channels).permute(0, 3, 4, 1, 2).to(
                    geo.dtype).reshape(geo.n * geo.group,
                                       geo.group_channels, geo.out_h,
                                       geo.out_w)
            grad_value = torch.zeros_like(grouped) if need_value else None
            grad_grids = [] if need_offset else None
            grad_masks = [] if need_mask else None
            for point in range(geo.points):
                grid = geo.grid(offsets, point)
                if need_mask:
                    grad_masks.append(
                        (_sample(grouped, grid) * grad_out).sum(1))
                if need_value or need_offset:
                    d_value, d_grid = torch.ops.aten.grid_sampler_2d_backward(
                        grad_out * masks[point], grouped, grid, _BILINEAR,
                        _ZEROS, False, [need_value, need_offset])
                    if need_value:
                        grad_value += d_value
                    if need_offset:
                        grad_grids.append(d_grid)
                    del d_value, d_grid
        grads = [None, None, None]
        if need_value:
            grads[0] = grad_value.view(
                geo.n, geo.group, geo.group_channels, geo.h,
                geo.w).permute(0, 3, 4, 1, 2).reshape(
                    value.shape).to(value.dtype)
        if need_offset:
            # (P, N*G, Ho, Wo, 2) -> (N, Ho, Wo, G, P, 2), chain rule of
            # grid = base + offset * scale.
            grad_grid = torch.stack(grad_grids).mul_(geo.scale)
            grads[1] = grad_grid.view(
                geo.points, geo.n, geo.group, geo.out_h, geo.out_w,
                2).permute(1, 3, 4, 2, 0, 5).reshape(offset.shape).to(
                    offset.dtype)
        if need_mask:
            grads[2] = torch.stack(grad_masks).view(
                geo.points, geo.n, geo.group, geo.out_h,
                geo.out_w).permute(1, 3, 4, 2, 0).reshape(mask.shape).to(
                    mask.dtype)
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
