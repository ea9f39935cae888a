"""Restormer blocks: shapes and exact re-computation of the formulas."""
import pytest
import torch
import torch.nn.functional as F

from mmallnet.models.layers import (
    GDFN,
    MDTA,
    ChannelLayerNorm2d,
    RestormerBlock,
)


def randomise(module: torch.nn.Module) -> None:
    """Give every parameter random values (not the initial ones)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)


def test_layer_norm_matches_manual():
    norm = ChannelLayerNorm2d(8)
    randomise(norm)
    x = torch.randn(2, 8, 5, 7)
    mean = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    ref = (x - mean) / torch.sqrt(var + 1e-5)
    ref = ref * norm.weight.view(1, -1, 1, 1) + norm.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(norm(x), ref, rtol=1e-5, atol=1e-5)


def test_mdta_matches_einsum_formula():
    c, heads = 12, 3
    attn = MDTA(c, heads, bias=True)
    randomise(attn)
    assert attn.temperature.shape == (heads, 1, 1)
    x = torch.randn(2, c, 6, 5)
    qkv = F.conv2d(x, attn.qkv.weight, attn.qkv.bias)
    qkv = F.conv2d(
        qkv,
        attn.qkv_dwconv.weight,
        attn.qkv_dwconv.bias,
        padding=1,
        groups=3 * c)
    q, k, v = qkv.flatten(2).chunk(3, dim=1)  # (N, C, HW) each
    d = c // heads
    outs = []
    for i in range(heads):
        qi, ki, vi = (t[:, i * d:(i + 1) * d] for t in (q, k, v))
        qi = qi / qi.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        ki = ki / ki.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        a = torch.einsum('ncp,ndp->ncd', qi, ki) * attn.temperature[i, 0, 0]
        a = a.softmax(-1)
        assert a.shape == (2, d, d)  # channel attention: (C/h) x (C/h)
        outs.append(torch.einsum('ncd,ndp->ncp', a, vi))
    ref = torch.cat(outs, 1).reshape(2, c, 6, 5)
    ref = F.conv2d(ref, attn.project_out.weight, attn.project_out.bias)
    torch.testing.assert_close(attn(x), ref, rtol=1e-5, atol=1e-5)


def test_mdta_temperature_init_and_heads_check():
    assert torch.equal(MDTA(8, 2).temperature, torch.ones(2, 1, 1))
    with pytest.raises(ValueError):
        MDTA(10, 4)


def test_gdfn_matches_formula():
    ffn = GDFN(10, expansion=2.66)
    randomise(ffn)
    hidden = int(10 * 2.66)
    assert ffn.hidden_channels == hidden
    assert ffn.project_in.weight.shape == (2 * hidden, 10, 1, 1)
    x = torch.randn(2, 10, 4, 6)
    y = torch.einsum('oc,nchw->nohw', ffn.project_in.weight[:, :, 0, 0], x)
    y = F.conv2d(y, ffn.dwconv.weight, padding=1, groups=2 * hidden)
    x1, x2 = y[:, :hidden], y[:, hidden:]
    g = 0.5 * x1 * (1 + torch.erf(x1 / 2**0.5)) * x2
    ref = torch.einsum('oc,nchw->nohw', ffn.project_out.weight[:, :, 0, 0],
                       g)
    torch.testing.assert_close(ffn(x), ref, rtol=1e-5, atol=1e-5)


def test_block_is_pre_norm_residual():
    block = RestormerBlock(16, 2)
    randomise(block)
    x = torch.randn(2, 16, 9, 11)
    y = x + block.attn(block.norm1(x))
    ref = y + block.ffn(block.norm2(y))
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert all(p.grad is not None for p in block.parameters())


def test_no_bias_by_default():
    block = RestormerBlock(8, 1)
    names = {n for n, _ in block.named_parameters()}
    assert not any(n.endswith('bias') and not n.startswith('norm')
                   for n in names)
