"""Does a checkpoint fit a model? Keys and shapes, before it is loaded.

MMEngine loads checkpoints non-strictly: a checkpoint of another model
prints its key mismatches and the parameters that did not match stay as
initialised, so an evaluation reports numbers of a partly random model.
:func:`check_checkpoint_fits` compares a checkpoint's state dict with the
model's and raises :class:`CheckpointMismatchError` (naming the file, the
missing, unexpected and wrongly shaped keys) unless a partial load was
asked for.
"""
import logging
import re
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Sequence, Tuple

import torch
from mmengine.logging import print_log

#: How many keys of each kind a message lists.
LISTED_KEYS = 8


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's keys or shapes do not fit the model."""


@dataclass
class CheckpointFit:
    """The comparison of a checkpoint's state dict with a model's.

    Args:
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        shape_mismatched (list[tuple]): ``(key, checkpoint shape, model
            shape)`` for keys present in both with different shapes.
        matched (int): Keys present in both with equal shapes.
    """

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shape_mismatched: List[Tuple[str, tuple, tuple]] = field(
        default_factory=list)
    matched: int = 0

    @property
    def fits(self) -> bool:
        """Whether every key is present in both with equal shapes."""
        return not (self.missing or self.unexpected or self.shape_mismatched)

    def describe(self, limit: int = LISTED_KEYS) -> str:
        """Lines listing the mismatches (at most ``limit`` keys each)."""

        def listed(keys: Sequence[str]) -> str:
            more = len(keys) - limit
            text = ', '.join(keys[:limit])
            return text + (f', ... ({more} more)' if more > 0 else '')

        lines = []
        if self.missing:
            lines.append(f'  {len(self.missing)} missing from the checkpoint '
                         f'(would stay as initialised): '
                         f'{listed(self.missing)}')
        if self.unexpected:
            lines.append(f'  {len(self.unexpected)} not in the model: '
                         f'{listed(self.unexpected)}')
        if self.shape_mismatched:
            shapes = [f'{key} {list(saved)} vs {list(wanted)}'
                      for key, saved, wanted in self.shape_mismatched]
            lines.append(f'  {len(shapes)} with other shapes (checkpoint '
                         f'vs model): {listed(shapes)}')
        return '\n'.join(lines)


def checkpoint_state_dict(
        checkpoint: Mapping[str, Any],
        revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
) -> dict:
    """The model state dict of a loaded checkpoint, keys as MMEngine
    revises them (``checkpoint['state_dict']`` when present, the
    ``'module.'`` prefix of wrapped models removed).

    Args:
        checkpoint (Mapping): What ``torch.load`` returned.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern, replacement)``
            regular expressions applied to every key, as in MMEngine's
            ``load_checkpoint``.

    Returns:
        dict: Key → tensor.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping):
        raise CheckpointMismatchError(
            'the checkpoint holds no state dict (expected a mapping of '
            f'tensors, got {type(state_dict).__name__})')
    revised = {}
    for key, value in state_dict.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


def compare_state_dicts(model: torch.nn.Module,
                        state_dict: Mapping[str, Any]) -> CheckpointFit:
    """Compare a state dict's keys and shapes with a model's.

    Args:
        model (nn.Module): The model (unwrapped).
        state_dict (Mapping): Key → tensor, as loaded.

    Returns:
        CheckpointFit: Missing, unexpected and wrongly shaped keys.
    """
    wanted = model.state_dict()
    fit = CheckpointFit()
    for key, tensor in wanted.items():
        if key not in state_dict:
            fit.missing.append(key)
            continue
        saved = state_dict[key]
        saved_shape = tuple(getattr(saved, 'shape', ()))
        if saved_shape != tuple(tensor.shape):
            fit.shape_mismatched.append(
                (key, saved_shape, tuple(tensor.shape)))
        else:
            fit.matched += 1
    fit.unexpected = [key for key in state_dict if key not in wanted]
    return fit


def check_checkpoint_fits(model: torch.nn.Module,
                          checkpoint: Mapping[str, Any],
                          filename: str,
                          allow_partial: bool = False,
                          hint: str = 'pass allow_partial=True to load the '
                          'parameters that fit') -> CheckpointFit:
    """Raise unless ``checkpoint`` fits ``model`` key for key and shape.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (Mapping): The loaded checkpoint.
        filename (str): Its path, for the message.
        allow_partial (bool): Warn instead of raising. Defaults to False.
        hint (str): How to allow a partial load, appended to the error.

    Returns:
        CheckpointFit: The comparison.

    Raises:
        CheckpointMismatchError: A mismatch and ``allow_partial`` is False.
    """
    fit = compare_state_dicts(model, checkpoint_state_dict(checkpoint))
    if fit.fits:
        return fit
    head = (f'Checkpoint {filename} does not fit the model '
            f'({type(model).__name__}): {fit.matched} of '
            f'{fit.matched + len(fit.missing) + len(fit.shape_mismatched)} '
            'model keys match.')
    if fit.matched == 0:
        head += ' No key matches: is it a checkpoint of another model?'
    if not allow_partial:
        raise CheckpointMismatchError(f'{head}\n{fit.describe()}\n'
                                      f'Refusing to load it; {hint}.')
    print_log(
        f'{head}\n{fit.describe()}\nLoading the {fit.matched} keys that fit '
        '(partial load allowed).',
        logger='current',
        level=logging.WARNING)
    return fit


#: Model types that load their own weights when built, and the config keys
#: naming the files (all must be set for the model to need no checkpoint).
SELF_LOADING_MODELS = {
    'TwoStageCascade': ('restorer_checkpoint', 'predictor_checkpoint'),
}


def config_weight_files(model_cfg: Mapping) -> List[str]:
    """The checkpoints a model config loads itself when it is built.

    A :class:`~mmallnet.models.segmentors.TwoStageCascade` whose
    ``restorer_checkpoint`` and ``predictor_checkpoint`` are both set holds
    trained weights without a checkpoint of the whole model (each stage
    trained alone); every other model would be random without one.

    Args:
        model_cfg (Mapping): The config's ``model`` dict.

    Returns:
        list[str]: The files, in the order of the config keys.

    Raises:
        ValueError: The model does not load all of its weights itself; the
            message names the model type and the keys that are unset.
    """
    model_type = model_cfg.get('type')
    keys = SELF_LOADING_MODELS.get(model_type)
    if keys is None:
        raise ValueError(
            f'A checkpoint is required: model type {model_type!r} does not '
            'load its weights when it is built, so it would be tested with '
            'random weights. Only a TwoStageCascade whose model.'
            'restorer_checkpoint and model.predictor_checkpoint are both '
            'set can be tested without one.')
    unset = [key for key in keys if not model_cfg.get(key)]
    if unset:
        raise ValueError(
            f'A checkpoint is required: the {model_type} config leaves '
            f'{", ".join("model." + k for k in unset)} unset, so that stage '
            'would be tested with random weights. Set it (e.g. --cfg-options '
            f'model.{unset[0]}=PATH) or pass a checkpoint of the whole '
            'model.')
    return [model_cfg[key] for key in keys]
