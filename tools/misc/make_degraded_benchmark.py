"""Write a fixed degraded copy of a val set (one folder per degradation set).

Layout: ``OUT/<set>/images/<id>.png`` (lossless PNG) and
``OUT/manifest.json`` (settings, sets, per-image parameters and hashes); see
:mod:`mmallnet.datasets.degraded_benchmark`. Default sets: noise at sigma
15, 25 and 50 (``noise_15``, ``noise_25``, ``noise_50``), ``rain``, ``fog``
and ``blur``. Re-running the same command resumes an interrupted run; other
settings on an existing OUT raise an error.

Examples:
    # the val set of a config (its val_dataloader; degradation parameters
    # from the config's `degradations` list when it has one)
    python tools/misc/make_degraded_benchmark.py \
        configs/_base_/datasets/nyud_multi_task.py \
        --out data/NYUDv2_degraded/val --workers 4

    # a registered dataset class, fog at two severities as well
    python tools/misc/make_degraded_benchmark.py SynthScenesDataset \
        --data-root data/synthscenes --split val \
        --out data/synthscenes_degraded/val --fog-levels 0.6 1.8

    # MMSeg's own datasets: a stock config's val set, or the class with
    # its data_prefix (ids: image paths relative to the image folder)
    python tools/misc/make_degraded_benchmark.py \
        mmseg::_base_/datasets/ade20k.py --out data/ade_degraded/val
    python tools/misc/make_degraded_benchmark.py ADE20KDataset \
        --data-root data/ade/ADEChallengeData2016 --data-prefix \
        img_path=images/validation seg_map_path=annotations/validation \
        --out data/ade_degraded/val
"""
import argparse
import inspect
import os.path as osp
import sys
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import DATASETS  # noqa: E402

import mmallnet  # noqa: E402,F401  (registers datasets and transforms)
from mmallnet.datasets.degraded_benchmark import (  # noqa: E402
    BENCHMARK_TYPES,
    LEVEL_PARAMS,
    benchmark_sets,
    make_degraded_benchmark,
    manifest_path,
)
from mmallnet.datasets.transforms.degradations import (  # noqa: E402
    DEGRADATION_ALIASES,
)
from mmallnet.utils import resolve_config_path  # noqa: E402

_CLASS_TO_TYPE = {v: k for k, v in DEGRADATION_ALIASES.items()}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a fixed degraded copy of a dataset split: one '
        'lossless PNG per image and degradation set, plus a manifest.')
    parser.add_argument(
        'source',
        help='a config file or mmseg::<path> (its --dataloader dataset is '
        'used) or a registered dataset class (e.g. NYUDMultiTaskDataset or '
        'ADE20KDataset; then give --data-root)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='worker processes (0: this process); the output does not '
        'depend on it')
    parser.add_argument(
        '--seed', type=int, default=0, help='benchmark seed (default 0)')
    parser.add_argument(
        '--types',
        nargs='+',
        default=list(BENCHMARK_TYPES),
        choices=list(BENCHMARK_TYPES),
        help='degradation types (default: all)')
    for kind, param in LEVEL_PARAMS.items():
        default = '15 25 50' if kind == 'noise' else 'none: one set'
        parser.add_argument(
            f'--{kind}-levels',
            nargs='*',
            type=float,
            default=None,
            help=f'severity levels of {kind} ({param}), one set each '
            f'(default: {default}; give the flag alone for one set with '
            'the full range)')
    parser.add_argument(
        '--data-root', help='dataset root (overrides the config)')
    parser.add_argument(
        '--split',
        help='split (overrides the config; default val) of the datasets '
        'that have one (not MMSeg\'s: give --data-prefix)')
    parser.add_argument(
        '--data-prefix',
        nargs='+',
        action=DictAction,
        metavar='KEY=PATH',
        help='data_prefix of the dataset (overrides the config), e.g. '
        'img_path=images/validation seg_map_path=annotations/validation '
        'for ADE20KDataset')
    parser.add_argument(
        '--dataloader',
        default='val',
        choices=['val', 'test'],
        help="which dataloader's dataset of a config (default val)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bars')
    return parser.parse_args(argv)


def dataset_and_transforms(args: argparse.Namespace):
    """The dataset config and the per-type base transforms to use.

    Returns:
        tuple[dict, dict]: Dataset config; type -> transform config taken
        from the config's ``degradations`` list (empty for a class name).
    """
    transforms: Dict[str, dict] = {}
    if args.source.endswith('.py'):
        cfg = Config.fromfile(resolve_config_path(args.source))
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        key = f'{args.dataloader}_dataloader'
        if key not in cfg or 'dataset' not in cfg[key]:
            raise KeyError(f'{args.source} has no {key}.dataset.')
        dataset = cfg[key]['dataset'].to_dict()
        if dataset.get('type') == 'DegradedBenchmarkDataset':
            # a benchmark config: write the copy of its clean dataset
            dataset['type'] = dataset.pop('dataset_type')
            for extra in ('degraded_root', 'sets', 'include_clean'):
                dataset.pop(extra, None)
        for entry in cfg.get('degradations', None) or []:
            entry = dict(entry)
            kind = _CLASS_TO_TYPE.get(entry.get('type'), entry.get('type'))
            if kind in LEVEL_PARAMS:
                transforms[kind] = entry
    else:
        if DATASETS.get(args.source) is None:
            raise KeyError(f'{args.source!r} is neither a config file (.py) '
                           'nor a registered dataset class.')
        if not args.data_root:
            raise ValueError(f'--data-root is needed with a dataset class '
                             f'({args.source}).')
        dataset = dict(type=args.source)
    if args.data_root:
        dataset['data_root'] = args.data_root
    if args.data_prefix:
        dataset['data_prefix'] = dict(args.data_prefix)
    if _takes_split(dataset['type']):
        if args.split:
            dataset['split'] = args.split
        dataset.setdefault('split', 'val')
    elif args.split:
        raise ValueError(
            f'--split {args.split}: {dataset["type"]} has no split; choose '
            'its images with --data-prefix (e.g. img_path=images/validation '
            'seg_map_path=annotations/validation for ADE20KDataset).')
    return dataset, transforms


def _takes_split(dataset_type) -> bool:
    """Whether the dataset class has a ``split`` argument."""
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type,
                                                   str) else dataset_type
    if cls is None:
        raise KeyError(f'{dataset_type!r} is not a registered dataset.')
    return any('split' in inspect.signature(klass.__init__).parameters
               for klass in inspect.getmro(cls))


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    init_default_scope('mmseg')
    dataset, transforms = dataset_and_transforms(args)
    levels = {
        kind: getattr(args, f'{kind}_levels')
        for kind in LEVEL_PARAMS
        if getattr(args, f'{kind}_levels') is not None
    }
    sets = benchmark_sets(args.types, levels, transforms)
    manifest = make_degraded_benchmark(
        dataset,
        args.out,
        sets=sets,
        seed=args.seed,
        num_workers=args.workers,
        progress=not args.no_progress)
    ds = manifest['settings']['dataset']
    split = f'{ds["split"]}, ' if ds.get('split') else ''
    print(f'Degraded copy of {ds["type"]} ({split}'
          f'{len(manifest["ids"])} images, seed {args.seed}) in {args.out}:')
    for name in sets:
        print(f'  {name:<12s} {len(manifest["images"][name])} images')
    print(f'Manifest: {manifest_path(args.out)}')
    return manifest


if __name__ == '__main__':
    main()
