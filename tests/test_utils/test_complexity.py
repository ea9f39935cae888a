"""FLOP handles of mmallnet.utils.complexity: DCNv3, attention, softmax."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.analysis import FlopAnalyzer

from mmallnet.models.layers import DCNv3, dcnv3_core
from mmallnet.models.layers.dcnv3_function import dcnv3_output_size
from mmallnet.utils import (
    DCNV3_OP_NAME,
    TensorModeWrapper,
    dcnv3_flop_jit,
    get_model_complexity,
)


class LoneCore(nn.Module):
    """Only the DCNv3 core, fed with its own random offsets and masks."""

    def __init__(self, kernel_size: int, stride: int, pad: int,
                 group: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad
        self.group = group

    def forward(self, value, offset, mask):
        return dcnv3_core(value, offset, mask, self.kernel_size,
                          self.stride, self.pad, 1, self.group, 1.0)


def core_inputs(n, h, w, c, kernel_size, stride, pad, group):
    out_h = dcnv3_output_size(h, kernel_size, stride, pad, 1)
    out_w = dcnv3_output_size(w, kernel_size, stride, pad, 1)
    points = kernel_size**2
    value = torch.randn(n, h, w, c)
    offset = torch.randn(n, out_h, out_w, group * points * 2)
    mask = torch.rand(n, out_h, out_w, group * points)
    return (value, offset, mask), out_h, out_w


@pytest.mark.parametrize('n,h,w,c,kernel_size,stride,pad,group', [
    (1, 6, 8, 16, 3, 1, 1, 4),
    (2, 7, 9, 12, 3, 2, 1, 3),
    (2, 8, 6, 8, 5, 1, 2, 1),
])
def test_dcnv3_handle_counts_five_macs_per_sample(n, h, w, c, kernel_size,
                                                  stride, pad, group):
    model = LoneCore(kernel_size, stride, pad, group)
    inputs, out_h, out_w = core_inputs(n, h, w, c, kernel_size, stride, pad,
                                       group)
    expected = 5 * n * out_h * out_w * kernel_size**2 * c

    analyzer = FlopAnalyzer(model, inputs).set_op_handle(
        DCNV3_OP_NAME, dcnv3_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == expected
    assert analyzer.by_operator() == {'dcnv3': expected}

    result = get_model_complexity(model, inputs)
    assert result['flops'] == expected
    assert result['activations'] == n * out_h * out_w * c
    assert result['params'] == 0
    assert not result['unsupported_ops']


def test_dcnv3_core_is_zero_without_the_handle():
    model = LoneCore(3, 1, 1, 2)
    inputs, _, _ = core_inputs(1, 5, 5, 8, 3, 1, 1, 2)
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == 0
    assert analyzer.unsupported_ops() == {DCNV3_OP_NAME: 1}


def dcnv3_module_flops(n, h, w, c, group, kernel_size=3):
    """Expected FLOPs of a stride-1 DCNv3 module (MAC convention)."""
    points = kernel_size**2
    pixels = n * h * w
    linears = pixels * c * (c + c + group * points * 2 + group * points)
    dw_conv = pixels * c * kernel_size**2
    layer_norm = 5 * pixels * c  # MMEngine's affine-norm estimate
    core = 5 * pixels * points * c
    return linears + dw_conv + layer_norm + core, core


def test_dcnv3_module_total():
    n, h, w, c, group = 2, 6, 8, 16, 4
    model = DCNv3(c, group=group).eval()
    x = torch.randn(n, h, w, c)
    expected, core = dcnv3_module_flops(n, h, w, c, group)
    # 2 * 6 * 8 * 16 * (16 + 16 + 72 + 36) + 2 * 6 * 8 * 16 * 9
    # + 5 * 2 * 6 * 8 * 16 + 5 * 2 * 6 * 8 * 9 * 16 = 305664
    assert expected == 305664

    result = get_model_complexity(model, (x, ), show_table=True)
    assert result['flops'] == expected
    assert result['flops_by_operator']['dcnv3'] == core == 69120
    assert result['params'] == sum(p.numel() for p in model.parameters())
    # GELU and the mask softmax are not multiply-adds.
    assert set(result['unsupported_ops']) == {'aten::gelu', 'aten::softmax'}
    assert 'input_proj' in result['table']

    without = FlopAnalyzer(model, (x, ))
    without.unsupported_ops_warnings(False)
    assert without.total() == expected - core

    with_softmax = get_model_complexity(
        model, (x, ), count_softmax=True, with_activations=False)
    points = 9
    assert with_softmax['flops'] - expected == n * h * w * group * points
    assert with_softmax['activations'] is None


class Attention(nn.Module):

    def __init__(self, fused: bool) -> None:
        super().__init__()
        self.fused = fused

    def forward(self, q, k, v):
        if self.fused:
            return F.scaled_dot_product_attention(q, k, v)
        weights = (q @ k.transpose(-2, -1) / q.shape[-1]**0.5).softmax(-1)
        return weights @ v


def test_sdpa_counts_like_matmul_attention():
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(
        2, 3, 7, 4)
    fused = get_model_complexity(Attention(True), (q, k, v))
    plain = get_model_complexity(Attention(False), (q, k, v))
    assert fused['flops'] == plain['flops'] == 2 * 3 * 5 * 7 * (8 + 4)
    fused = get_model_complexity(
        Attention(True), (q, k, v), count_softmax=True)
    plain = get_model_complexity(
        Attention(False), (q, k, v), count_softmax=True)
    assert fused['flops'] == plain['flops'] == 2 * 3 * 5 * 7 * (8 + 4 + 1)


def test_extra_handles_override_and_ignore():
    model = LoneCore(3, 1, 1, 1)
    inputs, _, _ = core_inputs(1, 4, 4, 4, 3, 1, 1, 1)
    result = get_model_complexity(
        model, inputs, flop_handles={DCNV3_OP_NAME: lambda i, o: 7})
    assert result['flops'] == 7
    result = get_model_complexity(
        model, inputs, flop_handles={DCNV3_OP_NAME: None})
    assert result['flops'] == 0
    assert not result['unsupported_ops']
    # None also switches off one of MMEngine's default handles.
    linear, x = nn.Linear(4, 3), torch.randn(2, 4)
    assert get_model_complexity(linear, (x, ))['flops'] == 24
    assert get_model_complexity(
        linear, (x, ), flop_handles={'aten::linear': None})['flops'] == 0


class DictNet(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.scale = nn.Parameter(torch.ones(1))
        self.heads = nn.ModuleDict(
            dict(a=nn.Conv2d(4, 2, 1), b=nn.Conv2d(4, 1, 1)))

    def forward(self, x):
        feat = self.conv(x) * self.scale
        return dict(a=self.heads['a'](feat), b=[self.heads['b'](feat), None])


def test_tensor_mode_wrapper_keeps_names_and_flattens_outputs():
    model = DictNet()
    wrapper = TensorModeWrapper(model)
    x = torch.randn(1, 3, 4, 5)
    outputs = wrapper(x)
    assert [tuple(t.shape) for t in outputs] == [(1, 2, 4, 5), (1, 1, 4, 5)]
    assert dict(wrapper.named_parameters()).keys() == dict(
        model.named_parameters()).keys()
    result = get_model_complexity(wrapper, (x, ))
    analyzer = result['flop_analyzer']
    assert analyzer.total('heads.a') == 20 * 4 * 2
    assert result['flops'] == 20 * (3 * 4 + 4 * 2 + 4 * 1)
    assert result['params'] == sum(p.numel() for p in model.parameters())
