"""Schedule the weight of the MaE routing auxiliary loss over training."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

SCHEDULES = ('cosine', 'linear')


@HOOKS.register_module()
class RouteLossWeightHook(Hook):
    """Move ``model.route_loss_weight`` from ``start_weight`` to its value.

    Over the first ``iters`` training iterations the weight of the routing
    auxiliary loss goes from ``start_weight`` to the weight the model was
    configured with (``model.route_loss_weight``), by a half cosine or a
    straight line, and stays there afterwards. A large start (e.g. 1.0
    against the paper's 0.01) balances the experts while the router and
    the experts are young, before the task loss makes one expert win
    everywhere; a start of 0 is a plain warm-up. The weight in use is
    logged as ``route_loss_weight``.

    Args:
        start_weight (float): Weight at iteration 0.
        iters (int): Iterations to reach the configured weight.
        schedule (str): ``'cosine'`` or ``'linear'``.
            Defaults to 'cosine'.
    """

    priority = 'NORMAL'

    def __init__(self,
                 start_weight: float,
                 iters: int,
                 schedule: str = 'cosine') -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f'RouteLossWeightHook: schedule must be one of '
                             f'{SCHEDULES}, got {schedule!r}')
        if iters < 1:
            raise ValueError(
                f'RouteLossWeightHook: iters must be >= 1, got {iters}')
        if start_weight < 0:
            raise ValueError('RouteLossWeightHook: start_weight must be >= '
                             f'0, got {start_weight}')
        self.start_weight = float(start_weight)
        self.iters = int(iters)
        self.schedule = schedule
        self.end_weight: Optional[float] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if not hasattr(model, 'route_loss_weight'):
            raise TypeError(
                'RouteLossWeightHook: the model '
                f'({type(model).__name__}) has no `route_loss_weight`; '
                'use it with MultiTaskEncoderDecoder or '
                'RoutedEncoderDecoder and a routed MaENeck.')
        return model

    def weight_at(self, it: int) -> float:
        """The weight at training iteration ``it`` (0-based).

        Args:
            it (int): Iteration.

        Returns:
            float: The scheduled weight.
        """
        if self.end_weight is None:
            raise RuntimeError('RouteLossWeightHook: weight_at needs the '
                               'configured weight; call before_train first.')
        if it >= self.iters:
            return self.end_weight
        t = it / self.iters
        if self.schedule == 'cosine':
            mix = 0.5 * (1 + math.cos(math.pi * t))
        else:
            mix = 1 - t
        return self.end_weight + (self.start_weight - self.end_weight) * mix

    def before_train(self, runner) -> None:
        """Remember the configured weight."""
        self.end_weight = float(self._model(runner).route_loss_weight)
        print_log(
            f'RouteLossWeightHook: route_loss_weight {self.start_weight:g} '
            f'-> {self.end_weight:g} over {self.iters} iterations '
            f'({self.schedule}).', logger='current')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Set this iteration's weight and log it."""
        weight = self.weight_at(runner.iter)
        self._model(runner).route_loss_weight = weight
        runner.message_hub.update_scalar('train/route_loss_weight', weight)

    def after_train(self, runner) -> None:
        """Leave the model with its configured weight."""
        self._model(runner).route_loss_weight = self.end_weight
