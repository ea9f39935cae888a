"""TaskConsistencyHook: head, dataset and metric tasks must agree."""
import copy
import glob
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.evaluator import Evaluator
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmallnet.datasets import NYUDMultiTaskDataset
from mmallnet.engine.hooks import (
    TaskConsistencyHook,
    TaskUse,
    check_task_consistency,
)
from mmallnet.engine.hooks import task_consistency_hook as module
from mmallnet.evaluation import MultiTaskMetric
from mmallnet.evaluation.metrics.boundary_seism_metric import (
    BoundarySEISMMetric,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'allnet',
                'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
HEAD = 'model.decode_head.tasks'
TRAIN = 'train_dataloader.dataset.tasks'
VAL = 'val_dataloader.dataset.tasks'


def _head(tasks, restoration=True):
    return TaskUse(HEAD, tuple(tasks), restoration,
                   'model.decode_head.restoration')


def _metric(tasks, key='val_evaluator', restoration=False, **kwargs):
    return TaskUse(f'{key}.tasks', tuple(tasks), restoration,
                   f'{key}.restoration', **kwargs)


def _error(*lines):
    return re.escape('The tasks of the model, the data and the metrics do '
                     'not fit:\n  - ' + '\n  - '.join(lines)) + '$'


def _unused(where, tasks, extra, head):
    return (f'`{where}` {tasks} loads labels of {extra} that `{HEAD}` '
            f'{head} does not use; they are read and ignored. Fine if the '
            'head is meant to learn a subset of the tasks, else add them to '
            'the head.')


def test_rule():
    tasks = ['semseg', 'depth']
    head = _head(tasks)
    assert check_task_consistency(
        head, [TaskUse(TRAIN, tuple(tasks))], [TaskUse(VAL, ('depth',
                                                            'semseg'))],
        [_metric(['depth'], restoration=True)]) == []
    # the head needs labels the data lacks
    with pytest.raises(ValueError, match=_error(
            f"`{HEAD}` ['semseg', 'depth'] needs labels of ['depth'] that "
            f"`{TRAIN}` ['semseg'] does not load: add ['depth'] to the "
            "dataset's tasks or remove them from the head's.")):
        check_task_consistency(head, [TaskUse(TRAIN, ('semseg', ))])
    # the metric scores a task that is not predicted (and the restoration)
    with pytest.raises(ValueError, match=_error(
            "`val_evaluator.tasks` ['semseg', 'normals'] scores ['normals'], "
            f"which `{HEAD}` ['semseg', 'depth'] does not predict: add "
            "['normals'] to the head's tasks or remove them from the "
            "metric's.",
            '`val_evaluator.restoration` is True but '
            '`model.decode_head.restoration` is False: the metric scores a '
            'restored image that the head does not produce; set one of '
            'them.')):
        check_task_consistency(
            _head(tasks, restoration=False), [], [],
            [_metric(['semseg', 'normals'], restoration=True)])
    # the metric needs ground truth the evaluation data lacks
    with pytest.raises(ValueError, match=_error(
            "`test_evaluator.tasks` ['depth'] scores ['depth'] against "
            f"ground truth that `{VAL}` ['semseg'] does not load: add "
            "['depth'] to the dataset's tasks or remove them from the "
            "metric's.")):
        check_task_consistency(head, [], [TaskUse(VAL, ('semseg', ))],
                               [_metric(['depth'], 'test_evaluator')])
    # ... unless it scores no ground truth (format_only)
    assert check_task_consistency(
        head, [], [TaskUse(VAL, ())],
        [_metric(['depth'], needs_labels=False)]) == []
    # a head on a subset of the tasks of the data: a warning per dataset
    data = ('semseg', 'depth', 'normals')
    assert check_task_consistency(
        head, [TaskUse(TRAIN, data)], [TaskUse(VAL, data)],
        [_metric(['semseg'])]) == [
            _unused(TRAIN, list(data), ['normals'], tasks),
            _unused(VAL, list(data), ['normals'], tasks)]


BACKBONE = dict(type='ResNetV1c', depth=18, stem_channels=8,
                base_channels=8)


def _model(tasks, restoration=True):
    return MODELS.build(dict(
        type='MultiTaskEncoderDecoder', backbone=BACKBONE,
        decode_head=dict(type='MultiTaskFPNHead', in_channels=[8, 16, 32, 64],
                         channels=8, tasks=tasks, num_classes=5,
                         restoration=restoration)))


def _runner(model, train=None, val=None, val_metrics=(), test=None,
            test_metrics=()):
    def loop(dataset, metrics):
        return SimpleNamespace(
            dataloader=SimpleNamespace(dataset=dataset),
            evaluator=Evaluator(list(metrics)))
    return SimpleNamespace(
        model=model,
        train_loop=SimpleNamespace(
            dataloader=SimpleNamespace(dataset=train)),
        val_loop=loop(val, val_metrics) if val is not None else None,
        test_loop=loop(test, test_metrics) if test is not None else None)


@MODEL_WRAPPERS.register_module(force=True)
class _TestWrapper(nn.Module):
    """A model wrapper (as DDP) for the unwrapping test."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


@pytest.fixture
def logged(monkeypatch):
    messages = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


def test_hook_checks_built_objects(nyud_root, logged):
    root = nyud_root['root']

    def nyud(tasks, split='train'):
        return NYUDMultiTaskDataset(data_root=root, split=split, tasks=tasks)

    hook = TaskConsistencyHook()
    assert hook.priority == 'VERY_HIGH'
    head_tasks = ['semseg', 'depth']
    model = _TestWrapper(_model(head_tasks))
    metrics = [MultiTaskMetric(tasks=['semseg'], restoration=True)]
    # consistent: passes, nothing logged
    runner = _runner(model, nyud(head_tasks), nyud(head_tasks, 'val'),
                     metrics)
    hook.before_train(runner)
    hook.before_val(runner)
    assert logged == []
    # a subset of the training data's tasks: one warning, logged once
    data = ['semseg', 'depth', 'normals']
    runner = _runner(model, RepeatDataset(nyud(data), times=2),
                     nyud(head_tasks, 'val'), metrics)
    hook.before_train(runner)
    hook.before_train(runner)
    assert logged == [_unused('train_dataloader.dataset.dataset.tasks',
                              data, ['normals'], head_tasks)]
    # the val metric would fail at the first validation: fails before
    # training, naming the evaluator of several metrics by index
    runner = _runner(model, nyud(head_tasks), nyud(head_tasks, 'val'), [
        MultiTaskMetric(tasks=['semseg'], restoration=True),
        BoundarySEISMMetric()])
    message = _error(
        "`val_evaluator[1] (BoundarySEISMMetric)` ['boundary'] scores "
        f"['boundary'], which `{HEAD}` ['semseg', 'depth'] does not "
        "predict: add ['boundary'] to the head's tasks or remove them from "
        "the metric's.",
        "`val_evaluator[1] (BoundarySEISMMetric)` ['boundary'] scores "
        "['boundary'] against ground truth that "
        "`val_dataloader.dataset.tasks` ['semseg', 'depth'] does not load: "
        "add ['boundary'] to the dataset's tasks or remove them from the "
        "metric's.")
    with pytest.raises(ValueError, match=message):
        hook.before_train(runner)
    with pytest.raises(ValueError, match=message):
        hook.before_val(runner)
    # training data lacking a head task, inside a ConcatDataset
    runner = _runner(model, ConcatDataset([nyud(head_tasks),
                                           nyud(['depth'])]))
    with pytest.raises(ValueError, match=_error(
            f"`{HEAD}` ['semseg', 'depth'] needs labels of ['semseg'] that "
            "`train_dataloader.dataset.datasets[1].tasks` ['depth'] does "
            "not load: add ['semseg'] to the dataset's tasks or remove them "
            "from the head's.")):
        hook.before_train(runner)
    # the test split: a metric without restoration-producing head
    runner = _runner(_model(head_tasks, restoration=False),
                     test=nyud(['depth'], 'val'),
                     test_metrics=[MultiTaskMetric(tasks=['depth'])])
    with pytest.raises(ValueError, match=_error(
            '`test_evaluator.restoration` is True but '
            '`model.decode_head.restoration` is False: the metric scores a '
            'restored image that the head does not produce; set one of '
            'them.')):
        hook.before_test(runner)
    # a stock MMSeg segmentor is not checked
    stock = MODELS.build(dict(
        type='EncoderDecoder', backbone=BACKBONE,
        decode_head=dict(type='FCNHead', in_channels=64, channels=8,
                         num_classes=5)))
    hook.before_train(_runner(stock, nyud(['depth']), nyud(['depth'],
                                                           'val'), metrics))


@pytest.fixture(scope='module')
def synthscenes(tmp_path_factory):
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    root = str(tmp_path_factory.mktemp('synth') / 'synthscenes')
    generate_synthscenes(root, num_train=1, num_val=1, height=32, width=40,
                         progress=False)
    return root


def _demo_cfg(root: str, work_dir: str) -> Config:
    cfg = Config.fromfile(DEMO)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = root
        loader.dataset.generate = None
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.work_dir = work_dir
    return cfg


def test_demo_config_passes_and_a_mismatch_fails_before_training(
        synthscenes, tmp_path, logged):
    cfg = _demo_cfg(synthscenes, str(tmp_path / 'ok'))
    assert cfg.custom_hooks[0] == dict(type='TaskConsistencyHook')
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    hooks = [h for h in runner.hooks if isinstance(h, TaskConsistencyHook)]
    assert len(hooks) == 1
    hooks[0].before_train(runner)
    hooks[0].before_test(runner)
    assert logged == []
    # a head on two of the five tasks: the val metric scores the others
    cfg = _demo_cfg(synthscenes, str(tmp_path / 'bad'))
    cfg.model.decode_head.tasks = ['semseg', 'depth']
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=re.escape(
            "`val_evaluator[0].tasks` ['semseg', 'depth', 'normals', "
            "'boundary', 'saliency'] scores ['normals', 'boundary', "
            "'saliency'], which `model.decode_head.tasks` ['semseg', "
            "'depth'] does not predict")):
        runner.train()
    assert runner.iter == 0
    assert logged == []  # errors raise before any warning is logged


def test_every_multi_task_config_has_the_hook():
    paths = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                  recursive=True) if '_base_' not in p]
    checked = 0
    for path in paths:
        cfg = Config.fromfile(path)
        if cfg.model.type != 'MultiTaskEncoderDecoder':
            continue
        assert dict(type='TaskConsistencyHook') in cfg.custom_hooks, path
        checked += 1
    assert checked >= 5
