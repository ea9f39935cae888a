"""InternImage: presets, official parameter names, freezing, checkpoints."""
import pytest
import torch
from mmseg.registry import MODELS

from mmallnet.models.backbones import InternImage

PRESET_WIDTHS = dict(t=64, s=80, b=112, l=160, xl=192, h=320)


def build_on_meta(**kwargs) -> InternImage:
    with torch.device('meta'):
        return InternImage(**kwargs)


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('arch,expected', [('t', 28.77), ('s', 48.50),
                                           ('b', 94.91), ('l', 218.95),
                                           ('xl', 328.97), ('h', 1073.12)])
def test_parameter_counts_match_the_official_module(arch, expected):
    assert num_params(build_on_meta(arch=arch)) / 1e6 == pytest.approx(
        expected, abs=0.01)


def test_official_parameter_names_t():
    keys = set(build_on_meta(arch='t').state_dict())
    assert len(keys) == 685
    for name in [
            'patch_embed.conv1.weight', 'patch_embed.norm1.1.weight',
            'patch_embed.conv2.bias', 'patch_embed.norm2.1.bias',
            'levels.0.blocks.0.gamma1', 'levels.0.blocks.0.norm1.0.weight',
            'levels.0.blocks.0.dcn.dw_conv.0.weight',
            'levels.0.blocks.0.dcn.dw_conv.1.1.weight',
            'levels.0.blocks.0.dcn.offset.weight',
            'levels.0.blocks.0.dcn.mask.bias',
            'levels.0.blocks.0.dcn.input_proj.weight',
            'levels.0.blocks.0.dcn.output_proj.bias',
            'levels.2.blocks.17.mlp.fc1.weight',
            'levels.3.blocks.3.mlp.fc2.bias', 'levels.0.norm.0.weight',
            'levels.0.downsample.conv.weight',
            'levels.2.downsample.norm.1.bias'
    ]:
        assert name in keys, name
    assert 'levels.0.downsample.conv.bias' not in keys
    assert not any(k.startswith('levels.3.downsample') for k in keys)


def test_post_norm_presets_have_no_stage_norm():
    keys = set(build_on_meta(arch='s').state_dict())
    assert not any('.norm.0.' in k and k.startswith('levels.')
                   for k in keys if '.blocks.' not in k)
    assert 'levels.1.blocks.3.gamma2' in keys


def test_h_preset_extras():
    model = build_on_meta(arch='h')
    keys = set(model.state_dict())
    assert 'levels.0.blocks.0.res_post_norm1.0.weight' in keys
    assert 'levels.0.blocks.0.dcn.center_feature_scale_proj_weight' in keys
    assert 'levels.2.post_norms.4.0.weight' in keys
    assert 'levels.2.post_norms.5.0.weight' not in keys
    assert 'levels.1.post_norms.0.0.weight' not in keys
    assert 'levels.3.norm.0.weight' in keys  # centre feature scale keeps it
    assert not any(k.endswith('gamma1') for k in keys)
    dw = model.levels[0].blocks[0].dcn.dw_conv[0]
    assert dw.kernel_size == (5, 5)


@pytest.mark.parametrize('arch', sorted(PRESET_WIDTHS))
def test_preset_output_shapes(arch):
    """Every preset (depths cut to 1 per stage) gives strides 4..32."""
    overrides = dict(depths=[1, 1, 1, 1])
    if arch == 'h':
        overrides['level2_post_norm_block_ids'] = [0]
    model = InternImage(arch=arch, **overrides).eval()
    width = PRESET_WIDTHS[arch]
    assert model.out_channels == [width, 2 * width, 4 * width, 8 * width]
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, width * 2**i, 16 // 2**i,
                                               24 // 2**i)
                                              for i in range(4)]


def test_registry_and_out_indices():
    model = MODELS.build(
        dict(
            type='InternImage',
            arch=dict(channels=16, depths=[1, 1, 1, 1],
                      groups=[1, 2, 4, 8]),
            out_indices=(1, 3))).eval()
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 4, 4), (2, 128, 1, 1)]
    assert all(o.is_contiguous() for o in outs)


def test_explicit_arguments_override_the_preset():
    model = build_on_meta(arch='l', offset_scale=1.0, drop_path_rate=0.0)
    assert model.arch_settings['offset_scale'] == 1.0
    assert model.levels[0].blocks[0].dcn.offset_scale == 1.0
    assert model.arch_settings['channels'] == 160
    layer = InternImage(arch='t', depths=[1, 1, 2, 1], drop_path_rate=0.3)
    rates = [b.drop_path.drop_prob for lv in layer.levels[1:]
             for b in lv.blocks]
    assert rates == pytest.approx([0.3 * i / 4 for i in range(1, 5)])


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='m'), 'unknown arch'),
    (dict(arch=dict(channels=16)), 'needs the keys'),
    (dict(arch='t', out_indices=(4, )), 'out_indices'),
    (dict(arch='t', frozen_stages=5), 'frozen_stages'),
    (dict(arch='t', groups=[1, 2]), 'same length'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises((KeyError, ValueError), match=match):
        build_on_meta(**kwargs)


TINY = dict(channels=16, depths=[1, 1, 2, 1], groups=[1, 2, 4, 8])


def test_frozen_stages_and_train_returns_self():
    model = InternImage(arch=TINY, frozen_stages=2)
    assert model.train() is model
    assert model.eval() is model
    model.train()
    for module in (model.patch_embed, model.levels[0], model.levels[1]):
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    for module in model.levels[2:]:
        assert module.training
        assert all(p.requires_grad for p in module.parameters())
    stem_only = InternImage(arch=TINY, frozen_stages=0).train()
    assert not any(p.requires_grad for p in stem_only.patch_embed.parameters())
    assert all(p.requires_grad for p in stem_only.levels.parameters())


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = InternImage(arch=TINY, drop_path_rate=0.0)
    ckpt = InternImage(arch=TINY, drop_path_rate=0.0, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    grads = []
    for model in (plain, ckpt):
        x.grad = None
        sum(o.square().sum() for o in model(x)).backward()
        grads.append((x.grad.clone(),
                      model.levels[1].blocks[0].dcn.offset.weight.grad))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_eval_mode_is_deterministic():
    model = InternImage(arch=TINY, drop_path_rate=0.5).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_reduced_precision_runs_close_to_fp32():
    """bf16 autocast and a half-precision model both run (the official
    fallback fails on its float32 grids) and stay close to fp32."""
    torch.manual_seed(0)
    model = InternImage(arch=TINY).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
        x = torch.rand(1, 3, 64, 64)
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            auto = model(x)
        half = model.to(torch.float16)(x.half())
    for outs, tol in ((auto, 0.05), (half, 0.01)):
        for out, expected in zip(outs, ref):
            assert torch.isfinite(out).all()
            error = (out.float() - expected).abs().max()
            assert error <= tol * expected.abs().max()
    assert all(o.dtype == torch.float16 for o in half)
