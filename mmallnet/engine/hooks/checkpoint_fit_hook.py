"""Refuse to load a checkpoint that does not fit the model."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from mmallnet.utils.checkpoint_fit import check_checkpoint_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Check every checkpoint the runner loads against the model.

    MMEngine's runner loads ``load_from`` non-strictly. This hook runs on
    ``after_load_checkpoint`` (after the file is read, before its weights
    go into the model) and raises
    :class:`~mmallnet.utils.checkpoint_fit.CheckpointMismatchError`, naming
    the file and the missing, unexpected and wrongly shaped keys, unless
    ``allow_partial`` is set (then it warns). ``tools/test.py`` registers
    it (``--allow-partial`` to opt out).

    Args:
        filename (str, optional): The checkpoint's path, for messages.
            Defaults to None (the runner's ``load_from``).
        allow_partial (bool): Warn instead of raising. Defaults to False.
        hint (str): How to allow a partial load, for the error.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 filename: Optional[str] = None,
                 allow_partial: bool = False,
                 hint: str = 'set CheckpointFitHook(allow_partial=True) to '
                 'load the parameters that fit') -> None:
        self.filename = filename
        self.allow_partial = allow_partial
        self.hint = hint

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare ``checkpoint``'s state dict with the runner's model."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        filename = self.filename or getattr(runner, '_load_from', None)
        check_checkpoint_fits(model, checkpoint, str(filename),
                              self.allow_partial, self.hint)
