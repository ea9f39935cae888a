"""Train a multi-task model (MMSeg's train.py arguments and behaviour)."""
import argparse
import logging
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmseg.registry import RUNNERS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers modules, checkpoint loader)
from mmallnet.engine import find_resumable_checkpoint  # noqa: E402
from mmallnet.utils import (  # noqa: E402
    TRUST_FLAG,
    TRUST_HELP,
    setup_cpu_distributed,
    trust_checkpoints,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a multi-task model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest complete checkpoint in the work_dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        default=False,
        help='do not validate during training (e.g. when a test run on the '
        'same split follows, as in tools/run_demo.sh)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs, e.g. '
        'train_cfg.max_iters=100 or key="[a,b]"')
    parser.add_argument(TRUST_FLAG, action='store_true', help=TRUST_HELP)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if not torch.cuda.is_available():
            raise RuntimeError('--amp needs a GPU: mmengine\'s '
                               'AmpOptimWrapper does not run on CPU.')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            raise ValueError('--amp is only supported when optim_wrapper.type '
                             f'is OptimWrapper, got {optim_wrapper}.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.no_validate:
        # mmengine builds no ValLoop when all three are None.
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None

    cfg.resume = args.resume
    if args.resume:
        # The newest complete checkpoint: last_checkpoint's file, or the
        # newest complete iter_*/epoch_*.pth when that one is broken (a
        # warning says so). None (nothing saved yet): MMEngine's behaviour.
        resume_from = find_resumable_checkpoint(cfg.work_dir)
        if resume_from is not None:
            cfg.load_from = resume_from
    setup_cpu_distributed(cfg, args.launcher)

    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.train()
    # Tear the process group down before the interpreter exits: gloo's
    # threads still alive at exit can abort the process ("terminate called
    # without an active exception") after the work is done.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
