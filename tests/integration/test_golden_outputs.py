"""Every config's model computes what it did when the goldens were recorded.

The records in ``tests/data/golden/`` (``tools/misc/record_golden_outputs.py``,
format in :mod:`mmallnet.testing.golden`) hold the state-dict keys and the
eval outputs, routing, training losses and gradients of each config's model
with name-seeded weights on a fixed batch. A refactor that changes no maths
reproduces them to a relative 1e-3 on any CPU, and bit for bit on the
recorder's machine with ``MMALLNET_GOLDEN_EXACT=1``.
"""
import json
import os
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
EXACT = os.environ.get('MMALLNET_GOLDEN_EXACT') == '1'


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
    errors = compare_records(got, want, exact=EXACT)
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


def test_compare_records_tolerates_rounding_not_maths(single_thread):
    import mmallnet  # noqa: F401
    path = [c for c in CONFIGS if 'mtl-baseline_r18-w32' in c][0]
    got = model_record(Config.fromfile(path))
    rounded = json.loads(json.dumps(got))
    rounded['loss']['decode.loss_depth'] *= 1 + 5e-4
    rounded['loss']['decode.acc_semseg'] += 0.2  # ~13 pixels flipped
    rounded['grad_abs_sum']['backbone'] *= 1 - 5e-4
    assert compare_records(rounded, got) == []
    wrong = json.loads(json.dumps(got))
    wrong['loss']['decode.loss_depth'] *= 1.01
    wrong['loss']['decode.acc_semseg'] += 1.0
    wrong['tensor']['depth']['sum'] += 0.01 * wrong['tensor']['depth'][
        'abs_sum']
    errors = compare_records(wrong, got)
    assert sorted(e.split(':')[0] for e in errors) == [
        'loss.decode.acc_semseg', 'loss.decode.loss_depth', 'tensor.depth']


def test_exact_comparison_names_a_different_machine():
    want = dict(torch='2.14.1', cpu_capability='AVX512', keys={}, tensor={},
                loss={}, grad_abs_sum={}, predict=[])
    got = dict(want, cpu_capability='AVX2')
    errors = compare_records(got, want, exact=True)
    assert errors == [
        'exact comparison across machines: recorded with torch 2.14.1, '
        'cpu_capability AVX512; now torch 2.14.1, cpu_capability AVX2']
    assert compare_records(got, want) == []
