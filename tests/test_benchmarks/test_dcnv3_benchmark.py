"""Smoke test of benchmarks/dcnv3.py on tiny shapes (no timing checks)."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmallnet.models.layers.dcnv3_function import dcnv3_core

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def bench():
    path = osp.join(ROOT, 'benchmarks', 'dcnv3.py')
    spec = importlib.util.spec_from_file_location('bench_dcnv3', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_shapes_of_internimage_t(bench):
    shapes = bench.stage_shapes(448, 576)
    assert [(s['height'], s['width'], s['channels'], s['group'])
            for s in shapes] == [(112, 144, 64, 4), (56, 72, 128, 8),
                                 (28, 36, 256, 16), (14, 18, 512, 32)]


@pytest.mark.parametrize('params', [(3, 1, 1, 1, 2, 1.0),
                                    (3, 2, 1, 1, 2, 1.5),
                                    (3, 1, 2, 2, 3, 2.0)])
def test_reference_matches_dcnv3_core(bench, params):
    """The single-grid_sample reference computes the same maths."""
    kernel, stride, pad, dilation, group, scale = params
    gen = torch.Generator().manual_seed(0)
    n, h, w, c = 2, 7, 9, 6
    out_h = (h + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    out_w = (w + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    points = kernel * kernel
    value = torch.randn(n, h, w, c, generator=gen, dtype=torch.float64)
    offset = torch.randn(
        n, out_h, out_w, group * points * 2, generator=gen,
        dtype=torch.float64) * 3
    mask = torch.rand(
        n, out_h, out_w, group * points, generator=gen, dtype=torch.float64)
    ref = bench.reference_dcnv3_core(value, offset, mask, *params)
    ours = dcnv3_core(value, offset, mask, *params)
    assert ref.shape == ours.shape == (n, out_h, out_w, c)
    assert (ref - ours).abs().max().item() <= 1e-10


def test_main_prints_tables(bench, capsys):
    results = bench.main([
        '--size', '32', '48', '--stages', '1', '4', '--repeats', '1',
        '--backbone-repeats', '1', '--skip-backbone-backward',
        '--skip-memory', '--threads', '1'
    ])
    out = capsys.readouterr().out
    assert 'torch ' + torch.__version__ in out
    assert 'stage 1: 8x12 C64 G4' in out
    assert 'stage 4: 1x2 C512 G32' in out
    assert 'float64 max |ref - ours|' in out
    assert 'InternImage-T backbone 32x48' in out
    assert 'target check (stage 1)' in out
    stage_rows = results['stages']['float32']
    assert sorted(stage_rows) == [1, 4]
    for rows in stage_rows.values():
        assert [row['mode'] for row in rows] == ['fwd', 'fwd+bwd']
        for row in rows:
            assert len(row['ref_ms']) == len(row['ours_ms']) == 1
            assert row['speedup'] > 0
    assert [row['mode']
            for row in results['backbone']['float32']] == ['fwd']


def test_memory_job_in_fresh_process(bench):
    shape = bench.stage_shapes(64, 64)[0]
    extra = bench.memory_in_subprocess(
        dict(
            kind='stage',
            impl='ref',
            shape=shape,
            batch=1,
            dtype='float32',
            backward=True,
            threads=1))
    assert extra is not None and extra >= 0
