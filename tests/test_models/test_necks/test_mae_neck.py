"""MaE neck: outputs, routing, sparse dispatch, aux loss, training."""
import re
from typing import List

import pytest
import torch
from mmseg.models.decode_heads import UPerHead

from mmallnet.models.layers import ComplexityMixture
from mmallnet.models.necks import MaENeck
from mmallnet.models.necks.mae_neck import backbone_out_channels
from mmallnet.structures import RoutedFeatures, routing_of

IN_CHANNELS = [16, 32, 64, 128]
STRIDES = [4, 8, 16, 32]


def make_feats(batch: int = 2, size: int = 64, seed: int = 0) -> List:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, c, size // s, size // s, generator=g)
        for c, s in zip(IN_CHANNELS, STRIDES)
    ]


def forced_mixture(channels: int = 16, top_k: int = 1) -> ComplexityMixture:
    """A mixture whose router sends a sample to expert ``e`` when the mean
    of its channel ``e`` is large (gate weight 50 on the diagonal)."""
    torch.manual_seed(0)
    mix = ComplexityMixture(channels, top_k=top_k)
    with torch.no_grad():
        mix.router.gate.weight.zero_()
        mix.router.prior.weight.zero_()
        for e in range(4):
            mix.router.gate.weight[e, e] = 50.
    return mix


def routed_input(routes: List[int], channels: int = 16) -> torch.Tensor:
    torch.manual_seed(1)
    x = torch.randn(len(routes), channels, 12, 12) * 0.1
    for b, e in enumerate(routes):
        x[b, e] += 1.
    return x


def count_calls(mix: ComplexityMixture) -> List[List[int]]:
    """Register hooks recording the batch size of every expert call."""
    calls = [[] for _ in mix.experts]
    for e, expert in enumerate(mix.experts):
        expert.register_forward_hook(
            lambda m, inp, out, e=e: calls[e].append(inp[0].shape[0]))
    return calls


@pytest.mark.parametrize('mode', ['dual', 'fused'])
def test_output_shapes(mode):
    neck = MaENeck(IN_CHANNELS, output_mode=mode)
    feats = make_feats()
    out = neck(feats)
    if mode == 'fused':
        assert isinstance(out, RoutedFeatures) and len(out) == 4
        for o, f in zip(out, feats):
            assert o.shape == f.shape
        routing = out.routing
    else:
        assert set(out) == {'restoration', 'prediction', 'routing'}
        for key in ('restoration', 'prediction'):
            assert isinstance(out[key], tuple)
            for o, f in zip(out[key], feats):
                assert o.shape == f.shape
        routing = out['routing']
    assert routing is routing_of(out)
    assert not hasattr(neck, 'last_routing')  # returned, not kept
    assert routing.aux_loss.dim() == 0
    assert routing.decisions.dtype == torch.long
    assert routing.decisions.shape == (2, 4, 1)
    assert routing.gates.shape == (2, 4, 1)
    assert routing.probs.shape == (2, 4, 4)
    assert routing.num_experts == 4
    torch.testing.assert_close(routing.probs.sum(-1), torch.ones(2, 4))
    assert ((routing.decisions >= 0) & (routing.decisions < 4)).all()
    assert ((routing.gates > 0) & (routing.gates <= 1)).all()


def test_fused_output_is_the_sum_of_the_dual_streams():
    torch.manual_seed(0)
    dual = MaENeck(IN_CHANNELS).eval()
    fused = MaENeck(IN_CHANNELS, output_mode='fused').eval()
    fused.load_state_dict(dual.state_dict())
    feats = make_feats()
    with torch.no_grad():
        a, b = dual(feats), fused(feats)
    for s in range(4):
        assert torch.equal(b[s], a['restoration'][s] + a['prediction'][s])
    for key in ('decisions', 'gates', 'probs', 'aux_loss'):
        assert torch.equal(getattr(a['routing'], key),
                           getattr(b.routing, key))


def test_complexity_is_real_parameter_count():
    neck = MaENeck(IN_CHANNELS)
    for mix in neck.mixtures:
        counts = torch.tensor(
            [sum(p.numel() for p in e.parameters()) for e in mix.experts],
            dtype=torch.float)
        torch.testing.assert_close(mix.router.complexity,
                                   counts / counts.max())
        assert not any(
            n.endswith('high_pass') for n, _ in mix.named_parameters())


def test_eval_is_deterministic_and_noise_free(monkeypatch):
    torch.manual_seed(0)
    neck = MaENeck(IN_CHANNELS).eval()
    feats = make_feats()
    calls = []
    real = torch.randn_like
    monkeypatch.setattr(torch, 'randn_like',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    with torch.no_grad():
        a, b = neck(feats), neck(feats)
    assert not calls
    for key in ('restoration', 'prediction'):
        for x, y in zip(a[key], b[key]):
            assert torch.equal(x, y)
    assert torch.equal(a['routing'].decisions, b['routing'].decisions)
    assert torch.equal(a['routing'].gates, b['routing'].gates)
    neck.train()
    neck(feats)
    assert len(calls) == 4  # one noise draw per scale, training only


def test_router_probs_in_eval_are_clean():
    mix = forced_mixture().eval()
    x = routed_input([0, 1, 2])
    base, temp = mix.router.logits(x)
    routing = mix.router(x)
    torch.testing.assert_close(routing.probs, (base / temp).softmax(-1))
    assert ((temp >= 0.5) & (temp <= 1.5)).all()


@pytest.mark.parametrize('top_k', [1, 2])
def test_batched_dispatch_equals_per_sample(top_k):
    mix = forced_mixture(top_k=top_k).eval()
    x = routed_input([2, 0, 3])
    with torch.no_grad():
        out, routing = mix(x)
        assert routing.indices[:, 0].tolist() == [2, 0, 3]
        for b in range(3):
            single, r = mix(x[b:b + 1])
            assert torch.equal(r.indices, routing.indices[b:b + 1])
            torch.testing.assert_close(
                out[b:b + 1], single, rtol=1e-5, atol=1e-6)
            # and equal to the dense formula for that sample
            ref = x[b:b + 1].clone()
            for k in range(top_k):
                e = routing.indices[b, k].item()
                ref = ref + routing.gates[b, k] * mix.experts[e](x[b:b + 1])
            torch.testing.assert_close(
                out[b:b + 1], ref, rtol=1e-5, atol=1e-6)


def test_neck_batch_equals_per_sample_in_eval():
    torch.manual_seed(0)
    neck = MaENeck(IN_CHANNELS).eval()
    feats = make_feats(batch=3, seed=3)
    with torch.no_grad():
        full = neck(feats)
        routes = full['routing'].decisions[..., 0]
        assert any(len(set(routes[:, s].tolist())) > 1 for s in range(4))
        for b in range(3):
            one = neck([f[b:b + 1] for f in feats])
            assert torch.equal(one['routing'].decisions,
                               full['routing'].decisions[b:b + 1])
            for key in ('restoration', 'prediction'):
                for x, y in zip(one[key], full[key]):
                    torch.testing.assert_close(
                        x, y[b:b + 1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('training', [False, True])
def test_only_selected_experts_run(training):
    mix = forced_mixture()
    mix.train(training)
    mix.router.use_noise = False
    calls = count_calls(mix)
    out, routing = mix(routed_input([1, 0, 1]))
    assert routing.indices[:, 0].tolist() == [1, 0, 1]
    assert calls == [[1], [2], [], []]  # expert 1 runs once on 2 samples
    if training:
        out.sum().backward()
        for e in (2, 3):  # DDP term: zero grads, but present
            for p in mix.experts[e].parameters():
                assert p.grad is not None and not p.grad.any()


def test_ddp_term_does_not_change_value():
    mix = forced_mixture().train()
    mix.router.use_noise = False
    x = routed_input([1, 0, 1])
    out, _ = mix(x)
    mix.ddp_safe = False
    ref, _ = mix(x)
    assert torch.equal(out, ref)


def test_aux_gradient_prefers_cheap_experts():
    neck = MaENeck(IN_CHANNELS)
    for mix in neck.mixtures:
        router = mix.router
        c = router.complexity
        logits = torch.zeros(4, 4, requires_grad=True)  # uniform routing
        std = torch.full((4, 1), 0.25)
        router.aux_loss(logits, logits.detach(), std).backward()
        grad = logits.grad.sum(0)
        # d aux / d logit is largest (and positive) for the most expensive
        # expert, so a descent step lowers its logit and raises the
        # cheapest one's; the expected cost drops. (The gradient is
        # quadratic in c through the softmax, so not monotone in c.)
        assert grad.argmax() == c.argmax() and grad.max() > 0
        assert grad[c.argmin()] < 0
        new_p = (logits - 0.1 * logits.grad).softmax(-1).mean(0)
        assert (new_p * c).sum() < c.mean()
    neck = MaENeck(IN_CHANNELS, complexity_bias=False)
    router = neck.mixtures[0].router
    logits = torch.zeros(4, 4, requires_grad=True)
    router.aux_loss(logits, logits.detach(),
                    torch.full((4, 1), .25)).backward()
    assert torch.allclose(logits.grad, torch.zeros(4, 4), atol=1e-7)


def test_without_experts():
    neck = MaENeck(IN_CHANNELS, use_experts=False).eval()
    feats = make_feats()
    with torch.no_grad():
        out = neck(feats)
        for s, f in enumerate(feats):
            p_tilde, j_tilde = neck.unified[s](f)
            assert torch.equal(out['restoration'][s], p_tilde)
            assert torch.equal(out['prediction'][s], j_tilde)
    assert out['routing'] is None
    assert not any('mixtures' in n for n, _ in neck.named_parameters())


def test_training_step_gives_grads():
    torch.manual_seed(0)
    neck = MaENeck(IN_CHANNELS).train()
    out = neck(make_feats())
    loss = 0.01 * out['routing'].aux_loss
    for p, j in zip(out['restoration'], out['prediction']):
        loss = loss + p.pow(2).mean() + j.pow(2).mean()
    loss.backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None]
    assert not missing
    routing = out['routing'].decisions
    for s, mix in enumerate(neck.mixtures):
        used = set(routing[:, s].flatten().tolist())
        for e, expert in enumerate(mix.experts):
            grads = [p.grad.abs().sum() for p in expert.parameters()]
            assert (sum(grads) > 0) == (e in used)
        for n, p in mix.router.named_parameters():
            assert p.grad.abs().sum() > 0, n
    for n, p in neck.unified.named_parameters():
        assert p.grad.abs().sum() > 0, n


def test_uperhead_consumes_fused_output():
    neck = MaENeck(IN_CHANNELS, output_mode='fused')
    head = UPerHead(
        in_channels=IN_CHANNELS,
        in_index=[0, 1, 2, 3],
        channels=32,
        pool_scales=(1, 2, 3, 6),
        num_classes=5)
    logits = head(neck(make_feats()))
    assert logits.shape == (2, 5, 16, 16)
    neck = MaENeck(IN_CHANNELS, output_mode='fused', use_experts=False)
    out = neck(make_feats())
    assert isinstance(out, RoutedFeatures) and out.routing is None


def test_registered_and_bad_mode():
    from mmseg.registry import MODELS

    import mmallnet.models  # noqa: F401
    neck = MODELS.build(dict(type='MaENeck', in_channels=[16, 32]))
    assert isinstance(neck, MaENeck)
    with pytest.raises(ValueError):
        MaENeck([16], output_mode='bad')


def _fit_error(given, expected, problem, source='the backbone outputs'):
    return re.escape(
        f'MaENeck: `model.neck.in_channels` does not fit the backbone: '
        f'{problem}. Expected {expected} (the channels {source} per scale, '
        f'fine to coarse), got {given}. Set model.neck.in_channels='
        f'{expected}')


def test_in_channels_are_checked_on_forward():
    neck = MaENeck([16, 32, 60, 100])
    with pytest.raises(ValueError, match=_fit_error(
            [16, 32, 60, 100], IN_CHANNELS,
            'the widths differ at scale(s) [2, 3]')):
        neck(make_feats())
    neck = MaENeck(IN_CHANNELS[:3])
    with pytest.raises(ValueError, match=_fit_error(
            IN_CHANNELS[:3], IN_CHANNELS,
            '3 scales are configured but the backbone outputs 4 feature '
            'maps')):
        neck(make_feats())
    with pytest.raises(ValueError, match=_fit_error(
            IN_CHANNELS[:3], IN_CHANNELS[:2],
            '3 scales are configured but the backbone outputs 2 feature '
            'maps')):
        neck(make_feats()[:2])


def test_backbone_out_channels():
    from mmseg.models.backbones import ResNetV1c, SwinTransformer

    from mmallnet.models.backbones import InternImage
    arch = dict(channels=8, depths=[1, 1, 1, 1], groups=[1, 2, 4, 8])
    assert backbone_out_channels(InternImage(arch)) == [8, 16, 32, 64]
    assert backbone_out_channels(InternImage(
        arch, out_indices=(1, 3))) == [16, 64]
    swin = SwinTransformer(embed_dims=16, depths=(1, 1, 1, 1),
                           num_heads=(1, 2, 4, 8), out_indices=(1, 2, 3))
    assert backbone_out_channels(swin) == [32, 64, 128]
    # no declared widths: only the forward check applies
    assert backbone_out_channels(ResNetV1c(depth=18, base_channels=8)) is None


def test_in_channels_are_checked_when_the_segmentor_is_built():
    from mmseg.registry import MODELS

    import mmallnet.models  # noqa: F401
    backbone = dict(type='InternImage', arch=dict(
        channels=8, depths=[1, 1, 1, 1], groups=[1, 2, 4, 8]))
    head = dict(type='MultiTaskFPNHead', in_channels=[8, 16, 32, 64],
                channels=8, tasks=['depth'], num_classes=3)
    model = dict(type='MultiTaskEncoderDecoder', backbone=backbone,
                 neck=dict(type='MaENeck', in_channels=[8, 16, 32, 48]),
                 decode_head=head)
    source = 'InternImage (out_indices (0, 1, 2, 3)) declares'
    with pytest.raises(ValueError, match=_fit_error(
            [8, 16, 32, 48], [8, 16, 32, 64],
            'the widths differ at scale(s) [3]', source)):
        MODELS.build(model)
    routed = dict(
        type='RoutedEncoderDecoder',
        backbone=dict(backbone, out_indices=(1, 2, 3)),
        neck=dict(type='MaENeck', in_channels=[8, 16, 32, 64],
                  output_mode='fused'),
        decode_head=dict(type='UPerHead', in_channels=[16, 32, 64],
                         in_index=[0, 1, 2], channels=8, num_classes=3))
    with pytest.raises(ValueError, match=_fit_error(
            [8, 16, 32, 64], [16, 32, 64],
            '4 scales are configured but InternImage (out_indices (1, 2, 3)) '
            'declares 3 feature maps', source.replace('0, 1, 2, 3',
                                                      '1, 2, 3'))):
        MODELS.build(routed)
    # widths that fit build; a stock backbone is checked on the forward
    MODELS.build(dict(model, neck=dict(type='MaENeck',
                                       in_channels=[8, 16, 32, 64])))
    resnet = MODELS.build(dict(
        model, backbone=dict(type='ResNetV1c', depth=18, stem_channels=8,
                             base_channels=8))).eval()
    with pytest.raises(ValueError, match=_fit_error(
            [8, 16, 32, 48], [8, 16, 32, 64],
            'the widths differ at scale(s) [3]')):
        resnet(torch.rand(1, 3, 64, 64), mode='tensor')


@pytest.mark.parametrize('switches', [
    dict(gate_mode='straight_through'),
    dict(noise_type='gumbel'),
    dict(logit_source='prior', gate_mode='renorm'),
    dict(temperature_range=(1., 1.)),
])
def test_router_switches_reach_every_scale_and_train(switches):
    torch.manual_seed(0)
    neck = MaENeck(IN_CHANNELS, **switches).train()
    for mix in neck.mixtures:
        for name, value in switches.items():
            assert getattr(mix.router, name) == value
    out = neck(make_feats())
    loss = 0.01 * out['routing'].aux_loss
    for p, j in zip(out['restoration'], out['prediction']):
        loss = loss + p.pow(2).mean() + j.pow(2).mean()
    loss.backward()
    # every parameter that exists gets a gradient (DDP needs no
    # find_unused_parameters with any switch)
    assert not [n for n, p in neck.named_parameters() if p.grad is None]
