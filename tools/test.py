"""Test (evaluate) a multi-task model (MMSeg's test.py arguments)."""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import get_rank
from mmengine.hooks import Hook, LoggerHook
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmseg.registry import RUNNERS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers modules, checkpoint loader)
from mmallnet.engine.hooks import CheckpointFitHook  # noqa: E402
from mmallnet.utils import (  # noqa: E402
    TRUST_FLAG,
    TRUST_HELP,
    config_weight_files,
    setup_cpu_distributed,
    trust_checkpoints,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a multi-task model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file of the whole model; may be left out only for '
        'a TwoStageCascade whose model.restorer_checkpoint and '
        'model.predictor_checkpoint are both set (two stages trained '
        'separately, each loaded from its own file)')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='directory where the metric writes every prediction (semseg/'
        'depth/normals/boundary/saliency/restored files per image; sets '
        'output_dir of the MultiTaskMetric in test_evaluator)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory (relative to the work dir) where painted pictures '
        'of input, restoration and every task are saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help='evaluate even when the checkpoint\'s keys or shapes do not '
        'fit the model (the parameters that do not fit stay as '
        'initialised); by default such a checkpoint is refused')
    parser.add_argument(TRUST_FLAG, action='store_true', help=TRUST_HELP)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


class RankLocalTestJsonHook(Hook):
    """Keep the test metrics JSON of ``<work_dir>/<timestamp>/`` rank 0's.

    mmengine's ``LoggerHook`` dumps the test results to
    ``<log_dir>/<timestamp>.json`` on every rank, and the ranks share the
    timestamp, so with several processes they write one file at the same
    time (the file can end up holding parts of two dicts). This runs after
    ``LoggerHook.before_run`` and moves the other ranks' copy into
    ``<log_dir>/rank<k>/``.
    """

    def before_run(self, runner) -> None:
        rank = get_rank()
        if rank == 0:
            return
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook) and hook.json_log_path:
                hook.json_log_path = osp.join(f'rank{rank}',
                                              hook.json_log_path)


def trigger_visualization_hook(cfg: Config,
                               args: argparse.Namespace) -> Config:
    """Turn on drawing in the config's visualization hook."""
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise KeyError('--show/--show-dir need `default_hooks.visualization` '
                       '(e.g. SegVisualizationHook) in the config.')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        # relative show dirs live in the work dir: <work_dir>/<show_dir>/
        # vis_data/vis_image/<name>.png
        cfg.visualizer['save_dir'] = osp.join(cfg.work_dir, args.show_dir)
    return cfg


def main() -> None:
    args = parse_args()
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.checkpoint is None:
        # raises, naming what is unset, unless the model loads every
        # weight itself (stage checkpoints of a cascade)
        stage_files = config_weight_files(cfg.model)
        print(f'No checkpoint given: the {cfg.model.type} loads its stages '
              f'from {", ".join(stage_files)}.')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.out is not None:
        evaluators = cfg.test_evaluator
        evaluators = (evaluators if isinstance(evaluators, list) else
                      [evaluators])
        writers = [e for e in evaluators if e.get('type') == 'MultiTaskMetric']
        if not writers:
            raise ValueError(
                '--out needs a MultiTaskMetric in test_evaluator (it writes '
                'the predictions); the config has '
                f'{[e.get("type") for e in evaluators]}.')
        for evaluator in writers:
            evaluator['output_dir'] = args.out

    setup_cpu_distributed(cfg, args.launcher)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.register_hook(RankLocalTestJsonHook(), priority='LOW')
    if args.checkpoint is not None:
        runner.register_hook(
            CheckpointFitHook(
                args.checkpoint,
                allow_partial=args.allow_partial,
                hint='pass --allow-partial to evaluate with the parameters '
                'that fit'))
    runner.test()
    # Tear the process group down before the interpreter exits: gloo's
    # threads still alive at exit can abort the process ("terminate called
    # without an active exception") after the work is done.
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
