"""RouteLossWeightHook: the routing aux-loss weight over training."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub

from mmallnet.engine.hooks import RouteLossWeightHook


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.route_loss_weight = 0.01


def runner_for(model):
    return SimpleNamespace(
        model=model, iter=0,
        message_hub=MessageHub.get_instance('test_route_loss_weight_hook'))


def test_cosine_schedule_reaches_the_configured_weight():
    model = Model()
    runner = runner_for(model)
    hook = RouteLossWeightHook(start_weight=1.0, iters=100)
    hook.before_train(runner)
    seen = {}
    for it in (0, 50, 100, 300):
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=it)
        seen[it] = model.route_loss_weight
    assert seen[0] == pytest.approx(1.0)
    assert seen[50] == pytest.approx(0.505)  # halfway on the cosine
    assert seen[100] == pytest.approx(0.01)
    assert seen[300] == pytest.approx(0.01)
    assert runner.message_hub.get_scalar(
        'train/route_loss_weight').current() == pytest.approx(0.01)
    model.route_loss_weight = 0.5
    hook.after_train(runner)
    assert model.route_loss_weight == 0.01


def test_linear_warm_up_from_zero():
    model = Model()
    hook = RouteLossWeightHook(start_weight=0., iters=4, schedule='linear')
    hook.before_train(runner_for(model))
    assert [hook.weight_at(i) for i in range(6)] == pytest.approx(
        [0., 0.0025, 0.005, 0.0075, 0.01, 0.01])


def test_bad_arguments_and_models():
    with pytest.raises(ValueError, match='schedule'):
        RouteLossWeightHook(1., 10, schedule='step')
    with pytest.raises(ValueError, match='iters'):
        RouteLossWeightHook(1., 0)
    with pytest.raises(ValueError, match='start_weight'):
        RouteLossWeightHook(-1., 10)
    with pytest.raises(TypeError, match='route_loss_weight'):
        RouteLossWeightHook(1., 10).before_train(runner_for(nn.Linear(1, 1)))
    with pytest.raises(RuntimeError, match='before_train'):
        RouteLossWeightHook(1., 10).weight_at(0)
