"""Smoke test of benchmarks/cost_at_paper_resolution.py on a tiny size."""
import importlib.util
import json
import math
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def bench():
    path = osp.join(ROOT, 'benchmarks', 'cost_at_paper_resolution.py')
    spec = importlib.util.spec_from_file_location('bench_cost', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_ratios_against_the_cascade_in_the_run(bench, capsys,
                                                     tmp_path):
    out_json = tmp_path / 'cost.json'
    result = bench.main([
        '--size', '64', '64', '--repeats', '1', '--threads', '1',
        '--models', 'mtl-baseline', 'cascade-dense', '--skip-train-step',
        '--json', str(out_json)
    ])
    out = capsys.readouterr().out
    rows = result['rows']
    assert list(rows) == ['mtl-baseline', 'cascade-dense']
    assert result['reference'] == 'cascade-dense'
    ref, mtl = rows['cascade-dense'], rows['mtl-baseline']
    # The cascade holds the MTL predictor (without its restoration head)
    # and a restorer: more parameters and FLOPs.
    assert ref['params'] > mtl['params'] > 0
    assert ref['gflops'] > mtl['gflops'] > 0
    assert ref['latency'] > 0 and mtl['latency'] > 0
    for key in ('params', 'gflops', 'latency'):
        assert ref['x_' + key] == pytest.approx(1.0)
        assert mtl['x_' + key] == pytest.approx(mtl[key] / ref[key])
    assert math.isnan(mtl['mem_gb'])  # --skip-train-step
    for label in ('MTL baseline (InternImage-T)',
                  'Cascade B: Dense-base + MTL'):
        assert label in out
    assert 'ratios (x) against: Cascade B' in out
    assert 'first model of the run' not in out
    assert 'ALLNet-T / cascade: n/a' in out
    assert json.loads(out_json.read_text())['reference'] == 'cascade-dense'


def test_without_the_reference_ratios_use_the_first_model(bench):
    assert bench.reference_of(['allnet-t', 'mtl-baseline']) == 'allnet-t'
    assert bench.reference_of(['allnet-t', 'cascade-dense']) == (
        'cascade-dense')
    rows = {
        'allnet-t': dict(params=40., gflops=50., latency=2., mem_gb=1.),
        'mtl-baseline': dict(params=30., gflops=40., latency=1., mem_gb=2.),
    }
    bench.add_ratios(rows, 'allnet-t')
    assert rows['mtl-baseline']['x_params'] == pytest.approx(0.75)
    assert rows['mtl-baseline']['x_latency'] == pytest.approx(0.5)
    assert rows['mtl-baseline']['x_mem_gb'] == pytest.approx(2.0)
    table = bench.format_table(rows, 'allnet-t')
    assert 'ratios (x) against: ALLNet-T (first model of the run' in table
    assert 'cascade-dense was not measured' in table


def test_target_check_reports_the_measured_ratios(bench):
    rows = {
        'allnet-t': dict(params=40., latency=2.),
        'cascade-dense': dict(params=50., latency=8.),
    }
    (line, ) = bench.target_lines(rows)
    assert line.startswith('ALLNet-T / cascade (Cascade B')
    assert 'latency 0.25x, params 0.80x (target <= 0.6x)' in line


def test_stl_and_cascade_configs(bench):
    stl = bench.model_cfg('stl', 'depth')
    assert stl.decode_head.tasks == ['depth']
    assert stl.decode_head.restoration is False
    cascade = bench.model_cfg('cascade-mae')
    assert cascade.type == 'TwoStageCascade'
    assert cascade.restorer.restorer.type == 'MaERestorer'
    assert cascade.restorer.restorer.arch == 'base'
    assert cascade.freeze_restorer and not cascade.freeze_predictor
    assert cascade.predictor.decode_head.restoration is False
    joint = bench.model_cfg('cascade-dense', joint=True)
    assert not joint.freeze_restorer and 'restoration_loss' in joint
    with pytest.raises(ValueError, match='stl needs a task'):
        bench.model_cfg('stl')


def test_train_step_memory_in_fresh_process(bench):
    result = bench.train_step_in_subprocess('stl', 'semseg', False, [64, 64],
                                            1)
    assert result['mem_gb'] > 0
    assert result['base_gb'] > 0 and result['step_s'] > 0


def test_size_must_be_a_multiple_of_32(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(['--size', '60', '64'])
