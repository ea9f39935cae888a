"""Every config's model computes what it did when the goldens were recorded.

The records in ``tests/data/golden/`` (``tools/misc/record_golden_outputs.py``,
format in :mod:`mmallnet.testing.golden`) hold the state-dict keys and the
eval outputs, routing, training losses and gradients of each config's model
with name-seeded weights on a fixed batch. A refactor that changes no maths
reproduces them exactly (bit for bit on a CPU with the recorder's kernels).
"""
import json
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from mmallnet.testing.golden import compare_records, model_record

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
from record_golden_outputs import (  # noqa: E402
    algorithm_configs,
    golden_path,
)

CONFIGS = algorithm_configs()


def test_every_config_has_a_golden_record():
    missing = [c for c in CONFIGS if not osp.isfile(golden_path(c))]
    assert not missing, (
        f'no golden record for {missing}; run '
        'tools/misc/record_golden_outputs.py on them')


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_outputs_match_golden_record(path, single_thread):
    import mmallnet  # noqa: F401
    with open(golden_path(path)) as f:
        want = json.load(f)
    got = model_record(Config.fromfile(path))
    errors = compare_records(got, want)
    assert not errors, '\n'.join(errors)


def test_compare_records_sees_a_one_ulp_change(single_thread):
    import mmallnet  # noqa: F401
    path = [c for c in CONFIGS if 'mtl-baseline_r18-w32' in c][0]
    got = model_record(Config.fromfile(path))
    assert compare_records(got, got) == []
    changed = json.loads(json.dumps(got))
    changed['tensor']['depth']['sha256'] = '0' * 64
    changed['loss']['decode.loss_depth'] = torch.nextafter(
        torch.tensor(got['loss']['decode.loss_depth'], dtype=torch.float64),
        torch.tensor(float('inf'), dtype=torch.float64)).item()
    errors = compare_records(got, changed, exact=True)
    assert len(errors) == 2
    assert errors[0].startswith('tensor.depth: values differ')
    assert errors[1].startswith('loss.decode.loss_depth')
    # across CPUs only a relative difference counts
    assert compare_records(got, changed, exact=False) == []
