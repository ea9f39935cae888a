"""AtomicCheckpointHook: save order, bookkeeping and a kill loop."""
import multiprocessing
import os
import os.path as osp
import random
import signal
import time
import warnings
from typing import List, Optional

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import mmallnet  # noqa: F401  (registers the hook and checkpoint loader)
from mmallnet.engine import (
    ResumeFallbackWarning,
    find_resumable_checkpoint,
    is_complete_checkpoint,
)
from mmallnet.engine.hooks import AtomicCheckpointHook, atomic_checkpoint_hook
from mmallnet.engine.hooks.atomic_checkpoint_hook import TEMP_PREFIX
from mmallnet.utils import load_local_checkpoint


class ToyModel(BaseModel):
    """One linear layer; ``width`` sets the checkpoint size."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        if mode == 'predict':
            return [dict(pred=o) for o in out]
        return out


class ToyData(torch.utils.data.Dataset):
    """Four constant vectors."""

    def __init__(self, width: int = 8) -> None:
        self.width = width

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.full((self.width, ), float(index)))


class CountingMetric(BaseMetric):
    """``acc`` = how many times it was computed: every epoch is a best."""

    calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        CountingMetric.calls += 1
        return dict(acc=float(CountingMetric.calls))


def build_runner(work_dir: str,
                 max_iters: int = 3,
                 width: int = 8,
                 validate: bool = False,
                 resume_from: Optional[str] = None,
                 name: str = 'toy',
                 **checkpoint) -> Runner:
    """A real Runner on the toy model, saving every iteration."""
    loader = dict(
        dataset=ToyData(width),
        sampler=dict(type='InfiniteSampler', shuffle=False),
        batch_size=2,
        num_workers=0,
        collate_fn=dict(type='default_collate'))
    checkpoint = dict(
        dict(type='AtomicCheckpointHook', by_epoch=False, interval=1),
        **checkpoint)
    val = {}
    if validate:
        val = dict(
            val_dataloader=dict(
                loader, sampler=dict(type='DefaultSampler', shuffle=False)),
            val_cfg=dict(type='ValLoop'),
            val_evaluator=[CountingMetric()])
    return Runner(
        model=ToyModel(width),
        work_dir=work_dir,
        train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1),
        default_hooks=dict(checkpoint=checkpoint),
        default_scope='mmseg',
        load_from=resume_from,
        resume=resume_from is not None,
        experiment_name=f'{name}_{os.getpid()}_{time.monotonic_ns()}',
        log_level='ERROR',
        **val)


def checkpoint_files(folder: str) -> List[str]:
    """The ``.pth`` and temporary files of ``folder``, sorted."""
    return sorted(
        n for n in os.listdir(folder)
        if n.endswith('.pth') or n.startswith(TEMP_PREFIX))


def read_last(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


@pytest.fixture
def removals(monkeypatch):
    """Record, at every removal, the folder and ``last_checkpoint``."""
    events = []
    remove = atomic_checkpoint_hook._remove_checkpoint

    def recording(path):
        folder = osp.dirname(path)
        events.append((osp.basename(path), checkpoint_files(folder),
                       osp.basename(read_last(folder))))
        return remove(path)

    monkeypatch.setattr(atomic_checkpoint_hook, '_remove_checkpoint',
                        recording)
    return events


def test_old_checkpoints_removed_after_new_one_is_complete(
        tmp_path, removals):
    work_dir = str(tmp_path)
    runner = build_runner(work_dir, max_iters=3, max_keep_ckpts=1)
    runner.train()

    assert removals == [
        ('iter_1.pth', ['iter_1.pth', 'iter_2.pth'], 'iter_2.pth'),
        ('iter_2.pth', ['iter_2.pth', 'iter_3.pth'], 'iter_3.pth'),
    ]
    assert checkpoint_files(work_dir) == ['iter_3.pth']
    assert read_last(work_dir) == osp.join(work_dir, 'iter_3.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3]
    # The file still lists the step it replaces, so a run killed before
    # the removal removes it when resumed.
    saved = load_local_checkpoint(osp.join(work_dir, 'iter_3.pth'))
    assert saved['message_hub']['runtime_info']['keep_ckpt_ids'] == [2, 3]
    assert saved['meta']['iter'] == 3


def test_resume_removes_the_step_a_killed_run_kept(tmp_path):
    work_dir = str(tmp_path)
    build_runner(work_dir, max_iters=3, max_keep_ckpts=1).train()
    # As if killed between the rename of iter_3.pth and the removal of
    # iter_2.pth: put a complete iter_2.pth back.
    build_runner(str(tmp_path / 'other'), max_iters=2).train()
    os.replace(tmp_path / 'other' / 'iter_2.pth', tmp_path / 'iter_2.pth')
    runner = build_runner(
        work_dir,
        max_iters=4,
        resume_from=find_resumable_checkpoint(work_dir),
        max_keep_ckpts=1)
    runner.train()
    assert checkpoint_files(work_dir) == ['iter_4.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [4]


def test_failed_save_leaves_previous_checkpoint(tmp_path):
    work_dir = str(tmp_path)
    runner = build_runner(work_dir, max_iters=2, max_keep_ckpts=1)
    runner.train()
    before = osp.join(work_dir, 'iter_2.pth')
    with open(before, 'rb') as f:
        content = f.read()
    hook = next(h for h in runner.hooks
                if isinstance(h, AtomicCheckpointHook))
    written = []

    def half_save(out_dir, filename, *args, **kwargs):
        path = osp.join(out_dir, filename)
        written.append(osp.basename(path))
        with open(path, 'wb') as f:
            f.write(content[:len(content) // 2])
        raise OSError('disk full (stand-in)')

    runner.save_checkpoint = half_save
    with pytest.raises(OSError, match='disk full'):
        hook._save_checkpoint_with_step(runner, 3, dict(iter=3))

    assert written == [f'{TEMP_PREFIX}iter_3.pth.{os.getpid()}']
    assert checkpoint_files(work_dir) == ['iter_2.pth']
    with open(before, 'rb') as f:
        assert f.read() == content
    assert read_last(work_dir) == before
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2]
    assert runner.message_hub.get_info('last_ckpt') == before


def test_best_checkpoint_replaced_after_new_one_exists(tmp_path, removals):
    work_dir = str(tmp_path)
    CountingMetric.calls = 0
    runner = build_runner(
        work_dir,
        max_iters=3,
        validate=True,
        max_keep_ckpts=1,
        save_best='acc',
        rule='greater')
    runner.train()

    assert removals == [
        ('iter_1.pth', ['best_acc_iter_1.pth', 'iter_1.pth', 'iter_2.pth'],
         'iter_2.pth'),
        ('best_acc_iter_1.pth',
         ['best_acc_iter_1.pth', 'best_acc_iter_2.pth', 'iter_2.pth'],
         'iter_2.pth'),
        ('iter_2.pth', ['best_acc_iter_2.pth', 'iter_2.pth', 'iter_3.pth'],
         'iter_3.pth'),
        ('best_acc_iter_2.pth',
         ['best_acc_iter_2.pth', 'best_acc_iter_3.pth', 'iter_3.pth'],
         'iter_3.pth'),
    ]
    assert checkpoint_files(work_dir) == ['best_acc_iter_3.pth', 'iter_3.pth']
    saved = load_local_checkpoint(osp.join(work_dir, 'iter_3.pth'))
    assert saved['message_hub']['runtime_info']['best_ckpt'] == osp.join(
        work_dir, 'best_acc_iter_3.pth')
    assert saved['message_hub']['runtime_info']['best_score'] == 3.0


def test_leftover_temp_files_removed_at_start(tmp_path):
    work_dir = str(tmp_path)
    leftovers = [
        f'{TEMP_PREFIX}iter_7.pth.123', f'{TEMP_PREFIX}last_checkpoint.9'
    ]
    for name in leftovers + ['.keep_me', 'iter_x.txt']:
        (tmp_path / name).write_bytes(b'partial')
    build_runner(work_dir, max_iters=1).train()
    # (The runner also dumps its config as <timestamp>.py.)
    files = sorted(n for n in os.listdir(work_dir)
                   if osp.isfile(tmp_path / n) and not n.endswith('.py'))
    assert files == ['.keep_me', 'iter_1.pth', 'iter_x.txt', 'last_checkpoint']
    assert (tmp_path / 'iter_x.txt').read_bytes() == b'partial'


def test_file_client_args_fall_back_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(AtomicCheckpointHook, '_warned_non_local', False)
    runner = build_runner(
        str(tmp_path),
        max_iters=2,
        max_keep_ckpts=1,
        file_client_args=dict(backend='disk'))
    runner.train()
    hook = next(h for h in runner.hooks
                if isinstance(h, AtomicCheckpointHook))
    assert hook.atomic is False
    assert AtomicCheckpointHook._warned_non_local is True
    assert checkpoint_files(str(tmp_path)) == ['iter_2.pth']


def _train_until_killed(work_dir: str, width: int) -> None:
    """Child: resume (if anything was saved) and train for ever."""
    torch.set_num_threads(1)
    runner = build_runner(
        work_dir,
        max_iters=10**6,
        width=width,
        resume_from=find_resumable_checkpoint(work_dir),
        name='killed',
        max_keep_ckpts=1)
    runner.train()


def test_sigkill_at_any_moment_loses_no_run(tmp_path):
    """Kill a training child at random moments and while it saves.

    After every kill ``last_checkpoint`` names a complete checkpoint that
    the protected loader reads, its iteration never goes back, and no
    ``iter_*.pth`` is ever incomplete.
    """
    work_dir = str(tmp_path)
    width = 384  # about 1.8 MB per checkpoint with AdamW's state
    build_runner(str(tmp_path / 'warm-up'), max_iters=1, width=width).train()
    context = multiprocessing.get_context('fork')
    rng = random.Random(0)
    kills = during_save = 0
    best_iter = 0
    # Three kinds of kill, in turn: at a random moment, as soon as a
    # temporary file shows (mid-save), and shortly after a new checkpoint
    # landed (so that the run makes progress even on a loaded machine).
    # The loop ends once every outcome was seen, not after a fixed time.
    start_time = time.monotonic()

    def done() -> bool:
        return (time.monotonic() - start_time > 4 and kills >= 10
                and during_save >= 3 and best_iter >= 3)

    while not done() and time.monotonic() - start_time < 120:
        last_before = (read_last(work_dir) if osp.isfile(
            osp.join(work_dir, 'last_checkpoint')) else None)
        child = context.Process(
            target=_train_until_killed, args=(work_dir, width))
        child.start()
        start = time.monotonic()
        if kills % 3 == 1:
            while time.monotonic() - start < 5:
                names = os.listdir(work_dir)
                if any(n.startswith(TEMP_PREFIX) for n in names):
                    break
        elif kills % 3 == 2:
            while time.monotonic() - start < 10:
                if osp.isfile(osp.join(work_dir, 'last_checkpoint')) and \
                        read_last(work_dir) != last_before:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
        else:
            time.sleep(rng.uniform(0.0, 0.15))
        assert child.is_alive(), f'child exited with {child.exitcode}'
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        kills += 1
        names = os.listdir(work_dir)
        during_save += any(
            n.startswith(TEMP_PREFIX) and n.endswith(f'.{child.pid}')
            for n in names)

        if 'last_checkpoint' in names:
            # It always names a complete file: no fallback is needed.
            with warnings.catch_warnings():
                warnings.simplefilter('error', ResumeFallbackWarning)
                found = find_resumable_checkpoint(work_dir)
            assert found == read_last(work_dir)
        else:
            # Killed before the first last_checkpoint was written.
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', ResumeFallbackWarning)
                found = find_resumable_checkpoint(work_dir)
        if found is None:
            assert best_iter == 0
            continue
        for name in names:
            if name.endswith('.pth'):
                assert is_complete_checkpoint(osp.join(work_dir, name)), name
        iteration = load_local_checkpoint(found)['meta']['iter']
        assert iteration >= best_iter
        best_iter = iteration

    assert kills >= 10
    assert during_save >= 3
    assert best_iter >= 3
    # A last, unkilled run resumes, cleans up and keeps one checkpoint.
    last = max(int(n[5:-4]) for n in os.listdir(work_dir)
               if n.startswith('iter_')) + 1
    build_runner(
        work_dir,
        max_iters=last,
        width=width,
        resume_from=find_resumable_checkpoint(work_dir),
        max_keep_ckpts=1).train()
    assert checkpoint_files(work_dir) == [f'iter_{last}.pth']
