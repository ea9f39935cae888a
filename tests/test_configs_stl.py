"""Single-task reference configs (configs/stl): one task each, otherwise the
MTL baseline; every one builds, the SynthScenes ones train a step."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import METRICS, MODELS

from mmallnet.engine.hooks.task_consistency_hook import (
    TaskUse,
    check_task_consistency,
)
from mmallnet.testing import multi_task_batch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STL_DIR = osp.join(REPO, 'configs', 'stl')
#: dataset suffix of the config names -> (MTL parent config, its tasks)
DATASETS = {
    'synthscenes-96x128': (
        'mtl_baseline/mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py',
        ['semseg', 'depth', 'normals', 'boundary', 'saliency']),
    'nyud-448x576': ('mtl_baseline/mtl-baseline_r18_1xb4-40k_nyud-448x576.py',
                     ['semseg', 'depth', 'normals', 'boundary']),
    'pascal-context-512x512': (
        'mtl_baseline/mtl-baseline_r18_1xb4-40k_pascal-context-512x512.py',
        ['semseg', 'parts', 'saliency', 'normals', 'boundary']),
}
STL_CONFIGS = sorted(glob.glob(osp.join(STL_DIR, 'stl-*.py')))
SYNTH_CONFIGS = [p for p in STL_CONFIGS if 'synthscenes' in p]

pytestmark = pytest.mark.usefixtures('single_thread')


def parse_name(path: str):
    """``stl-<task>_..._<dataset>.py`` -> (task, dataset key)."""
    name = osp.basename(path)[:-3]
    task = name.split('_')[0][len('stl-'):]
    dataset = [d for d in DATASETS if name.endswith(d)]
    assert len(dataset) == 1, f'{name}: unknown dataset suffix'
    return task, dataset[0]


def as_list(evaluator):
    return list(evaluator) if isinstance(evaluator, list) else [evaluator]


def test_every_task_of_every_dataset_has_a_config():
    found = sorted(parse_name(p) for p in STL_CONFIGS)
    expected = sorted(
        (t, d) for d, (_, tasks) in DATASETS.items() for t in tasks)
    assert found == expected
    assert len(found) == 14


@pytest.mark.parametrize('path', STL_CONFIGS, ids=osp.basename)
def test_stl_config_is_the_mtl_baseline_with_one_task(path):
    """Same encoder, decoder width, data, schedule and seed as the MTL
    parent; the head and the metrics know only the config's task; the
    task-consistency rule of TaskConsistencyHook holds (only warnings)."""
    task, dataset = parse_name(path)
    parent_name, parent_tasks = DATASETS[dataset]
    cfg = Config.fromfile(path)
    mtl = Config.fromfile(osp.join(REPO, 'configs', parent_name))
    head = cfg.model.decode_head
    assert head.tasks == [task]
    assert head.restoration is False
    for key in ('backbone', 'data_preprocessor'):
        assert cfg.model[key] == mtl.model[key]
    for key in ('in_channels', 'channels', 'num_classes', 'norm_cfg'):
        assert head[key] == mtl.model.decode_head[key]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'optim_wrapper', 'param_scheduler', 'train_cfg',
                'randomness', 'custom_hooks'):
        assert cfg.get(key) == mtl.get(key), key
    assert cfg.train_dataloader.dataset.tasks == parent_tasks

    evaluators = {
        'val': [METRICS.build(m) for m in as_list(cfg.val_evaluator)],
        'test': [METRICS.build(m) for m in as_list(cfg.test_evaluator)],
    }
    types = [type(m).__name__ for m in evaluators['test']]
    seism = ['BoundarySEISMMetric'] if (task == 'boundary'
                                        and dataset != 'synthscenes-96x128'
                                        ) else []
    assert types == ['MultiTaskMetric'] + seism
    assert [type(m).__name__ for m in evaluators['val']] == [
        'MultiTaskMetric'
    ]
    for metrics in evaluators.values():
        assert metrics[0].tasks == [task]
        assert metrics[0].restoration is False
        assert metrics[0].per_degradation is True

    head_use = TaskUse('model.decode_head.tasks', tuple(head.tasks), False,
                       'model.decode_head.restoration')
    train = [TaskUse('train_dataloader.dataset.tasks', tuple(parent_tasks))]
    for split, metrics in evaluators.items():
        uses = [
            TaskUse(f'{split}[{i}]', ('boundary', ) if i else tuple(m.tasks),
                    bool(getattr(m, 'restoration', False)))
            for i, m in enumerate(metrics)
        ]
        data = [TaskUse(f'{split}_dataloader.dataset.tasks',
                        tuple(cfg[f'{split}_dataloader'].dataset.tasks))]
        warnings = check_task_consistency(head_use, train, data, uses)
        assert len(warnings) == 2  # train and eval data load unused labels


@pytest.mark.parametrize('path', STL_CONFIGS, ids=osp.basename)
def test_stl_model_builds_and_takes_a_step(path):
    """The model predicts its one task only (no restoration) and one AdamW
    step on a random 64x64 batch moves the weights (no pretrained file)."""
    task, _ = parse_name(path)
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert set(out) == {task}
    inputs, samples = multi_task_batch(
        [(64, 64)] * 2, num_classes=cfg.model.decode_head.num_classes)
    losses = model.loss(inputs, samples)
    assert {k for k in losses if 'loss' in k} == {f'decode.loss_{task}'}
    assert torch.isfinite(losses[f'decode.loss_{task}'])
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.decode_head.task_heads[task][-1].weight.clone()
    wrapper.update_params(losses[f'decode.loss_{task}'])
    assert not torch.equal(before,
                           model.decode_head.task_heads[task][-1].weight)


@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    from mmallnet.datasets.synthscenes_generator import generate_synthscenes
    root = str(tmp_path_factory.mktemp('stl') / 'synthscenes')
    generate_synthscenes(root, num_train=4, num_val=2, height=48, width=64,
                         progress=False)
    return root


def tiny_runner_cfg(path: str, root: str, work_dir: str) -> Config:
    """The config on a 4+2-image SynthScenes copy, 32x48 crops, batch 2,
    one iteration, validation at its end."""
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=root, generate=None)
    cfg.train_dataloader.batch_size = 2
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'MultiTaskRandomCrop':
            step.crop_size = (32, 48)
    cfg.train_cfg.update(max_iters=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = -1
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    return cfg


@pytest.mark.parametrize('path', SYNTH_CONFIGS, ids=osp.basename)
def test_synthscenes_stl_trains_one_step_with_the_runner(
        path, synth_root, tmp_path):
    """The runner (TaskConsistencyHook included) trains one iteration and
    validates; the metrics hold the task's keys only, overall and per
    degradation type."""
    from mmengine.runner import Runner
    task, _ = parse_name(path)
    cfg = tiny_runner_cfg(path, synth_root, str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    groups = {k.rsplit('/', 1)[-1].split('.')[0] for k in metrics}
    assert groups == {task}
    assert not any('restoration' in k for k in metrics)
    assert any(k.count('/') == 2 for k in metrics)  # mt/<type>/<metric>
