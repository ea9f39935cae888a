"""NonFiniteLossHook: stop at (or skip) a NaN/inf loss before the update."""
import math
import os
import os.path as osp
import uuid
from typing import Optional

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmallnet.engine.hooks import (
    NonFiniteLossError,
    NonFiniteLossHook,
    non_finite_losses,
    non_finite_tensors,
)

MAX_ITERS = 6
BAD_ITER = 4  # 1-based: the fourth sample makes loss_b NaN


class ToyData(Dataset):
    """Sample ``i`` is ``[i + 1, 1]``; sample ``bad`` carries a NaN flag."""

    def __init__(self, bad: int, value: float = float('nan')) -> None:
        self.bad = bad
        self.value = value

    def __len__(self) -> int:
        return MAX_ITERS

    def __getitem__(self, index: int) -> dict:
        return dict(
            inputs=torch.tensor([index + 1.0, 1.0]),
            poison=torch.tensor(self.value if index == self.bad else 0.0))


class ToyModel(BaseModel):
    """A linear model with two losses; ``poison`` is added to ``loss_b``."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, poison=None, mode='loss'):
        out = self.linear(inputs)
        return dict(
            loss_a=(out - 1).pow(2).mean(),
            loss_b=out.abs().mean() + poison.sum(),
            acc=torch.tensor(float('nan')))


class WeightRecorder(Hook):
    """Keep a copy of the weights after every iteration."""

    def __init__(self) -> None:
        self.weights = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.weights.append(runner.model.linear.weight.detach().clone())


def build_runner(work_dir: str, hook: Optional[NonFiniteLossHook],
                 recorder: WeightRecorder,
                 value: float = float('nan')) -> Runner:
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        experiment_name=f'nonfinite_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=ToyData(BAD_ITER - 1, value),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=1,
            collate_fn=dict(type='default_collate'),
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[h for h in (hook, recorder) if h is not None],
        default_scope='mmengine')


def test_non_finite_losses_picks_losses_only():
    log_vars = dict(
        loss=torch.tensor(float('nan')), loss_a=torch.tensor(2.0),
        loss_b=torch.tensor(float('-inf')), acc=torch.tensor(float('nan')))
    bad = non_finite_losses(log_vars)
    assert list(bad) == ['loss', 'loss_b']
    assert math.isnan(bad['loss']) and bad['loss_b'] == float('-inf')
    assert non_finite_losses(dict(loss=torch.tensor(1.0), loss_x=3.0)) == {}


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_raise_stops_before_the_update_and_the_checkpoint(tmp_path, value):
    recorder = WeightRecorder()
    runner = build_runner(str(tmp_path), NonFiniteLossHook(), recorder, value)
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    assert f'iteration {BAD_ITER} (of {MAX_ITERS})' in message
    assert f'loss_b={value}' in message and f'loss={value}' in message
    assert 'loss_a' not in message and 'acc' not in message
    # Three good iterations ran; the fourth never reached the optimizer.
    assert len(recorder.weights) == BAD_ITER - 1
    assert torch.equal(runner.model.linear.weight, recorder.weights[-1])
    assert torch.isfinite(runner.model.linear.weight).all()
    saved = sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth'))
    assert saved == [f'iter_{i}.pth' for i in range(1, BAD_ITER)]


def test_skip_drops_the_step_counts_it_and_trains_on(tmp_path):
    recorder = WeightRecorder()
    hook = NonFiniteLossHook(action='skip')
    runner = build_runner(str(tmp_path), hook, recorder)
    runner.train()
    assert len(recorder.weights) == MAX_ITERS
    weights = recorder.weights
    # The skipped step leaves the weights as they were; the others move.
    assert torch.equal(weights[BAD_ITER - 1], weights[BAD_ITER - 2])
    assert not torch.equal(weights[BAD_ITER], weights[BAD_ITER - 1])
    assert not torch.equal(weights[BAD_ITER - 2], weights[BAD_ITER - 3])
    assert torch.isfinite(runner.model.linear.weight).all()
    hub = runner.message_hub
    assert hub.get_info('skipped_nonfinite_steps') == 1
    assert hub.get_scalar('train/skipped_nonfinite_steps').current() == 1
    # The wrapping is undone after training.
    assert 'parse_losses' not in vars(runner.model)
    assert 'update_params' not in vars(runner.optim_wrapper)
    assert osp.isfile(osp.join(tmp_path, f'iter_{MAX_ITERS}.pth'))


def test_skip_raises_beyond_max_skips(tmp_path):
    runner = build_runner(
        str(tmp_path), NonFiniteLossHook(action='skip', max_skips=0),
        WeightRecorder())
    with pytest.raises(NonFiniteLossError, match='more than max_skips=0'):
        runner.train()


def test_finite_training_is_unchanged(tmp_path):
    guarded, plain = WeightRecorder(), WeightRecorder()
    torch.manual_seed(0)
    build_runner(str(tmp_path / 'a'), NonFiniteLossHook(), guarded,
                 0.0).train()
    torch.manual_seed(0)
    build_runner(str(tmp_path / 'b'), None, plain, 0.0).train()
    assert all(torch.equal(a, b)
               for a, b in zip(guarded.weights, plain.weights))
    assert len(guarded.weights) == MAX_ITERS


def test_non_finite_weights_are_never_saved(tmp_path):
    """An update that overflows after a finite loss: the checkpoint of the
    broken weights is refused, the earlier ones stay."""

    class Overflow(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter + 1 == 2:
                with torch.no_grad():
                    runner.model.linear.bias.fill_(float('inf'))

    runner = build_runner(str(tmp_path), NonFiniteLossHook(),
                          WeightRecorder(), 0.0)
    runner.register_hook(Overflow(), priority='VERY_HIGH')
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    assert str(error.value).startswith(
        'Non-finite weights after iteration 2: 1 tensors (linear.bias); '
        'the checkpoint is not written.')
    saved = sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth'))
    assert saved == ['iter_1.pth']


def test_non_finite_tensors_lists_float_tensors_only():
    state = dict(a=torch.tensor([1.0, float('nan')]), b=torch.ones(2),
                 c=torch.tensor([3]), d=torch.tensor([float('-inf')]))
    assert non_finite_tensors(state) == ['a', 'd']


def test_bad_arguments():
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_skips'):
        NonFiniteLossHook(action='skip', max_skips=-1)
