"""tools/analysis_tools/compare_results.py: table values and Δ_MTL."""
import importlib.util
import json
import os
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'compare_results.py')

BASELINE = {
    'mt/semseg.mIoU': 20.0, 'mt/depth.rmse': 2.0, 'mt/normals.mean': 40.0,
    'mt/boundary.odsF_proxy': 50.0, 'mt/restoration.psnr': 20.0,
    'mt/fog/semseg.mIoU': 10.0, 'mt/fog/depth.rmse': 1.0
}
MODEL = {
    'mt/semseg.mIoU': 22.0, 'mt/depth.rmse': 1.5, 'mt/normals.mean': 44.0,
    'mt/boundary.odsF_proxy': 50.0, 'mt/restoration.psnr': 25.0,
    'mt/fog/semseg.mIoU': 12.0, 'mt/fog/depth.rmse': 1.5
}


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('compare_results', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(work_dir: str, timestamp: str, metrics: dict) -> str:
    """Write ``metrics`` where tools/test.py writes them."""
    folder = osp.join(work_dir, timestamp)
    os.makedirs(folder)
    path = osp.join(folder, f'{timestamp}.json')
    with open(path, 'w') as f:
        json.dump(metrics, f)
    return path


def cells(table: str, metric: str):
    """The cells of the row that starts with ``metric``."""
    for line in table.splitlines():
        parts = [p.strip() for p in line.strip('|').split('|')]
        if parts[0].startswith(metric):
            return parts[1:]
    raise AssertionError(f'no row {metric!r} in\n{table}')


def test_table_and_delta(tool, tmp_path):
    base = write_run(str(tmp_path / 'base'), '20260101_000000', BASELINE)
    model = write_run(str(tmp_path / 'model'), '20260101_000001', MODEL)
    table = tool.main([base, model, '--names', 'mtl', 'allnet'])
    assert cells(table, 'semseg.mIoU') == ['20', '22', '+10.00']
    # lower is better: 2.0 -> 1.5 is +25 %, 40 -> 44 degrees is -10 %
    assert cells(table, 'depth.rmse') == ['2', '1.5', '+25.00']
    assert cells(table, 'normals.mean') == ['40', '44', '-10.00']
    assert cells(table, 'restoration.psnr') == ['20', '25', '+25.00']
    # Δ_MTL over the four tasks (PSNR excluded): (10 + 25 - 10 + 0) / 4
    assert cells(table, 'Δ_MTL')[-1] == '+6.25'
    assert 'skipped: parts.mIoU, saliency.maxF' in table
    with_psnr = tool.main([base, model, '--delta-includes-restoration'])
    assert cells(with_psnr, 'Δ_MTL')[-1] == '+10.00'  # (25 + 25) / 5


def test_work_dir_and_prefix(tool, tmp_path):
    base_dir = tmp_path / 'base'
    write_run(str(base_dir), '20260101_000000', BASELINE)
    # A training run's scalars (one line per logged iteration) are skipped.
    train_dir = base_dir / '20260101_000005'
    train_dir.mkdir()
    (train_dir / '20260101_000005.json').write_text(
        '{"lr": 0.1, "iter": 25}\n{"lr": 0.1, "iter": 50}\n')
    model = write_run(str(tmp_path / 'model'), '20260101_000001', MODEL)
    table = tool.main([str(base_dir), model, '--prefix', 'mt/fog/'])
    assert cells(table, 'semseg.mIoU') == ['10', '12', '+20.00']
    assert cells(table, 'depth.rmse') == ['1', '1.5', '-50.00']
    assert cells(table, 'Δ_MTL')[-1] == '-15.00'


def test_errors(tool, tmp_path):
    base = write_run(str(tmp_path / 'base'), '20260101_000000', BASELINE)
    with pytest.raises(FileNotFoundError, match='neither'):
        tool.main([base, str(tmp_path / 'missing.json')])
    with pytest.raises(FileNotFoundError, match='no test metrics'):
        tool.main([base, str(tmp_path)])
    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'mIoU': 1.0}))
    with pytest.raises(ValueError, match="no multi-task metrics"):
        tool.main([base, str(other)])
    with pytest.raises(KeyError, match='none of'):
        tool.main([base, base, '--metrics', 'parts.mIoU'])
    with pytest.raises(SystemExit, match='--names'):
        tool.main([base, base, '--names', 'a'])
