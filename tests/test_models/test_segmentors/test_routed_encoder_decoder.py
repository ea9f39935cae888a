"""RoutedEncoderDecoder: a stock UPerHead on the MaE neck's fused output
trains the router with the aux loss and records the routing."""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS

from mmallnet.structures import routing_of
from mmallnet.testing import multi_task_batch

NUM_CLASSES = 5
WIDTHS = [16, 32, 64, 128]
MODEL = dict(
    type='RoutedEncoderDecoder',
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=16,
                  base_channels=16, norm_cfg=dict(type='BN')),
    neck=dict(type='MaENeck', in_channels=WIDTHS, output_mode='fused'),
    decode_head=dict(type='UPerHead', in_channels=WIDTHS, in_index=[0, 1, 2,
                                                                    3],
                     pool_scales=(1, 2, 3, 6), channels=16, dropout_ratio=0,
                     num_classes=NUM_CLASSES, norm_cfg=dict(type='BN'),
                     loss_decode=dict(type='CrossEntropyLoss')),
    route_loss_weight=0.5,
    test_cfg=ConfigDict(mode='whole'))
ROUTE_KEYS = {'route.loss_aux'} | {f'route.expert{k}' for k in range(4)}


def build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(dict(copy.deepcopy(MODEL), **overrides))


def batch():
    return multi_task_batch(((64, 64), (64, 64)), num_classes=NUM_CLASSES)


def router_grads(model, losses):
    model.zero_grad()
    model.parse_losses(losses)[0].backward()
    return torch.cat([
        mix.router.gate.weight.grad.flatten() for mix in model.neck.mixtures
    ])


def test_losses_include_the_weighted_aux_loss_and_expert_shares():
    model = build().train()
    inputs, samples = batch()
    torch.manual_seed(1)
    losses = model.loss(inputs, samples)
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'} | ROUTE_KEYS
    torch.manual_seed(1)  # the same routing noise
    routing = routing_of(model.extract_feat(inputs))
    torch.testing.assert_close(losses['route.loss_aux'],
                               0.5 * routing.aux_loss)
    shares = torch.stack([losses[f'route.expert{k}'] for k in range(4)])
    # 2 images x 4 scales x top-1 = 8 decisions
    torch.testing.assert_close(
        shares,
        torch.bincount(routing.decisions.flatten(), minlength=4).float() / 8)


def test_the_router_trains_on_the_aux_loss():
    """The router's gradient is the task loss's plus the aux loss's: what a
    plain EncoderDecoder (task loss only) gives, and more."""
    inputs, samples = batch()
    plain_cfg = {k: v for k, v in MODEL.items() if k != 'route_loss_weight'}
    plain = MODELS.build(dict(copy.deepcopy(plain_cfg),
                              type='EncoderDecoder')).train()
    assert type(plain) is EncoderDecoder
    routed = build().train()
    plain.load_state_dict(routed.state_dict())
    torch.manual_seed(1)
    plain_losses = plain.loss(inputs, samples)
    assert not set(plain_losses) & ROUTE_KEYS
    plain_grad = router_grads(plain, plain_losses)
    torch.manual_seed(1)
    routed_losses = routed.loss(inputs, samples)
    routed_grad = router_grads(routed, routed_losses)
    torch.manual_seed(1)
    aux = routing_of(routed.extract_feat(inputs)).aux_loss
    routed.zero_grad()
    (0.5 * aux).backward()
    aux_grad = torch.cat([
        mix.router.gate.weight.grad.flatten()
        for mix in routed.neck.mixtures
    ])
    assert aux_grad.abs().sum() > 0
    torch.testing.assert_close(routed_grad, plain_grad + aux_grad)


def test_predictions_carry_the_routing():
    model = build().eval()
    inputs, samples = batch()
    with torch.no_grad():
        results = model.predict(inputs, samples)
        routing = routing_of(model.extract_feat(inputs))
        plain = EncoderDecoder.predict(model, inputs, batch()[1])
    for i, result in enumerate(results):
        assert result.routing == routing.decisions[i].tolist()
        assert result.routing_gates == routing.gates[i].tolist()
        assert result.routing_probs == routing.probs[i].tolist()
        # the segmentation is EncoderDecoder's
        assert torch.equal(result.pred_sem_seg.data,
                           plain[i].pred_sem_seg.data)
    # without data samples, as mmseg builds them
    with torch.no_grad():
        results = model.predict(inputs)
    assert results[1].routing == routing.decisions[1].tolist()


def test_no_routing_without_experts():
    neck = dict(MODEL['neck'], use_experts=False)
    model = build(neck=neck).train()
    inputs, samples = batch()
    assert not set(model.loss(inputs, samples)) & ROUTE_KEYS
    with torch.no_grad():
        results = model.eval().predict(inputs, samples)
    assert 'routing' not in results[0]


def test_config_errors():
    with pytest.raises(ValueError, match='`neck` is required'):
        build(neck=None)
    with pytest.raises(ValueError, match="'whole'"):
        build(test_cfg=dict(mode='slide', crop_size=(32, 32),
                            stride=(16, 16)))
    model = build(neck=dict(MODEL['neck'], output_mode='dual'))
    with pytest.raises(ValueError, match="output_mode='fused'"):
        model.loss(*batch())
