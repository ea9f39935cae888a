"""Record (or check) the golden model outputs of every algorithm config.

For developers: run it before a change that must not alter any config's
maths, commit ``tests/data/golden/``, then make the change;
``tests/integration/test_golden_outputs.py`` compares against the record
(see :mod:`mmallnet.testing.golden`).

    python tools/misc/record_golden_outputs.py [--check [--exact]] [CONFIG ...]

``--check --exact`` asserts bit-for-bit equality, which holds only on the
machine that recorded the goldens; without ``--exact`` the check allows the
rounding of other CPUs' kernels (relative 1e-3).
"""
import argparse
import glob
import json
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDEN_DIR = osp.join(REPO, 'tests', 'data', 'golden')


#: Config folders whose models are not multi-task segmentors (the record
#: reads ``model.decode_head``); their own tests cover them
#: (tests/test_models/test_restorers, test_two_stage_cascade.py).
NOT_RECORDED = ('restorers', 'cascade')


def algorithm_configs() -> list:
    """Every non-base multi-task config under ``configs/``, sorted."""
    return sorted(
        p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                             recursive=True) if '_base_' not in p and not any(
                                 osp.join('configs', folder, '') in p
                                 for folder in NOT_RECORDED))


def golden_path(config: str) -> str:
    """``tests/data/golden/<config name>.json``."""
    return osp.join(GOLDEN_DIR,
                    osp.splitext(osp.basename(config))[0] + '.json')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', help='configs (default: all)')
    parser.add_argument('--check', action='store_true',
                        help='compare with the stored records instead')
    parser.add_argument('--exact', action='store_true',
                        help='with --check: bit for bit (the recording '
                        'machine only)')
    args = parser.parse_args()
    import mmallnet  # noqa: F401  (registers the modules)
    from mmallnet.testing.golden import compare_records, model_record
    torch.set_num_threads(1)
    init_default_scope('mmseg')
    failed = 0
    for config in args.configs or algorithm_configs():
        record = model_record(Config.fromfile(config))
        path = golden_path(config)
        if args.check:
            with open(path) as f:
                errors = compare_records(record, json.load(f),
                                         exact=args.exact)
            failed += bool(errors)
            print(f'{"FAIL" if errors else "ok  "} {osp.basename(config)}')
            for line in errors:
                print('    ' + line)
        else:
            with open(path, 'w') as f:
                json.dump(record, f, indent=1, sort_keys=True)
                f.write('\n')
            print(f'wrote {osp.relpath(path, REPO)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
