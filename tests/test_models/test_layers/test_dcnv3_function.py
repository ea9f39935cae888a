"""The pure-PyTorch DCNv3 core against a direct float64 sampling formula."""
import math

import pytest
import torch

from mmallnet.models.layers.dcnv3_function import (
    dcnv3_core,
    dcnv3_output_size,
)


def direct_dcnv3(value, offset, mask, kernel_size, stride, pad, dilation,
                 group, offset_scale):
    """Slow float64 transcription of the CUDA kernel's sampling formula."""
    value = value.double()
    n, h, w, c = value.shape
    cg = c // group
    points = kernel_size * kernel_size
    out_h = dcnv3_output_size(h, kernel_size, stride, pad, dilation)
    out_w = dcnv3_output_size(w, kernel_size, stride, pad, dilation)
    off = offset.double().reshape(n, out_h, out_w, group, points, 2)
    msk = mask.double().reshape(n, out_h, out_w, group, points)
    centre = dilation * (kernel_size - 1) // 2
    out = torch.zeros(n, out_h, out_w, c, dtype=torch.float64)

    def pixel(b, y, x, g):
        if 0 <= y < h and 0 <= x < w:
            return value[b, y, x, g * cg:(g + 1) * cg]
        return torch.zeros(cg, dtype=torch.float64)

    for b in range(n):
        for ho in range(out_h):
            for wo in range(out_w):
                for g in range(group):
                    acc = torch.zeros(cg, dtype=torch.float64)
                    for i in range(kernel_size):  # width index, outer
                        for j in range(kernel_size):  # height index
                            p = i * kernel_size + j
                            dx, dy = off[b, ho, wo, g, p].tolist()
                            x = (wo * stride - pad + centre +
                                 (i * dilation - centre + dx) * offset_scale)
                            y = (ho * stride - pad + centre +
                                 (j * dilation - centre + dy) * offset_scale)
                            x0, y0 = math.floor(x), math.floor(y)
                            fx, fy = x - x0, y - y0
                            sample = (
                                pixel(b, y0, x0, g) * (1 - fx) * (1 - fy) +
                                pixel(b, y0, x0 + 1, g) * fx * (1 - fy) +
                                pixel(b, y0 + 1, x0, g) * (1 - fx) * fy +
                                pixel(b, y0 + 1, x0 + 1, g) * fx * fy)
                            acc += msk[b, ho, wo, g, p] * sample
                    out[b, ho, wo, g * cg:(g + 1) * cg] = acc
    return out


def random_inputs(n, h, w, c, kernel_size, stride, pad, dilation, group,
                  offset_std, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out_h = dcnv3_output_size(h, kernel_size, stride, pad, dilation)
    out_w = dcnv3_output_size(w, kernel_size, stride, pad, dilation)
    points = kernel_size * kernel_size
    value = torch.randn(n, h, w, c, generator=gen)
    offset = torch.randn(
        n, out_h, out_w, group * points * 2, generator=gen) * offset_std
    mask = torch.rand(n, out_h, out_w, group * points, generator=gen)
    return value.to(dtype), offset.to(dtype), mask.to(dtype)


# (kernel, stride, pad, dilation, group, offset_scale, offset_std)
CASES = [
    (3, 1, 1, 1, 2, 1.0, 1.0),  # InternImage T-XL / H layer
    (3, 1, 1, 1, 2, 2.0, 1.0),  # offset_scale 2 (L, XL)
    (3, 1, 1, 1, 1, 1.0, 12.0),  # large offsets: many samples off-image
    (3, 1, 2, 2, 3, 1.0, 2.0),  # dilation 2
    (3, 2, 1, 1, 2, 1.5, 2.0),  # stride 2, fractional scale
    (5, 1, 2, 1, 2, 1.0, 2.0),  # larger kernel
]


@pytest.mark.parametrize('case', CASES, ids=str)
def test_matches_direct_formula_fp32(case):
    kernel, stride, pad, dilation, group, scale, std = case
    value, offset, mask = random_inputs(2, 7, 9, 6, kernel, stride, pad,
                                        dilation, group, std)
    out = dcnv3_core(value, offset, mask, kernel, stride, pad, dilation,
                     group, scale)
    ref = direct_dcnv3(value, offset, mask, kernel, stride, pad, dilation,
                       group, scale)
    assert out.dtype == torch.float32
    assert out.shape == ref.shape
    assert (out.double() - ref).abs().max().item() <= 1e-5


def test_float64_is_exact():
    value, offset, mask = random_inputs(1, 6, 5, 4, 3, 1, 1, 1, 2, 3.0,
                                        dtype=torch.float64)
    out = dcnv3_core(value, offset, mask, 3, 1, 1, 1, 2, 2.0)
    ref = direct_dcnv3(value, offset, mask, 3, 1, 1, 1, 2, 2.0)
    assert out.dtype == torch.float64
    assert (out - ref).abs().max().item() <= 1e-12


def test_border_samples_use_zero_padding():
    """A point shifted fully off the image reads zeros; half off, half."""
    value = torch.ones(1, 4, 4, 1)
    offset = torch.zeros(1, 4, 4, 18)
    mask = torch.zeros(1, 4, 4, 9)
    mask[..., 4] = 1  # centre point only
    offset[..., 8] = 10.0  # centre point's x offset: 10 px to the right
    assert dcnv3_core(value, offset, mask, group=1).abs().max() == 0
    offset[..., 8] = 0.5  # half a pixel right: last column is half inside
    out = dcnv3_core(value, offset, mask, group=1)[0, :, :, 0]
    expected = torch.ones(4, 4)
    expected[:, 3] = 0.5
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


def test_point_order_width_outer_height_inner():
    """Point p = i*K + j samples displacement (i-1, j-1) (x, y)."""
    value = torch.arange(25.).view(1, 5, 5, 1)  # value = 5*y + x
    offset = torch.zeros(1, 5, 5, 18)
    for p in range(9):
        mask = torch.zeros(1, 5, 5, 9)
        mask[..., p] = 1
        out = dcnv3_core(value, offset, mask, group=1)[0, 2, 2, 0]
        dx, dy = p // 3 - 1, p % 3 - 1
        assert out.item() == 5 * (2 + dy) + (2 + dx)


def test_gradcheck():
    value, offset, mask = random_inputs(2, 4, 5, 4, 3, 1, 1, 1, 2, 1.5,
                                        dtype=torch.float64, seed=3)
    inputs = tuple(t.requires_grad_() for t in (value, offset, mask))
    assert torch.autograd.gradcheck(
        lambda v, o, m: dcnv3_core(v, o, m, 3, 1, 1, 1, 2, 2.0), inputs)


def test_gradients_match_autograd_of_direct_grid_sample():
    """The hand-written backward equals autograd of a plain formulation."""
    value, offset, mask = random_inputs(2, 6, 7, 8, 3, 1, 1, 1, 2, 2.0,
                                        seed=5)
    grad_out = torch.randn(2, 6, 7, 8)

    def naive(v, o, m):
        n, h, w, c = v.shape
        g, p = 2, 9
        vv = v.view(n, h, w, g, c // g).permute(0, 3, 4, 1, 2).reshape(
            n * g, c // g, h, w)
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=v.dtype), torch.arange(w, dtype=v.dtype),
            indexing='ij')
        disp = torch.arange(3, dtype=v.dtype) - 1
        kx = disp.repeat_interleave(3)
        ky = disp.repeat(3)
        oo = o.view(n, h, w, g, p, 2)
        lx = xs[None, :, :, None, None] + (kx + oo[..., 0]) * 2.0
        ly = ys[None, :, :, None, None] + (ky + oo[..., 1]) * 2.0
        grid = torch.stack([(2 * lx + 1) / w - 1, (2 * ly + 1) / h - 1], -1)
        grid = grid.permute(0, 3, 1, 2, 4, 5).reshape(n * g, h, w * p, 2)
        s = torch.nn.functional.grid_sample(
            vv, grid, align_corners=False).view(n * g, c // g, h, w, p)
        mm = m.view(n, h, w, g, p).permute(0, 3, 1, 2, 4).reshape(
            n * g, 1, h, w, p)
        out = (s * mm).sum(-1).view(n, g, c // g, h, w)
        return out.permute(0, 3, 4, 1, 2).reshape(n, h, w, c)

    grads = []
    for fn in (lambda v, o, m: dcnv3_core(v, o, m, 3, 1, 1, 1, 2, 2.0),
               naive):
        inputs = [t.clone().requires_grad_() for t in (value, offset, mask)]
        fn(*inputs).backward(grad_out)
        grads.append([t.grad for t in inputs])
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_partial_gradients():
    """Only the inputs that require grad receive one."""
    value, offset, mask = random_inputs(1, 4, 4, 4, 3, 1, 1, 1, 2, 1.0)
    offset.requires_grad_()
    dcnv3_core(value, offset, mask, group=2).sum().backward()
    assert offset.grad is not None and offset.grad.abs().sum() > 0
    assert value.grad is None and mask.grad is None


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    """Half inputs run, return their dtype and match fp32 to rounding."""
    value, offset, mask = random_inputs(1, 9, 11, 8, 3, 1, 1, 1, 2, 2.0)
    ref = dcnv3_core(value, offset, mask, group=2)
    inputs = [t.to(dtype).requires_grad_() for t in (value, offset, mask)]
    out = dcnv3_core(*inputs, group=2)
    assert out.dtype == dtype
    # Coordinates are kept in float32: the error is the input/output
    # rounding of the low-precision dtype, not a position error.
    tol = 4e-2 if dtype == torch.bfloat16 else 8e-3
    torch.testing.assert_close(out.float(), ref, rtol=tol, atol=tol)
    out.float().sum().backward()
    assert all(t.grad.dtype == dtype for t in inputs)
    assert all(torch.isfinite(t.grad.float()).all() for t in inputs)


def test_shape_errors_name_the_argument():
    value, offset, mask = random_inputs(1, 4, 4, 4, 3, 1, 1, 1, 2, 1.0)
    with pytest.raises(ValueError, match='offset must have shape'):
        dcnv3_core(value, offset[..., :-2], mask, group=2)
    with pytest.raises(ValueError, match='mask must have shape'):
        dcnv3_core(value, offset, mask[..., :-1], group=2)
    with pytest.raises(ValueError, match='divisible by group'):
        dcnv3_core(value, offset, mask, group=3)
