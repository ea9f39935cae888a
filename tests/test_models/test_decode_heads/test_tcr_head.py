import itertools

import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.registry import MODELS

from mmallnet.models.decode_heads import TCRHead
from mmallnet.models.necks import MaENeck
from mmallnet.structures import ALL_TASKS
from mmallnet.testing import multi_task_batch

IN_CHANNELS = [16, 32, 64, 128]
CHANNELS = 16
SIZE = 64
NYUD = ['semseg', 'depth', 'normals', 'boundary']
PASCAL = ['semseg', 'parts', 'saliency', 'normals', 'boundary']
OUT_CHANNELS = dict(semseg=40, parts=7, saliency=1, depth=1, normals=3,
                    boundary=1, restoration=3)
ABLATIONS = list(itertools.product([True, False], repeat=3))


def _neck_dict(n=2, size=SIZE, seed=0):
    """A fake MaE neck 'dual' output at strides 4..32."""
    gen = torch.Generator().manual_seed(seed)

    def feats():
        return tuple(
            torch.randn(n, c, size // s, size // s, generator=gen)
            for c, s in zip(IN_CHANNELS, (4, 8, 16, 32)))

    return dict(restoration=feats(), prediction=feats(),
                aux_loss=torch.zeros(()),
                routing=torch.zeros(n, 4, 1, dtype=torch.long),
                gates=torch.ones(n, 4, 1))


def _head(tasks=NYUD, **kwargs):
    return TCRHead(in_channels=IN_CHANNELS, channels=CHANNELS, tasks=tasks,
                   **kwargs)


def _samples(n=2, size=SIZE, img_shape=(60, 56)):
    """Padded samples as the data preprocessor writes them."""
    return multi_task_batch([img_shape] * n, size)[1]


def _names(module, prefix):
    return [n for n, _ in module.named_parameters() if n.startswith(prefix)]


@pytest.mark.parametrize('tasks', [NYUD, PASCAL, list(ALL_TASKS)])
def test_forward_shapes(tasks):
    head = _head(tasks)
    degraded = torch.rand(2, 3, SIZE, SIZE)
    out = head(_neck_dict(), degraded)
    assert set(out) == set(tasks) | {'restoration'}
    for key, value in out.items():
        assert value.shape == (2, OUT_CHANNELS[key], SIZE, SIZE), key
    # the parent's zero-initialised residual: restored == degraded at init
    assert torch.equal(out['restoration'], degraded)
    # the parent's shared FPN decoder is not built
    for name in ('lateral_convs', 'fpn_convs', 'fuse_conv'):
        assert not hasattr(head, name)


def test_forward_without_restoration():
    head = _head(restoration=False, use_afu=False)
    # nothing reads CTI at 1/4 without restoration and AFU: not built
    assert head.cti_scales == (1, 2, 3)
    out = head(_neck_dict())
    assert set(out) == set(NYUD)
    for key, value in out.items():
        assert value.shape == (2, OUT_CHANNELS[key], SIZE, SIZE), key
    sum(v.sum() for v in out.values()).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name


@pytest.mark.parametrize('use_cti, use_afu, use_image_tokens', ABLATIONS)
@pytest.mark.parametrize('scales', [(0, 1, 2, 3), (1, 2, 3)])
def test_ablations_forward_backward(use_cti, use_afu, use_image_tokens,
                                    scales):
    head = _head(list(ALL_TASKS), use_cti=use_cti, use_afu=use_afu,
                 use_image_tokens=use_image_tokens,
                 interaction_scales=scales)
    num_tasks = len(ALL_TASKS)
    # modules of disabled parts do not exist
    expected_cti = scales if use_cti else ()
    expected_afu = scales if use_afu else ()
    assert sorted(head.ctis.keys()) == [str(s) for s in expected_cti]
    assert sorted(head.afus.keys()) == [str(s) for s in expected_afu]
    assert bool(_names(head, 'ctis.')) == use_cti
    assert bool(_names(head, 'afus.')) == use_afu
    assert bool([n for n in _names(head, 'ctis.')
                 if 'image_token' in n]) == (use_cti and use_image_tokens)
    assert len(head.skffs) == 4
    assert all(len(skffs) == num_tasks for skffs in head.skffs)
    # no BatchNorm in the TCR decoder
    for name in ('p_laterals', 'j_laterals', 'skffs', 'ctis', 'afus'):
        for module in getattr(head, name).modules():
            assert not isinstance(module, nn.modules.batchnorm._BatchNorm)
    # AFU reads N = num_tokens maps where CTI ran, else P (channels)
    head.train()
    degraded = torch.rand(2, 3, SIZE, SIZE)
    out = head(_neck_dict(), degraded)
    assert set(out) == set(ALL_TASKS) | {'restoration'}
    for key, value in out.items():
        assert value.shape == (2, OUT_CHANNELS[key], SIZE, SIZE), key
        assert torch.isfinite(value).all(), key
    sum(v.float().square().mean() for v in out.values()).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name


def test_num_tokens_and_heads():
    head = _head(num_tokens=8, num_heads=2, interaction_scales=(2, 3))
    assert head.ctis['3'].num_tokens == 8
    assert head.afus['3']['depth'].map_channels == 8
    out = head(_neck_dict(), torch.rand(2, 3, SIZE, SIZE))
    sum(v.sum() for v in out.values()).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name


def test_eval_deterministic():
    head = _head(list(ALL_TASKS)).eval()
    inputs, degraded = _neck_dict(), torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        first = head(inputs, degraded)
        second = head(inputs, degraded)
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.mark.parametrize('tasks', [NYUD, PASCAL])
def test_loss_by_feat(tasks):
    head = _head(tasks)
    samples = _samples()
    out = head(_neck_dict(), torch.rand(2, 3, SIZE, SIZE))
    losses = head.loss_by_feat(out, samples)
    expected = {f'loss_{t}' for t in tasks} | {'loss_restoration'}
    expected |= {f'acc_{t}' for t in tasks if t in ('semseg', 'parts')}
    assert set(losses) == expected
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    total.backward()
    assert head.p_laterals[3].weight.grad is not None
    preds = head.predict_by_feat(out)
    assert set(preds) == set(out)
    assert preds['restoration'].min() >= 0
    assert preds['restoration'].max() <= 1


def test_bad_inputs():
    head = _head()
    degraded = torch.rand(2, 3, SIZE, SIZE)
    feats = _neck_dict()
    with pytest.raises(ValueError, match="output_mode='dual'"):
        head(feats['restoration'], degraded)
    with pytest.raises(ValueError, match="output_mode='dual'"):
        head(list(feats['restoration']), degraded)
    with pytest.raises(ValueError, match='prediction'):
        head(dict(restoration=feats['restoration']), degraded)
    with pytest.raises(ValueError, match='degraded'):
        head(feats)
    with pytest.raises(ValueError, match='interaction_scales'):
        _head(interaction_scales=(0, 4))
    with pytest.raises(ValueError, match='interaction_scales'):
        _head(interaction_scales=(1, 1))
    with pytest.raises(ValueError, match='at least one task'):
        _head(tasks=[])


def _perturbed_outputs(head, scale, task):
    """Outputs with and without a perturbation of one task's J~ input."""
    inputs, degraded = _neck_dict(), torch.rand(2, 3, SIZE, SIZE)
    with torch.no_grad():
        clean = head(inputs, degraded)
        hook = head.j_laterals[scale][task].register_forward_hook(
            lambda module, args, out: out + torch.randn_like(out))
        try:
            noisy = head(inputs, degraded)
        finally:
            hook.remove()
    return clean, noisy


@pytest.mark.parametrize('use_cti, use_afu, use_image_tokens', ABLATIONS)
@pytest.mark.parametrize('scale', [0, 3])
def test_cross_task_interaction(use_cti, use_afu, use_image_tokens, scale):
    torch.manual_seed(0)
    head = _head(use_cti=use_cti, use_afu=use_afu,
                 use_image_tokens=use_image_tokens).eval()
    if use_cti and not use_afu:
        # The refined maps reach the tasks only through the restoration
        # feedback, whose scale starts at 0; emulate a trained model.
        for cti in head.ctis.values():
            nn.init.constant_(cti.feedback_scale, 1.)
    # the restored image starts equal to the input; let it see features
    nn.init.normal_(head.restoration_pred.weight, std=0.01)
    clean, noisy = _perturbed_outputs(head, scale, 'depth')
    # the perturbed task itself always changes
    assert not torch.allclose(clean['depth'], noisy['depth'])
    # A task's J~ enters CTI only through its image-conditioned tokens;
    # without CTI the tasks are independent and restoration ignores them.
    interacts = use_cti and use_image_tokens
    # at 1/4 without AFU, only restoration reads the CTI output
    others = [t for t in NYUD if t != 'depth']
    if scale == 0 and not use_afu:
        for task in others:
            assert torch.equal(clean[task], noisy[task]), task
        assert torch.equal(clean['restoration'],
                           noisy['restoration']) != interacts
        return
    for task in others:
        diff = (clean[task] - noisy[task]).abs().max().item()
        scale_ = clean[task].abs().max().item()
        if interacts:
            # small at init (lambda = 0.1, pooled J~) but far above fp32
            # rounding; without interaction the outputs are bitwise equal
            assert diff > 1e-6 * scale_, task
        else:
            assert diff == 0, task
    # restoration sees the task streams only through CTI's feedback (zero
    # at init, set to 1 above without AFU)
    assert torch.equal(clean['restoration'],
                       noisy['restoration']) != (interacts and not use_afu)


def test_cti_attention_mixes_tasks_at_init():
    torch.manual_seed(0)
    head = _head(list(ALL_TASKS)).eval()
    num_tasks = len(ALL_TASKS)
    for cti in head.ctis.values():
        feats = {
            t: torch.randn(2, CHANNELS, 4, 4)
            for t in ALL_TASKS
        }
        with torch.no_grad():
            tokens = cti.task_tokens(feats, 2).flatten(1, 2)
            attn = cti.cross_task_attention(tokens)
        n = cti.num_tokens
        blocks = attn.view(2, num_tasks, n, num_tasks, n).sum(-1)
        own = blocks.diagonal(dim1=1, dim2=3)  # (B, N, T)
        other = 1 - own
        # near-uniform attention at init: most mass on the other tasks
        assert other.min() > 0.5 * (num_tasks - 1) / num_tasks


def test_with_mae_neck():
    neck = MaENeck(IN_CHANNELS, output_mode='dual')
    head = _head(list(ALL_TASKS))
    feats = [
        torch.randn(2, c, SIZE // s, SIZE // s)
        for c, s in zip(IN_CHANNELS, (4, 8, 16, 32))
    ]
    out = head(neck(feats), torch.rand(2, 3, SIZE, SIZE))
    for key, value in out.items():
        assert value.shape == (2, OUT_CHANNELS[key], SIZE, SIZE), key
    sum(v.sum() for v in out.values()).backward()
    assert neck.unified[0].parameters().__next__().grad is not None


def test_registry_build():
    head = MODELS.build(
        dict(type='TCRHead', in_channels=IN_CHANNELS, channels=CHANNELS,
             tasks=NYUD, use_afu=False, interaction_scales=(1, 2, 3),
             num_classes=13, task_loss_weights=dict(depth=2.0)))
    assert isinstance(head, TCRHead)
    assert head.task_loss_weights['depth'] == 2.0
    assert head.task_heads['semseg'][-1].out_channels == 13
    assert not head.afus
    out = head(_neck_dict(), torch.rand(2, 3, SIZE, SIZE))
    assert out['semseg'].shape == (2, 13, SIZE, SIZE)


def test_in_multi_task_encoder_decoder():
    """ResNet + MaE neck (dual) + TCRHead in the existing segmentor."""
    model = MODELS.build(
        dict(type='MultiTaskEncoderDecoder',
             backbone=dict(type='ResNetV1c', depth=18, stem_channels=16,
                           base_channels=16),
             neck=dict(type='MaENeck', in_channels=IN_CHANNELS),
             decode_head=dict(type='TCRHead', in_channels=IN_CHANNELS,
                              channels=CHANNELS, tasks=NYUD,
                              interaction_scales=(1, 2, 3))))
    inputs = torch.randn(2, 3, SIZE, SIZE)
    samples = _samples()
    for sample in samples:
        sample.degraded_img = PixelData(data=torch.rand(3, SIZE, SIZE))
    losses = model.loss(inputs, samples)
    expected = {f'decode.loss_{t}' for t in NYUD}
    expected |= {'decode.loss_restoration', 'decode.acc_semseg'}
    assert expected <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.decode_head.ctis['3'].task_embeds.grad is not None
    model.eval()
    with torch.no_grad():
        results = model.predict(inputs, _samples())
    assert len(results) == 2


def test_merge_convs_and_multi_scale_fusion_modules():
    plain = _head(merge_convs=False)
    for name in ('j_merge_convs', 'p_merge_convs', 'j_fusion_convs',
                 'p_fusion_conv'):
        assert not hasattr(plain, name)
    head = _head(multi_scale_fusion=True)
    assert len(head.j_merge_convs) == len(head.p_merge_convs) == 4
    assert all(len(convs) == len(NYUD) for convs in head.j_merge_convs)
    # task streams: 3x3 conv + norm_cfg (BN) + ReLU
    merge = head.j_merge_convs[0]['depth']
    assert merge.conv.kernel_size == (3, 3)
    assert isinstance(merge.bn, nn.BatchNorm2d)
    # restoration stream: normalisation-free residual branches, exactly
    # zero at init
    x = torch.randn(2, CHANNELS, 8, 8)
    for block in head.p_merge_convs:
        assert torch.equal(block(x), torch.zeros_like(x))
    x4 = torch.randn(2, 4 * CHANNELS, 8, 8)
    assert torch.equal(head.p_fusion_conv(x4), torch.zeros_like(x))
    for name in ('p_merge_convs', 'p_fusion_conv'):
        assert not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            for m in getattr(head, name).modules())
    assert not hasattr(_head(multi_scale_fusion=True, restoration=False),
                       'p_fusion_conv')
    fusion = head.j_fusion_convs['semseg']
    assert fusion.conv.in_channels == 4 * CHANNELS
    assert fusion.conv.out_channels == CHANNELS


def test_fusion_kernel_size():
    head = _head(multi_scale_fusion=True, fusion_kernel_size=1)
    fusion = head.j_fusion_convs['depth'].conv
    assert fusion.kernel_size == (1, 1) and fusion.padding == (0, 0)
    assert head.p_fusion_conv[-1].kernel_size == (1, 1)
    assert _head(multi_scale_fusion=True).j_fusion_convs[
        'depth'].conv.kernel_size == (3, 3)
    out = head(_neck_dict(), torch.rand(2, 3, SIZE, SIZE))
    assert out['depth'].shape == (2, 1, SIZE, SIZE)
    for bad in (0, 2):
        with pytest.raises(ValueError, match='fusion_kernel_size'):
            _head(multi_scale_fusion=True, fusion_kernel_size=bad)


def test_multi_scale_fusion_concatenates_fine_to_coarse():
    head = _head(multi_scale_fusion=True).eval()
    inputs = _neck_dict()
    with torch.no_grad():
        head.multi_scale_fusion = False
        p_plain, finest = head.forward_decoder(inputs)
        head.multi_scale_fusion = True
        seen = {}

        class Record(nn.Module):

            def forward(self, x):
                seen['x'] = x
                return x[:, :CHANNELS]

        head.j_fusion_convs['depth'] = Record()
        p_fused, fused = head.forward_decoder(inputs)
    x = seen['x']
    assert x.shape == (2, 4 * CHANNELS, SIZE // 4, SIZE // 4)
    # the 1/4 state first, then the upsampled coarser states
    assert torch.equal(x[:, :CHANNELS], finest['depth'])
    assert torch.equal(fused['depth'], finest['depth'])
    assert not torch.equal(x[:, CHANNELS:2 * CHANNELS], x[:, :CHANNELS])
    # P: the restoration fusion is a zero-initialised residual
    assert torch.equal(p_fused, p_plain)
    # the other tasks go through their fusion convs
    assert fused['semseg'].shape == finest['semseg'].shape
    assert not torch.equal(fused['semseg'], finest['semseg'])
