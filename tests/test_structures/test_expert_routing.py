"""ExpertRouting: losses, metainfo and how neck outputs carry it."""
import math

import pytest
import torch

from mmallnet.models.layers.image_router import Routing
from mmallnet.structures import (
    ROUTING_METAINFO_KEYS,
    ExpertRouting,
    RoutedFeatures,
    routing_of,
)
from mmallnet.structures.expert_routing import (
    routing_losses,
    stack_scales,
    type_given_expert_entropy,
    write_routing,
)
from mmallnet.structures.multi_task_data_sample import MultiTaskDataSample


def routing() -> ExpertRouting:
    # 2 images, 3 scales, top-1 of 4 experts
    decisions = torch.tensor([[[0], [2], [2]], [[1], [2], [3]]])
    probs = torch.tensor([[[.7, .1, .1, .1], [.1, .1, .6, .2],
                           [.2, .2, .5, .1]],
                          [[.1, .8, .05, .05], [.3, .1, .4, .2],
                           [.1, .1, .1, .7]]])
    gates = probs.gather(2, decisions)
    return ExpertRouting(decisions=decisions, gates=gates, probs=probs,
                         aux_loss=torch.tensor(0.25))


def test_losses_are_the_weighted_aux_loss_and_expert_shares():
    losses = routing().losses(weight=0.1)
    assert set(losses) == {'route.loss_aux'} | {
        f'route.expert{k}' for k in range(4)
    }
    torch.testing.assert_close(losses['route.loss_aux'], torch.tensor(0.025))
    # 6 decisions: expert 0 once, 1 once, 2 three times, 3 once
    shares = torch.stack([losses[f'route.expert{k}'] for k in range(4)])
    assert torch.equal(shares, torch.tensor([1., 1., 3., 1.]) / 6)


def test_unused_experts_get_a_zero_share():
    r = routing()
    r = ExpertRouting(decisions=torch.zeros_like(r.decisions),
                      gates=r.gates, probs=r.probs, aux_loss=r.aux_loss)
    losses = r.losses(1.0)
    assert losses['route.expert0'].item() == 1.0
    assert losses['route.expert3'].item() == 0.0


def test_sample_metainfo_and_write_to():
    r = routing()
    meta = r.sample_metainfo(1)
    assert tuple(meta) == ROUTING_METAINFO_KEYS
    assert meta['routing'] == [[1], [2], [3]]
    assert meta['routing_gates'] == r.gates[1].tolist()
    assert [g for (g, ) in meta['routing_gates']] == pytest.approx(
        [.8, .4, .7])
    assert meta['routing_probs'][2] == pytest.approx([.1, .1, .1, .7])
    samples = [MultiTaskDataSample(), MultiTaskDataSample()]
    r.write_to(samples)
    assert samples[0].routing == [[0], [2], [2]]
    assert samples[1].routing_probs == meta['routing_probs']


def test_routed_features_is_a_tuple_with_routing():
    maps = [torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 2, 2)]
    r = routing()
    features = RoutedFeatures(maps, r)
    assert isinstance(features, tuple) and len(features) == 2
    assert features[1] is maps[1]
    assert [features[i] for i in (1, 0)] == [maps[1], maps[0]]
    assert routing_of(features) is r
    assert routing_of(RoutedFeatures(maps, None)) is None


def test_routing_of_other_outputs():
    r = routing()
    assert routing_of(dict(restoration=(), routing=r)) is r
    assert routing_of(dict(restoration=())) is None
    assert routing_of((torch.zeros(1), )) is None  # a plain neck / backbone
    with pytest.raises(TypeError, match='ExpertRouting'):
        routing_of(dict(routing=torch.zeros(2, 3, 1)))


def test_stack_scales():
    per_scale = [
        Routing(indices=torch.tensor([[s], [3 - s]]),
                gates=torch.full((2, 1), 0.5),
                probs=torch.full((2, 4), 0.25),
                aux_loss=torch.tensor(float(s))) for s in range(3)
    ]
    r = stack_scales(per_scale)
    assert r.decisions.tolist() == [[[0], [1], [2]], [[3], [2], [1]]]
    assert r.probs.shape == (2, 3, 4) and r.gates.shape == (2, 3, 1)
    assert r.aux_loss.item() == 1.0  # mean over scales
    assert stack_scales([]) is None


def test_routing_losses_and_write_routing_of_neck_outputs():
    r = routing()
    features = RoutedFeatures([torch.zeros(2, 1, 2, 2)], r)
    assert routing_losses((torch.zeros(1), ), 0.1) == {}
    losses = routing_losses(features, 0.1)
    assert set(losses) == set(r.losses(0.1))
    torch.testing.assert_close(losses['route.loss_aux'], torch.tensor(0.025))
    samples = [MultiTaskDataSample(), MultiTaskDataSample()]
    write_routing(dict(routing=None), samples)
    assert 'routing' not in samples[0]
    write_routing(dict(routing=r), samples)
    assert samples[1].routing == [[1], [2], [3]]


def test_type_given_expert_entropy_exact_values():
    types = ['rain', 'rain', 'fog', 'fog']
    one_hot = torch.eye(4)
    # scale 0: the expert names the type (0 bit); scale 1: every image on
    # one expert (H(T) = 1 bit); scale 2: uniform probabilities (1 bit)
    probs = torch.stack([
        one_hot[[0, 0, 3, 3]],
        one_hot[[2, 2, 2, 2]],
        torch.full((4, 4), .25),
    ], dim=1)
    torch.testing.assert_close(type_given_expert_entropy(probs, types),
                               torch.tensor([0., 1., 1.]))
    # rain -> E1; fog split between E1 and E2: P(E1) = 3/4 holds rain 2/3,
    # fog 1/3, so H(T | E) = 3/4 * H(2/3, 1/3)
    probs = one_hot[[0, 0, 0, 1]][:, None]
    h = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    torch.testing.assert_close(type_given_expert_entropy(probs, types),
                               torch.tensor([.75 * h]))
    with pytest.raises(ValueError, match='degradation types'):
        type_given_expert_entropy(probs, types[:3])


def test_type_loss_rewards_telling_types_apart():
    def routed(logits):
        return dict(routing=ExpertRouting(
            decisions=torch.zeros(4, 1, 1, dtype=torch.long),
            gates=torch.ones(4, 1, 1), probs=logits.softmax(-1),
            aux_loss=torch.tensor(0.)))

    samples = [MultiTaskDataSample(metainfo=dict(degradation_type=t))
               for t in ('rain', 'rain', 'fog', 'fog')]
    # uniform routing: H(T | E) = H(T) = 1 bit
    losses = routing_losses(routed(torch.zeros(4, 1, 2)), 0.01, 0.5, samples)
    torch.testing.assert_close(losses['route.loss_type'], torch.tensor(.5))
    # rain leaning to E1: descending the loss sends rain further to E1 and
    # fog to E2
    logits = torch.tensor([[[.1, 0.]], [[.1, 0.]], [[0., 0.]], [[0., 0.]]],
                          requires_grad=True)
    routing_losses(routed(logits), 0.01, 0.5,
                   samples)['route.loss_type'].backward()
    step = -logits.grad[:, 0]
    lean = step[:, 0] - step[:, 1]
    assert (lean[:2] > 0).all() and (lean[2:] < 0).all()
    # off by default, and a sample without a type is an error when on
    assert 'route.loss_type' not in routing_losses(routed(logits), 0.01)
    with pytest.raises(KeyError, match='degradation_type'):
        routing_losses(routed(logits), 0.01, 0.5,
                       [MultiTaskDataSample()] * 4)
