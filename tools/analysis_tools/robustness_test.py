"""Evaluate any MMSeg model on its test set, clean and degraded.

The test pipeline of CONFIG (any MMSeg config: ADE20K, Cityscapes, Pascal
VOC, ..., a file or ``mmseg::<path>``) is rewritten once per degradation
set: ``clean`` plus one set per type and level (default: noise at sigma
15, 25 and 50, rain, fog and blur with their default ranges), the
degradation inserted right after the image (and annotation) loading,
before resizing and packing. The copies are concatenated and evaluated in
one pass of MMEngine's test loop; ``PerDegradationIoUMetric`` reports
MMSeg's ``IoUMetric`` numbers per set, their mean over the degraded sets
and the drop from clean. Degradations are seeded per image (seed, image
id), so the degraded images are the same on every run and equal those of
``tools/misc/make_degraded_benchmark.py`` on the same dataset; fog uses its
depth prior (stock MMSeg datasets have no depth it reads).

Example:
    python tools/analysis_tools/robustness_test.py \
        mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py fcn_r50.pth \
        --degradations noise fog --levels noise=15,50 fog=0.6,1.8 \
        --out work_dirs/robustness/fcn.json work_dirs/robustness/fcn.md
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import RUNNERS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers transforms, metric, loader)
from mmallnet.datasets.degraded_benchmark import BENCHMARK_TYPES  # noqa
from mmallnet.datasets.degraded_benchmark.manifest import jsonable  # noqa
from mmallnet.engine.hooks import CheckpointFitHook  # noqa: E402
from mmallnet.evaluation.metrics.per_degradation_iou_metric import (  # noqa
    DEGRADED_MEAN,
    format_table,
    table_rows,
)
from mmallnet.evaluation.robustness import (  # noqa: E402
    parse_levels,
    robustness_sets,
    robustness_test_config,
)
from mmallnet.utils import (  # noqa: E402
    TRUST_FLAG,
    TRUST_HELP,
    resolve_config_path,
    setup_cpu_distributed,
    trust_checkpoints,
)

OUT_SUFFIXES = ('.json', '.md')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a segmentation model on its test set, clean '
        'and under each degradation set; print the table of aAcc, mIoU, '
        'mAcc and the mIoU drop from clean per set.')
    parser.add_argument(
        'config', help='test config file, or mmseg::<path> of a stock one')
    parser.add_argument('checkpoint', help='checkpoint file of the model')
    parser.add_argument(
        '--degradations',
        nargs='+',
        default=list(BENCHMARK_TYPES),
        metavar='TYPE',
        help=f'degradation types among {" ".join(BENCHMARK_TYPES)} '
        '(default: all)')
    parser.add_argument(
        '--levels',
        nargs='+',
        metavar='TYPE=L1,L2',
        help='severity levels, one set each: noise sigma (0..255), rain '
        'density, fog beta, blur kernel size, e.g. noise=15,25,50 '
        'fog=0.6,1.8; TYPE= for one set with the full range (default: '
        'noise=15,25,50, the others one set each)')
    parser.add_argument(
        '--seed', type=int, default=0, help='degradation seed (default 0)')
    parser.add_argument(
        '--out',
        nargs='+',
        metavar='FILE',
        help='write the table: .json (rows, metrics, sets, settings) '
        'and/or .md (markdown table)')
    parser.add_argument(
        '--work-dir',
        help='work dir of the run (logs); default '
        'work_dirs/robustness/<config name>')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs')
    parser.add_argument(
        '--allow-partial',
        action='store_true',
        help="evaluate even when the checkpoint's keys or shapes do not fit "
        'the model (what does not fit stays as initialised); by default '
        'such a checkpoint is refused')
    parser.add_argument(TRUST_FLAG, action='store_true', help=TRUST_HELP)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def check_outputs(outputs: Optional[List[str]]) -> List[str]:
    """``--out`` files must end with ``.json`` or ``.md``."""
    for path in outputs or []:
        if not path.endswith(OUT_SUFFIXES):
            raise ValueError(f'--out {path}: expected a file ending with '
                             f'{" or ".join(OUT_SUFFIXES)}.')
    return list(outputs or [])


def _nan_to_none(value):
    """NaN (a relative drop from a clean mIoU of 0) as JSON null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def write_outputs(outputs: List[str], result: dict) -> None:
    """Write the result as JSON and/or a markdown table."""
    for path in outputs:
        folder = osp.dirname(osp.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            if path.endswith('.json'):
                json.dump(_nan_to_none(result), f, indent=1)
            else:
                f.write(f'Robustness of `{result["checkpoint"]}` '
                        f'(`{result["config"]}`), seed {result["seed"]}; '
                        f'drop = clean mIoU - set mIoU (points, %).\n\n')
                f.write(format_table(result['rows'], markdown=True))
            f.write('\n')


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.trust_checkpoint:
        trust_checkpoints()
    outputs = check_outputs(args.out)
    sets = robustness_sets(args.degradations, parse_levels(args.levels))
    config_file = resolve_config_path(args.config)
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'Checkpoint file not found: {args.checkpoint}')
    cfg = Config.fromfile(config_file)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', 'robustness',
                                osp.splitext(osp.basename(config_file))[0])
    robustness_test_config(cfg, sets, args.seed, where=args.config)
    cfg.load_from = args.checkpoint

    setup_cpu_distributed(cfg, args.launcher)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    # weights never silently stay random: a checkpoint that does not fit
    # the model raises (unless --allow-partial)
    runner.register_hook(
        CheckpointFitHook(
            args.checkpoint,
            allow_partial=args.allow_partial,
            hint='pass --allow-partial to evaluate with the parameters '
            'that fit'))
    metrics = runner.test()

    names = ['clean'] + list(sets)
    sizes = {
        name: len(ds)
        for name, ds in zip(names, runner.test_dataloader.dataset.datasets)
    }
    sizes[DEGRADED_MEAN] = sum(sizes[n] for n in names[1:])
    rows = table_rows(metrics, sizes)
    missing = [n for n in names if n not in {r['set'] for r in rows}]
    if missing:
        raise RuntimeError(f'The evaluation has no results for the sets '
                           f'{missing}; got {[r["set"] for r in rows]}.')
    for row in rows:
        spec = sets.get(row['set'])
        if spec is not None:
            row['type'], row['level'] = spec['type'], spec['level']
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        seed=args.seed,
        sets=jsonable(sets),
        rows=rows,
        metrics={k: float(v) for k, v in metrics.items()})
    if is_main_process():
        print('\nRobustness (drop = clean mIoU - set mIoU, in points and %):')
        print(format_table(rows))
        write_outputs(outputs, result)
        for path in outputs:
            print(f'Written: {path}')
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return result


if __name__ == '__main__':
    main()
