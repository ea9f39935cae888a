"""Stop (or skip) a training step whose loss is not finite."""
import logging
import math
from typing import Callable, Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmseg.registry import HOOKS

#: Message-hub runtime-info key of the number of skipped steps (saved in
#: checkpoints, so the count survives ``--resume``).
SKIPPED_STEPS_KEY = 'skipped_nonfinite_steps'
#: How many tensor names an error lists.
LISTED_TENSORS = 5


class NonFiniteLossError(FloatingPointError):
    """A training loss is NaN or infinite."""


def non_finite_losses(log_vars: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """The loss entries of ``log_vars`` that are NaN or infinite.

    Args:
        log_vars (dict[str, Tensor]): ``parse_losses``' second output: the
            total ``'loss'`` and every task loss (keys containing
            ``'loss'``) plus other logged values (accuracies …), which are
            not checked.

    Returns:
        dict[str, float]: Name → value of each non-finite loss, in
        ``log_vars`` order (empty when all are finite).
    """
    bad = {}
    for name, value in log_vars.items():
        if 'loss' not in name:
            continue
        value = float(value.detach().float().mean()) if isinstance(
            value, torch.Tensor) else float(value)
        if not math.isfinite(value):
            bad[name] = value
    return bad


def non_finite_tensors(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors holding a NaN or an infinity.

    Args:
        state_dict (dict[str, Tensor]): A model state dict.

    Returns:
        list[str]: The names, in ``state_dict`` order.
    """
    return [
        name for name, value in state_dict.items()
        if isinstance(value, torch.Tensor) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first non-finite loss, or skip that step.

    MMEngine optimises whatever the loss is: a NaN loss turns the weights
    into NaN, training runs to the end and the checkpoint hook saves NaN
    weights over the good ones. This hook checks the total and every task
    loss of each iteration after the forward pass and before the
    optimizer step (it wraps the model's ``parse_losses`` and the optim
    wrapper's ``update_params`` for the duration of training).

    - ``action='raise'`` (default): raise :class:`NonFiniteLossError`
      naming the iteration and the non-finite losses. The weights are
      those of the previous iteration and no checkpoint is written from
      this state.
    - ``action='skip'``: drop this step's gradients and go on, warning
      with the same message; the number of skipped steps is logged as
      ``skipped_nonfinite_steps`` and kept in checkpoints. ``max_skips``
      bounds it (then the hook raises).

    Whatever the action, a checkpoint whose weights are not finite (an
    update that overflowed after a finite loss) is never written: the hook
    raises in ``before_save_checkpoint``.

    With several processes the ranks agree (one ``all_reduce`` per
    iteration), so they all raise or all skip.

    Args:
        action (str): ``'raise'`` or ``'skip'``. Defaults to 'raise'.
        max_skips (int, optional): With ``'skip'``, raise once more steps
            than this were skipped. Defaults to None (no bound).
    """

    priority = 'VERY_HIGH'
    _ACTIONS = ('raise', 'skip')

    def __init__(self, action: str = 'raise',
                 max_skips: Optional[int] = None) -> None:
        if action not in self._ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action must be one of '
                             f'{self._ACTIONS}, got {action!r}')
        if max_skips is not None and max_skips < 0:
            raise ValueError('NonFiniteLossHook: max_skips must be >= 0 or '
                             f'None, got {max_skips}')
        self.action = action
        self.max_skips = max_skips
        self._skip_step = False
        self._restore: List[Callable[[], None]] = []

    def before_train(self, runner) -> None:
        """Wrap ``parse_losses`` (and ``update_params`` when skipping)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        optim_wrapper = runner.optim_wrapper
        if self.action == 'skip' and not isinstance(optim_wrapper,
                                                    OptimWrapper):
            raise TypeError(
                "NonFiniteLossHook(action='skip') needs one OptimWrapper "
                f'(optim_wrapper), got {type(optim_wrapper).__name__}; use '
                "action='raise' with several optimizers.")
        distributed = get_world_size() > 1
        parse_losses = model.parse_losses

        def guarded_parse_losses(losses):
            loss, log_vars = parse_losses(losses)
            bad = non_finite_losses(log_vars)
            if distributed:
                flag = torch.tensor(float(bool(bad)), device=loss.device)
                all_reduce(flag, op='sum')
                if flag.item() > 0 and not bad:
                    bad = {'loss (on another rank)': float('nan')}
            self._skip_step = bool(bad)
            if bad:
                self._on_non_finite(runner, bad)
            return loss, log_vars

        self._patch(model, 'parse_losses', guarded_parse_losses)
        if self.action == 'skip':
            update_params = optim_wrapper.update_params

            def guarded_update_params(loss, *args, **kwargs):
                if not self._skip_step:
                    return update_params(loss, *args, **kwargs)
                if distributed:
                    # DDP expects a backward after every training forward;
                    # the gradients are dropped below.
                    optim_wrapper.backward(loss * 0)
                optim_wrapper.zero_grad()

            self._patch(optim_wrapper, 'update_params', guarded_update_params)

    def _patch(self, obj, name: str, wrapper: Callable) -> None:
        """Set ``obj.name = wrapper`` until :meth:`after_train`."""
        had_own = name in vars(obj)
        original = vars(obj).get(name)
        setattr(obj, name, wrapper)

        def restore() -> None:
            if had_own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)

        self._restore.append(restore)

    def _on_non_finite(self, runner, bad: Dict[str, float]) -> None:
        """Raise, or count the skipped step and warn."""
        values = ', '.join(f'{name}={value}' for name, value in bad.items())
        where = (f'iteration {runner.iter + 1} (of {runner.max_iters})'
                 if runner.max_iters else f'iteration {runner.iter + 1}')
        if self.action == 'raise':
            raise NonFiniteLossError(
                f'Non-finite loss at {where}: {values}. Training stopped '
                'before the optimizer step: the weights are those of the '
                'previous iteration and no checkpoint was written from this '
                'state. Lower the learning rate or check the data; '
                "NonFiniteLossHook(action='skip') skips such steps instead.")
        skipped = runner.message_hub.get_info(SKIPPED_STEPS_KEY, 0) + 1
        runner.message_hub.update_info(SKIPPED_STEPS_KEY, skipped)
        if self.max_skips is not None and skipped > self.max_skips:
            raise NonFiniteLossError(
                f'Non-finite loss at {where}: {values}; {skipped} steps '
                f'skipped, more than max_skips={self.max_skips}.')
        print_log(
            f'Non-finite loss at {where}: {values}; step skipped '
            f'({skipped} so far).',
            logger='current',
            level=logging.WARNING)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to write a checkpoint whose weights are not finite.

        A finite loss can still be followed by an update that overflows
        (a far too large learning rate); the next loss would be caught, but
        a checkpoint saved in between would hold the broken weights.
        """
        bad = non_finite_tensors(checkpoint.get('state_dict', {}))
        if not bad:
            return
        listed = ', '.join(bad[:LISTED_TENSORS])
        more = len(bad) - LISTED_TENSORS
        listed += f', ... ({more} more)' if more > 0 else ''
        raise NonFiniteLossError(
            f'Non-finite weights after iteration {runner.iter + 1}: '
            f'{len(bad)} tensors ({listed}); the checkpoint is not written. '
            'The loss was finite but the update overflowed: lower the '
            'learning rate or clip the gradients (optim_wrapper.clip_grad).')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Log the number of skipped steps once there is one."""
        skipped = runner.message_hub.get_info(SKIPPED_STEPS_KEY, 0)
        if skipped:
            runner.message_hub.update_scalar(f'train/{SKIPPED_STEPS_KEY}',
                                             skipped)

    def after_train(self, runner) -> None:
        """Undo the wrapping."""
        while self._restore:
            self._restore.pop()()
