"""Complexity expert and its branches: windows, dynamic conv, MBI."""
import torch
import torch.nn.functional as F

from mmallnet.models.layers import (
    ComplexityExpert,
    DynamicDepthwiseGate,
    WindowAttention,
    WindowMLP,
)


def test_window_attention_clamps_and_masks_padding():
    torch.manual_seed(0)
    attn = WindowAttention(8, window_size=4, head_dim=4)
    assert attn.num_heads == 2
    assert attn.relative_position_bias_table.shape == (49, 2)
    x = torch.randn(2, 8, 6, 6)
    out = attn(x)
    assert out.shape == x.shape
    # The top-left window is a full 4x4 window.
    torch.testing.assert_close(out[..., :4, :4], attn(x[..., :4, :4]))
    # The bottom-right window holds 2x2 real pixels and padding; masking
    # makes it equal to the clamped 2x2 window on the crop.
    torch.testing.assert_close(out[..., 4:, 4:], attn(x[..., 4:, 4:]))
    assert attn.window_shape(2, 3) == (2, 3)


def test_window_attention_matches_formula_on_one_window():
    torch.manual_seed(0)
    attn = WindowAttention(4, window_size=2, head_dim=4)
    x = torch.randn(1, 4, 2, 2)
    t = x.flatten(2).transpose(1, 2)[0]  # (4 tokens, C)
    q, k, v = attn.qkv(t).chunk(3, dim=-1)
    rel = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    d = rel[:, None] - rel[None] + 1
    bias = attn.relative_position_bias_table[d[..., 0] * 3 + d[..., 1], 0]
    a = (q @ k.t() / 2 + bias).softmax(-1)
    ref = attn.proj(a @ v).t().reshape(1, 4, 2, 2)
    torch.testing.assert_close(attn(x), ref)


def test_dynamic_depthwise_is_per_image():
    torch.manual_seed(0)
    layer = DynamicDepthwiseGate(6, kernel_size=5)
    assert not any('bn' in n or 'norm' in n for n, _ in
                   layer.named_modules())
    x = torch.randn(2, 6, 7, 9)
    out = layer(x)
    for b in range(2):
        xb = x[b:b + 1]
        w = layer.kernel_gen(xb).reshape(6, 1, 5, 5)
        ref = F.conv2d(xb, w, layer.bias, padding=2, groups=6)
        ref = ref * torch.sigmoid(layer.pointwise(xb))
        torch.testing.assert_close(out[b:b + 1], ref)


def test_window_mlp_shapes_and_independence():
    torch.manual_seed(0)
    mlp = WindowMLP(4, window_size=8, head_dim=2)
    assert mlp.token_weight.shape == (2, 64, 64)
    x = torch.randn(3, 4, 10, 5)
    out = mlp(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out[1:2], mlp(x[1:2]))


def test_expert_at_init_and_mbi():
    torch.manual_seed(0)
    expert = ComplexityExpert(16, width=8, window_size=4, kernel_size=3)
    assert expert.branch_channels == 4
    assert torch.equal(expert.mbi_scale, torch.zeros(3))
    x = torch.randn(2, 16, 8, 8)

    def manual(lam):
        p = expert.in_proj(expert.norm(x)).chunk(3, dim=1)
        m = [expert.attention(p[0]), expert.local(p[1]), expert.mlp(p[2])]
        o = [
            m[i] + lam[i] * torch.sigmoid(sum(m[j] for j in range(3)
                                              if j != i)) for i in range(3)
        ]
        return x + expert.out_proj(torch.cat(o, 1))

    torch.testing.assert_close(expert(x), manual([0., 0., 0.]))
    with torch.no_grad():
        expert.mbi_scale.copy_(torch.tensor([0.5, -1., 2.]))
    torch.testing.assert_close(
        expert(x), manual([0.5, -1., 2.]), rtol=1e-5, atol=1e-5)
    out = expert(torch.randn(1, 16, 3, 5))  # smaller than the windows
    assert out.shape == (1, 16, 3, 5)
