"""Check that the model's, the datasets' and the metrics' tasks agree.

The multi-task head (``model.decode_head.tasks``), the datasets
(``<split>_dataloader.dataset.tasks``) and the metrics
(``<split>_evaluator.tasks``) each list tasks. Nothing ties them together,
so a head whose tasks are a subset of the dataset's trains silently and a
metric that scores a task the head does not predict fails only at the
first validation, after hours of training. The rule, with H the head's
tasks, D a dataset's and E a metric's:

- H ⊄ D_train: error (the head's losses need labels the data lacks);
- E ⊄ H: error (the metric scores predictions that are not produced; a
  metric's ``restoration=True`` needs the head's ``restoration=True``);
- E ⊄ D_val / D_test: error (the metric needs ground truth the data
  lacks), unless the metric scores no ground truth (``format_only``,
  ``BoundarySEISMMetric(gt_dir=...)``);
- D ⊋ H: a warning (a head trained on a subset on purpose is fine; the
  extra labels are loaded and unused).
"""
import logging
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Set, Tuple

import torch.nn as nn
from mmengine.dataset import (
    ClassBalancedDataset,
    ConcatDataset,
    RepeatDataset,
)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...datasets.degraded_benchmark import DegradedBenchmarkDataset
from ...evaluation.metrics.boundary_seism_metric import BoundarySEISMMetric
from ...evaluation.metrics.multi_task_metric import MultiTaskMetric
from ...models.decode_heads.base_multi_task_head import BaseMultiTaskHead


@dataclass(frozen=True)
class TaskUse:
    """The tasks one config entry names.

    Args:
        where (str): The config key, as named in messages, e.g.
            ``'model.decode_head.tasks'`` or
            ``'val_evaluator[1] (BoundarySEISMMetric)'``.
        tasks (tuple[str]): Dense task names.
        restoration (bool): The head predicts / the metric scores the
            restored image. Defaults to False.
        restoration_key (str, optional): Config key of that flag.
        needs_labels (bool): A metric compares with the dataset's ground
            truth. Defaults to True.
    """

    where: str
    tasks: Tuple[str, ...]
    restoration: bool = False
    restoration_key: Optional[str] = None
    needs_labels: bool = True


def _missing(needed: Iterable[str], given: Sequence[str]) -> List[str]:
    return [t for t in needed if t not in given]


def check_task_consistency(
        head: TaskUse,
        train_datasets: Sequence[TaskUse] = (),
        eval_datasets: Sequence[TaskUse] = (),
        evaluators: Sequence[TaskUse] = ()) -> List[str]:
    """Apply the rule of the module docstring.

    Args:
        head (TaskUse): The multi-task head's tasks and restoration flag.
        train_datasets (Sequence[TaskUse]): Training datasets (the leaves
            of dataset wrappers). Defaults to ().
        eval_datasets (Sequence[TaskUse]): Validation or test datasets.
            Defaults to ().
        evaluators (Sequence[TaskUse]): Metrics evaluated on
            ``eval_datasets``. Defaults to ().

    Returns:
        list[str]: Warnings (datasets that load labels the head ignores).

    Raises:
        ValueError: Listing every mismatch, each naming the config keys
            and the missing tasks.
    """
    errors: List[str] = []
    warnings: List[str] = []
    for data in train_datasets:
        missing = _missing(head.tasks, data.tasks)
        if missing:
            errors.append(
                f'`{head.where}` {list(head.tasks)} needs labels of '
                f'{missing} that `{data.where}` {list(data.tasks)} does not '
                f'load: add {missing} to the dataset\'s tasks or remove them '
                'from the head\'s.')
    for metric in evaluators:
        missing = _missing(metric.tasks, head.tasks)
        if missing:
            errors.append(
                f'`{metric.where}` {list(metric.tasks)} scores {missing}, '
                f'which `{head.where}` {list(head.tasks)} does not predict: '
                f'add {missing} to the head\'s tasks or remove them from the '
                'metric\'s.')
        if metric.restoration and not head.restoration:
            errors.append(
                f'`{metric.restoration_key}` is True but '
                f'`{head.restoration_key}` is False: the metric scores a '
                'restored image that the head does not produce; set one of '
                'them.')
        if not metric.needs_labels:
            continue
        for data in eval_datasets:
            missing = _missing(metric.tasks, data.tasks)
            if missing:
                errors.append(
                    f'`{metric.where}` {list(metric.tasks)} scores '
                    f'{missing} against ground truth that `{data.where}` '
                    f'{list(data.tasks)} does not load: add {missing} to '
                    'the dataset\'s tasks or remove them from the metric\'s.')
    for data in list(train_datasets) + list(eval_datasets):
        extra = _missing(data.tasks, head.tasks)
        if extra:
            warnings.append(
                f'`{data.where}` {list(data.tasks)} loads labels of {extra} '
                f'that `{head.where}` {list(head.tasks)} does not use; they '
                'are read and ignored. Fine if the head is meant to learn a '
                'subset of the tasks, else add them to the head.')
    if errors:
        raise ValueError('The tasks of the model, the data and the metrics '
                         'do not fit:\n  - ' + '\n  - '.join(errors))
    return warnings


def head_task_use(model: nn.Module) -> Optional[TaskUse]:
    """The multi-task head's tasks, or None for a model without one.

    Args:
        model (nn.Module): The runner's model, possibly wrapped (DDP ...).

    Returns:
        TaskUse or None: ``model.decode_head.tasks`` and ``restoration``.
    """
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'decode_head', None)
    if not isinstance(head, BaseMultiTaskHead):
        return None
    return TaskUse('model.decode_head.tasks', tuple(head.tasks),
                   bool(head.restoration), 'model.decode_head.restoration')


def dataset_task_uses(dataset, key: str) -> List[TaskUse]:
    """The tasks of a dataset and of the datasets it wraps.

    Args:
        dataset: A built dataset.
        key (str): Its config key, e.g. ``'train_dataloader.dataset'``.

    Returns:
        list[TaskUse]: One per leaf dataset that lists ``tasks``
        (``<key>.tasks``, ``<key>.datasets[i].tasks``,
        ``<key>.dataset.tasks``); datasets without ``tasks`` (stock MMSeg
        ones) give none.
    """
    if isinstance(dataset, DegradedBenchmarkDataset):
        # one config (``<key>.tasks``) for the clean set and every copy
        return dataset_task_uses(dataset.datasets[0], key)
    if isinstance(dataset, ConcatDataset):
        uses = []
        for i, child in enumerate(dataset.datasets):
            uses += dataset_task_uses(child, f'{key}.datasets[{i}]')
        return uses
    if isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        return dataset_task_uses(dataset.dataset, f'{key}.dataset')
    tasks = getattr(dataset, 'tasks', None)
    if not isinstance(tasks, (list, tuple)) or not all(
            isinstance(t, str) for t in tasks):
        return []
    return [TaskUse(f'{key}.tasks', tuple(tasks))]


def evaluator_task_uses(evaluator, key: str) -> List[TaskUse]:
    """The tasks the metrics of an evaluator score.

    Known metrics: :class:`MultiTaskMetric` (``tasks``, ``restoration``)
    and :class:`BoundarySEISMMetric` (``boundary``); others are skipped.

    Args:
        evaluator: A built :class:`mmengine.evaluator.Evaluator`.
        key (str): Its config key, e.g. ``'val_evaluator'``; with several
            metrics each is ``<key>[i]``.

    Returns:
        list[TaskUse]: One per known metric.
    """
    metrics = list(getattr(evaluator, 'metrics', []) or [])
    uses = []
    for i, metric in enumerate(metrics):
        where = key if len(metrics) == 1 else f'{key}[{i}]'
        if isinstance(metric, MultiTaskMetric):
            uses.append(
                TaskUse(f'{where}.tasks', tuple(metric.tasks),
                        bool(metric.restoration), f'{where}.restoration',
                        needs_labels=not metric.format_only))
        elif isinstance(metric, BoundarySEISMMetric):
            uses.append(
                TaskUse(f'{where} (BoundarySEISMMetric)', ('boundary', ),
                        needs_labels=not (metric.format_only
                                          or metric.gt_dir)))
    return uses


@HOOKS.register_module()
class TaskConsistencyHook(Hook):
    """Fail before training / evaluation when the tasks do not fit.

    Checks the built objects with :func:`check_task_consistency`: the
    model's multi-task head (model wrappers unwrapped), the datasets of the
    dataloaders (dataset wrappers unwrapped) and the evaluators' metrics.

    - ``before_train``: the training datasets and, when the run validates,
      the validation datasets and metrics, so a metric that would fail at
      the first validation fails before the first iteration;
    - ``before_val`` / ``before_test``: that split's datasets and metrics.

    Errors raise a ValueError naming the config keys and the missing
    tasks; warnings are logged once each. Models without a multi-task head
    (stock MMSeg segmentors) are not checked.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._warned: Set[str] = set()

    def _check(self, runner, train: bool, split: Optional[str]) -> None:
        head = head_task_use(runner.model)
        if head is None:
            return
        train_data: List[TaskUse] = []
        if train:
            train_data = dataset_task_uses(
                runner.train_loop.dataloader.dataset,
                'train_dataloader.dataset')
        eval_data: List[TaskUse] = []
        metrics: List[TaskUse] = []
        loop = getattr(runner, f'{split}_loop') if split else None
        if loop is not None:
            dataloader = getattr(loop, 'dataloader', None)
            if dataloader is not None:
                eval_data = dataset_task_uses(dataloader.dataset,
                                              f'{split}_dataloader.dataset')
            evaluator = getattr(loop, 'evaluator', None)
            if evaluator is not None:
                metrics = evaluator_task_uses(evaluator, f'{split}_evaluator')
        for message in check_task_consistency(head, train_data, eval_data,
                                              metrics):
            if message not in self._warned:
                self._warned.add(message)
                print_log(message, logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        """Check the training data and, if the run validates, validation."""
        self._check(runner, train=True,
                    split='val' if runner.val_loop is not None else None)

    def before_val(self, runner) -> None:
        """Check the validation data and metrics."""
        self._check(runner, train=False, split='val')

    def before_test(self, runner) -> None:
        """Check the test data and metrics."""
        self._check(runner, train=False, split='test')
