"""End-to-end checks of tools/train.py, tools/test.py and dist_train.sh.

One tiny SynthScenes copy and one short training run are shared by the
module; each test then exercises a tool on them. A crafted checkpoint whose
unpickling would run a command is refused by every path through which the
tools load one (``load_from``, ``--resume``, ``tools/test.py``), and the
command does not run.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE_CONFIG = osp.join(
    REPO, 'configs', 'mtl_baseline',
    'mtl-baseline_r18-w32_1xb8-500_synthscenes-96x128.py')

TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
generate = dict(num_train=8, num_val=3, height=48, width=64, seed=0)
crop_size = (32, 48)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomResize', ratio_range=(0.8, 1.2)),
    dict(type='MultiTaskRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5),
    dict(type='RandomDegradation', degradations={{{{_base_.degradations}}}},
         seed=None),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader
max_iters = {iters}
param_scheduler = []
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={ckpt_interval}, max_keep_ckpts=5))
"""


def write_config(path, root, iters=4, ckpt_interval=2):
    with open(path, 'w') as f:
        f.write(
            TINY_CONFIG.format(
                base=BASELINE_CONFIG, root=root, iters=iters,
                ckpt_interval=ckpt_interval))
    return str(path)


def run(args, env_extra=None, fails=False, **kwargs):
    """Run a tool; return its output. It must succeed (fail: ``fails``)."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    env.pop('MMALLNET_TRUST_CHECKPOINTS', None)
    env.update(env_extra or {})
    proc = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600, **kwargs)
    assert (proc.returncode != 0) == fails, (proc.stdout[-3000:] +
                                             proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def scalars(work_dir):
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    with open(files[-1]) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tools')
    config = write_config(tmp / 'tiny.py', str(tmp / 'synthscenes'))
    work_dir = str(tmp / 'work')
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir])
    return dict(tmp=tmp, config=config, work_dir=work_dir)


def test_train_writes_checkpoints_and_evaluates(trained):
    work_dir = trained['work_dir']
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    logs = scalars(work_dir)
    assert [r['iter'] for r in logs if 'loss' in r] == [1, 2, 3, 4]
    assert any('mt/semseg.mIoU' in r for r in logs)


def test_resume_continues_training(trained):
    tmp = trained['tmp']
    config = write_config(tmp / 'tiny_resume.py', str(tmp / 'synthscenes'),
                          iters=6)
    work_dir = str(tmp / 'resume')
    os.makedirs(work_dir)
    # start from the 4-iteration run's state
    import shutil
    shutil.copy(osp.join(trained['work_dir'], 'iter_4.pth'), work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'iter_4.pth'))
    out = run([sys.executable, 'tools/train.py', config, '--work-dir',
               work_dir, '--resume', '--no-validate'])
    assert 'resumed epoch: 0, iter: 4' in out
    logs = scalars(work_dir)
    assert [r['iter'] for r in logs if 'loss' in r] == [5, 6]
    # --no-validate: no evaluation at the last iteration (val_interval=6)
    assert not any('mt/semseg.mIoU' in r for r in logs)
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))


def read_metrics(work_dir):
    """The ``mt/`` metrics of the one test run in ``work_dir``."""
    files = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return {k: v for k, v in json.load(f).items() if k.startswith('mt/')}


def test_evaluation_is_reproducible_and_draws(trained):
    ckpt = osp.join(trained['work_dir'], 'iter_4.pth')
    results = []
    for i in range(2):
        work_dir = str(trained['tmp'] / f'test{i}')
        run([sys.executable, 'tools/test.py', trained['config'], ckpt,
             '--work-dir', work_dir, '--show-dir', 'vis', '--out',
             osp.join(work_dir, 'preds')])
        results.append(read_metrics(work_dir))
        pictures = glob.glob(
            osp.join(work_dir, 'vis', 'vis_data', 'vis_image', '*.png'))
        assert len(pictures) == 3
        assert len(os.listdir(osp.join(work_dir, 'preds', 'depth'))) == 3
    assert results[0] == results[1]
    for key in ('mt/semseg.mIoU', 'mt/depth.rmse', 'mt/normals.mean',
                'mt/boundary.odsF_proxy', 'mt/saliency.maxF',
                'mt/restoration.psnr', 'mt/noise/semseg.mIoU'):
        assert key in results[0], sorted(results[0])
    trained['single_process_metrics'] = results[0]


def test_dist_test_matches_single_process(trained):
    """Two CPU processes (gloo) give exactly the single-process metrics."""
    ckpt = osp.join(trained['work_dir'], 'iter_4.pth')
    single = trained.get('single_process_metrics')
    if single is None:
        work_dir = str(trained['tmp'] / 'test_single')
        run([sys.executable, 'tools/test.py', trained['config'], ckpt,
             '--work-dir', work_dir])
        single = read_metrics(work_dir)
    work_dir = str(trained['tmp'] / 'test_dist')
    run(['bash', 'tools/dist_test.sh', trained['config'], ckpt, '2',
         '--work-dir', work_dir], env_extra=dict(PORT='29531'))
    # exact: metrics pool order-independent sufficient statistics, and the
    # configs' test batch size of 1 makes every prediction batch-independent
    assert read_metrics(work_dir) == single
    # rank 1 writes its copy of the results aside (tools/test.py), not into
    # rank 0's file at the same moment
    assert len(glob.glob(osp.join(work_dir, '*', 'rank1', '*.json'))) == 1


def test_dist_train_two_cpu_processes(trained):
    work_dir = str(trained['tmp'] / 'dist')
    config = write_config(trained['tmp'] / 'tiny_dist.py',
                          str(trained['tmp'] / 'synthscenes'), iters=2)
    out = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir',
               work_dir], env_extra=dict(PORT='29532'))
    assert 'gloo' in out
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))


def assert_refused(out, crafted):
    assert 'UntrustedCheckpointError' in out, out[-3000:]
    assert crafted['path'] in out and 'posix.system' in out
    assert '--trust-checkpoint' in out
    assert not crafted['marker'].exists()


def test_load_from_refuses_crafted_checkpoint(trained, crafted_checkpoint):
    out = run([sys.executable, 'tools/train.py', trained['config'],
               '--work-dir', str(trained['tmp'] / 'crafted_load_from'),
               '--cfg-options', f'load_from={crafted_checkpoint["path"]}'],
              fails=True)
    assert_refused(out, crafted_checkpoint)


def test_resume_refuses_crafted_checkpoint(trained, crafted_checkpoint):
    work_dir = trained['tmp'] / 'crafted_resume'
    os.makedirs(work_dir)
    with open(work_dir / 'last_checkpoint', 'w') as f:
        f.write(crafted_checkpoint['path'])
    out = run([sys.executable, 'tools/train.py', trained['config'],
               '--work-dir', str(work_dir), '--resume'], fails=True)
    assert_refused(out, crafted_checkpoint)


def test_test_tool_refuses_crafted_checkpoint(trained, crafted_checkpoint):
    out = run([sys.executable, 'tools/test.py', trained['config'],
               crafted_checkpoint['path'], '--work-dir',
               str(trained['tmp'] / 'crafted_test')], fails=True)
    assert_refused(out, crafted_checkpoint)


def test_trust_switch_loads_a_file_with_other_globals(trained):
    """A checkpoint with a global beyond the allow-list loads only with
    ``--trust-checkpoint`` (or the environment variable)."""
    import fractions

    import torch
    checkpoint = torch.load(osp.join(trained['work_dir'], 'iter_4.pth'),
                            weights_only=False)
    checkpoint['meta']['note'] = fractions.Fraction(1, 3)
    path = str(trained['tmp'] / 'other_globals.pth')
    torch.save(checkpoint, path)
    args = [sys.executable, 'tools/test.py', trained['config'], path,
            '--work-dir']
    out = run(args + [str(trained['tmp'] / 'untrusted')], fails=True)
    assert "['fractions.Fraction']" in out
    run(args + [str(trained['tmp'] / 'trusted'), '--trust-checkpoint'])
    run(args + [str(trained['tmp'] / 'trusted_env')],
        env_extra=dict(MMALLNET_TRUST_CHECKPOINTS='1'))


def test_test_tool_refuses_a_checkpoint_that_does_not_fit(trained):
    """A checkpoint of another model is refused, its mismatches listed and
    the file named; ``--allow-partial`` evaluates anyway."""
    import torch
    checkpoint = torch.load(osp.join(trained['work_dir'], 'iter_4.pth'),
                            weights_only=False)
    state_dict = checkpoint['state_dict']
    dropped = next(k for k in state_dict if k.startswith('decode_head.'))
    reshaped = next(k for k in state_dict
                    if k.endswith('.weight') and k.startswith('backbone.'))
    del state_dict[dropped]
    state_dict['extra_head.weight'] = torch.zeros(3)
    state_dict[reshaped] = torch.zeros(2, 2)
    path = str(trained['tmp'] / 'other_model.pth')
    torch.save(checkpoint, path)
    args = [sys.executable, 'tools/test.py', trained['config'], path,
            '--work-dir']
    out = run(args + [str(trained['tmp'] / 'unfit')], fails=True)
    assert 'CheckpointMismatchError' in out
    assert f'Checkpoint {path} does not fit the model' in out
    assert f'1 missing from the checkpoint (would stay as initialised): ' \
        f'{dropped}' in out
    assert '1 not in the model: extra_head.weight' in out
    assert f'{reshaped} [2, 2] vs' in out
    assert 'pass --allow-partial' in out
    assert 'mt/semseg.mIoU' not in out
    out = run(args + [str(trained['tmp'] / 'partial'), '--allow-partial'])
    assert 'partial load allowed' in out
    assert 'mt/semseg.mIoU' in out


def test_train_stops_at_a_non_finite_loss(trained):
    """A learning rate that makes training diverge stops it at the first
    non-finite loss or, when an update overflows after a finite loss, at
    the checkpoint that would hold the broken weights; every checkpoint
    left is finite."""
    import re

    import torch
    tmp = trained['tmp']
    config = write_config(tmp / 'tiny_diverge.py', str(tmp / 'synthscenes'),
                          iters=8, ckpt_interval=1)
    work_dir = str(tmp / 'diverge')
    out = run([sys.executable, 'tools/train.py', config, '--work-dir',
               work_dir, '--no-validate', '--cfg-options',
               'optim_wrapper.optimizer.lr=1e8'], fails=True)
    assert 'NonFiniteLossError' in out
    found = re.search(
        r'Non-finite (?:loss at iteration (\d+) \(of 8\): loss=(?:nan|inf)'
        r'|weights after iteration (\d+): \d+ tensors)', out)
    assert found, out[-3000:]
    bad_iter = int(found.group(1) or found.group(2))
    saved = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')))
    steps = sorted(int(re.search(r'iter_(\d+)', p).group(1)) for p in saved)
    assert steps == list(range(max(1, bad_iter - 5), bad_iter))
    for path in saved:
        state = torch.load(path, weights_only=False)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()
                   if v.is_floating_point()), path


CASCADE_CONFIG = osp.join(
    REPO, 'configs', 'cascade',
    'cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_synthscenes-'
    '96x128.py')


def test_test_tool_evaluates_two_separately_trained_stages(trained):
    """A cascade whose stages were trained alone is tested without a
    checkpoint of the whole model: each stage loads its own file, and the
    metrics equal those of the whole-cascade checkpoint made of both; with
    a stage file unset, no checkpoint is refused before any evaluation."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    import mmallnet  # noqa: F401
    tmp = trained['tmp']
    predictor_file = osp.join(trained['work_dir'], 'iter_4.pth')
    torch.manual_seed(0)
    restorer = MODELS.build(Config.fromfile(CASCADE_CONFIG).model.restorer)
    restorer_file = str(tmp / 'restorer.pth')
    torch.save(dict(state_dict=restorer.state_dict()), restorer_file)
    config = str(tmp / 'tiny_cascade.py')
    with open(config, 'w') as f:
        f.write(TINY_CONFIG.format(base=CASCADE_CONFIG, root=str(
            tmp / 'synthscenes'), iters=4, ckpt_interval=2))
        f.write(f'model = dict(restorer_checkpoint={restorer_file!r}, '
                f'predictor_checkpoint={predictor_file!r})\n')
    stages_dir = str(tmp / 'stages')
    out = run([sys.executable, 'tools/test.py', config, '--work-dir',
               stages_dir])
    assert (f'loads its stages from {restorer_file}, {predictor_file}'
            in out)
    # the same weights as one checkpoint of the whole cascade
    predictor = torch.load(predictor_file, weights_only=False)['state_dict']
    whole = {f'restorer.{k}': v for k, v in restorer.state_dict().items()}
    whole.update({f'predictor.{k}': v for k, v in predictor.items()})
    whole_file = str(tmp / 'whole_cascade.pth')
    torch.save(dict(state_dict=whole), whole_file)
    whole_dir = str(tmp / 'whole')
    run([sys.executable, 'tools/test.py', config, whole_file,
         '--work-dir', whole_dir])
    metrics = read_metrics(stages_dir)
    assert 'mt/restoration.psnr' in metrics and 'mt/semseg.mIoU' in metrics
    assert metrics == read_metrics(whole_dir)
    out = run([sys.executable, 'tools/test.py', config, '--work-dir',
               str(tmp / 'no_predictor'), '--cfg-options',
               'model.predictor_checkpoint=None'], fails=True)
    assert 'leaves model.predictor_checkpoint unset' in out
    assert 'mt/semseg.mIoU' not in out
    out = run([sys.executable, 'tools/test.py', trained['config'],
               '--work-dir', str(tmp / 'no_checkpoint')], fails=True)
    assert "'MultiTaskEncoderDecoder' does not load its weights" in out
