"""tools/analysis_tools/robustness_test.py with a stock MMSeg model.

A tiny ADE20K tree, a stock MMSeg config (ResNetV1c-18 + FCNHead) and a
checkpoint of its random model are shared by the module; the tool runs
once through subprocess. Its clean row equals MMSeg's own test of the
unmodified config, and the fixed degraded benchmark of the same dataset,
evaluated by the same model, gives the same table.
"""
import copy
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import DATASETS

from mmallnet.datasets import make_degraded_benchmark
from mmallnet.evaluation.robustness import (
    parse_levels,
    robustness_sets,
    robustness_test_config,
)
from mmallnet.testing.ade20k import (
    save_tiny_seg_checkpoint,
    write_ade20k,
    write_tiny_seg_config,
)
from mmallnet.utils import CheckpointMismatchError, resolve_config_path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'robustness_test.py')
SETS = ['clean', 'noise_15', 'noise_25', 'noise_50', 'rain', 'fog', 'blur',
        'degraded_mean']


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('robustness_test', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('robustness')
    ade = write_ade20k(str(tmp / 'ADEChallengeData2016'))
    config = write_tiny_seg_config(str(tmp / 'tiny_fcn_ade20k.py'),
                                   ade['root'])
    checkpoint = save_tiny_seg_checkpoint(config, str(tmp / 'tiny.pth'))
    return dict(tmp=tmp, ade=ade, config=config, checkpoint=checkpoint)


@pytest.fixture(scope='module')
def tool_run(setup):
    """The tool, run once as a user runs it."""
    tmp = setup['tmp']
    out_json, out_md = str(tmp / 'out' / 'r.json'), str(tmp / 'out' / 'r.md')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    env.pop('MMALLNET_TRUST_CHECKPOINTS', None)
    proc = subprocess.run(
        [sys.executable, TOOL, setup['config'], setup['checkpoint'],
         '--work-dir', str(tmp / 'work'), '--out', out_json, out_md],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out_json) as f:
        result = json.load(f)
    with open(out_md) as f:
        markdown = f.read()
    return dict(result=result, markdown=markdown, stdout=proc.stdout)


def run_mmseg_test(config: Config, work_dir: str, name: str) -> dict:
    """MMSeg's tools/test.py: Runner.from_cfg, load_from, test()."""
    config.work_dir = work_dir
    config.experiment_name = name
    runner = Runner.from_cfg(config)
    return runner.test()


def test_table_has_every_set(tool_run):
    result = tool_run['result']
    rows = {r['set']: r for r in result['rows']}
    assert list(rows) == SETS
    assert [rows[s]['n'] for s in SETS] == [3] * 7 + [18]
    assert rows['noise_25']['type'] == 'noise'
    assert rows['noise_25']['level'] == 25
    assert result['sets']['noise_25']['transform'] == dict(
        type='GaussianNoise', sigmas=25)
    for name in SETS[1:]:
        row = rows[name]
        assert row['drop'] == pytest.approx(
            rows['clean']['mIoU'] - row['mIoU'], abs=0.0101)
    mean = np.mean([rows[s]['mIoU'] for s in SETS[1:-1]])
    assert rows['degraded_mean']['mIoU'] == pytest.approx(mean, abs=0.006)
    # something changes under the degradations (a random model, 3 images)
    assert len({rows[s]['mIoU'] for s in SETS[:-1]}) > 1
    for line in ('Robustness', '| set | n | aAcc | mIoU | mAcc | drop |',
                 '| clean | 3 |'):
        assert line in tool_run['markdown'] or line in tool_run['stdout']
    assert 'Iter(test) [21/21]' in tool_run['stdout']


def test_clean_row_equals_mmseg_test(setup, tool_run):
    cfg = Config.fromfile(setup['config'])
    cfg.load_from = setup['checkpoint']
    metrics = run_mmseg_test(cfg, str(setup['tmp'] / 'mmseg_test'),
                             'mmseg_test')
    clean = next(r for r in tool_run['result']['rows'] if r['set'] == 'clean')
    assert {k: clean[k] for k in ('aAcc', 'mIoU', 'mAcc')} == {
        k: float(metrics[k]) for k in ('aAcc', 'mIoU', 'mAcc')
    }


def test_fixed_benchmark_gives_the_same_table(setup, tool_run):
    """The written copy of the ADE20K set, read by DegradedBenchmarkDataset
    and evaluated by the same stock model, equals the on-the-fly table."""
    out = str(setup['tmp'] / 'ade_degraded')
    make_degraded_benchmark(
        dict(type='ADE20KDataset', data_root=setup['ade']['root'],
             data_prefix=dict(img_path='images/validation',
                              seg_map_path='annotations/validation')),
        out, progress=False)
    cfg = Config.fromfile(setup['config'])
    dataset = cfg.test_dataloader.dataset
    pipeline = copy.deepcopy(dataset.pipeline)
    pipeline.insert(1, dict(type='LoadDegradedImage'))
    pipeline[-1]['meta_keys'] = ('img_path', 'seg_map_path', 'ori_shape',
                                 'img_shape', 'degradation_type',
                                 'degradation_params')
    cfg.test_dataloader.dataset = dict(
        type='DegradedBenchmarkDataset', dataset_type='ADE20KDataset',
        degraded_root=out, data_root=dataset.data_root,
        data_prefix=dataset.data_prefix, metainfo=dataset.metainfo,
        pipeline=pipeline)
    cfg.test_evaluator = dict(type='PerDegradationIoUMetric')
    cfg.load_from = setup['checkpoint']
    metrics = run_mmseg_test(cfg, str(setup['tmp'] / 'bench_test'),
                             'bench_test')
    assert metrics == pytest.approx(tool_run['result']['metrics'], abs=0)


def test_rewritten_pipeline(setup):
    cfg = Config.fromfile(setup['config'])
    sets = robustness_sets(['noise', 'fog'], parse_levels(['fog=0.6,1.8']))
    assert list(sets) == ['noise_15', 'noise_25', 'noise_50', 'fog_0.6',
                          'fog_1.8']
    robustness_test_config(cfg, sets, seed=3)
    datasets = cfg.test_dataloader.dataset.datasets
    assert cfg.test_dataloader.dataset.type == 'ConcatDataset'
    assert len(datasets) == 6
    img_dir = osp.join(setup['ade']['root'], 'images/validation')
    fog = datasets[4].pipeline
    assert [t['type'] for t in fog] == [
        'LoadImageFromFile', 'AddImageId', 'Fog', 'Resize', 'LoadAnnotations',
        'PackSegInputs'
    ]
    assert fog[1]['img_dir'] == img_dir
    assert fog[2] == dict(type='Fog', beta=0.6, seed=3)
    assert datasets[0].pipeline[2] == dict(type='CleanImage')
    assert fog[-1]['meta_keys'][-2:] == ('degradation_type',
                                         'degradation_params')
    assert cfg.test_evaluator == dict(
        type='PerDegradationIoUMetric',
        severity_keys=dict(noise='sigma', fog='beta'),
        iou_metrics=['mIoU'])
    # degraded the same way on every build
    a = DATASETS.build(datasets[1])[0]['inputs']
    b = DATASETS.build(copy.deepcopy(datasets[1]))[0]['inputs']
    assert torch.equal(a, b)


@pytest.mark.parametrize('config', [
    'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024'
    '.py', 'mmseg::pspnet/pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py'
])
def test_stock_configs_are_rewritten(config):
    cfg = Config.fromfile(resolve_config_path(config))
    robustness_test_config(cfg, robustness_sets(), where=config)
    datasets = cfg.test_dataloader.dataset.datasets
    assert len(datasets) == 7
    for dataset in datasets:
        names = [t['type'] for t in dataset.pipeline]
        assert names.index('AddImageId') == 1
        assert names.index('Resize') == 3


def test_bad_inputs(tool, setup, tmp_path):
    base = [setup['config'], setup['checkpoint'], '--work-dir',
            str(tmp_path / 'work')]
    # a test pipeline without LoadImageFromFile: names file and key
    no_load = str(tmp_path / 'no_load.py')
    with open(no_load, 'w') as f:
        f.write(f'_base_ = [{setup["config"]!r}]\n'
                'test_dataloader = dict(dataset=dict(pipeline=['
                "dict(type='LoadImageFromNDArray'), "
                "dict(type='PackSegInputs')]))\n")
    with pytest.raises(ValueError, match=rf'{no_load}: test_dataloader'
                       r'\.dataset\.pipeline has no LoadImageFromFile'):
        tool.main([no_load] + base[1:])
    with pytest.raises(ValueError, match=r"Unknown degradation 'snow' in "
                       r"--degradations; valid: \['noise', 'rain', 'fog', "
                       r"'blur'\]"):
        tool.main(base + ['--degradations', 'noise', 'snow'])
    with pytest.raises(ValueError, match=r"unknown degradation 'snow'"):
        tool.main(base + ['--levels', 'snow=1'])
    with pytest.raises(ValueError, match=r"level 'abc' is not a finite "
                       'number; expected sigmas'):
        tool.main(base + ['--levels', 'noise=15,abc'])
    with pytest.raises(ValueError, match=r'--levels noise=500: invalid level'
                       r'.*sigmas must be <= 128'):
        tool.main(base + ['--levels', 'noise=500'])
    with pytest.raises(ValueError, match=r'--levels blur=8: .*odd size'):
        tool.main(base + ['--levels', 'blur=8'])
    with pytest.raises(ValueError, match=r"levels of 'fog', which is not in "
                       r"--degradations \['noise'\]"):
        tool.main(base + ['--degradations', 'noise', '--levels', 'fog=1'])
    with pytest.raises(ValueError, match=r"'noise15': expected TYPE=L1"):
        tool.main(base + ['--levels', 'noise15'])
    with pytest.raises(ValueError, match=r'--out r\.csv: expected a file '
                       r'ending with \.json or \.md'):
        tool.main(base + ['--out', 'r.csv'])
    with pytest.raises(FileNotFoundError, match='Checkpoint file not found'):
        tool.main([setup['config'], str(tmp_path / 'none.pth')])
    with pytest.raises(FileNotFoundError, match='Config file not found'):
        tool.main(['mmseg::fcn/nope.py', setup['checkpoint']])


def test_checkpoint_that_does_not_fit_is_refused(tool, setup, tmp_path):
    """Weights never silently stay random."""
    state = torch.load(setup['checkpoint'], weights_only=True)
    del state['state_dict']['decode_head.conv_seg.weight']
    partial = str(tmp_path / 'partial.pth')
    torch.save(state, partial)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'(?s)partial\.pth.*decode_head\.conv_seg\.weight'):
        tool.main([setup['config'], partial, '--work-dir',
                   str(tmp_path / 'work'), '--degradations', 'noise',
                   '--levels', 'noise=25'])
