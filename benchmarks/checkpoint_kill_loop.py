"""Kill a real training with SIGKILL again and again; count lost runs.

Trains a small config through ``tools/train.py`` in a subprocess on a tiny
SynthScenes set, SIGKILLs it (mostly while it saves a checkpoint, otherwise
after a random delay), resumes it with ``--resume`` every time and finally
lets it finish. ``--baseline`` runs the same loop with MMEngine's plain
``CheckpointHook`` (``default_hooks.checkpoint.type=CheckpointHook``).

    PYTHONPATH=. python benchmarks/checkpoint_kill_loop.py --kills 12
    PYTHONPATH=. python benchmarks/checkpoint_kill_loop.py --kills 12 \
        --baseline

A run is lost when, after a kill, no complete checkpoint is left although
one had been saved (``find_resumable_checkpoint`` raises, or finds nothing):
the training would have to start again from scratch.
"""
import argparse
import os
import os.path as osp
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmallnet.engine.hooks.atomic_checkpoint_hook import (  # noqa: E402
    TEMP_PREFIX,
)
from mmallnet.engine.resume import (  # noqa: E402
    NoResumableCheckpointError,
    ResumeFallbackWarning,
    find_resumable_checkpoint,
    is_complete_checkpoint,
    step_checkpoints,
)

DEFAULT_CONFIG = osp.join('configs', 'allnet',
                          'allnet_r18-w32_1xb8-500_synthscenes-96x128.py')
SAVING = re.compile(r'Saving checkpoint at (\d+) iterations')
TRAIN_ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/')
RESUMED = re.compile(r'resumed epoch: \d+, iter: (\d+)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--kills', type=int, default=12,
                        help='SIGKILLs before the run may finish')
    parser.add_argument('--max-iters', type=int, default=100)
    parser.add_argument('--interval', type=int, default=2,
                        help='checkpoint interval (iterations)')
    parser.add_argument('--save-share', type=float, default=0.7,
                        help='share of the kills aimed at a save')
    parser.add_argument('--max-delay', type=float, default=16.0,
                        help='largest random delay (s) after a start')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--baseline', action='store_true',
                        help="MMEngine's plain CheckpointHook")
    parser.add_argument('--root', help='folder for data, work dir and logs '
                        '(default: a temporary folder, removed at the end)')
    parser.add_argument('--timeout', type=float, default=300.0,
                        help='seconds one training run may take')
    return parser.parse_args()


def cfg_options(args: argparse.Namespace, data_root: str) -> List[str]:
    """Shrink the config to a short CPU run with frequent checkpoints."""
    options = [
        f'train_cfg.max_iters={args.max_iters}',
        f'default_hooks.checkpoint.interval={args.interval}',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        'default_hooks.logger.interval=1',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.generate=None',
    ]
    if args.baseline:
        options.append('default_hooks.checkpoint.type=CheckpointHook')
    return options


def launch(args, work_dir: str, data_root: str, log: str) -> subprocess.Popen:
    """Start ``tools/train.py --resume`` with its output in ``log``."""
    command = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), args.config, '--work-dir',
        work_dir, '--resume', '--no-validate', '--cfg-options'
    ] + cfg_options(args, data_root)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='2')
    with open(log, 'w') as f:
        return subprocess.Popen(
            command, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)


def read(path: str) -> str:
    with open(path, errors='replace') as f:
        return f.read()


def writing(work_dir: str) -> bool:
    """Whether a checkpoint is being written (temp or incomplete file)."""
    if not osp.isdir(work_dir):
        return False
    names = os.listdir(work_dir)
    if any(n.startswith(TEMP_PREFIX) for n in names):
        return True
    return any(not is_complete_checkpoint(p)
               for _, p in step_checkpoints(work_dir))


def wait_and_kill(proc: subprocess.Popen, log: str, work_dir: str,
                  at_save: bool, rng: random.Random,
                  max_delay: float) -> bool:
    """Kill ``proc`` during a save or after a random delay.

    Returns:
        bool: False when the process ended by itself first.
    """
    if at_save:
        # The n-th save of this run, then the moment a file is written,
        # then a few ms more (to hit different points of the write).
        target = rng.randint(1, 2)
        while proc.poll() is None:
            if len(SAVING.findall(read(log))) >= target:
                break
            time.sleep(0.005)
        seen = time.monotonic()
        while proc.poll() is None and time.monotonic() - seen < 3:
            if writing(work_dir):
                break
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.03))
    else:
        end = time.monotonic() + rng.uniform(1.0, max_delay)
        while proc.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def killed_during_save(log: str, work_dir: str) -> bool:
    """The log's last event is a save whose files are not all final."""
    text = read(log)
    saves = list(SAVING.finditer(text))
    if not saves:
        return False
    last = saves[-1]
    if TRAIN_ITER.search(text, last.end()):
        return False
    step = int(last.group(1))
    final = osp.join(work_dir, f'iter_{step}.pth')
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = read(pointer).strip() if osp.isfile(pointer) else ''
    return (writing(work_dir) or not is_complete_checkpoint(final)
            or osp.abspath(named) != osp.abspath(final)
            or len(step_checkpoints(work_dir)) > 1)


def last_checkpoint_broken(work_dir: str) -> bool:
    """``last_checkpoint`` names a missing or incomplete file."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return False
    return not is_complete_checkpoint(read(pointer).strip())


def resumable(work_dir: str) -> Dict[str, Optional[object]]:
    """What ``tools/train.py --resume`` would resume from."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ResumeFallbackWarning)
        try:
            path = find_resumable_checkpoint(work_dir)
        except NoResumableCheckpointError as error:
            return dict(path=None, error=str(error), fallback=False)
    fallback = any(
        issubclass(w.category, ResumeFallbackWarning) for w in caught)
    return dict(path=path, error=None, fallback=fallback)


def step_of(path: Optional[str]) -> int:
    if path is None:
        return 0
    return int(re.search(r'_(\d+)\.pth$', path).group(1))


def run_loop(args: argparse.Namespace, root: str) -> Dict[str, object]:
    data_root = osp.join(root, 'data')
    work_dir = osp.join(root, 'work')
    logs = osp.join(root, 'logs')
    os.makedirs(logs, exist_ok=True)
    if not osp.isdir(osp.join(data_root, 'images')):
        generator = osp.join(REPO, 'tools', 'misc', 'generate_synthscenes.py')
        subprocess.run(
            [sys.executable, generator, data_root, '--num-train', '8',
             '--num-val', '2', '--no-progress'],
            check=True,
            stdout=subprocess.DEVNULL)
    rng = random.Random(args.seed)
    stats = dict(
        kills=0, kills_during_save=0, resumes=0, resumes_ok=0,
        killed_before_resume=0, resumes_failed=0, last_checkpoint_broken=0,
        fallbacks=0, runs_lost=0, iters_lost=0)
    expected: Optional[str] = None  # the checkpoint the next run resumes
    progress = 0
    run = crashes = 0
    finished = False
    start = time.monotonic()
    while not finished:
        final_run = stats['kills'] >= args.kills
        log = osp.join(logs, f'run_{run:02d}.log')
        proc = launch(args, work_dir, data_root, log)
        if final_run:
            try:
                proc.wait(timeout=args.timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            killed = False
        else:
            at_save = rng.random() < args.save_share
            killed = wait_and_kill(proc, log, work_dir, at_save, rng,
                                   args.max_delay)
        text = read(log)
        resumed = RESUMED.search(text)
        if expected is not None:
            stats['resumes'] += 1
            if resumed and int(resumed.group(1)) == step_of(expected):
                stats['resumes_ok'] += 1
            elif killed and not resumed:
                stats['killed_before_resume'] += 1
            else:
                stats['resumes_failed'] += 1
                print(f'run {run}: resume from {expected} failed, log tail:'
                      f'\n{text[-1500:]}')
        if killed:
            stats['kills'] += 1
            stats['kills_during_save'] += killed_during_save(log, work_dir)
        elif proc.returncode == 0:
            finished = True
        else:
            crashes += 1
            print(f'run {run}: exited with {proc.returncode}, log tail:\n'
                  f'{text[-1500:]}')
            if crashes == 3:
                raise RuntimeError(f'{log}: training failed 3 times')
        stats['last_checkpoint_broken'] += last_checkpoint_broken(work_dir)
        state = resumable(work_dir)
        stats['fallbacks'] += bool(state['fallback'])
        if state['error'] is not None or (state['path'] is None
                                          and progress > 0):
            # Nothing complete left: --resume fails, the run is lost;
            # start again from scratch.
            stats['runs_lost'] += 1
            stats['iters_lost'] += progress
            shutil.rmtree(work_dir)
            progress = 0
        progress = max(progress, step_of(state['path']))
        expected = state['path']
        run += 1
        if final_run and not finished:
            break
    final = step_checkpoints(work_dir)
    stats['final_iter'] = final[0][0] if final else 0
    stats['finished'] = finished
    stats['minutes'] = (time.monotonic() - start) / 60
    return stats


def main() -> None:
    args = parse_args()
    root = args.root or tempfile.mkdtemp(prefix='ckpt_kill_loop_')
    try:
        stats = run_loop(args, root)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)
    hook = 'CheckpointHook (baseline)' if args.baseline else (
        'AtomicCheckpointHook')
    rows = [
        ('checkpoint hook', hook),
        ('kills (SIGKILL)', stats['kills']),
        ('kills during a save', stats['kills_during_save']),
        ('resumes attempted', stats['resumes']),
        ('resumes that succeeded', stats['resumes_ok']),
        ('killed before resuming', stats['killed_before_resume']),
        ('resumes that failed', stats['resumes_failed']),
        ('last_checkpoint broken after a kill',
         stats['last_checkpoint_broken']),
        ('fallback to an older checkpoint', stats['fallbacks']),
        ('runs lost (target 0)', stats['runs_lost']),
        ('iterations lost with them', stats['iters_lost']),
        (f'finished ({args.max_iters} iters)',
         f"{stats['finished']} (iter {stats['final_iter']})"),
        ('wall time (min)', f"{stats['minutes']:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f'{name:<{width}}  {value}')


if __name__ == '__main__':
    main()
